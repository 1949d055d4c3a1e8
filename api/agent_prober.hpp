#pragma once
// Learns whether each registered server's agent answers, and its version: every interval, GET
// /agent/v1/health on each agent (at most one probe in flight per server), recorded in the store, so that
// GET /v1/servers shows reachability, agent version and last contact.
//
// It runs on an io_context and thread of its own: its store writes never hold a thread that serves HTTP,
// and stop() ends it completely (no coroutine of it outlives it).

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <memory>
#include <set>
#include <thread>

#include "api/agent_client.hpp"
#include "service/controller/server_registry.hpp"

namespace certdeploy::api {

class AgentProber {
  public:
    AgentProber(std::shared_ptr<asio::ssl::context> tls, controller::ServerRegistry& servers,
                std::chrono::milliseconds interval, std::chrono::milliseconds timeout);
    ~AgentProber();
    AgentProber(const AgentProber&) = delete;
    AgentProber& operator=(const AgentProber&) = delete;

    void start();
    void stop();

  private:
    asio::awaitable<void> loop();
    asio::awaitable<void> probe(std::string name, std::string agent_url);

    asio::io_context ioc_;  // first: destroyed last, after everything that uses it
    std::shared_ptr<AgentClient> client_;
    controller::ServerRegistry& servers_;
    std::chrono::milliseconds interval_;
    std::set<std::string> in_flight_;  // touched only on the prober's single thread
    std::thread thread_;
};

}  // namespace certdeploy::api
