#include "service/controller/runtime/agent_prober.hpp"

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <deque>
#include <nlohmann/json.hpp>

#include "service/async/run_blocking.hpp"
#include "service/log.hpp"
#include "service/scope_exit.hpp"
#include "service/time/rfc3339.hpp"

namespace certdeploy::controller {

AgentProber::AgentProber(asio::io_context& context, AgentApi& agents, ServerRegistry& servers, asio::thread_pool& pool,
                         std::chrono::milliseconds interval)
    : context_(context), agents_(agents), servers_(servers), pool_(pool), interval_(interval) {}

void AgentProber::start() {
    asio::co_spawn(context_, loop(), [](const std::exception_ptr& e) {
        if (e) {
            log::error("the agent prober ended by an exception");
        }
    });
}

asio::awaitable<void> AgentProber::loop() {
    asio::steady_timer timer(context_);
    for (;;) {
        // A server deleted on another controller of the same database: its agent's identity is refused
        // here too from this round on.
        auto refreshed = co_await run_blocking(pool_, [this] { return servers_.refresh_revocations(); });
        if (!refreshed) {
            log::warn("cannot read the revoked identities", {{"message", refreshed.error().message}});
        }
        auto agents = co_await run_blocking(pool_, [this] { return servers_.agents(); });
        if (agents) {
            auto round = std::make_shared<Round>();
            for (auto& [name, url] : *agents) {
                if (in_flight_->insert(name).second) {  // a slow agent is not piled on
                    round->emplace_back(std::move(name), std::move(url));
                }
            }
            // A few probes at once, not one per server: a controller starting with thousands of servers
            // must not open thousands of TLS connections in the same instant (and starve a deployment).
            const auto workers = std::min(kProbesAtOnce, round->size());
            for (std::size_t i = 0; i < workers; ++i) {
                asio::co_spawn(context_, work_through(round), asio::detached);
            }
        } else {
            log::warn("cannot list servers to probe", {{"message", agents.error().message}});
        }
        timer.expires_after(interval_);
        co_await timer.async_wait(use_nothrow);
    }
}

asio::awaitable<void> AgentProber::work_through(std::shared_ptr<Round> round) {
    while (!round->empty()) {
        auto [name, url] = std::move(round->front());
        round->pop_front();
        try {
            co_await probe(std::move(name), std::move(url));
        } catch (const std::exception& e) {
            // One probe's failure must not end the round: the servers after it would stay marked in flight
            // and never be probed again.
            log::error("a probe ended by an exception", {{"detail", e.what()}});
        }
    }
}

asio::awaitable<void> AgentProber::probe(std::string name, std::string agent_url) {
    // However this probe ends (an exception included), the server is probed again next time.
    ScopeExit done([in_flight = in_flight_, &name] { in_flight->erase(name); });
    const AgentApi::Where where{name, agent_url};
    auto health = co_await agents_.health(where);
    const bool reachable = health.has_value();
    std::optional<std::string> version;
    if (health) {
        version = health->version;
    } else {
        log::debug("agent unreachable", {{"server", name}, {"detail", health.error().detail}});
    }
    auto recorded = co_await run_blocking(pool_, [&] { return servers_.record_contact(name, reachable, version); });
    if (!recorded) {
        log::warn("cannot record a probe", {{"server", name}, {"message", recorded.error().message}});
    }
    if (reachable) {
        const std::string asked_at = rfc3339_now();
        auto list = co_await agents_.list(where, std::nullopt);
        if (list) {
            auto kept = co_await run_blocking(
                pool_, [&] { return servers_.replace_inventory(name, (*list)["certificates"], asked_at); });
            if (!kept) {
                log::warn("cannot record an inventory", {{"server", name}, {"message", kept.error().message}});
            }
        }
    }
}

}  // namespace certdeploy::controller
