#pragma once
// The code base's one async style outside the HTTP layer too: C++20 coroutines on Asio (scheduling only —
// timers, executors, thread pools; Beast stays in api/).

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace certdeploy {

namespace asio = boost::asio;

// co_await yields (error_code, result...) instead of throwing, so every failure is handled where it happens.
inline constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

}  // namespace certdeploy
