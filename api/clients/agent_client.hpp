#pragma once
// The controller's client of its agents: HTTPS with mutual TLS (the controller's certificate, the agents'
// CA), a deadline on every step, and kept-alive connections reused per agent, so that deploying to many
// servers does not pay a TCP and TLS handshake per call.
//
// Lifetime: coroutines hold a shared_ptr to the client, so a suspended one never outlives what it uses.

#include <boost/asio/ssl/context.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "api/http/net.hpp"
#include "service/error.hpp"

namespace certdeploy::api {

class AgentClient : public std::enable_shared_from_this<AgentClient> {
  public:
    AgentClient(asio::any_io_executor executor, std::shared_ptr<asio::ssl::context> tls,
                std::chrono::milliseconds timeout);

    struct Reply {
        unsigned status = 0;
        std::string body;
    };

    // `agent_url` is https://HOST:PORT as registered; `body` (JSON) is wiped once sent. Errors: agent-unreachable
    // (resolve, connect, handshake, read or write failed or timed out), naming the agent.
    // `deadline` bounds the whole request (connect, handshake, send, answer) besides each step's timeout:
    // the dispatcher's attempt timeout.
    asio::awaitable<Result<Reply>> request(
        std::string agent_url, http::verb method, std::string target, std::string body = {},
        std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max());

    // Drops the kept-alive connections (at shutdown).
    void close_idle();

    // New connections present the certificate of `tls` (the controller's client certificate was renewed);
    // open and kept-alive ones go on with the context they began with, which is kept alive for them.
    // Called on the client's executor.
    void replace_tls(std::shared_ptr<asio::ssl::context> tls);

    // An agent whose connection `revoked` refuses (its certificate's fingerprint was revoked: see
    // api::peer_fingerprint) gets nothing sent to it: a removed server's agent cannot act as an agent again at
    // its address. Asked before every request, kept-alive connections included. Set before start.
    void set_revocation_check(std::function<bool(SSL* connection)> revoked);

  private:
    using Stream = beast::ssl_stream<beast::tcp_stream>;
    asio::awaitable<Result<std::unique_ptr<Stream>>> connect(const std::string& host, const std::string& port,
                                                             std::chrono::steady_clock::time_point deadline);
    // The step's deadline: its own timeout, or the request's deadline if sooner.
    std::chrono::steady_clock::time_point step_deadline(std::chrono::steady_clock::time_point deadline) const;
    std::unique_ptr<Stream> take_idle(const std::string& agent_url);
    void keep_idle(const std::string& agent_url, std::unique_ptr<Stream> stream);

    asio::any_io_executor executor_;
    std::shared_ptr<asio::ssl::context> tls_;
    std::vector<std::shared_ptr<asio::ssl::context>> retired_;  // contexts older connections still use
    std::function<bool(SSL*)> revoked_;
    std::chrono::milliseconds timeout_;
    std::mutex mutex_;
    std::map<std::string, std::vector<std::unique_ptr<Stream>>> idle_;
};

}  // namespace certdeploy::api
