#pragma once
// The I/O threads of an HTTP process: one io_context per thread, each run by its own thread. A connection
// is given to one context (round robin) for its whole life, so its handlers run on one thread and never wake
// another, and no two threads take turns at one epoll loop. (One context run by N threads made every
// completion a hand-off between threads: in bench/api_bench.sh, two such threads served fewer requests
// than one.) Work from other threads (the store's pool) is posted into a connection's context as before.

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <vector>

namespace certdeploy::api {

class IoContexts {
  public:
    explicit IoContexts(unsigned threads);
    IoContexts(const IoContexts&) = delete;
    IoContexts& operator=(const IoContexts&) = delete;

    // The process's own context: signals, acceptors, grace timers.
    boost::asio::io_context& main() { return *contexts_.front(); }
    // The context for a new connection.
    boost::asio::io_context& next();
    std::size_t size() const { return contexts_.size(); }

    // Runs every context until stop(): the others on threads of their own, main() on the calling thread.
    // `run_one` runs one context (the caller's loop around io_context::run); returns once all have ended.
    void run(const std::function<void(boost::asio::io_context&)>& run_one);
    // Thread-safe: every context stops, its run returns.
    void stop();

  private:
    using Guard = boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;
    std::vector<std::unique_ptr<boost::asio::io_context>> contexts_;
    std::vector<Guard> guards_;  // a context without connections keeps running until stop()
    std::atomic<std::size_t> next_{0};
};

}  // namespace certdeploy::api
