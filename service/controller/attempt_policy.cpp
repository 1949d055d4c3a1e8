#include "service/controller/attempt_policy.hpp"

#include <algorithm>
#include <cmath>

namespace certdeploy::controller {

bool should_retry(ErrorCode code, int tries, int max_attempts) noexcept {
    return code == ErrorCode::agent_unreachable && tries < max_attempts;
}

std::chrono::milliseconds backoff_delay(int tries, std::chrono::milliseconds base, std::chrono::milliseconds cap,
                                        double unit) noexcept {
    const auto limit = std::max(cap, base);
    auto delay = base;
    for (int i = 1; i < tries && delay < limit; ++i) {
        delay *= 2;
    }
    delay = std::min(delay, limit);
    const double draw = std::clamp(unit, 0.0, 1.0);
    const auto half = delay.count() / 2;
    return std::chrono::milliseconds(half + static_cast<long long>(std::llround(draw * static_cast<double>(half))));
}

bool already_removed(ErrorCode refusal) noexcept {
    return refusal == ErrorCode::certificate_not_found;
}

}  // namespace certdeploy::controller
