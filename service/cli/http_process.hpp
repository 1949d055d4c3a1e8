#pragma once
// Runs an HTTP process (the controller or an agent) until SIGINT or SIGTERM: logging, listening, the
// ready file, signals, the I/O threads, and a clean exit with status 0.

#include <functional>
#include <string_view>

#include "api/router.hpp"
#include "config/process_config.hpp"

namespace certdeploy::cli {

// `add_routes` adds the role's own routes; /healthz is always there. Returns the process's exit status.
int run_http_process(std::string_view role, const config::HttpSettings& http, log::Level level,
                     const std::function<void(api::Router&)>& add_routes);

}  // namespace certdeploy::cli
