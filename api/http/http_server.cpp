#include "api/http/http_server.hpp"

#include <openssl/crypto.h>
#include <openssl/ssl.h>

#include <array>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/url/parse.hpp>

#include "api/http/problem.hpp"
#include "api/http/tls_context.hpp"
#include "service/log.hpp"
#include "service/metrics/metrics.hpp"
#include "service/scope_exit.hpp"
#include "service/secret.hpp"

namespace certdeploy::api {

struct HttpServer::Connection {
    explicit Connection(tcp::socket socket) : executor(socket.get_executor()), plain(std::move(socket)) {}
    asio::any_io_executor executor;  // the connection's io_context (one thread runs it)
    beast::tcp_stream plain;         // moved into `tls` when the server speaks TLS
    // The TLS context the connection began with: a rotation (replace_tls) leaves it to the connections that
    // use it, so that they go on undisturbed. Declared before the stream, so it outlives it.
    std::shared_ptr<asio::ssl::context> tlsContext;
    std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls;
    std::string remote;
    std::string client;              // the client certificate's subject, under mutual TLS
    std::string client_cn;           // its common name
    std::string client_fingerprint;  // sha256:<hex> of its DER
    bool client_auth = false;        // it is for client authentication (extended key usage clientAuth)

    beast::tcp_stream& lowest() { return tls ? beast::get_lowest_layer(*tls) : plain; }
    // Both touched only on the connection's strand.
    bool idle = true;      // waiting for the first byte of a request: shutdown may close it at once
    bool closing = false;  // shutdown began: answer the current request, then close
};

namespace {

// certdeploy_http_requests_total{route,method,code} and certdeploy_http_request_duration_seconds{route,method}:
// the route is the matched pattern ("/v1/jobs/{id}"), or "unmatched", never the raw path; code is the class.
void count_request(const Request& req, unsigned status, double seconds) {
    static auto& requests = metrics::process_registry().counter(
        "certdeploy_http_requests_total", "HTTP requests answered, by route template, method and status class.",
        {"route", "method", "code"});
    static auto& latency = metrics::process_registry().histogram(
        "certdeploy_http_request_duration_seconds",
        "Time from a request's arrival to the end of its answer (a stream: to its header), in seconds.",
        {"route", "method"});
    const std::string route = req.route.empty() ? std::string("unmatched") : req.route;
    // A method Beast does not know could be anything a client sends: one label for them all.
    const std::string method =
        req.message.method() == http::verb::unknown ? std::string("other") : std::string(req.message.method_string());
    requests.with({route, method, std::to_string(status / 100) + "xx"}).inc();
    latency.with({route, method}).observe(seconds);
}

// "CN=certdeploy controller, O=certdeploy" of the verified client certificate, for the log.
std::string peer_subject(SSL* ssl) {
    X509* cert = SSL_get0_peer_certificate(ssl);
    if (cert == nullptr) {
        return {};
    }
    char buf[256];
    X509_NAME_oneline(X509_get_subject_name(cert), buf, sizeof buf);
    return buf;
}

// The verified client certificate's common name: the identity clientCertificates maps to a role.
std::string peer_common_name(SSL* ssl) {
    X509* cert = SSL_get0_peer_certificate(ssl);
    if (cert == nullptr) {
        return {};
    }
    X509_NAME* subject = X509_get_subject_name(cert);
    const int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
    if (index < 0) {
        return {};
    }
    unsigned char* utf8 = nullptr;
    const int length = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index)));
    if (length < 0) {
        return {};
    }
    std::string name(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(length));
    OPENSSL_free(utf8);
    return name;
}

bool is_http_syntax_error(const beast::error_code& ec) {
    return ec.category() == http::make_error_code(http::error::bad_target).category();
}

}  // namespace

HttpServer::HttpServer(IoContexts& contexts, Router router, ServerLimits limits,
                       std::shared_ptr<asio::ssl::context> tls)
    : contexts_(contexts),
      router_(std::move(router)),
      limits_(limits),
      tls_(std::move(tls)),
      control_(asio::make_strand(contexts.main())),
      acceptor_(control_),
      grace_timer_(control_) {}

HttpServer::~HttpServer() = default;

