#pragma once
// What the dispatcher decides about one attempt, as pure functions: whether a failure is tried again, how
// long to wait first, and which refusal still means the goal was reached.

#include <chrono>

#include "service/error.hpp"

namespace certdeploy::controller {

// Only a transport failure is tried again — the agent could not be reached, or did not answer within the
// attempt's deadline — and only while this run of the target has attempts left (`tries` made so far).
// A refusal (wrong password, certificate in use, a failed reload) would be refused again.
bool should_retry(ErrorCode code, int tries, int max_attempts) noexcept;

// The wait before try `tries + 1`: `base` doubled for each try after the first, capped at `cap` (or `base`
// when larger), with "equal jitter" — half of it fixed, half drawn from `unit` in [0, 1] — so that targets
// that failed together (one network cut) do not all come back at the same instant.
std::chrono::milliseconds backoff_delay(int tries, std::chrono::milliseconds base, std::chrono::milliseconds cap,
                                        double unit) noexcept;

// A removal the agent answers "not found" reached its goal: sent again after a restart, or removed by hand.
bool already_removed(ErrorCode refusal) noexcept;

}  // namespace certdeploy::controller
