// certdeploy server: the controller's REST API.

#include <boost/asio/thread_pool.hpp>
#include <iostream>

#include "api/agent_prober.hpp"
#include "api/controller_routes.hpp"
#include "api/tls_context.hpp"
#include "service/cli/commands.hpp"
#include "service/cli/http_process.hpp"
#include "service/controller/server_registry.hpp"
#include "service/log.hpp"
#include "store/controller_store.hpp"

namespace certdeploy::cli {

int run_server(const config::ServerConfig& cfg) {
    // The servers of the configuration file are checked before anything starts, like every other key.
    std::vector<std::pair<std::string, controller::ServerSpec>> configured;
    for (const auto& [name, spec] : cfg.servers.items()) {
        auto parsed = controller::parse_server_spec(spec);
        if (!parsed) {
            std::cerr << "certdeploy server: invalid value for key \"servers\": server \"" << name
                      << "\": " << parsed.error().message << '\n';
            return 2;
        }
        configured.emplace_back(name, std::move(*parsed));
    }
    const int tls_files = (cfg.agentCa ? 1 : 0) + (cfg.agentClientCert ? 1 : 0) + (cfg.agentClientKey ? 1 : 0);
    if (tls_files != 0 && tls_files != 3) {
        std::cerr << "certdeploy server: keys \"agentCa\", \"agentClientCert\" and \"agentClientKey\" go together: "
                     "give all three (mutual TLS to the agents) or none\n";
        return 2;
    }
    std::shared_ptr<boost::asio::ssl::context> agent_tls;
    if (tls_files == 3) {
        auto tls = api::make_mutual_tls_client(*cfg.agentClientCert, *cfg.agentClientKey, *cfg.agentCa);
        if (!tls) {
            std::cerr << "certdeploy server: " << tls.error().message << '\n';
            return 2;
        }
        agent_tls = std::move(*tls);
    }
    log::init("server", cfg.logLevel);
    auto store = store::open_sqlite_controller_store(cfg.dataDir);
    if (!store) {
        log::error("cannot open the database", {{"dataDir", cfg.dataDir.string()}, {"detail", store.error().what}});
        return 1;
    }
    controller::ServerRegistry servers(std::shared_ptr<store::ControllerStore>(std::move(*store)));
    for (const auto& [name, spec] : configured) {
        if (auto put = servers.put(name, spec); !put) {
            log::error("cannot register a configured server",
                       {{"server", name}, {"message", put.error().message}, {"detail", put.error().detail}});
            return 1;
        }
    }
    // Without the agents' TLS material the controller cannot talk to agents: servers stay "reachable": null.
    std::unique_ptr<api::AgentProber> prober;
    if (agent_tls) {
        prober = std::make_unique<api::AgentProber>(agent_tls, servers, cfg.probeInterval, cfg.agentTimeout);
        prober->start();
    } else {
        log::warn("no agentCa, agentClientCert and agentClientKey: agents will not be contacted");
    }
    boost::asio::thread_pool blocking(2);  // SQLite writes (fsync) never run on the I/O threads
    const int status = run_http_process(
        "server", cfg.http, [&](api::Router& router) { api::add_controller_routes(router, servers, blocking); });
    if (prober) {
        prober->stop();
    }
    blocking.join();
    return status;
}

}  // namespace certdeploy::cli