Result<tcp::endpoint> HttpServer::listen(const std::string& host, std::uint16_t port) {
    const std::string where = host + ":" + std::to_string(port);
    beast::error_code ec;
    tcp::resolver resolver(contexts_.main());
    auto results =
        resolver.resolve(host, std::to_string(port), tcp::resolver::passive | tcp::resolver::numeric_service, ec);
    if (ec || results.empty()) {
        return make_error(ErrorCode::io_error, "cannot resolve listen address " + where, ec.message());
    }
    const tcp::endpoint endpoint = results.begin()->endpoint();
    auto fail = [&](const char* step) {
        return make_error(ErrorCode::io_error, std::string("cannot listen on ") + where + ": " + ec.message(), step);
    };
    acceptor_.open(endpoint.protocol(), ec);
    if (ec) {
        return fail("open");
    }
    // Lets a restarted process bind while connections of its predecessor sit in TIME_WAIT.
    acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (ec) {
        return fail("setsockopt");
    }
    acceptor_.bind(endpoint, ec);
    if (ec) {
        return fail("bind");
    }
    acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
        return fail("listen");
    }
    auto bound = acceptor_.local_endpoint(ec);
    if (ec) {
        return fail("getsockname");
    }
    return bound;
}

void HttpServer::start() {
    {
        std::lock_guard lock(mutex_);
        accepting_ = true;
    }
    asio::co_spawn(control_, accept_loop(), [](const std::exception_ptr& e) {
        if (e) {
            log::error("accept loop ended by an exception");
        }
    });
}

asio::awaitable<void> HttpServer::accept_loop() {
    ScopeExit done_on_exit([this] {
        std::unique_lock lock(mutex_);
        accepting_ = false;
        finish_if_drained(lock);
    });
    for (;;) {
        auto [ec, socket] = co_await acceptor_.async_accept(contexts_.next().get_executor(), use_nothrow);
        if (ec == asio::error::operation_aborted || !acceptor_.is_open()) {
            break;
        }
        if (ec) {
            // Out of descriptors or memory: pause rather than spin, and keep serving the connections we have.
            log::warn("accept failed", {{"error", ec.message()}});
            asio::steady_timer pause(control_, std::chrono::milliseconds(50));
            co_await pause.async_wait(use_nothrow);
            continue;
        }
        beast::error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        auto conn = std::make_shared<Connection>(tcp::socket(std::move(socket)));
        auto peer = conn->plain.socket().remote_endpoint(ignored);
        conn->remote = "unknown";  // (no ?: with strings in a coroutine: GCC 12 double-destroys its temporaries)
        if (!ignored) {
            conn->remote = endpoint_string(peer);
        }
        if (!track(conn)) {
            conn->plain.socket().close(ignored);
            continue;
        }
        asio::co_spawn(conn->executor, serve(conn), [](const std::exception_ptr& e) {
            if (e) {
                log::error("connection ended by an exception");
            }
        });
    }
}

std::shared_ptr<asio::ssl::context> HttpServer::current_tls() const {
    std::lock_guard lock(tls_mutex_);
    return tls_;
}

void HttpServer::replace_tls(std::shared_ptr<asio::ssl::context> tls) {
    std::lock_guard lock(tls_mutex_);
    tls_ = std::move(tls);
}

asio::awaitable<void> HttpServer::serve(std::shared_ptr<Connection> conn) {
    // Whatever ends this coroutine, even an exception, the connection leaves the registry, or a shutdown
    // would wait for it for ever.
    ScopeExit untrack_on_exit([this, tracked = conn.get()] { untrack(tracked); });
    conn->tlsContext = current_tls();
    if (conn->tlsContext) {
        conn->tls = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(std::move(conn->plain), *conn->tlsContext);
        conn->lowest().expires_after(limits_.requestTimeout);
        auto [ec] = co_await conn->tls->async_handshake(asio::ssl::stream_base::server, use_nothrow);
        if (ec) {
            // No certificate, one from another CA, or not TLS at all: refused before any request is read.
            log::info("TLS handshake refused", {{"remote", conn->remote}, {"error", ec.message()}});
        } else {
            conn->client = peer_subject(conn->tls->native_handle());
            conn->client_cn = peer_common_name(conn->tls->native_handle());
            conn->client_fingerprint = peer_fingerprint(conn->tls->native_handle());
            X509* peer = SSL_get0_peer_certificate(conn->tls->native_handle());
            conn->client_auth = peer != nullptr && X509_check_purpose(peer, X509_PURPOSE_SSL_CLIENT, 0) == 1;
            co_await serve_loop(*conn, *conn->tls);
        }
    } else {
        co_await serve_loop(*conn, conn->plain);
    }
    beast::error_code ignored;
    conn->lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    conn->lowest().socket().close(ignored);
}

