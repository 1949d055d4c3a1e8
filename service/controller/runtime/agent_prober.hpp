#pragma once
// Learns whether each registered server's agent answers, its version and what it holds: every interval,
// GET /agent/v1/health and then /agent/v1/certificates on each agent (at most one probe in flight per
// server, 32 at once), recorded in the store, so that GET /v1/servers shows reachability, agent version and last
// contact, and GET /v1/certificates the fleet's inventory.
//
// It runs on `context` (the AgentLink's thread); its store writes go to `pool`, never holding that thread.

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <deque>
#include <memory>
#include <set>
#include <string>
#include <utility>

#include "service/async/awaitable.hpp"
#include "service/controller/agent_api.hpp"
#include "service/controller/server_registry.hpp"

namespace certdeploy::controller {

class AgentProber {
  public:
    AgentProber(asio::io_context& context, AgentApi& agents, ServerRegistry& servers, asio::thread_pool& pool,
                std::chrono::milliseconds interval);
    AgentProber(const AgentProber&) = delete;
    AgentProber& operator=(const AgentProber&) = delete;

    // Starts probing on `context`; it ends when the context stops.
    void start();

  private:
    using Round = std::deque<std::pair<std::string, std::string>>;  // servers (name, agent URL) left to probe
    static constexpr std::size_t kProbesAtOnce = 32;

    asio::awaitable<void> loop();
    // Probes the round's servers one after another until none is left; several of these share a round.
    asio::awaitable<void> work_through(std::shared_ptr<Round> round);
    asio::awaitable<void> probe(std::string name, std::string agent_url);

    asio::io_context& context_;
    AgentApi& agents_;
    controller::ServerRegistry& servers_;
    asio::thread_pool& pool_;
    std::chrono::milliseconds interval_;
    // Touched only on the link's single thread. Shared with each probe: a probe suspended when the
    // controller stops is destroyed with the link's context, after this prober is gone.
    std::shared_ptr<std::set<std::string>> in_flight_ = std::make_shared<std::set<std::string>>();
};

}  // namespace certdeploy::controller
