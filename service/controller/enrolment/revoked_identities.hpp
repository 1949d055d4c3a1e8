#pragma once
// The fingerprints of agents' certificates that were revoked (their servers removed), in memory for the
// agents' I/O thread: the controller refuses such an agent before sending it anything. Loaded from the store
// at start, added to as servers are removed.

#include <atomic>
#include <mutex>
#include <string>
#include <unordered_set>
#include <vector>

namespace certdeploy::controller {

class RevokedIdentities {
  public:
    void add(const std::vector<std::string>& fingerprints) {
        std::lock_guard lock(mutex_);
        fingerprints_.insert(fingerprints.begin(), fingerprints.end());
        any_ = !fingerprints_.empty();
    }
    // Lock-free: while nothing was revoked, a request to an agent pays no fingerprint.
    bool empty() const { return !any_.load(std::memory_order_acquire); }
    bool contains(const std::string& fingerprint) const {
        std::lock_guard lock(mutex_);
        return fingerprints_.count(fingerprint) != 0;
    }

  private:
    mutable std::mutex mutex_;
    std::unordered_set<std::string> fingerprints_;
    std::atomic<bool> any_{false};
};

}  // namespace certdeploy::controller
