#include "service/net/host_name.hpp"

#include <algorithm>
#include <cctype>

namespace certdeploy::net {

bool valid_host_name(std::string_view name) noexcept {
    return !name.empty() && name.size() <= 253 && name.front() != '.' && name.front() != '-' &&
           std::all_of(name.begin(), name.end(),
                       [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '.'; });
}

}  // namespace certdeploy::net
