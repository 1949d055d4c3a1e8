#pragma once
// Slows down guessing: a client address that fails to authenticate `limit` times within `window` is
// refused for `penalty` (429 with Retry-After), without affecting other clients. In memory only: a
// restart forgives, which is fine for a brake on guessing 256-bit tokens. Thread-safe.

#include <chrono>
#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace certdeploy::controller {

class FailureThrottle {
  public:
    using Clock = std::chrono::steady_clock;

    FailureThrottle(int limit, Clock::duration window, Clock::duration penalty, std::size_t max_clients = 100'000);

    // How long `client` must still wait; nothing when it may try.
    std::optional<Clock::duration> blocked(const std::string& client, Clock::time_point now = Clock::now());
    // A failed authentication from `client`.
    void failed(const std::string& client, Clock::time_point now = Clock::now());

  private:
    struct Record {
        int failures = 0;
        Clock::time_point windowStart{};
        Clock::time_point blockedUntil{};
    };
    void forget_old(Clock::time_point now);

    int limit_;
    Clock::duration window_;
    Clock::duration penalty_;
    std::size_t maxClients_;
    std::mutex mutex_;
    std::unordered_map<std::string, Record> clients_;
};

}  // namespace certdeploy::controller
