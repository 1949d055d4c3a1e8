#pragma once
// A controller and real agent processes over real mutual TLS, made with the real `certdeploy pki init`:
// what the controller's job tests deploy to.

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/support/controller_process.hpp"
#include "tests/support/dev_pki.hpp"
#include "tests/support/host_network.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/tcp_proxy.hpp"
#include "tests/support/temp_dir.hpp"

namespace certdeploy::test {

struct FormField {
    std::string name;
    std::string value;
    std::string filename;  // non-empty: a file part
};

// Where the agents run. By default each on a loopback port; with `namespaces`, each on a host of its own
// (HostNetwork: its own network namespace and address, its certificate naming that address), so that its
// link can be cut or made lossy. The `proxied` servers are registered at a TcpProxy in front of their agent.
struct FleetNetwork {
    bool namespaces = false;
    std::vector<std::string> proxied;
};

class Fleet {
  public:
    struct Options {
        std::vector<std::string> agents;                     // server names, each with its own agent
        std::map<std::string, nlohmann::json> labels;        // per server
        nlohmann::json services = nlohmann::json::object();  // every agent's services
        std::string caFile;                                  // extra root every agent trusts (status Valid)
        std::vector<std::string> controllerFlags;
    };
    explicit Fleet(Options options, FleetNetwork network = {});
    ~Fleet();

    const TempDir& dir() const { return dir_; }
    std::filesystem::path data_dir() const { return dir_ / "data"; }

    void start_controller();
    // More environment for the controllers started from now on (a fake clock's preload...).
    void set_controller_environment(std::map<std::string, std::optional<std::string>> env) {
        controller_env_ = std::move(env);
    }
    // The flags start_controller() gives a controller (servers, the agents' CA, its client certificate, the
    // options' flags): what another controller of the same fleet is started with.
    std::vector<std::string> controller_args() const;
    void kill_controller();  // SIGKILL: no chance to finish anything
    // SIGSTOP / SIGCONT: the controller frozen where it is (its claims held, nothing finished meanwhile).
    void pause_controller(bool paused);
    void stop_controller();  // SIGTERM, expects exit status 0
    std::string controller_log() const;

    void stop_agent(const std::string& name);
    void kill_agent(const std::string& name);             // SIGKILL, wherever it is
    void start_agent(const std::string& name);            // again, on the address it had
    void start_agent_elsewhere(const std::string& name);  // again, on a new port (the server moved)
    std::string agent_address(const std::string& name) const { return agent_addresses_.at(name); }
    // The hosts the agents run on (FleetNetwork::namespaces), and the proxy in front of a `proxied` agent.
    HostNetwork& network() { return *network_; }
    TcpProxy& proxy(const std::string& name) { return *proxies_.at(name); }
    std::string agent_log(const std::string& name) const;
    // How many times the agent logged a new installation.
    int installs(const std::string& name) const;

    Response call(http::verb method, const std::string& target, const nlohmann::json& body = nullptr,
                  const std::map<std::string, std::string>& headers = {});
    Response post_form(const std::string& target, const std::vector<FormField>& fields,
                       const std::map<std::string, std::string>& headers = {});
    // The job once `done` says so (polling GET /v1/jobs/{id}), failing the test after `timeout`.
    nlohmann::json wait_for_job(const std::string& id, const std::function<bool(const nlohmann::json&)>& done,
                                std::chrono::milliseconds timeout = std::chrono::seconds(60));
    nlohmann::json wait_until_final(const std::string& id,
                                    std::chrono::milliseconds timeout = std::chrono::seconds(60));
    std::string address() const { return address_; }
    // The controller's admin token; call() and post_form() send it unless given an Authorization header.
    std::string admin_token() const { return controllers_.back()->admin_token(); }
    std::filesystem::path admin_token_file() const { return controllers_.back()->admin_token_file(); }
    std::string bearer() const { return controllers_.back()->bearer(); }

  private:
    TempDir dir_;
    Options options_;
    DevPki pki_;
    std::unique_ptr<HostNetwork> network_;  // before the agents: they leave their hosts first
    std::map<std::string, std::vector<std::unique_ptr<ChildProcess>>> agents_;  // every run, the last current
    std::map<std::string, std::string> agent_addresses_;
    std::map<std::string, std::unique_ptr<TcpProxy>> proxies_;
    std::vector<std::unique_ptr<ControllerProcess>> controllers_;  // every run, the last current
    std::string address_;
    std::map<std::string, std::optional<std::string>> controller_env_;
};

// ex01, ex02, ... exNN: the names of a fleet of `n` servers.
std::vector<std::string> server_names(int n);

// The multipart body curl -F would send, and its boundary.
std::pair<std::string, std::string> form_body(const std::vector<FormField>& fields);

}  // namespace certdeploy::test
