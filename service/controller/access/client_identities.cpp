#include "service/controller/access/client_identities.hpp"

namespace certdeploy::controller {
namespace {

Error invalid(const std::string& what) {
    return make_error(ErrorCode::invalid_config, "invalid value for key \"clientCertificates\": " + what);
}

}  // namespace

Result<ClientIdentities> ClientIdentities::parse(const nlohmann::json& config) {
    if (!config.is_object()) {
        return invalid("expected an object of certificate common names, each {\"role\": ..., \"scope\": {...}}");
    }
    ClientIdentities identities;
    for (const auto& [common_name, entry] : config.items()) {
        const std::string where = "\"" + common_name + "\": ";
        if (common_name.empty() || !entry.is_object()) {
            return invalid(where + "expected {\"role\": \"viewer\" | \"operator\" | \"admin\", \"scope\": {...}}");
        }
        for (const auto& [key, value] : entry.items()) {
            if (key != "role" && key != "scope") {
                return invalid(where + "unknown field \"" + key + "\": expected role or scope");
            }
        }
        const auto role_text =
            entry.contains("role") && entry["role"].is_string() ? entry["role"].get<std::string>() : std::string();
        const auto role = parse_role(role_text);
        if (!role) {
            return invalid(where + "\"role\" must be viewer, operator or admin");
        }
        Caller caller{"cert:" + common_name, *role, false, {}};
        if (entry.contains("scope")) {
            const auto& scope = entry["scope"];
            if (!scope.is_object() || scope.empty()) {
                return invalid(where + "\"scope\" must be a label selector such as {\"team\": \"mail\"}");
            }
            for (const auto& [label, value] : scope.items()) {
                if (!value.is_string()) {
                    return invalid(where + "\"scope\" must map label names to strings");
                }
                caller.scope[label] = value.get<std::string>();
            }
            if (*role == Role::admin) {
                return invalid(where + "an admin cannot be scoped: scope a viewer or an operator");
            }
            caller.scoped = true;
        }
        identities.callers_.emplace(common_name, std::move(caller));
    }
    return identities;
}

std::optional<Caller> ClientIdentities::find(const std::string& common_name) const {
    auto it = callers_.find(common_name);
    return it == callers_.end() ? std::nullopt : std::optional<Caller>(it->second);
}

}  // namespace certdeploy::controller
