#include "api/clients/controller_client.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/url/parse.hpp>
#include <optional>

#include "api/http/net.hpp"
#include "certdeploy/version.hpp"
#include "service/scope_exit.hpp"
#include "service/secret.hpp"

namespace certdeploy::api {
namespace {

// Largest answer read into memory: an inventory page or an exported PKCS #12 file fits easily.
constexpr std::uint64_t kMaxReplyBytes = 64ULL * 1024 * 1024;
// The events stream sends a comment every 15 s while nothing happens; four missed ones mean it is gone.
constexpr std::chrono::seconds kStreamIdleLimit{60};

using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

Error transport_error(const std::string& url, const std::string& step, const beast::error_code& ec) {
    const std::string why = ec == beast::error::timeout ? "timed out" : ec.message();
    return make_error(ErrorCode::io_error,
                      "the controller at " + url + " could not be reached (" + step + ": " + why + ")", ec.message());
}

// Splits a stream's text into events at blank lines (the SSE framing: "field: value" lines; ":" starts a
// comment). Returns false once `on_event` asks to stop.
class EventParser {
  public:
    EventParser(std::string& last_event_id, const std::function<bool(const ControllerClient::Event&)>& on_event)
        : last_event_id_(last_event_id), on_event_(on_event) {}

    bool feed(std::string_view bytes) {
        pending_.append(bytes);
        std::size_t start = 0;
        for (;;) {
            const auto end = pending_.find('\n', start);
            if (end == std::string::npos) {
                break;
            }
            std::string_view line(pending_.data() + start, end - start);
            start = end + 1;
            if (!line.empty() && line.back() == '\r') {
                line.remove_suffix(1);
            }
            if (!take_line(line)) {
                pending_.erase(0, start);
                return false;
            }
        }
        pending_.erase(0, start);
        return true;
    }

  private:
    bool take_line(std::string_view line) {
        if (line.empty()) {  // the end of an event
            if (event_.data.empty() && event_.type.empty()) {
                return true;
            }
            if (!event_.id.empty()) {
                last_event_id_ = event_.id;
            }
            if (event_.type.empty()) {
                event_.type = "message";
            }
            if (!event_.data.empty() && event_.data.back() == '\n') {
                event_.data.pop_back();
            }
            const bool more = on_event_(event_);
            event_ = {};
            return more;
        }
        if (line.front() == ':') {
            return true;  // a comment: the stream's keep-alive
        }
        const auto colon = line.find(':');
        const std::string_view field = line.substr(0, colon);
        std::string_view value = colon == std::string_view::npos ? std::string_view() : line.substr(colon + 1);
        if (!value.empty() && value.front() == ' ') {
            value.remove_prefix(1);
        }
        if (field == "id") {
            event_.id = value;
        } else if (field == "event") {
            event_.type = value;
        } else if (field == "data") {
            event_.data.append(value);
            event_.data.push_back('\n');
        }
        return true;
    }

    std::string& last_event_id_;
    const std::function<bool(const ControllerClient::Event&)>& on_event_;
    ControllerClient::Event event_;
    std::string pending_;
};

}  // namespace

struct ControllerClient::Impl {
    std::string url;  // as given, for messages
    bool tls = false;
    std::string host;
    std::string port;
    std::string prefix;  // a path the controller is mounted under, without the trailing slash
    std::chrono::milliseconds timeout{};
    bool verify_server = true;
    Secret token;
    std::shared_ptr<asio::ssl::context> tls_context;
    asio::io_context ioc;

    // Runs one coroutine to its end on this thread.
    template <class T>
    T run(asio::awaitable<T> work) {
        std::optional<T> result;
        std::exception_ptr failure;
        asio::co_spawn(ioc, std::move(work), [&](std::exception_ptr e, T value) {
            failure = e;
            if (!e) {
                result.emplace(std::move(value));
            }
        });
        ioc.restart();
        ioc.run();
        if (failure) {
            std::rethrow_exception(failure);
        }
        return std::move(*result);
    }

