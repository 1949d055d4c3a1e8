// certdeploy server: the controller's REST API.

#include <boost/asio/thread_pool.hpp>
#include <iostream>

#include "api/controller_routes.hpp"
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
    boost::asio::thread_pool blocking(2);  // SQLite writes (fsync) never run on the I/O threads
    const int status = run_http_process(
        "server", cfg.http, [&](api::Router& router) { api::add_controller_routes(router, servers, blocking); });
    blocking.join();
    return status;
}

}  // namespace certdeploy::cli
