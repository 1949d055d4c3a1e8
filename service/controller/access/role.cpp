#include "service/controller/access/role.hpp"

namespace certdeploy::controller {

std::string_view name(Role role) noexcept {
    switch (role) {
        case Role::viewer:
            return "viewer";
        case Role::operator_:
            return "operator";
        case Role::admin:
            return "admin";
    }
    return "viewer";
}

std::optional<Role> parse_role(std::string_view text) noexcept {
    for (const auto role : {Role::viewer, Role::operator_, Role::admin}) {
        if (name(role) == text) {
            return role;
        }
    }
    return std::nullopt;
}

}  // namespace certdeploy::controller
