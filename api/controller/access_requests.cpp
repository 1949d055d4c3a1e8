// Decoding POST /v1/tokens (access_routes.cpp). Moved here from access_routes.cpp unchanged, so that the
// libFuzzer targets (tests/fuzz) reach it.

#include "api/controller/access_requests.hpp"

#include "api/http/json_body.hpp"
#include "service/time/rfc3339.hpp"

namespace certdeploy::api {
using nlohmann::json;

// {"name", "role", "scope": {"team": "mail"}, "expiresAt": RFC 3339 | "expiresInDays": N}
Result<controller::TokenSpec> token_spec(const json& body) {
    for (const auto& [key, value] : body.items()) {
        if (key != "name" && key != "role" && key != "scope" && key != "expiresAt" && key != "expiresInDays") {
            return invalid_request("unknown field \"" + key +
                                   "\": expected name, role, scope, expiresAt or expiresInDays");
        }
    }
    controller::TokenSpec spec;
    auto name = string_field(body, "name");
    if (!name) {
        return name.error();
    }
    if (!*name) {
        return invalid_request("\"name\" is required");
    }
    spec.name = **name;
    auto role = string_field(body, "role");
    if (!role) {
        return role.error();
    }
    auto parsed = *role ? controller::parse_role(**role) : std::nullopt;
    if (!parsed) {
        return invalid_request("\"role\" is required: viewer, operator or admin");
    }
    spec.role = *parsed;
    if (body.contains("scope") && !body["scope"].is_null()) {
        const auto& scope = body["scope"];
        if (!scope.is_object() || scope.empty()) {
            return invalid_request("\"scope\" must be a label selector such as {\"team\": \"mail\"}");
        }
        for (const auto& [key, value] : scope.items()) {
            if (!value.is_string()) {
                return invalid_request("\"scope\" must map label names to strings");
            }
            spec.scope[key] = value.get<std::string>();
        }
        spec.scoped = true;
    }
    const bool at = body.contains("expiresAt") && !body["expiresAt"].is_null();
    const bool days = body.contains("expiresInDays") && !body["expiresInDays"].is_null();
    if (at && days) {
        return invalid_request("give \"expiresAt\" or \"expiresInDays\", not both");
    }
    if (at) {
        auto when = body["expiresAt"].is_string() ? parse_rfc3339(body["expiresAt"].get<std::string>()) : std::nullopt;
        if (!when) {
            return invalid_request("\"expiresAt\" must be an RFC 3339 time, e.g. 2027-01-31T23:59:59Z");
        }
        spec.expiresAt = *when;
    }
    if (days) {
        const auto& n = body["expiresInDays"];
        if (!n.is_number_integer() || n.get<long>() < 1 || n.get<long>() > 3650) {
            return invalid_request("\"expiresInDays\" must be an integer from 1 to 3650");
        }
        spec.expiresAt = std::chrono::system_clock::now() + std::chrono::hours(24 * n.get<long>());
    }
    return spec;
}

}  // namespace certdeploy::api
