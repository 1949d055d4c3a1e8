#pragma once
// What a token may do. Each role includes the ones before it:
//   viewer    every GET and the events stream
//   operator  imports, enable, remove, retry, cancel and dry runs
//   admin     servers, tokens, the audit log, and exporting a private key

#include <optional>
#include <string_view>

namespace certdeploy::controller {

enum class Role { viewer, operator_, admin };

std::string_view name(Role role) noexcept;  // "viewer", "operator", "admin"
std::optional<Role> parse_role(std::string_view text) noexcept;
inline bool allows(Role have, Role need) noexcept {
    return static_cast<int>(have) >= static_cast<int>(need);
}

}  // namespace certdeploy::controller
