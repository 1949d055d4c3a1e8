#pragma once
// Where the controller talks to its agents: one io_context on a thread of its own, with the pooled
// mutual-TLS AgentClient. The prober, the job dispatcher and the API's per-server views all use it, so
// connections to an agent are shared, and nothing an agent does (hang, refuse, trickle) ever holds a thread
// that serves the controller's own HTTP clients.

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <thread>

#include "api/clients/agent_client.hpp"
#include "api/clients/http_agent_api.hpp"

namespace certdeploy::api {

class AgentLink {
  public:
    AgentLink(std::shared_ptr<asio::ssl::context> tls, std::chrono::milliseconds timeout);
    ~AgentLink();
    AgentLink(const AgentLink&) = delete;
    AgentLink& operator=(const AgentLink&) = delete;

    void start();

    // Every `interval`, on the link's thread, asks `refresh` for a new TLS context (nothing when the
    // current one is still good) and gives it to the client: the controller's client certificate renews
    // itself while jobs run. Runs until stop().
    using TlsRefresh = std::function<std::shared_ptr<asio::ssl::context>()>;
    void keep_tls_fresh(TlsRefresh refresh, std::chrono::milliseconds interval);
    // Stops the context and joins its thread; coroutines still suspended on it are destroyed with it.
    void stop();

    asio::io_context& context() { return ioc_; }
    AgentClient& client() { return *client_; }
    // The agents' API; its coroutines run on this link's context.
    controller::AgentApi& agents() { return agents_; }

    // From a coroutine on any executor: `work` runs on the link's context, and the caller resumes on its
    // own executor with the answer.
    template <class T>
    asio::awaitable<T> on_link(asio::awaitable<T> work) {
        co_return co_await asio::co_spawn(ioc_, std::move(work), asio::use_awaitable);
    }

  private:
    asio::io_context ioc_;  // first: destroyed last
    asio::executor_work_guard<asio::io_context::executor_type> work_;
    std::shared_ptr<AgentClient> client_;
    HttpAgentApi agents_;
    std::thread thread_;
};

}  // namespace certdeploy::api
