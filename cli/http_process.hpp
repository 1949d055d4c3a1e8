#pragma once
// Runs an HTTP process (the controller or an agent) until SIGINT or SIGTERM: logging, listening, the
// ready file, signals, the I/O threads, and a clean exit with status 0.

#include <boost/asio/ssl/context.hpp>
#include <functional>
#include <memory>
#include <string_view>

#include "api/http/router.hpp"
#include "config/process_config.hpp"

namespace certdeploy::cli {

// `add_routes` adds the role's own routes; /healthz is always there. With `tls`, only HTTPS is served.
// Logging must be set up already. Returns the process's exit status.
int run_http_process(std::string_view role, const config::HttpSettings& http,
                     const std::function<void(api::Router&)>& add_routes,
                     std::shared_ptr<boost::asio::ssl::context> tls = nullptr);

}  // namespace certdeploy::cli
