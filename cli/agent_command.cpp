// certdeploy agent: the per-server agent over HTTPS with mutual TLS.

#include <boost/asio/thread_pool.hpp>
#include <iostream>

#include "api/agent/agent_routes.hpp"
#include "api/http/tls_context.hpp"
#include "cli/commands.hpp"
#include "cli/http_process.hpp"
#include "service/agent/agent_service.hpp"
#include "service/log.hpp"

namespace certdeploy::cli {

int run_agent(const config::AgentConfig& cfg) {
    auto services = agent::parse_services(cfg.services);
    if (!services) {
        std::cerr << "certdeploy agent: invalid value for key \"services\": " << services.error().message << '\n';
        return 2;
    }
    const TlsFactory make_tls = [&cfg] { return api::make_mutual_tls_server(cfg.tlsCert, cfg.tlsKey, cfg.clientCa); };
    if (auto tls = make_tls(); !tls) {
        std::cerr << "certdeploy agent: " << tls.error().message << '\n';
        return 2;
    }
    log::init("agent", cfg.logLevel);
    auto ctx = pki::PkiContext::create();
    if (!ctx) {
        log::error("cannot start", {{"message", ctx.error().message}, {"detail", ctx.error().detail}});
        return 1;
    }
    agent::AgentOptions options{cfg.name, cfg.store, cfg.caFiles, true, std::move(*services)};
    auto service = agent::AgentService::open(std::move(options), *ctx);
    if (!service) {
        log::error("cannot open the certificate store",
                   {{"message", service.error().message}, {"detail", service.error().detail}});
        return 1;
    }
    // Disk writes with fsync, reload commands and key derivations run here, never on the I/O threads.
    boost::asio::thread_pool blocking(2);
    const int status = run_http_process(
        "agent", cfg.http, [&](api::Router& router) { api::add_agent_routes(router, **service, blocking); }, make_tls);
    blocking.join();
    return status;
}

}  // namespace certdeploy::cli
