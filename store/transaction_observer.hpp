#pragma once
// A process-wide hook told how long each write transaction of the controller's store took, from BEGIN to
// COMMIT or ROLLBACK (the metrics' certdeploy_store_transaction_duration_seconds). The store knows nothing of
// metrics: the executable sets the hook.

#include <chrono>

namespace certdeploy::store {

using TransactionObserver = void (*)(std::chrono::steady_clock::duration took, bool committed);

// Thread-safe; nullptr stops the reports.
void set_transaction_observer(TransactionObserver observer) noexcept;

}  // namespace certdeploy::store
