#include "store/connection_pool.hpp"

#include <cerrno>

namespace certdeploy::store {

ConnectionPool::ConnectionPool(std::unique_ptr<Connection> first, Open open, std::size_t max,
                               std::chrono::milliseconds wait)
    : open_(std::move(open)), max_(max == 0 ? 1 : max), wait_(wait), dialect_(first->dialect()) {
    idle_.push_back(std::move(first));
    open_count_ = 1;
}

ConnectionPool::Lease::~Lease() {
    if (connection_) {
        pool_->give_back(std::move(connection_));
    }
}

void ConnectionPool::give_back(std::unique_ptr<Connection> connection) {
    {
        std::lock_guard lock(mutex_);
        if (connection->usable()) {
            idle_.push_back(std::move(connection));
        } else {
            --open_count_;  // lost: the next caller opens a new one
        }
    }
    returned_.notify_one();
}

StoreResult<ConnectionPool::Lease> ConnectionPool::acquire() {
    std::unique_lock lock(mutex_);
    const auto deadline = std::chrono::steady_clock::now() + wait_;
    for (;;) {
        while (!idle_.empty()) {
            auto connection = std::move(idle_.back());
            idle_.pop_back();
            if (connection->usable()) {
                return Lease(*this, std::move(connection));
            }
            --open_count_;
        }
        if (open_count_ < max_) {
            ++open_count_;
            lock.unlock();
            auto opened = open_();
            if (!opened) {
                lock.lock();
                --open_count_;
                returned_.notify_one();
                return opened.error();
            }
            return Lease(*this, std::move(*opened));
        }
        if (returned_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty() && open_count_ >= max_) {
            return StoreError{ETIMEDOUT,
                              "every database connection stayed busy for " + std::to_string(wait_.count()) + " ms"};
        }
    }
}

}  // namespace certdeploy::store
