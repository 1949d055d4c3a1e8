#pragma once
// An HTTP/1.1 server on C++20 coroutines: one coroutine accepts, one per connection serves requests in
// order (a pipeline of one), each connection on one of the process's single-threaded io_contexts
// (IoContexts), so its handlers run one at a time without a strand. Every read and write has a deadline,
// every parser a body limit. shutdown() stops accepting, closes idle keep-alive connections at once,
// lets requests already begun finish (answered with Connection: close), and forces the rest closed when
// the grace period ends.

#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "api/http/cors.hpp"
#include "api/http/io_contexts.hpp"
#include "api/http/net.hpp"
#include "api/http/router.hpp"
#include "service/error.hpp"

namespace certdeploy::api {

struct ServerLimits {
    std::size_t maxBodyBytes = 16 * 1024 * 1024;
    std::size_t maxHeaderBytes = 16 * 1024;
    std::chrono::milliseconds requestTimeout{30'000};
    std::chrono::milliseconds idleTimeout{60'000};
    std::size_t maxConnections = 10'000;  // further connections are closed at once
};

class HttpServer {
  public:
    // With `tls`, every connection must complete a TLS handshake first (the context decides whether a client
    // certificate is required); without it the server speaks plain HTTP.
    HttpServer(IoContexts& contexts, Router router, ServerLimits limits,
               std::shared_ptr<asio::ssl::context> tls = nullptr);
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;
    ~HttpServer();

    // Cross-origin requests from browsers (set before start).
    void set_cors(CorsPolicy policy) { cors_ = std::move(policy); }

    // New connections use `tls` from now on (a rotated certificate); open ones keep the context they began
    // with. Only for a server made with TLS. Thread-safe.
    void replace_tls(std::shared_ptr<asio::ssl::context> tls);

    // Resolves `host`, binds and listens. Returns the bound endpoint (port 0 becomes the one chosen).
    Result<tcp::endpoint> listen(const std::string& host, std::uint16_t port);

    // Starts accepting; the io_context's threads run everything.
    void start();

    // Thread-safe and idempotent. `on_stopped` runs once the acceptor is closed and the last connection ended.
    void shutdown(std::chrono::milliseconds grace, std::function<void()> on_stopped);

    // Closes every connection now, requests in flight or not (what the grace period's end does).
    void force_close();

  private:
    struct Connection;

    std::shared_ptr<asio::ssl::context> current_tls() const;
    asio::awaitable<void> accept_loop();
    asio::awaitable<void> serve(std::shared_ptr<Connection> conn);
    template <class Stream>
    asio::awaitable<void> serve_loop(Connection& conn, Stream& stream);
    // Reads, handles and answers one request; false when the connection must close afterwards.
    template <class Stream>
    asio::awaitable<bool> serve_one(Connection& conn, Stream& stream, beast::flat_buffer& buffer);
    asio::awaitable<Response> dispatch(Request& req);
    asio::awaitable<Response> route(Request& req);
    // Sends `res`'s header with chunked encoding, then what req.stream writes (Server-Sent Events).
    template <class Stream>
    asio::awaitable<void> stream_body(Connection& conn, Stream& stream, Request& req, const Response& res);
    template <class Stream>
    asio::awaitable<bool> answer_read_error(Connection& conn, Stream& stream, beast::error_code ec, unsigned version);
    template <class Stream>
    asio::awaitable<void> linger(Connection& conn, Stream& stream);

    bool track(const std::shared_ptr<Connection>& conn);
    void untrack(const Connection* conn);
    void finish_if_drained(std::unique_lock<std::mutex>& lock);

    IoContexts& contexts_;
    Router router_;
    ServerLimits limits_;
    CorsPolicy cors_;
    mutable std::mutex tls_mutex_;  // guards tls_
    std::shared_ptr<asio::ssl::context> tls_;
    asio::strand<asio::io_context::executor_type> control_;  // serialises the acceptor and the grace timer
    tcp::acceptor acceptor_;
    asio::steady_timer grace_timer_;

    std::mutex mutex_;  // guards what follows
    std::unordered_map<const Connection*, std::weak_ptr<Connection>> connections_;
    bool stopping_ = false;
    bool accepting_ = false;
    std::function<void()> on_stopped_;
};

}  // namespace certdeploy::api
