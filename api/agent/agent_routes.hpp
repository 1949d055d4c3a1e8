#pragma once
// The agent's API under /agent/v1 (openapi.yaml, tag agent): thin HTTP glue over agent::AgentService.

#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <functional>

#include "api/http/router.hpp"
#include "service/agent/agent_service.hpp"

namespace certdeploy::api {

// `pool` runs the service's blocking work (disk, reload commands, key derivation). `identity_not_after`,
// for an enrolled agent: when its own certificate ends, reported by the health route.
void add_agent_routes(Router& router, agent::AgentService& service, boost::asio::thread_pool& pool,
                      std::function<std::chrono::system_clock::time_point()> identity_not_after = nullptr);

}  // namespace certdeploy::api