    template <class Stream>
    asio::awaitable<Result<void>> connect(Stream& stream) {
        tcp::resolver resolver(ioc);
        auto [rec, endpoints] = co_await resolver.async_resolve(host, port, use_nothrow);
        if (rec) {
            co_return transport_error(url, "name resolution", rec);
        }
        auto& socket = beast::get_lowest_layer(stream);
        socket.expires_after(timeout);
        auto [cec, endpoint] = co_await socket.async_connect(endpoints, use_nothrow);
        if (cec) {
            co_return transport_error(url, "connect", cec);
        }
        if constexpr (std::is_same_v<Stream, TlsStream>) {
            if (SSL_set_tlsext_host_name(stream.native_handle(), host.c_str()) != 1) {
                co_return transport_error(url, "TLS set-up", beast::error_code(asio::error::invalid_argument));
            }
            if (verify_server) {
                stream.set_verify_callback(asio::ssl::host_name_verification(host));
            }
            socket.expires_after(timeout);
            auto [hec] = co_await stream.async_handshake(asio::ssl::stream_base::client, use_nothrow);
            if (hec) {
                co_return transport_error(url, "TLS handshake", hec);
            }
        }
        co_return Result<void>();
    }

    HttpRequest make_request(http::verb method, const std::string& target, const Headers& headers) const {
        HttpRequest req{method, prefix + target, 11};
        req.set(http::field::host, host.find(':') != std::string::npos ? "[" + host + "]:" + port : host + ":" + port);
        req.set(http::field::user_agent, std::string("certdeploy-cli/") + kVersion);
        if (!token.empty()) {
            req.set(http::field::authorization, "Bearer " + std::string(token.reveal()));
        }
        for (const auto& [name, value] : headers) {
            req.set(name, value);
        }
        req.keep_alive(false);
        return req;
    }

    template <class Stream>
    asio::awaitable<Result<Reply>> exchange(HttpRequest& req) {
        Stream stream = make_stream<Stream>();
        if (auto connected = co_await connect(stream); !connected) {
            co_return connected.error();
        }
        beast::get_lowest_layer(stream).expires_after(timeout);
        auto [wec, wn] = co_await http::async_write(stream, req, use_nothrow);
        if (wec) {
            co_return transport_error(url, "write", wec);
        }
        beast::flat_buffer buffer;
        http::response_parser<http::string_body> parser;
        parser.body_limit(kMaxReplyBytes);
        beast::get_lowest_layer(stream).expires_after(timeout);
        auto [rec, rn] = co_await http::async_read(stream, buffer, parser, use_nothrow);
        if (rec) {
            co_return transport_error(url, "read", rec);
        }
        auto res = parser.release();
        co_return Reply{res.result_int(), std::string(res[http::field::content_type]), std::move(res.body())};
    }

    template <class Stream>
    asio::awaitable<Result<Reply>> stream_events(HttpRequest& req, std::string& last_event_id,
                                                 const std::function<bool(const Event&)>& on_event) {
        Stream stream = make_stream<Stream>();
        if (auto connected = co_await connect(stream); !connected) {
            co_return connected.error();
        }
        beast::get_lowest_layer(stream).expires_after(timeout);
        auto [wec, wn] = co_await http::async_write(stream, req, use_nothrow);
        if (wec) {
            co_return transport_error(url, "write", wec);
        }
        beast::flat_buffer buffer;
        http::response_parser<http::buffer_body> parser;
        parser.body_limit(boost::none);  // a stream has no end known in advance
        beast::get_lowest_layer(stream).expires_after(timeout);
        auto [hec, hn] = co_await http::async_read_header(stream, buffer, parser, use_nothrow);
        if (hec) {
            co_return transport_error(url, "read", hec);
        }
        const unsigned status = parser.get().result_int();
        Reply refusal{status, std::string(parser.get()[http::field::content_type]), {}};
        EventParser events(last_event_id, on_event);
        std::array<char, 8192> chunk{};
        while (!parser.is_done()) {
            parser.get().body().data = chunk.data();
            parser.get().body().size = chunk.size();
            beast::get_lowest_layer(stream).expires_after(status == 200 ? kStreamIdleLimit : timeout);
            auto [rec, rn] = co_await http::async_read(stream, buffer, parser, use_nothrow);
            if (rec && rec != http::error::need_buffer) {
                co_return transport_error(url, "read", rec);
            }
            const std::string_view got(chunk.data(), chunk.size() - parser.get().body().size);
            if (status != 200) {
                if (refusal.body.size() + got.size() > kMaxReplyBytes) {
                    co_return transport_error(url, "read", http::error::body_limit);
                }
                refusal.body.append(got);
            } else if (!events.feed(got)) {
                break;  // the caller has what it wanted
            }
        }
        co_return refusal;
    }

