// RFC 3339 times as the API and the store write and read them (service/time/rfc3339).

#include "service/time/rfc3339.hpp"

#include <doctest/doctest.h>

#include <string>

using certdeploy::parse_rfc3339;
using certdeploy::rfc3339;

TEST_CASE("an RFC 3339 time reads back as written, offsets and fractions applied") {
    auto when = parse_rfc3339("2027-01-31T23:59:59Z");
    REQUIRE(when.has_value());
    CHECK(rfc3339(*when) == "2027-01-31T23:59:59Z");
    auto shifted = parse_rfc3339("2027-02-01T01:29:59.250+01:30");
    REQUIRE(shifted.has_value());
    CHECK(rfc3339(*shifted) == "2027-01-31T23:59:59Z");
    CHECK_FALSE(parse_rfc3339("2027-01-31 23:59:59Z").has_value());
    CHECK_FALSE(parse_rfc3339("2027-13-31T23:59:59Z").has_value());
}

// Found by tests/fuzz/request_fuzz.cpp (POST /v1/tokens with "expiresAt": "9923-01-31T23:59:59Z"): a time past what a
// time_point holds overflowed it, undefined behaviour; an agent's notAfter of 9999-12-31 is read the same way.
TEST_CASE("a time a time_point cannot hold is refused, and the last ones it can are read") {
    for (const std::string text : {"9923-01-31T23:59:59Z", "9999-12-31T23:59:59Z", "2262-04-11T23:47:17Z",
                                   "2262-04-11T22:47:17-01:00", "1677-09-21T00:12:43Z", "0000-01-01T00:00:00Z"}) {
        CAPTURE(text);
        CHECK_FALSE(parse_rfc3339(text).has_value());
    }
    for (const std::string text : {"2262-04-11T23:47:16Z", "1677-09-21T00:12:44Z"}) {
        CAPTURE(text);
        auto when = parse_rfc3339(text);
        REQUIRE(when.has_value());
        CHECK(rfc3339(*when) == text);
    }
}
