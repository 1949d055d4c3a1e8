#include "store/group_commit.hpp"

#include <cerrno>
#include <exception>
#include <string>

#include "store/sql_connection.hpp"

namespace certdeploy::store {

GroupCommit::GroupCommit(ConnectionPool& pool, std::size_t max_batch) : pool_(pool), max_batch_(max_batch) {}

StoreResult<bool> GroupCommit::run(const Change& change) {
    Waiting self{&change};
    std::unique_lock lock(mutex_);
    queue_.push_back(&self);
    while (!self.done) {
        if (writing_) {
            finished_.wait(lock);
            continue;
        }
        // This caller writes the next batch (its own change is in it, or in a later one it writes too).
        writing_ = true;
        const std::size_t take = std::min(queue_.size(), max_batch_);
        std::vector<Waiting*> batch(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(take));
        queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(take));
        lock.unlock();
        try {
            write(batch);
        } catch (...) {
            // Whatever happened (out of memory), the batch's callers are answered and the writer freed: an
            // exception must never leave every later change waiting. The transaction was rolled back.
            for (auto* waiting : batch) {
                waiting->result = StoreError{EIO, "the transaction of a batch of changes failed"};
            }
        }
        lock.lock();
        for (auto* waiting : batch) {
            waiting->done = true;
        }
        writing_ = false;
        finished_.notify_all();
    }
    return std::move(self.result);
}

void GroupCommit::write(std::vector<Waiting*>& batch) {
    auto fail_all = [&batch](const StoreError& error) {
        for (auto* waiting : batch) {
            waiting->result = error;
        }
    };
    auto db = pool_.acquire();
    if (!db) {
        fail_all(db.error());
        return;
    }
    Transaction tx(**db);
    if (auto begun = tx.begin(); !begun) {
        fail_all(begun.error());
        return;
    }
    for (auto* waiting : batch) {
        if (auto saved = (*db)->exec("SAVEPOINT change"); !saved) {
            waiting->result = saved.error();
            continue;
        }
        try {
            waiting->result = (*waiting->change)(**db);
        } catch (const std::exception& e) {
            // A change that throws fails alone, like one that returns an error.
            waiting->result = StoreError{EIO, std::string("a change failed: ") + e.what()};
        } catch (...) {
            waiting->result = StoreError{EIO, "a change failed"};
        }
        // A failed change leaves nothing behind; the others of the batch go on.
        auto ended = (*db)->exec(waiting->result ? "RELEASE SAVEPOINT change"
                                                 : "ROLLBACK TO SAVEPOINT change; RELEASE SAVEPOINT change");
        if (!ended) {
            fail_all(ended.error());  // the transaction is in an unknown state: it is rolled back whole
            return;
        }
    }
    if (auto committed = tx.commit(); !committed) {
        fail_all(committed.error());  // rolled back by tx: none of the batch is persisted
    }
}

}  // namespace certdeploy::store
