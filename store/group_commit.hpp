#pragma once
// Group commit: changes that arrive together share one transaction, and so one fsync. The first caller
// to find no batch being written becomes its writer: it takes what has queued, runs each change in a
// savepoint of one transaction (a change that fails is rolled back alone and fails alone), commits, and
// only then wakes every caller of the batch with its own result. Nobody hears of a change before it is
// durable, and a failed COMMIT fails every change of the batch (none of them is persisted).
//
// For SQLite, whose one connection makes every write wait for the one before anyway: with 64 targets in
// flight, one fsync per batch instead of one per transition (bench/store_bench measures both).

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <vector>

#include "store/connection_pool.hpp"
#include "store/store_error.hpp"

namespace certdeploy::store {

class GroupCommit {
  public:
    using Change = std::function<StoreResult<bool>(Connection& db)>;

    // At most `max_batch` changes per transaction (a bound on how long one transaction holds the writer).
    GroupCommit(ConnectionPool& pool, std::size_t max_batch);

    // Runs `change` inside a transaction shared with concurrent callers; returns once that transaction is
    // committed (or has failed), with the change's own result.
    StoreResult<bool> run(const Change& change);

  private:
    struct Waiting {
        const Change* change;
        StoreResult<bool> result{boost::system::in_place_value, false};
        bool done = false;
    };
    void write(std::vector<Waiting*>& batch);

    ConnectionPool& pool_;
    std::size_t max_batch_;
    std::mutex mutex_;
    std::condition_variable finished_;
    std::vector<Waiting*> queue_;
    bool writing_ = false;
};

}  // namespace certdeploy::store
