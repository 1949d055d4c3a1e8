#pragma once
// Time as the API and the store write it: RFC 3339 in UTC, second precision, "2027-01-31T23:59:59Z".

#include <chrono>
#include <string>

namespace certdeploy {

std::string rfc3339(std::chrono::system_clock::time_point time);

// Now, as rfc3339 writes it.
std::string rfc3339_now();

}  // namespace certdeploy
