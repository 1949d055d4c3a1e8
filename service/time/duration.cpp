#include "service/time/duration.hpp"

#include <charconv>

namespace certdeploy {

std::optional<std::chrono::seconds> parse_duration(std::string_view text) {
    long value = 0;
    const auto* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (ec != std::errc() || ptr + 1 != end || value <= 0 || value > 100L * 365 * 24 * 3600) {
        return std::nullopt;
    }
    switch (*ptr) {
        case 's':
            return std::chrono::seconds(value);
        case 'm':
            return std::chrono::minutes(value);
        case 'h':
            return std::chrono::hours(value);
        case 'd':
            return std::chrono::hours(24 * value);
        default:
            return std::nullopt;
    }
}

}  // namespace certdeploy
