// Decoding the enrolment requests (enrolment_routes.cpp): join tokens, joins and renewals. Moved here from
// enrolment_routes.cpp, so that the libFuzzer targets (tests/fuzz) reach them; since, "uses" is checked whole.

#include "api/controller/enrolment_requests.hpp"

#include <cstdint>

#include "api/http/json_body.hpp"
#include "service/time/duration.hpp"

namespace certdeploy::api {
using nlohmann::json;

// {"server": "ex03", "labels": {...}, "expiresIn": "1h", "uses": 1}
Result<controller::JoinTokenSpec> join_token_spec(const json& body) {
    controller::JoinTokenSpec spec;
    for (const auto& [key, value] : body.items()) {
        if (key != "server" && key != "labels" && key != "expiresIn" && key != "uses") {
            return invalid_request("unknown field \"" + key + "\": expected server, labels, expiresIn or uses");
        }
    }
    if (body.contains("server") && !body["server"].is_null()) {
        if (!body["server"].is_string()) {
            return invalid_request("\"server\" must be a server name");
        }
        spec.server = body["server"].get<std::string>();
    }
    if (body.contains("labels")) {
        if (!body["labels"].is_object()) {
            return invalid_request("\"labels\" must be an object of strings, e.g. {\"role\": \"mailbox\"}");
        }
        for (const auto& [key, value] : body["labels"].items()) {
            if (!value.is_string()) {
                return invalid_request("\"labels\" must map names to strings");
            }
            spec.labels[key] = value.get<std::string>();
        }
    }
    if (body.contains("expiresIn")) {
        auto duration =
            body["expiresIn"].is_string() ? parse_duration(body["expiresIn"].get<std::string>()) : std::nullopt;
        if (!duration) {
            return invalid_request("\"expiresIn\" must be a duration such as \"90s\", \"30m\", \"1h\" or \"7d\"");
        }
        spec.expiresIn = *duration;
    }
    if (body.contains("uses")) {
        // Checked before it is narrowed to an int: 4294967297 became 1 (tests/fuzz/request_fuzz.cpp checks it).
        const auto& uses = body["uses"];
        if (!uses.is_number_integer() || uses.get<std::int64_t>() < 1 || uses.get<std::int64_t>() > 10000) {
            return invalid_request("\"uses\" must be an integer from 1 to 10000");
        }
        spec.uses = uses.get<int>();
    }
    return spec;
}

Result<controller::JoinRequest> join_request(const json& body) {
    controller::JoinRequest request;
    for (const auto& [key, value] : body.items()) {
        if ((key != "name" && key != "csr" && key != "agentUrl") || !value.is_string()) {
            return invalid_request("expected {\"name\": ..., \"csr\": PEM, \"agentUrl\": \"https://HOST:PORT\"}");
        }
    }
    request.name = body.value("name", "");
    request.csr = body.value("csr", "");
    request.agentUrl = body.value("agentUrl", "");
    return request;
}

Result<std::string> renewal_csr(const json& body) {
    if (body.size() != 1 || !body.contains("csr") || !body["csr"].is_string()) {
        return invalid_request("expected {\"csr\": PEM}");
    }
    return body["csr"].get<std::string>();
}

}  // namespace certdeploy::api