    template <class Stream>
    Stream make_stream() {
        if constexpr (std::is_same_v<Stream, TlsStream>) {
            return TlsStream(ioc, *tls_context);
        } else {
            return PlainStream(ioc);
        }
    }
};

ControllerClient::ControllerClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ControllerClient::~ControllerClient() = default;

const std::string& ControllerClient::url() const {
    return impl_->url;
}

Result<std::unique_ptr<ControllerClient>> ControllerClient::create(const Options& options) {
    auto impl = std::make_unique<Impl>();
    impl->url = options.url;
    impl->timeout = options.timeout;
    impl->verify_server = options.verify_server;
    impl->token.assign(options.token);
    const auto invalid = [&](const std::string& why) {
        return make_error(ErrorCode::invalid_config, "--controller " + options.url + ": " + why);
    };
    auto parsed = boost::urls::parse_absolute_uri(options.url);
    if (!parsed) {
        return invalid("expected http://HOST:PORT or https://HOST:PORT");
    }
    const std::string scheme(parsed->scheme());
    if (scheme != "http" && scheme != "https") {
        return invalid("expected an http:// or https:// URL");
    }
    if (parsed->has_query() || parsed->has_fragment() || parsed->has_userinfo() || parsed->host().empty()) {
        return invalid("expected http://HOST:PORT or https://HOST:PORT, without user, query or fragment");
    }
    impl->tls = scheme == "https";
    impl->host = parsed->host_type() == boost::urls::host_type::ipv6 ? std::string(parsed->host_address())
                                                                     : std::string(parsed->host());
    impl->port = parsed->has_port() ? std::string(parsed->port()) : (impl->tls ? "443" : "80");
    impl->prefix = std::string(parsed->encoded_path());
    while (!impl->prefix.empty() && impl->prefix.back() == '/') {
        impl->prefix.pop_back();
    }
    if (impl->tls) {
        impl->tls_context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
        auto& ctx = *impl->tls_context;
        SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
        ctx.set_verify_mode(options.verify_server ? asio::ssl::verify_peer : asio::ssl::verify_none);
        beast::error_code ec;
        if (!options.cert_file.empty()) {
            ctx.use_certificate_chain_file(options.cert_file, ec);
            if (!ec) {
                ctx.use_private_key_file(options.key_file, asio::ssl::context::pem, ec);
            }
            if (ec) {
                return make_error(ErrorCode::invalid_config,
                                  "cannot use the client certificate " + options.cert_file + " and its key",
                                  ec.message());
            }
        }
        if (options.ca_file.empty()) {
            ctx.set_default_verify_paths(ec);
        } else {
            ctx.load_verify_file(options.ca_file, ec);
        }
        if (ec) {
            return make_error(ErrorCode::invalid_config,
                              options.ca_file.empty() ? "the system's trusted roots could not be loaded"
                                                      : "--cacert " + options.ca_file + ": not a readable PEM file",
                              ec.message());
        }
    } else if (!options.ca_file.empty()) {
        return invalid("--cacert applies to https:// only");
    }
    return std::unique_ptr<ControllerClient>(new ControllerClient(std::move(impl)));
}

Result<ControllerClient::Reply> ControllerClient::request(std::string_view method, const std::string& target,
                                                          std::string body, const std::string& content_type,
                                                          const Headers& headers) {
    auto req = impl_->make_request(http::string_to_verb(method), target, headers);
    if (!content_type.empty()) {
        req.set(http::field::content_type, content_type);
    }
    req.body() = std::move(body);
    wipe(body);
    req.prepare_payload();
    // The body may carry a certificate file and its password: wiped however the exchange ends.
    ScopeExit wipe_body([&req] { wipe(req.body()); });
    if (impl_->tls) {
        return impl_->run(impl_->exchange<TlsStream>(req));
    }
    return impl_->run(impl_->exchange<PlainStream>(req));
}

Result<ControllerClient::Reply> ControllerClient::follow(const std::string& target, std::string& last_event_id,
                                                         const std::function<bool(const Event&)>& on_event) {
    Headers headers{{"Accept", "text/event-stream"}};
    if (!last_event_id.empty()) {
        headers.emplace("Last-Event-ID", last_event_id);
    }
    auto req = impl_->make_request(http::verb::get, target, headers);
    req.prepare_payload();
    if (impl_->tls) {
        return impl_->run(impl_->stream_events<TlsStream>(req, last_event_id, on_event));
    }
    return impl_->run(impl_->stream_events<PlainStream>(req, last_event_id, on_event));
}

}  // namespace certdeploy::api
