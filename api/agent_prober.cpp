#include "api/agent_prober.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include "service/log.hpp"

namespace certdeploy::api {

AgentProber::AgentProber(std::shared_ptr<asio::ssl::context> tls, controller::ServerRegistry& servers,
                         std::chrono::milliseconds interval, std::chrono::milliseconds timeout)
    : client_(std::make_shared<AgentClient>(ioc_.get_executor(), std::move(tls), timeout)),
      servers_(servers),
      interval_(interval) {}

AgentProber::~AgentProber() {
    stop();
}

void AgentProber::start() {
    asio::co_spawn(ioc_, loop(), [](const std::exception_ptr& e) {
        if (e) {
            log::error("the agent prober ended by an exception");
        }
    });
    thread_ = std::thread([this] { ioc_.run(); });
}

void AgentProber::stop() {
    ioc_.stop();
    if (thread_.joinable()) {
        thread_.join();
    }
}

asio::awaitable<void> AgentProber::loop() {
    asio::steady_timer timer(ioc_);
    for (;;) {
        // On the prober's own thread: a blocking store read here holds no HTTP thread.
        auto agents = servers_.agents();
        if (agents) {
            for (auto& [name, url] : *agents) {
                if (in_flight_.insert(name).second) {  // a slow agent is not piled on
                    asio::co_spawn(ioc_, probe(name, url), asio::detached);
                }
            }
        } else {
            log::warn("cannot list servers to probe", {{"message", agents.error().message}});
        }
        timer.expires_after(interval_);
        co_await timer.async_wait(use_nothrow);
    }
}

asio::awaitable<void> AgentProber::probe(std::string name, std::string agent_url) {
    auto reply = co_await client_->request(agent_url, http::verb::get, "/agent/v1/health");
    bool reachable = false;
    std::optional<std::string> version;
    if (reply && reply->status == 200) {
        reachable = true;
        auto health = nlohmann::json::parse(reply->body, nullptr, false);
        if (health.is_object() && health.contains("version") && health["version"].is_string()) {
            version = health["version"].get<std::string>();
        }
    } else if (!reply) {
        log::debug("agent unreachable", {{"server", name}, {"detail", reply.error().detail}});
    }
    if (auto recorded = servers_.record_contact(name, reachable, version); !recorded) {
        log::warn("cannot record a probe", {{"server", name}, {"message", recorded.error().message}});
    }
    in_flight_.erase(name);
}

}  // namespace certdeploy::api
