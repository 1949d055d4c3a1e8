#include "api/agent_reply.hpp"

#include "service/json_result.hpp"

namespace certdeploy::api {

Error agent_refusal(const std::string& server, const AgentClient::Reply& reply) {
    auto problem = nlohmann::json::parse(reply.body, nullptr, false);
    if (problem.is_object() && problem.contains("code") && problem["code"].is_string()) {
        auto code = code_from_string(problem["code"].get<std::string>());
        const std::string detail =
            problem.contains("detail") && problem["detail"].is_string() ? problem["detail"].get<std::string>() : "";
        if (code) {
            return make_error(*code, server + ": " + detail);
        }
    }
    return make_error(ErrorCode::agent_error,
                      server + ": the agent answered HTTP " + std::to_string(reply.status) + " without a known code");
}

Error no_agent_tls() {
    return make_error(ErrorCode::agent_unreachable,
                      "the controller has no agentCa, agentClientCert and agentClientKey: it cannot reach agents");
}

Result<nlohmann::json> agent_json(const std::string& server, const AgentClient::Reply& reply) {
    auto body = nlohmann::json::parse(reply.body, nullptr, false);
    if (!body.is_object()) {
        return make_error(ErrorCode::agent_error, server + ": the agent's answer is not a JSON object");
    }
    return json_result(std::move(body));
}

}  // namespace certdeploy::api
