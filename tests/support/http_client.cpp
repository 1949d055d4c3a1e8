#include "tests/support/http_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>
#include <stdexcept>

namespace certdeploy::test {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

HttpClient::HttpClient(const std::string& address) : socket_(ioc_), host_(address) {
    const auto colon = address.rfind(':');
    if (colon == std::string::npos) {
        throw std::invalid_argument("address without a port: " + address);
    }
    std::string host = address.substr(0, colon);
    if (!host.empty() && host.front() == '[') {
        host = host.substr(1, host.size() - 2);
    }
    tcp::resolver resolver(ioc_);
    asio::connect(socket_, resolver.resolve(host, address.substr(colon + 1)));
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
    run_with_deadline([&](auto handler) { http::async_read(socket_, buffer_, res, handler); }, timeout);
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
    http::write(socket_, req);
    return read_response();
}

bool HttpClient::closed_by_peer(std::chrono::milliseconds timeout) {
    char byte = 0;
    try {
        run_with_deadline([&](auto handler) { socket_.async_read_some(asio::buffer(&byte, 1), handler); }, timeout);
    } catch (const boost::system::system_error& e) {
        return e.code() == asio::error::eof || e.code() == asio::error::connection_reset;
    } catch (const std::runtime_error&) {
        return false;  // still open when the deadline passed
    }
    return false;  // the server sent a byte: not closed
}

Response http_get(const std::string& address, const std::string& target) {
    HttpClient client(address);
    return client.request(http::verb::get, target);
}

}  // namespace certdeploy::test
