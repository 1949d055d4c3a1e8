#pragma once
// A blocking HTTP/1.1 client over a real TCP connection, with a deadline on every read, for tests.

#include <chrono>
#include <string>
#include <string_view>

#include "api/net.hpp"

namespace certdeploy::test {

namespace http = boost::beast::http;
using Response = http::response<http::string_body>;

class HttpClient {
  public:
    // `address` is HOST:PORT, as a ready file holds it.
    explicit HttpClient(const std::string& address);

    void send_raw(std::string_view bytes);
    Response read_response(std::chrono::milliseconds timeout = std::chrono::seconds(5));
    Response request(http::verb method, const std::string& target, const std::string& body = {},
                     const std::string& content_type = {});
    // True when the server closes the connection within `timeout` (reads return end of file).
    bool closed_by_peer(std::chrono::milliseconds timeout);

  private:
    template <class Op>
    void run_with_deadline(Op&& op, std::chrono::milliseconds timeout);

    boost::asio::io_context ioc_;
    boost::asio::ip::tcp::socket socket_;
    boost::beast::flat_buffer buffer_;
    std::string host_;
};

// One request on a fresh connection.
Response http_get(const std::string& address, const std::string& target);

}  // namespace certdeploy::test
