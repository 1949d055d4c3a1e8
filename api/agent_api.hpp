#pragma once
// The agent's HTTP API (/agent/v1), typed: its paths, verbs and status codes are written here and nowhere
// else, every answer is decoded here, and every refusal becomes the controller's Error carrying the agent's
// own code (wrong-password, certificate-in-use...), prefixed with the server's name. The dispatcher, the
// prober and the per-server views all call agents through it; the transport (mutual TLS, pooling,
// deadlines) stays in AgentClient.
//
// Its coroutines run on the AgentLink's context: await them there, or through AgentLink::on_link.

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "api/agent_client.hpp"
#include "service/controller/upload_vault.hpp"
#include "service/error.hpp"
#include "service/pki/trust.hpp"

namespace certdeploy::api {

class AgentApi {
  public:
    using Deadline = std::chrono::steady_clock::time_point;
    static constexpr Deadline kNoDeadline = Deadline::max();

    // Which server, and where its agent answers (its registration now).
    struct Where {
        std::string server;
        std::string url;
    };
    struct Health {
        std::optional<std::string> version;
    };
    struct Installed {
        std::string result;                         // installed | alreadyInstalled
        std::optional<nlohmann::json> certificate;  // the agent's description of it
    };

    explicit AgentApi(AgentClient& client) : client_(client) {}

    asio::awaitable<Result<Health>> health(const Where& where);
    // {"certificates": [...]}, all of them or those with `status`.
    asio::awaitable<Result<nlohmann::json>> list(const Where& where, std::optional<pki::Status> status = std::nullopt);
    asio::awaitable<Result<nlohmann::json>> get(const Where& where, const std::string& thumbprint);
    // Import-ExchangeCertificate on this server: the upload's file and password travel once, wiped once sent.
    asio::awaitable<Result<Installed>> install(const Where& where, const std::string& thumbprint,
                                               const controller::Upload& upload, bool exportable,
                                               const std::string& friendly_name, Deadline deadline);
    // The certificate as the agent describes it once enabled for `services`.
    asio::awaitable<Result<nlohmann::json>> enable(const Where& where, const std::string& thumbprint,
                                                   const nlohmann::json& services, Deadline deadline);
    // The PKCS #12 bytes. `request` ({"password": ..., "profile": ...}) is wiped once sent.
    asio::awaitable<Result<std::string>> export_pkcs12(const Where& where, const std::string& thumbprint,
                                                       std::string request);
    // Errors include certificate-not-found: what that means is the caller's policy.
    asio::awaitable<Result<void>> remove(const Where& where, const std::string& thumbprint, Deadline deadline);

  private:
    // One request: the answer when its status is `expected` (or `also_expected`), else the agent's refusal.
    // (Two numbers, not a list: GCC 12 cannot copy an initializer_list into a coroutine's frame.)
    asio::awaitable<Result<AgentClient::Reply>> exchange(const Where& where, http::verb method, std::string target,
                                                         std::string body, Deadline deadline, unsigned expected,
                                                         unsigned also_expected = 0);

    AgentClient& client_;
};

}  // namespace certdeploy::api
