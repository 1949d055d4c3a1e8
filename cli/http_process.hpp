#pragma once
// Runs an HTTP process (the controller or an agent) until SIGINT or SIGTERM: logging, listening, the
// ready file, signals, the I/O threads, and a clean exit with status 0.

#include <boost/asio/ssl/context.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>

#include "api/http/cors.hpp"
#include "api/http/router.hpp"
#include "config/process_config.hpp"

namespace certdeploy::cli {

// Makes the TLS context from the files the configuration names; called once at start (already checked by
// the caller) and again on each SIGHUP, so that a rotated certificate is served to new connections.
using TlsFactory = std::function<Result<std::shared_ptr<boost::asio::ssl::context>>()>;

// `add_routes` adds the role's own routes; /healthz is always there. With `make_tls`, only HTTPS is served,
// and SIGHUP re-reads its files without dropping a connection (a file that no longer loads is logged and
// the current certificate stays). `on_listening` runs once the socket listens and the signals have their
// handlers. Logging must be set up already. Returns the process's exit status.
// A second listener, plain HTTP (the controller's metricsListen, loopback only): its own routes and
// /healthz, started and stopped with the main one.
struct SideListener {
    config::Endpoint listen;
    std::function<void(api::Router&)> add_routes;
};

int run_http_process(std::string_view role, const config::HttpSettings& http,
                     const std::function<void(api::Router&)>& add_routes, const TlsFactory& make_tls = nullptr,
                     const api::CorsPolicy& cors = {}, const std::function<void()>& on_listening = nullptr,
                     const std::optional<SideListener>& side = std::nullopt);

}  // namespace certdeploy::cli
