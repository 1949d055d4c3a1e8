#include "store/sql_connection.hpp"

#include <atomic>

#include "service/try.hpp"
#include "store/transaction_observer.hpp"

namespace certdeploy::store {

StoreResult<void> Statement::run() {
    for (;;) {
        CERTDEPLOY_TRY_ASSIGN(auto more, step());
        if (!more) {
            return {};
        }
    }
}

namespace {

std::atomic<TransactionObserver> transaction_observer{nullptr};

void report(std::chrono::steady_clock::time_point begun, bool committed) {
    if (auto* observer = transaction_observer.load(std::memory_order_relaxed)) {
        observer(std::chrono::steady_clock::now() - begun, committed);
    }
}

}  // namespace

void set_transaction_observer(TransactionObserver observer) noexcept {
    transaction_observer.store(observer, std::memory_order_relaxed);
}

Transaction::~Transaction() {
    if (open_) {
        db_.exec("ROLLBACK");
        report(begun_, false);
    }
}

StoreResult<void> Transaction::begin() {
    begun_ = std::chrono::steady_clock::now();
    auto begun = db_.begin();
    open_ = static_cast<bool>(begun);
    return begun;
}

StoreResult<void> Transaction::commit() {
    auto committed = db_.exec("COMMIT");
    if (committed) {
        open_ = false;
        report(begun_, true);
    }
    return committed;
}

const std::vector<Migration>& sqlite_controller_migrations();      // generated from migrations/sqlite
const std::vector<Migration>& postgresql_controller_migrations();  // generated from migrations/postgresql

const std::vector<Migration>& controller_migrations(Dialect dialect) {
    return dialect == Dialect::postgresql ? postgresql_controller_migrations() : sqlite_controller_migrations();
}

}  // namespace certdeploy::store