template <class Stream>
asio::awaitable<void> HttpServer::serve_loop(Connection& conn, Stream& stream) {
    beast::flat_buffer buffer;
    for (;;) {
        if (buffer.size() == 0) {
            // Idle until the first byte of the next request: in this state shutdown closes the connection.
            conn.idle = true;
            if (conn.closing) {
                break;
            }
            conn.lowest().expires_after(limits_.idleTimeout);
            auto [ec, n] = co_await stream.async_read_some(buffer.prepare(4096), use_nothrow);
            if (ec) {
                break;  // the peer closed, the idle timeout passed, or shutdown cancelled the read
            }
            buffer.commit(n);
        }
        conn.idle = false;
        if (!co_await serve_one(conn, stream, buffer) || conn.closing) {
            break;
        }
    }
    // Request bytes (passwords, keys) may still sit in the buffer's storage.
    buffer.consume(buffer.size());
    auto storage = buffer.prepare(buffer.capacity());  // the whole allocation, now that it holds nothing
    OPENSSL_cleanse(storage.data(), storage.size());
}

template <class Stream>
asio::awaitable<bool> HttpServer::serve_one(Connection& conn, Stream& stream, beast::flat_buffer& buffer) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(limits_.maxBodyBytes);
    parser.header_limit(static_cast<std::uint32_t>(limits_.maxHeaderBytes));

    conn.lowest().expires_after(limits_.requestTimeout);
    auto [ec, n] = co_await http::async_read_header(stream, buffer, parser, use_nothrow);
    if (ec) {
        co_return co_await answer_read_error(conn, stream, ec, 11);
    }
    const unsigned version = parser.get().version();
    // curl sends "Expect: 100-continue" with uploads over 1 KiB and waits a second for this answer.
    if (version >= 11 && !conn.closing && beast::iequals(parser.get()[http::field::expect], "100-continue") &&
        !parser.is_done()) {
        static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
        auto [wec, wn] = co_await asio::async_write(stream, asio::buffer(kContinue), use_nothrow);
        if (wec) {
            co_return false;
        }
    }
    if (!parser.is_done()) {
        auto [bec, bn] = co_await http::async_read(stream, buffer, parser, use_nothrow);
        if (bec) {
            co_return co_await answer_read_error(conn, stream, bec, version);
        }
    }

    const auto started = std::chrono::steady_clock::now();
    Request req;
    req.message = parser.release();
    req.remote = conn.remote;
    req.client = conn.client;
    req.client_cn = conn.client_cn;
    req.client_fingerprint = conn.client_fingerprint;
    req.client_auth = conn.client_auth;
    Response res = co_await dispatch(req);
    // Whatever the handler did, the request's bytes (a certificate file, a password) go now.
    wipe(req.message.body());
    if (req.stream && res.result() == http::status::ok) {
        count_request(req, res.result_int(),
                      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
        co_await stream_body(conn, stream, req, res);
        co_return false;
    }
    res.keep_alive(req.message.keep_alive() && !conn.closing);
    res.prepare_payload();

    conn.lowest().expires_after(limits_.requestTimeout);
    auto [wec, wn] = co_await http::async_write(stream, res, use_nothrow);
    const auto elapsed = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started);
    count_request(req, res.result_int(), elapsed.count() / 1000);
    log::info("request", {{"method", std::string(req.message.method_string())},
                          {"path", std::string(req.target.path())},
                          {"status", res.result_int()},
                          {"durationMs", elapsed.count()},
                          {"remote", conn.remote},
                          {"client", conn.client}});
    co_return !wec && res.keep_alive();
}

