#pragma once
// A blocking HTTP/1.1 client over a real TCP connection, with a deadline on every read, for tests.

#include <boost/asio/ssl.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "api/http/net.hpp"

namespace certdeploy::test {

namespace http = boost::beast::http;
using Response = http::response<http::string_body>;

// Client side of mutual TLS: the CA to trust and, optionally, the certificate and key to present.
struct TlsClientFiles {
    std::string ca;
    std::string cert;  // empty: present no certificate
    std::string key;
};

class HttpClient {
  public:
    // `address` is HOST:PORT, as a ready file holds it. With `tls`, the connection speaks HTTPS; a refused
    // handshake throws.
    // `source`: the local IPv4 address to connect from (127.0.0.2: another client on this machine).
    explicit HttpClient(const std::string& address, const std::optional<TlsClientFiles>& tls = std::nullopt,
                        const std::string& source = {});

    void send_raw(std::string_view bytes);
    Response read_response(std::chrono::milliseconds timeout = std::chrono::seconds(5));
    Response request(http::verb method, const std::string& target, const std::string& body = {},
                     const std::string& content_type = {});
    // Sends `req` with the headers it has (Host and Content-Length are added) and reads the answer.
    Response send(http::request<http::string_body> req, std::chrono::milliseconds timeout = std::chrono::seconds(5));
    // True when the server closes the connection within `timeout` (reads return end of file).
    bool closed_by_peer(std::chrono::milliseconds timeout);
    // The certificate the server presented (DER), over TLS; empty otherwise.
    std::string peer_certificate_der() const;

  private:
    template <class Op>
    void run_with_deadline(Op&& op, std::chrono::milliseconds timeout);

    template <class F>
    decltype(auto) with_stream(F&& f);

    boost::asio::io_context ioc_;
    boost::asio::ip::tcp::socket socket_;
    std::unique_ptr<boost::asio::ssl::context> tls_context_;
    std::unique_ptr<boost::asio::ssl::stream<boost::asio::ip::tcp::socket&>> tls_;
    boost::beast::flat_buffer buffer_;
    std::string host_;
};

// One request on a fresh connection.
Response http_get(const std::string& address, const std::string& target,
                  const std::optional<TlsClientFiles>& tls = std::nullopt);

}  // namespace certdeploy::test
