#pragma once
// Wakes the events streams that follow a job when a new event of it is persisted: by this controller
// (JobService rings after each change it writes) or by another one on the same database (PostgreSQL's
// NOTIFY, through the store's watch). The persisted event log stays the truth: a woken stream reads it,
// and a stream reads it anyway every second, so a lost ring only delays it.

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace certdeploy::controller {

class EventBell {
  public:
    // One stream's place at the bell: it waits on `timer` (cancelled by a ring) unless `rung` says a ring
    // came while it was reading.
    struct Waiter {
        explicit Waiter(const boost::asio::any_io_executor& executor)
            : timer(executor, boost::asio::steady_timer::time_point::max()) {}
        boost::asio::steady_timer timer;
        std::atomic<bool> rung{false};
    };
    enum class Source { local, database };

    std::shared_ptr<Waiter> listen(const std::string& job_id, const boost::asio::any_io_executor& executor);
    void forget(const std::string& job_id, const std::shared_ptr<Waiter>& waiter);
    // Thread-safe.
    void ring(const std::string& job_id, Source source = Source::local);

  private:
    std::mutex mutex_;
    std::multimap<std::string, std::shared_ptr<Waiter>> waiters_;
};

}  // namespace certdeploy::controller
