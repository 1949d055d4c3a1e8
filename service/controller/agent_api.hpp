#pragma once
// What the controller asks of an agent, typed (the agent's /agent/v1 API as operations): the dispatcher,
// the prober and the per-server views call agents through this interface only. api::HttpAgentApi
// implements it over mutual TLS; the domain's tests implement it with a scripted fake.
//
// Coroutines (Asio's awaitable, for scheduling only): each runs on the executor of whoever implements it
// (HttpAgentApi: the AgentLink's thread). A refusal is an Error with the agent's own code
// (wrong-password, certificate-in-use...); an agent that cannot be reached, or does not answer by the
// deadline, is agent-unreachable — the only error a target is tried again for.

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "service/controller/upload_vault.hpp"
#include "service/error.hpp"
#include "service/pki/trust.hpp"
#include "store/controller_store.hpp"

namespace certdeploy::controller {

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

    virtual ~AgentApi() = default;

    virtual boost::asio::awaitable<Result<Health>> health(const Where& where) = 0;
    // {"certificates": [...]}, all of them or those with `status`.
    virtual boost::asio::awaitable<Result<nlohmann::json>> list(const Where& where,
                                                                std::optional<pki::Status> status) = 0;
    virtual boost::asio::awaitable<Result<nlohmann::json>> get(const Where& where, const std::string& thumbprint) = 0;
    // Import-ExchangeCertificate on this server: the upload's file and password travel once, wiped once sent.
    virtual boost::asio::awaitable<Result<Installed>> install(const Where& where, const std::string& thumbprint,
                                                              const Upload& upload, bool exportable,
                                                              const std::string& friendly_name, Deadline deadline) = 0;
    // New-ExchangeCertificate -GenerateRequest on this server: the key pair made there. `key` makes a repeat
    // (the answer was lost) return the request made the first time. Result: requested | alreadyRequested,
    // with the pending request's description (its PEM request in certificateRequest).
    virtual boost::asio::awaitable<Result<Installed>> request(const Where& where, const store::RequestOptions& request,
                                                              const std::string& friendly_name, bool exportable,
                                                              const std::string& key, Deadline deadline) = 0;
    // The certificate as the agent describes it once enabled for `services`.
    virtual boost::asio::awaitable<Result<nlohmann::json>> enable(const Where& where, const std::string& thumbprint,
                                                                  const std::vector<std::string>& services,
                                                                  Deadline deadline) = 0;
    // The PKCS #12 bytes. `request` ({"password": ..., "profile": ...}) is wiped once sent.
    virtual boost::asio::awaitable<Result<std::string>> export_pkcs12(const Where& where, const std::string& thumbprint,
                                                                      std::string request) = 0;
    // Errors include certificate-not-found: what that means is the caller's policy (attempt_policy).
    virtual boost::asio::awaitable<Result<void>> remove(const Where& where, const std::string& thumbprint,
                                                        Deadline deadline) = 0;
};

}  // namespace certdeploy::controller
