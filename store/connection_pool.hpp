#pragma once
// A bounded set of connections that the store's callers take one at a time. SQLite gets one (its writes are
// one at a time anyway, and one connection keeps the file's lock simple); PostgreSQL up to `max`. A
// connection found lost (a database restarted, a link cut) is dropped and a new one opened on the next
// call, so the controller recovers without a restart. When every connection is busy for longer than
// `wait`, or none can be opened, the caller gets an error (ETIMEDOUT, ECONNREFUSED) instead of hanging.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "store/sql_connection.hpp"

namespace certdeploy::store {

class ConnectionPool {
  public:
    using Open = std::function<StoreResult<std::unique_ptr<Connection>>()>;

    // `first`: a connection opened (and migrated) already; `open` makes the others.
    ConnectionPool(std::unique_ptr<Connection> first, Open open, std::size_t max, std::chrono::milliseconds wait);
    ConnectionPool(const ConnectionPool&) = delete;
    ConnectionPool& operator=(const ConnectionPool&) = delete;

    // A connection for one caller, given back when the lease goes.
    class Lease {
      public:
        Lease(ConnectionPool& pool, std::unique_ptr<Connection> connection)
            : pool_(&pool), connection_(std::move(connection)) {}
        Lease(Lease&& other) noexcept = default;
        Lease& operator=(Lease&&) = delete;
        Lease(const Lease&) = delete;
        Lease& operator=(const Lease&) = delete;
        ~Lease();
        Connection* operator->() const { return connection_.get(); }
        Connection& operator*() const { return *connection_; }

      private:
        ConnectionPool* pool_;
        std::unique_ptr<Connection> connection_;
    };

    StoreResult<Lease> acquire();
    // A connection of its own, outside the pool's count (a listener that holds it for good).
    StoreResult<std::unique_ptr<Connection>> open_unpooled() { return open_(); }
    Dialect dialect() const { return dialect_; }

  private:
    void give_back(std::unique_ptr<Connection> connection);

    Open open_;
    const std::size_t max_;
    const std::chrono::milliseconds wait_;
    const Dialect dialect_;
    std::mutex mutex_;
    std::condition_variable returned_;
    std::vector<std::unique_ptr<Connection>> idle_;
    std::size_t open_count_ = 0;  // idle + leased + being opened
};

}  // namespace certdeploy::store
