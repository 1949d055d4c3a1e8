#include "service/pki/thumbprint.hpp"

#include <cctype>

namespace certdeploy::pki {

std::optional<std::string> normalize_thumbprint(std::string_view text) {
    std::string out;
    out.reserve(40);
    for (char c : text) {
        if (c == ':' || c == ' ') {
            continue;
        }
        if (std::isxdigit(static_cast<unsigned char>(c)) == 0 || out.size() == 40) {
            return std::nullopt;
        }
        out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    if (out.size() != 40) {
        return std::nullopt;
    }
    return out;
}

}  // namespace certdeploy::pki
