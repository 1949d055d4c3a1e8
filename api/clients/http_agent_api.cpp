#include "api/clients/http_agent_api.hpp"

#include "api/clients/agent_replies.hpp"
#include "service/codec/base64.hpp"
#include "service/secret.hpp"

namespace certdeploy::api {
namespace {

using nlohmann::json;

constexpr const char* kCertificates = "/agent/v1/certificates";

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
    co_return health_reply(*reply);
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
    co_return list_reply(where.server, *reply);
}

asio::awaitable<Result<json>> HttpAgentApi::get(const Where& where, const std::string& thumbprint) {
    auto reply = co_await exchange(where, http::verb::get, certificate_path(thumbprint), {}, kNoDeadline, 200);
    if (!reply) {
        co_return reply.error();
    }
    co_return reply_object(where.server, *reply);
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
    co_return install_reply(where.server, *reply);
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
    co_return request_reply(where.server, *reply);
}

asio::awaitable<Result<json>> HttpAgentApi::enable(const Where& where, const std::string& thumbprint,
                                                   const std::vector<std::string>& services, Deadline deadline) {
    std::string body = json{{"services", services}}.dump();
    auto reply = co_await exchange(where, http::verb::post, certificate_path(thumbprint) + "/enable", std::move(body),
                                   deadline, 200);
    if (!reply) {
        co_return reply.error();
    }
    co_return reply_object(where.server, *reply);
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
