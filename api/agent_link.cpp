#include "api/agent_link.hpp"

#include <boost/asio/co_spawn.hpp>

#include "service/log.hpp"

namespace certdeploy::api {

AgentLink::AgentLink(std::shared_ptr<asio::ssl::context> tls, std::chrono::milliseconds timeout)
    : work_(ioc_.get_executor()),
      client_(std::make_shared<AgentClient>(ioc_.get_executor(), std::move(tls), timeout)) {}

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

void AgentLink::stop() {
    work_.reset();
    ioc_.stop();
    if (thread_.joinable()) {
        thread_.join();
    }
}

asio::awaitable<Result<AgentClient::Reply>> AgentLink::call(std::string agent_url, http::verb method,
                                                            std::string target, std::string body) {
    co_return co_await asio::co_spawn(
        ioc_, client_->request(std::move(agent_url), method, std::move(target), std::move(body)), asio::use_awaitable);
}

}  // namespace certdeploy::api
