#include "tests/support/http_client.hpp"

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>
#include <stdexcept>

namespace certdeploy::test {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

template <class F>
decltype(auto) HttpClient::with_stream(F&& f) {
    if (tls_) {
        return f(*tls_);
    }
    return f(socket_);
}

HttpClient::HttpClient(const std::string& address, const std::optional<TlsClientFiles>& tls, const std::string& source)
    : socket_(ioc_), host_(address) {
    const auto colon = address.rfind(':');
    if (colon == std::string::npos) {
        throw std::invalid_argument("address without a port: " + address);
    }
    std::string host = address.substr(0, colon);
    if (!host.empty() && host.front() == '[') {
        host = host.substr(1, host.size() - 2);
    }
    tcp::resolver resolver(ioc_);
    if (source.empty()) {
        asio::connect(socket_, resolver.resolve(host, address.substr(colon + 1)));
    } else {
        socket_.open(tcp::v4());
        socket_.bind(tcp::endpoint(asio::ip::make_address(source), 0));
        socket_.connect(*resolver.resolve(host, address.substr(colon + 1)).begin());
    }
    if (tls) {
        namespace ssl = asio::ssl;
        tls_context_ = std::make_unique<ssl::context>(ssl::context::tls_client);
        tls_context_->load_verify_file(tls->ca);
        tls_context_->set_verify_mode(ssl::verify_peer);
        if (!tls->cert.empty()) {
            tls_context_->use_certificate_chain_file(tls->cert);
            tls_context_->use_private_key_file(tls->key, ssl::context::pem);
        }
        tls_ = std::make_unique<ssl::stream<tcp::socket&>>(socket_, *tls_context_);
        run_with_deadline(
            [&](auto handler) {
                tls_->async_handshake(ssl::stream_base::client,
                                      [handler](boost::system::error_code ec) mutable { handler(ec, 0); });
            },
            std::chrono::seconds(5));
    }
}

template <class Op>
void HttpClient::run_with_deadline(Op&& op, std::chrono::milliseconds timeout) {
    boost::system::error_code result = asio::error::would_block;
    op([&result](boost::system::error_code ec, std::size_t /*bytes*/) { result = ec; });
    ioc_.restart();
    ioc_.run_for(timeout);
    if (result == asio::error::would_block) {
        socket_.cancel();
        ioc_.restart();
        ioc_.run();
        throw std::runtime_error("timed out waiting for the server");
    }
    if (result) {
        throw boost::system::system_error(result);
    }
}

void HttpClient::send_raw(std::string_view bytes) {
    asio::write(socket_, asio::buffer(bytes));
}

Response HttpClient::read_response(std::chrono::milliseconds timeout) {
    Response res;
    run_with_deadline(
        [&](auto handler) { with_stream([&](auto& stream) { http::async_read(stream, buffer_, res, handler); }); },
        timeout);
    return res;
}

Response HttpClient::request(http::verb method, const std::string& target, const std::string& body,
                             const std::string& content_type) {
    http::request<http::string_body> req{method, target, 11};
    req.set(http::field::host, host_);
    if (!content_type.empty()) {
        req.set(http::field::content_type, content_type);
    }
    req.body() = body;
    req.prepare_payload();
    with_stream([&](auto& stream) { http::write(stream, req); });
    return read_response();
}

Response HttpClient::send(http::request<http::string_body> req, std::chrono::milliseconds timeout) {
    if (req[http::field::host].empty()) {
        req.set(http::field::host, host_);
    }
    req.prepare_payload();
    with_stream([&](auto& stream) { http::write(stream, req); });
    return read_response(timeout);
}

bool HttpClient::closed_by_peer(std::chrono::milliseconds timeout) {
    char byte = 0;
    try {
        run_with_deadline(
            [&](auto handler) {
                with_stream([&](auto& stream) { stream.async_read_some(asio::buffer(&byte, 1), handler); });
            },
            timeout);
    } catch (const boost::system::system_error& e) {
        // Over TLS a peer that closes without close_notify reads as a truncated stream: closed all the same.
        return e.code() == asio::error::eof || e.code() == asio::error::connection_reset ||
               e.code() == asio::ssl::error::stream_truncated;
    } catch (const std::runtime_error&) {
        return false;  // still open when the deadline passed
    }
    return false;  // the server sent a byte: not closed
}

Response http_get(const std::string& address, const std::string& target, const std::optional<TlsClientFiles>& tls) {
    HttpClient client(address, tls);
    return client.request(http::verb::get, target);
}

std::string HttpClient::peer_certificate_der() const {
    if (!tls_) {
        return {};
    }
    X509* cert = SSL_get0_peer_certificate(tls_->native_handle());
    if (cert == nullptr) {
        return {};
    }
    unsigned char* der = nullptr;
    const int size = i2d_X509(cert, &der);
    std::string out(der != nullptr && size > 0 ? reinterpret_cast<const char*>(der) : "", size > 0 ? size : 0);
    OPENSSL_free(der);
    return out;
}

}  // namespace certdeploy::test
