#pragma once
// controller::AgentApi over HTTP: the agent's /agent/v1 paths, verbs and status codes are written here and
// nowhere else, every answer is decoded here, and every refusal becomes the controller's Error carrying the
// agent's own code (wrong-password, certificate-in-use...), prefixed with the server's name. The transport
// (mutual TLS, pooling, deadlines) stays in AgentClient.
//
// Its coroutines run on the AgentLink's context: await them there, or through AgentLink::on_link.

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "api/clients/agent_client.hpp"
#include "service/controller/agent_api.hpp"

namespace certdeploy::api {

class HttpAgentApi final : public controller::AgentApi {
  public:
    explicit HttpAgentApi(AgentClient& client) : client_(client) {}

    asio::awaitable<Result<Health>> health(const Where& where) override;
    asio::awaitable<Result<nlohmann::json>> list(const Where& where, std::optional<pki::Status> status) override;
    asio::awaitable<Result<nlohmann::json>> get(const Where& where, const std::string& thumbprint) override;
    asio::awaitable<Result<Installed>> install(const Where& where, const std::string& thumbprint,
                                               const controller::Upload& upload, bool exportable,
                                               const std::string& friendly_name, Deadline deadline) override;
    asio::awaitable<Result<Installed>> request(const Where& where, const store::RequestOptions& request,
                                               const std::string& friendly_name, bool exportable,
                                               const std::string& key, Deadline deadline) override;
    asio::awaitable<Result<nlohmann::json>> enable(const Where& where, const std::string& thumbprint,
                                                   const std::vector<std::string>& services,
                                                   Deadline deadline) override;
    asio::awaitable<Result<std::string>> export_pkcs12(const Where& where, const std::string& thumbprint,
                                                       std::string request) override;
    asio::awaitable<Result<void>> remove(const Where& where, const std::string& thumbprint, Deadline deadline) override;

  private:
    // One request: the answer when its status is `expected` (or `also_expected`), else the agent's refusal.
    // (Two numbers, not a list: GCC 12 cannot copy an initializer_list into a coroutine's frame.)
    asio::awaitable<Result<AgentClient::Reply>> exchange(const Where& where, http::verb method, std::string target,
                                                         std::string body, Deadline deadline, unsigned expected,
                                                         unsigned also_expected = 0);

    AgentClient& client_;
};

}  // namespace certdeploy::api
