#include "service/controller/access/failure_throttle.hpp"

namespace certdeploy::controller {

FailureThrottle::FailureThrottle(int limit, Clock::duration window, Clock::duration penalty, std::size_t max_clients)
    : limit_(limit), window_(window), penalty_(penalty), maxClients_(max_clients) {}

std::optional<FailureThrottle::Clock::duration> FailureThrottle::blocked(const std::string& client,
                                                                         Clock::time_point now) {
    std::lock_guard lock(mutex_);
    auto it = clients_.find(client);
    if (it == clients_.end() || it->second.blockedUntil <= now) {
        return std::nullopt;
    }
    return it->second.blockedUntil - now;
}

void FailureThrottle::failed(const std::string& client, Clock::time_point now) {
    std::lock_guard lock(mutex_);
    if (clients_.size() >= maxClients_) {
        forget_old(now);
    }
    auto& record = clients_[client];
    if (now - record.windowStart > window_) {
        record.failures = 0;
        record.windowStart = now;
    }
    if (++record.failures >= limit_) {
        record.blockedUntil = now + penalty_;
        record.failures = 0;
        record.windowStart = now;
    }
}

// Drops the records that no longer matter (window over, not blocked); many addresses at once (a scan) are
// then remembered again from scratch rather than growing without bound.
void FailureThrottle::forget_old(Clock::time_point now) {
    for (auto it = clients_.begin(); it != clients_.end();) {
        if (now - it->second.windowStart > window_ && it->second.blockedUntil <= now) {
            it = clients_.erase(it);
        } else {
            ++it;
        }
    }
    if (clients_.size() >= maxClients_) {
        clients_.clear();
    }
}

}  // namespace certdeploy::controller
