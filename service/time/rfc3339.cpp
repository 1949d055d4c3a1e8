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

std::optional<std::chrono::system_clock::time_point> parse_rfc3339(std::string_view text) {
    const auto digits = [&](std::size_t at, std::size_t count, int& out) {
        if (at + count > text.size()) {
            return false;
        }
        out = 0;
        for (std::size_t i = at; i < at + count; ++i) {
            if (text[i] < '0' || text[i] > '9') {
                return false;
            }
            out = out * 10 + (text[i] - '0');
        }
        return true;
    };
    std::tm tm{};
    int year = 0, month = 0;
    if (text.size() < 20 || !digits(0, 4, year) || text[4] != '-' || !digits(5, 2, month) || text[7] != '-' ||
        !digits(8, 2, tm.tm_mday) || (text[10] != 'T' && text[10] != 't') || !digits(11, 2, tm.tm_hour) ||
        text[13] != ':' || !digits(14, 2, tm.tm_min) || text[16] != ':' || !digits(17, 2, tm.tm_sec)) {
        return std::nullopt;
    }
    if (month < 1 || month > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
        tm.tm_sec > 60) {
        return std::nullopt;
    }
    std::size_t pos = 19;
    if (pos < text.size() && text[pos] == '.') {
        ++pos;
        const std::size_t start = pos;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
            ++pos;
        }
        if (pos == start) {
            return std::nullopt;
        }
    }
    long offset = 0;
    if (pos + 1 == text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
        offset = 0;
    } else if (pos + 6 == text.size() && (text[pos] == '+' || text[pos] == '-') && text[pos + 3] == ':') {
        int hours = 0, minutes = 0;
        if (!digits(pos + 1, 2, hours) || !digits(pos + 4, 2, minutes) || hours > 23 || minutes > 59) {
            return std::nullopt;
        }
        offset = (text[pos] == '+' ? 1 : -1) * (hours * 3600L + minutes * 60L);
    } else {
        return std::nullopt;
    }
    tm.tm_year = year - 1900;
    tm.tm_mon = month - 1;
    const std::time_t t = timegm(&tm) - offset;
    // A time_point counts nanoseconds in 64 bits (years 1678 to 2261): a time beyond is refused, not overflowed
    // (found by tests/fuzz/request_fuzz.cpp; an X.509 notAfter of 9999-12-31, "no expiry", is one).
    using std::chrono::duration_cast;
    using std::chrono::seconds;
    using std::chrono::system_clock;
    if (t > duration_cast<seconds>(system_clock::duration::max()).count() ||
        t < duration_cast<seconds>(system_clock::duration::min()).count()) {
        return std::nullopt;
    }
    return system_clock::from_time_t(t);
}

}  // namespace certdeploy
