#include "api/clients/http_agent_api.hpp"

#include "service/codec/base64.hpp"
#include "service/json_result.hpp"
#include "service/secret.hpp"

namespace certdeploy::api {
namespace {

using nlohmann::json;

constexpr const char* kCertificates = "/agent/v1/certificates";

// An agent's problem+json answer as the controller's Error: the agent's own code and message, prefixed with
// the server's name; agent-error when it is not one of the known codes.
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

// A successful answer's JSON object; agent-error when it is not one.
Result<json> object(const std::string& server, const AgentClient::Reply& reply) {
    auto body = json::parse(reply.body, nullptr, false);
    if (!body.is_object()) {
        return make_error(ErrorCode::agent_error, server + ": the agent's answer is not a JSON object");
    }
    return json_result(std::move(body));
}

std::string certificate_path(const std::string& thumbprint) {
    return std::string(kCertificates) + "/" + thumbprint;
}

}  // namespace

asio::awaitable<Result<AgentClient::Reply>> HttpAgentApi::exchange(const Where& where, http::verb method,
                                                                   std::string target, std::string body,
                                                                   Deadline deadline, unsigned expected,
                                                                   unsigned also_expected) {
    auto reply = co_await client_.request(where.url, method, std::move(target), std::move(body), deadline);
    if (!reply) {
        co_return reply.error();
    }
    if (reply->status == expected || (also_expected != 0 && reply->status == also_expected)) {
        co_return std::move(*reply);
    }
    co_return refusal(where.server, *reply);
}

asio::awaitable<Result<HttpAgentApi::Health>> HttpAgentApi::health(const Where& where) {
    auto reply = co_await exchange(where, http::verb::get, "/agent/v1/health", {}, kNoDeadline, 200);
    if (!reply) {
        co_return reply.error();
    }
    Health health;
    auto body = json::parse(reply->body, nullptr, false);
    if (body.is_object() && body.contains("version") && body["version"].is_string()) {
        health.version = body["version"].get<std::string>();
    }
    co_return health;
}

asio::awaitable<Result<json>> HttpAgentApi::list(const Where& where, std::optional<pki::Status> status) {
    std::string target = kCertificates;
    if (status) {
        target += "?status=" + std::string(pki::status_name(*status));
    }
    auto reply = co_await exchange(where, http::verb::get, std::move(target), {}, kNoDeadline, 200);
    if (!reply) {
        co_return reply.error();
    }
    auto body = object(where.server, *reply);
    if (body && !(body->contains("certificates") && (*body)["certificates"].is_array())) {
        co_return make_error(ErrorCode::agent_error, where.server + ": the agent's list has no certificates");
    }
    co_return body;
}

asio::awaitable<Result<json>> HttpAgentApi::get(const Where& where, const std::string& thumbprint) {
    auto reply = co_await exchange(where, http::verb::get, certificate_path(thumbprint), {}, kNoDeadline, 200);
    if (!reply) {
        co_return reply.error();
    }
    co_return object(where.server, *reply);
}

asio::awaitable<Result<HttpAgentApi::Installed>> HttpAgentApi::install(
    const Where& where, const std::string& thumbprint, const controller::Upload& upload, bool exportable,
    const std::string& friendly_name, Deadline deadline) {
    json body{{"fileData", codec::base64_encode(upload.file)},
              {"privateKeyExportable", exportable},
              {"friendlyName", friendly_name}};
    if (upload.password) {
        body["password"] = std::string(upload.password->reveal());
    }
    std::string text = body.dump();
    wipe(body["fileData"].get_ref<std::string&>());
    if (upload.password) {
        wipe(body["password"].get_ref<std::string&>());
    }
    // 201: installed now; 200: it was there already (same thumbprint).
    auto reply =
        co_await exchange(where, http::verb::put, certificate_path(thumbprint), std::move(text), deadline, 200, 201);
    if (!reply) {
        co_return reply.error();
    }
    auto answer = object(where.server, *reply);
    if (!answer) {
        co_return answer.error();
    }
    Installed installed;
    installed.result = answer->contains("result") && (*answer)["result"].is_string()
                           ? (*answer)["result"].get<std::string>()
                           : std::string(reply->status == 201 ? "installed" : "alreadyInstalled");
    if (answer->contains("certificate") && (*answer)["certificate"].is_object()) {
        installed.certificate = (*answer)["certificate"];
    }
    co_return installed;
}

asio::awaitable<Result<HttpAgentApi::Installed>> HttpAgentApi::request(const Where& where,
                                                                       const store::RequestOptions& request,
                                                                       const std::string& friendly_name,
                                                                       bool exportable, const std::string& key,
                                                                       Deadline deadline) {
    std::string body =
        json{{"subject", request.subject}, {"domains", request.domains},    {"keyAlgorithm", request.keyAlgorithm},
             {"keySize", request.keySize}, {"friendlyName", friendly_name}, {"privateKeyExportable", exportable},
             {"idempotencyKey", key}}
            .dump();
    // 201: made now; 200: the key's earlier request.
    auto reply = co_await exchange(where, http::verb::post, "/agent/v1/requests", std::move(body), deadline, 201, 200);
    if (!reply) {
        co_return reply.error();
    }
    auto answer = object(where.server, *reply);
    if (!answer) {
        co_return answer.error();
    }
    if (!(answer->contains("certificate") && (*answer)["certificate"].is_object())) {
        co_return make_error(ErrorCode::agent_error, where.server + ": the agent's answer describes no request");
    }
    Installed made;
    made.result = answer->contains("result") && (*answer)["result"].is_string()
                      ? (*answer)["result"].get<std::string>()
                      : std::string(reply->status == 201 ? "requested" : "alreadyRequested");
    made.certificate = (*answer)["certificate"];
    co_return made;
}

asio::awaitable<Result<json>> HttpAgentApi::enable(const Where& where, const std::string& thumbprint,
                                                   const std::vector<std::string>& services, Deadline deadline) {
    std::string body = json{{"services", services}}.dump();
    auto reply = co_await exchange(where, http::verb::post, certificate_path(thumbprint) + "/enable", std::move(body),
                                   deadline, 200);
    if (!reply) {
        co_return reply.error();
    }
    co_return object(where.server, *reply);
}

asio::awaitable<Result<std::string>> HttpAgentApi::export_pkcs12(const Where& where, const std::string& thumbprint,
                                                                 std::string request) {
    auto reply = co_await exchange(where, http::verb::post, certificate_path(thumbprint) + "/export",
                                   std::move(request), kNoDeadline, 200);
    if (!reply) {
        co_return reply.error();
    }
    co_return std::move(reply->body);
}

asio::awaitable<Result<void>> HttpAgentApi::remove(const Where& where, const std::string& thumbprint,
                                                   Deadline deadline) {
    auto reply = co_await exchange(where, http::verb::delete_, certificate_path(thumbprint), {}, deadline, 204);
    if (!reply) {
        co_return reply.error();
    }
    co_return Result<void>();
}

}  // namespace certdeploy::api
