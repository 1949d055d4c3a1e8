#include "api/clients/agent_link.hpp"

#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>

#include "service/log.hpp"

namespace certdeploy::api {

AgentLink::AgentLink(std::shared_ptr<asio::ssl::context> tls, std::chrono::milliseconds timeout)
    : work_(ioc_.get_executor()),
      client_(std::make_shared<AgentClient>(ioc_.get_executor(), std::move(tls), timeout)),
      agents_(*client_) {}

AgentLink::~AgentLink() {
    stop();
}

void AgentLink::start() {
    thread_ = std::thread([this] {
        for (;;) {
            try {
                ioc_.run();
                return;
            } catch (const std::exception& e) {
                // A bug in one coroutine must not take the controller's agent traffic down with it.
                log::error("exception on the agents' thread", {{"detail", e.what()}});
            }
        }
    });
}

void AgentLink::keep_tls_fresh(TlsRefresh refresh, std::chrono::milliseconds interval) {
    auto loop = [this, refresh = std::move(refresh), interval]() -> asio::awaitable<void> {
        asio::steady_timer timer(ioc_);
        for (;;) {
            timer.expires_after(interval);
            auto [ec] = co_await timer.async_wait(use_nothrow);
            if (ec) {
                co_return;
            }
            // A few milliseconds of key generation and two small file writes, rarely: on this thread.
            if (auto fresh = refresh()) {
                client_->replace_tls(std::move(fresh));
            }
        }
    };
    asio::co_spawn(ioc_, std::move(loop), asio::detached);
}

void AgentLink::stop() {
    work_.reset();
    ioc_.stop();
    if (thread_.joinable()) {
        thread_.join();
    }
}

}  // namespace certdeploy::api
