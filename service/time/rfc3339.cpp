#include "service/time/rfc3339.hpp"

#include <ctime>

namespace certdeploy {

std::string rfc3339(std::chrono::system_clock::time_point time) {
    const std::time_t t = std::chrono::system_clock::to_time_t(time);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::string rfc3339_now() {
    return rfc3339(std::chrono::system_clock::now());
}

}  // namespace certdeploy
