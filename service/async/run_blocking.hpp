#pragma once
// Runs blocking domain work (disk writes with fsync, reload commands, key derivations) on a thread pool
// and resumes the calling coroutine on its own executor, so I/O threads never wait on disks or children.
// Asio only (scheduling), no Beast: the controller's runtime and the HTTP handlers both use it.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>
#include <optional>
#include <type_traits>

namespace certdeploy {

namespace asio = boost::asio;

template <class F>
asio::awaitable<std::invoke_result_t<F>> run_blocking(asio::thread_pool& pool, F f) {
    auto home = co_await asio::this_coro::executor;
    // bind_executor: without it the completion would run on the coroutine's own executor (the connection's
    // strand), and the work would never leave the I/O thread.
    co_await asio::post(asio::bind_executor(pool.get_executor(), asio::use_awaitable));
    // An exception is carried home too: it must not unwind the coroutine on a pool thread.
    std::optional<std::invoke_result_t<F>> result;
    std::exception_ptr failure;
    try {
        result.emplace(f());
    } catch (...) {
        failure = std::current_exception();
    }
    co_await asio::post(home, asio::use_awaitable);
    if (failure) {
        std::rethrow_exception(failure);
    }
    co_return std::move(*result);
}

// A read that is quick where it runs (`quick`: the store's quick_reads(), no waiting for a write, no fsync)
// runs right here, saving the two thread switches; otherwise on the pool, as above.
template <class F>
asio::awaitable<std::invoke_result_t<F>> run_read(asio::thread_pool& pool, bool quick, F f) {
    if (quick) {
        co_return f();
    }
    co_return co_await run_blocking(pool, std::move(f));
}

}  // namespace certdeploy
