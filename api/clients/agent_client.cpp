#include "api/clients/agent_client.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/url/parse.hpp>

#include "api/http/tls_context.hpp"
#include "service/scope_exit.hpp"
#include "service/secret.hpp"

namespace certdeploy::api {
namespace {

constexpr std::size_t kMaxIdlePerAgent = 8;

Error unreachable(const std::string& agent_url, const std::string& step, const beast::error_code& ec) {
    if (ec == beast::error::timeout) {
        return make_error(ErrorCode::agent_unreachable,
                          "the agent at " + agent_url + " did not answer in time (" + step + ")", ec.message());
    }
    return make_error(ErrorCode::agent_unreachable,
                      "the agent at " + agent_url + " could not be reached (" + step + ")", ec.message());
}

}  // namespace

AgentClient::AgentClient(asio::any_io_executor executor, std::shared_ptr<asio::ssl::context> tls,
                         std::chrono::milliseconds timeout)
    : executor_(std::move(executor)), tls_(std::move(tls)), timeout_(timeout) {}

std::unique_ptr<AgentClient::Stream> AgentClient::take_idle(const std::string& agent_url) {
    std::lock_guard lock(mutex_);
    auto it = idle_.find(agent_url);
    if (it == idle_.end() || it->second.empty()) {
        return nullptr;
    }
    auto stream = std::move(it->second.back());
    it->second.pop_back();
    return stream;
}

void AgentClient::keep_idle(const std::string& agent_url, std::unique_ptr<Stream> stream) {
    std::lock_guard lock(mutex_);
    auto& pool = idle_[agent_url];
    if (pool.size() < kMaxIdlePerAgent) {
        pool.push_back(std::move(stream));
    }
}

void AgentClient::close_idle() {
    std::lock_guard lock(mutex_);
    idle_.clear();
}

std::chrono::steady_clock::time_point AgentClient::step_deadline(std::chrono::steady_clock::time_point deadline) const {
    return std::min(std::chrono::steady_clock::now() + timeout_, deadline);
}

void AgentClient::set_revocation_check(std::function<bool(SSL*)> revoked) {
    revoked_ = std::move(revoked);
}

void AgentClient::replace_tls(std::shared_ptr<asio::ssl::context> tls) {
    retired_.push_back(std::move(tls_));
    tls_ = std::move(tls);
}

asio::awaitable<Result<std::unique_ptr<AgentClient::Stream>>> AgentClient::connect(
    const std::string& host, const std::string& port, std::chrono::steady_clock::time_point deadline) {
    const std::string where = host + ":" + port;
    tcp::resolver resolver(executor_);
    auto [rec, endpoints] = co_await resolver.async_resolve(host, port, use_nothrow);
    if (rec) {
        co_return unreachable("https://" + where, "name resolution", rec);
    }
    auto stream = std::make_unique<Stream>(executor_, *tls_);
    beast::get_lowest_layer(*stream).expires_at(step_deadline(deadline));
    auto [cec, endpoint] = co_await beast::get_lowest_layer(*stream).async_connect(endpoints, use_nothrow);
    if (cec) {
        co_return unreachable("https://" + where, "connect", cec);
    }
    // The agent's certificate must be issued by the agents' CA and name the host in the URL.
    if (SSL_set_tlsext_host_name(stream->native_handle(), host.c_str()) != 1) {
        co_return unreachable("https://" + where, "TLS set-up", beast::error_code(asio::error::invalid_argument));
    }
    stream->set_verify_callback(asio::ssl::host_name_verification(host));
    beast::get_lowest_layer(*stream).expires_at(step_deadline(deadline));
    auto [hec] = co_await stream->async_handshake(asio::ssl::stream_base::client, use_nothrow);
    if (hec) {
        co_return unreachable("https://" + where, "TLS handshake", hec);
    }
    co_return std::move(stream);
}

asio::awaitable<Result<AgentClient::Reply>> AgentClient::request(std::string agent_url, http::verb method,
                                                                 std::string target, std::string body,
                                                                 std::chrono::steady_clock::time_point deadline) {
    auto self = shared_from_this();  // alive for as long as this coroutine is
    auto url = boost::urls::parse_absolute_uri(agent_url);
    if (!url || !url->has_port()) {
        co_return make_error(ErrorCode::agent_unreachable, "the agent URL " + agent_url + " is not https://HOST:PORT");
    }
    const std::string host(url->host());
    const std::string port(url->port());

    http::request<http::string_body> req{method, target, 11};
    req.set(http::field::host, host + ":" + port);
    req.set(http::field::user_agent, "certdeploy-controller");
    if (!body.empty()) {
        req.set(http::field::content_type, "application/json");
        req.body() = std::move(body);
    }
    req.keep_alive(true);
    req.prepare_payload();
    // The body may carry a certificate file and its password: wiped however this coroutine ends.
    ScopeExit wipe_body([&req] { wipe(req.body()); });

    // A kept-alive connection may have been closed by the agent meanwhile: one fresh retry covers that.
    for (int attempt = 0; attempt < 2; ++attempt) {
        std::unique_ptr<Stream> stream;
        if (attempt == 0) {
            stream = take_idle(agent_url);
        }
        const bool reused = stream != nullptr;
        if (!stream) {
            auto connected = co_await connect(host, port, deadline);
            if (!connected) {
                co_return connected.error();
            }
            stream = std::move(*connected);
        }
        // Checked on kept-alive connections too: the identity may have been revoked since the handshake.
        if (revoked_ && revoked_(stream->native_handle())) {
            co_return make_error(ErrorCode::agent_unreachable,
                                 "the agent at " + agent_url +
                                     " presented a revoked identity (its server was removed): it must enrol again");
        }
        beast::get_lowest_layer(*stream).expires_at(step_deadline(deadline));
        auto [wec, wn] = co_await http::async_write(*stream, req, use_nothrow);
        // Once sent, the answer may take as long as the caller's deadline allows (an install with a reload):
        // cutting it at the step timeout would make the caller send it again while the agent still works.
        if (deadline != std::chrono::steady_clock::time_point::max()) {
            beast::get_lowest_layer(*stream).expires_at(deadline);
        }
        beast::flat_buffer buffer;
        http::response<http::string_body> res;
        beast::error_code rec = wec;
        std::size_t read_bytes = 0;
        if (!wec) {
            auto [read_ec, rn] = co_await http::async_read(*stream, buffer, res, use_nothrow);
            rec = read_ec;
            read_bytes = rn;
        }
        if (rec) {
            // Only a connection the agent had already closed is retried (the write failed, or the read found
            // the end at once). Never after a timeout: the agent may still be working on the request, and
            // sending it again would run an install or a reload twice at the same time.
            const bool closed_before_answer =
                wec || (read_bytes == 0 && buffer.size() == 0 &&
                        (rec == http::error::end_of_stream || rec == asio::error::eof ||
                         rec == asio::error::connection_reset || rec == asio::ssl::error::stream_truncated));
            if (reused && closed_before_answer) {
                continue;  // the pooled connection was stale
            }
            co_return unreachable(agent_url, wec ? "write" : "read", rec);
        }
        Reply reply{res.result_int(), std::move(res.body())};
        if (res.keep_alive()) {
            keep_idle(agent_url, std::move(stream));
        }
        co_return reply;
    }
    co_return make_error(ErrorCode::agent_unreachable, "the agent at " + agent_url + " could not be reached");
}

}  // namespace certdeploy::api
