#pragma once
// Time as the API and the store write it: RFC 3339 in UTC, second precision, "2027-01-31T23:59:59Z".

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace certdeploy {

std::string rfc3339(std::chrono::system_clock::time_point time);

// Now, as rfc3339 writes it.
std::string rfc3339_now();

// "2027-01-31T23:59:59Z", with optional fractional seconds (dropped) and a "Z" or "+HH:MM"/"-HH:MM" offset;
// nothing for any other text, or for a time a time_point cannot hold (before 1678 or after 2261).
std::optional<std::chrono::system_clock::time_point> parse_rfc3339(std::string_view text);

}  // namespace certdeploy
