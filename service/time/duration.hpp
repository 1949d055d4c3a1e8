#pragma once
// Durations as people type them: "90s", "30m", "1h", "7d" (join tokens' expiresIn, --expires-in).

#include <chrono>
#include <optional>
#include <string_view>

namespace certdeploy {

// A positive whole number and one unit (s, m, h, d); nothing for any other text.
std::optional<std::chrono::seconds> parse_duration(std::string_view text);

}  // namespace certdeploy
