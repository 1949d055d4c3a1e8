// An agent's answers, decoded. Moved here from http_agent_api.cpp without a change of behaviour, so that the
// libFuzzer targets (tests/fuzz) reach them.

#include "api/clients/agent_replies.hpp"

#include "service/json_result.hpp"

namespace certdeploy::api {

using nlohmann::json;

Error refusal(const std::string& server, const AgentClient::Reply& reply) {
    auto problem = json::parse(reply.body, nullptr, false);
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

Result<json> reply_object(const std::string& server, const AgentClient::Reply& reply) {
    auto body = json::parse(reply.body, nullptr, false);
    if (!body.is_object()) {
        return make_error(ErrorCode::agent_error, server + ": the agent's answer is not a JSON object");
    }
    return json_result(std::move(body));
}

controller::AgentApi::Health health_reply(const AgentClient::Reply& reply) {
    controller::AgentApi::Health health;
    auto body = json::parse(reply.body, nullptr, false);
    if (body.is_object() && body.contains("version") && body["version"].is_string()) {
        health.version = body["version"].get<std::string>();
    }
    return health;
}

Result<json> list_reply(const std::string& server, const AgentClient::Reply& reply) {
    auto body = reply_object(server, reply);
    if (body && !(body->contains("certificates") && (*body)["certificates"].is_array())) {
        return make_error(ErrorCode::agent_error, server + ": the agent's list has no certificates");
    }
    return body;
}

Result<controller::AgentApi::Installed> install_reply(const std::string& server, const AgentClient::Reply& reply) {
    auto answer = reply_object(server, reply);
    if (!answer) {
        return answer.error();
    }
    controller::AgentApi::Installed installed;
    installed.result = answer->contains("result") && (*answer)["result"].is_string()
                           ? (*answer)["result"].get<std::string>()
                           : std::string(reply.status == 201 ? "installed" : "alreadyInstalled");
    if (answer->contains("certificate") && (*answer)["certificate"].is_object()) {
        installed.certificate = (*answer)["certificate"];
    }
    return installed;
}

Result<controller::AgentApi::Installed> request_reply(const std::string& server, const AgentClient::Reply& reply) {
    auto answer = reply_object(server, reply);
    if (!answer) {
        return answer.error();
    }
    if (!(answer->contains("certificate") && (*answer)["certificate"].is_object())) {
        return make_error(ErrorCode::agent_error, server + ": the agent's answer describes no request");
    }
    controller::AgentApi::Installed made;
    made.result = answer->contains("result") && (*answer)["result"].is_string()
                      ? (*answer)["result"].get<std::string>()
                      : std::string(reply.status == 201 ? "requested" : "alreadyRequested");
    made.certificate = (*answer)["certificate"];
    return made;
}

}  // namespace certdeploy::api