template <class Stream>
asio::awaitable<void> HttpServer::stream_body(Connection& conn, Stream& stream, Request& req, const Response& res) {
    http::response<http::empty_body> head{res.result(), res.version()};
    for (const auto& field : res.base()) {
        head.set(field.name_string(), field.value());
    }
    head.chunked(true);
    head.keep_alive(false);
    http::response_serializer<http::empty_body> serializer{head};
    conn.lowest().expires_after(limits_.requestTimeout);
    auto [hec, hn] = co_await http::async_write_header(stream, serializer, use_nothrow);
    log::info("stream opened", {{"path", std::string(req.target.path())}, {"remote", conn.remote}});
    if (hec) {
        co_return;
    }
    bool open = true;
    BodyWriter writer{
        [&](std::string data) -> asio::awaitable<bool> {
            if (!open || conn.closing) {
                co_return false;
            }
            conn.lowest().expires_after(limits_.requestTimeout);
            auto [ec, n] = co_await asio::async_write(stream, http::make_chunk(asio::buffer(data)), use_nothrow);
            open = !ec;
            co_return open && !conn.closing;
        },
        [&] { return !open || conn.closing; },
    };
    co_await req.stream(writer);
    if (open) {
        conn.lowest().expires_after(limits_.requestTimeout);
        co_await asio::async_write(stream, http::make_chunk_last(), use_nothrow);
    }
    log::info("stream closed", {{"path", std::string(req.target.path())}, {"remote", conn.remote}});
}

template <class Stream>
asio::awaitable<bool> HttpServer::answer_read_error(Connection& conn, Stream& stream, beast::error_code ec,
                                                    unsigned version) {
    Error error;
    if (ec == http::error::body_limit) {
        error = make_error(ErrorCode::payload_too_large,
                           "the request body is larger than " + std::to_string(limits_.maxBodyBytes) + " bytes");
    } else if (ec == http::error::header_limit) {
        error = make_error(ErrorCode::headers_too_large,
                           "the request headers are larger than " + std::to_string(limits_.maxHeaderBytes) + " bytes");
    } else if (is_http_syntax_error(ec) && ec != http::error::end_of_stream && ec != http::error::partial_message) {
        error = make_error(ErrorCode::invalid_request, "the request is not valid HTTP/1.1", ec.message());
    } else {
        // The peer went away, the deadline passed, or shutdown forced the connection closed: nobody to answer.
        log::debug("connection closed while reading", {{"remote", conn.remote}, {"error", ec.message()}});
        co_return false;
    }
    auto res = problem_response(error, version, "");
    res.keep_alive(false);
    res.prepare_payload();
    conn.lowest().expires_after(limits_.requestTimeout);
    co_await http::async_write(stream, res, use_nothrow);
    co_await linger(conn, stream);
    log::info("request refused",
              {{"status", res.result_int()}, {"code", std::string(code_string(error.code))}, {"remote", conn.remote}});
    co_return false;
}

template <class Stream>
asio::awaitable<void> HttpServer::linger(Connection& conn, Stream& stream) {
    // Closing with unread request bytes makes the kernel send a reset, which can destroy the error response
    // before the client reads it. Half-close, then discard what the client still sends, within bounds.
    beast::error_code ec;
    conn.lowest().socket().shutdown(tcp::socket::shutdown_send, ec);
    conn.lowest().expires_after(std::chrono::seconds(2));
    std::array<char, 16 * 1024> sink{};
    std::size_t discarded = 0;
    while (!ec && discarded < 1024 * 1024) {
        auto [read_ec, n] = co_await stream.async_read_some(asio::buffer(sink), use_nothrow);
        ec = read_ec;
        discarded += n;
    }
}

asio::awaitable<Response> HttpServer::dispatch(Request& req) {
    auto res = co_await route(req);
    if (!cors_.origins.empty()) {
        cors_decorate(cors_, req, res);
    }
    co_return res;
}

