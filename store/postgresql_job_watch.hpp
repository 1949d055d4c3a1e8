#pragma once
// LISTEN certdeploy_jobs and certdeploy_events on a connection of its own, in a thread of its own: every job a
// controller makes or retries on the database is announced (pg_notify, delivered when its transaction
// commits), and each controller queues its targets at once; every change that wrote a job's events is
// announced too, and wakes the events streams following it. A lost connection is replaced; what was
// announced meanwhile is found by the dispatcher's periodic sweep and the streams' own reads.

#include <atomic>
#include <functional>
#include <string>
#include <thread>

#include "store/connection_pool.hpp"
#include "store/controller_store.hpp"

namespace certdeploy::store {

class PostgresqlJobWatch final : public JobWatch {
  public:
    PostgresqlJobWatch(ConnectionPool::Open open, std::function<void(const std::string&)> ready,
                       std::function<void(const std::string&)> events);
    ~PostgresqlJobWatch() override;  // stops listening, within a fifth of a second
    PostgresqlJobWatch(const PostgresqlJobWatch&) = delete;
    PostgresqlJobWatch& operator=(const PostgresqlJobWatch&) = delete;

  private:
    void run();
    ConnectionPool::Open open_;
    std::function<void(const std::string&)> ready_;
    std::function<void(const std::string&)> events_;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

}  // namespace certdeploy::store
