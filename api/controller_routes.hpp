#pragma once
// The controller's API under /v1 (openapi.yaml, tag servers): thin HTTP glue over the controller's domain.

#include <boost/asio/thread_pool.hpp>

#include "api/router.hpp"
#include "service/controller/server_registry.hpp"

namespace certdeploy::api {

// `pool` runs the store's blocking work, so that writes never hold an I/O thread.
void add_controller_routes(Router& router, controller::ServerRegistry& servers, boost::asio::thread_pool& pool);

}  // namespace certdeploy::api