asio::awaitable<Response> HttpServer::route(Request& req) {
    const unsigned version = req.message.version();
    auto target = boost::urls::parse_origin_form(req.message.target());
    if (!target) {
        co_return problem_response(make_error(ErrorCode::invalid_request, "the request target is not a valid path"),
                                   version, "");
    }
    req.target = *target;
    const std::string instance(req.target.path());

    auto match = router_.match(req);
    if (!cors_.origins.empty()) {
        if (auto preflight = cors_preflight(cors_, req, match.allowed)) {
            co_return std::move(*preflight);
        }
    }
    if (match.handler == nullptr) {
        if (match.allowed.empty()) {
            co_return problem_response(make_error(ErrorCode::not_found, "no resource at " + instance), version,
                                       instance);
        }
        std::string allow;
        for (const auto& method : match.allowed) {
            allow += (allow.empty() ? "" : ", ") + method;
        }
        auto res =
            problem_response(make_error(ErrorCode::method_not_allowed, std::string(req.message.method_string()) +
                                                                           " is not allowed here; allowed: " + allow),
                             version, instance);
        res.set(http::field::allow, allow);
        co_return res;
    }

    Error error;
    try {
        auto result = co_await (*match.handler)(req);
        if (result) {
            co_return std::move(*result);
        }
        error = std::move(result).error();
    } catch (const std::exception& e) {
        // A bug, not a client's mistake: the client gets a generic problem, the log keeps what happened.
        error = make_error(ErrorCode::internal, "the server failed to handle this request", e.what());
    } catch (...) {
        error = make_error(ErrorCode::internal, "the server failed to handle this request", "unknown exception");
    }
    log::info("request failed",
              {{"path", instance}, {"code", std::string(code_string(error.code))}, {"message", error.message}});
    if (!error.detail.empty()) {
        log::debug("request failure detail", {{"path", instance}, {"detail", error.detail}});
    }
    co_return problem_response(error, version, instance);
}

bool HttpServer::track(const std::shared_ptr<Connection>& conn) {
    std::lock_guard lock(mutex_);
    if (stopping_) {
        return false;
    }
    if (connections_.size() >= limits_.maxConnections) {
        log::warn("connection refused: too many open connections", {{"limit", limits_.maxConnections}});
        return false;
    }
    connections_.emplace(conn.get(), conn);
    return true;
}

void HttpServer::untrack(const Connection* conn) {
    std::unique_lock lock(mutex_);
    connections_.erase(conn);
    finish_if_drained(lock);
}

void HttpServer::finish_if_drained(std::unique_lock<std::mutex>& lock) {
    if (!stopping_ || accepting_ || !connections_.empty() || !on_stopped_) {
        return;
    }
    auto done = std::move(on_stopped_);
    on_stopped_ = nullptr;
    lock.unlock();
    asio::post(control_, [this] { grace_timer_.cancel(); });
    done();
}

void HttpServer::shutdown(std::chrono::milliseconds grace, std::function<void()> on_stopped) {
    std::vector<std::shared_ptr<Connection>> open;
    {
        std::lock_guard lock(mutex_);
        if (stopping_) {
            return;
        }
        stopping_ = true;
        on_stopped_ = std::move(on_stopped);
        for (const auto& [key, weak] : connections_) {
            if (auto conn = weak.lock()) {
                open.push_back(std::move(conn));
            }
        }
    }
    log::info("shutting down", {{"openConnections", open.size()}, {"graceMs", grace.count()}});
    asio::post(control_, [this, grace] {
        beast::error_code ignored;
        acceptor_.close(ignored);
        grace_timer_.expires_after(grace);
        grace_timer_.async_wait([this](beast::error_code ec) {
            if (!ec) {
                force_close();
            }
        });
    });
    for (auto& conn : open) {
        asio::post(conn->executor, [conn] {
            conn->closing = true;
            // Bytes already in the kernel are a request begun: let the pending read pick them up.
            beast::error_code ec;
            if (conn->idle && conn->lowest().socket().available(ec) == 0) {
                conn->lowest().cancel();
            }
        });
    }
    // With no accept loop running (never started, or already ended) nothing else would finish the shutdown.
    std::unique_lock lock(mutex_);
    finish_if_drained(lock);
}

void HttpServer::force_close() {
    std::vector<std::shared_ptr<Connection>> open;
    {
        std::lock_guard lock(mutex_);
        for (const auto& [key, weak] : connections_) {
            if (auto conn = weak.lock()) {
                open.push_back(std::move(conn));
            }
        }
    }
    if (!open.empty()) {
        log::warn("grace period over: closing connections with unfinished requests", {{"connections", open.size()}});
    }
    for (auto& conn : open) {
        asio::post(conn->executor, [conn] {
            conn->closing = true;
            beast::error_code ignored;
            conn->lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
            conn->lowest().socket().close(ignored);
        });
    }
}

}  // namespace certdeploy::api
