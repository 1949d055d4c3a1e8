#pragma once
// Names shared by the HTTP layer. Only api/ (and the tests' HTTP client) include Beast.

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <string>

namespace certdeploy::api {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

// Completion token of the whole code base: co_await yields (error_code, result...) instead of throwing,
// so every I/O failure is handled where it happens.
inline constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

// "127.0.0.1:8080", "[::1]:8080": how addresses appear in ready files and logs.
inline std::string endpoint_string(const tcp::endpoint& ep) {
    const auto address = ep.address().to_string();
    return (ep.address().is_v6() ? "[" + address + "]" : address) + ":" + std::to_string(ep.port());
}

using HttpRequest = http::request<http::string_body>;
using Response = http::response<http::string_body>;

}  // namespace certdeploy::api
