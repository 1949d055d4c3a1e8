#include "service/net/host_name.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <string>

namespace certdeploy::net {

bool valid_host_name(std::string_view name) noexcept {
    return !name.empty() && name.size() <= 253 && name.front() != '.' && name.front() != '-' &&
           std::all_of(name.begin(), name.end(),
                       [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '.'; });
}

bool is_loopback(std::string_view host) {
    if (host == "localhost") {
        return true;
    }
    std::string bare(host);
    if (bare.size() > 2 && bare.front() == '[' && bare.back() == ']') {
        bare = bare.substr(1, bare.size() - 2);
    }
    in_addr v4{};
    if (::inet_pton(AF_INET, bare.c_str(), &v4) == 1) {
        return (ntohl(v4.s_addr) >> 24) == 127;
    }
    in6_addr v6{};
    return ::inet_pton(AF_INET6, bare.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

}  // namespace certdeploy::net
