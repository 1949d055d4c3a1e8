// The enrolment requests' decoding (api/controller/enrolment_requests): what a join token is asked for.

#include "api/controller/enrolment_requests.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

using certdeploy::ErrorCode;
using certdeploy::api::join_token_spec;
using nlohmann::json;

TEST_CASE("a join token's uses are taken as sent, from 1 to 10000") {
    for (const int uses : {1, 25, 10000}) {
        CAPTURE(uses);
        auto spec = join_token_spec(json{{"uses", uses}});
        REQUIRE(spec.has_value());
        CHECK(spec->uses == uses);
    }
}

// Checked by tests/fuzz/request_fuzz.cpp: "uses" was narrowed to an int before any check, so that 4294967297 made a
// token for 1 use (and 4294967296 one of 0, refused later for another reason).
TEST_CASE("a join token's uses beyond 1 to 10000 are refused, however large, never narrowed") {
    const std::vector<json> refused = {json(0),
                                       json(-1),
                                       json(10001),
                                       json(4294967297LL),
                                       json(4294967296LL),
                                       json(-4294967295LL),
                                       json(std::numeric_limits<std::int64_t>::min()),
                                       json(std::numeric_limits<std::uint64_t>::max()),
                                       json(1.0),
                                       json("1")};
    for (const auto& uses : refused) {
        CAPTURE(uses.dump());
        auto spec = join_token_spec(json{{"uses", uses}});
        REQUIRE_FALSE(spec.has_value());
        CHECK(spec.error().code == ErrorCode::invalid_request);
        CHECK(spec.error().message.find("\"uses\"") != std::string::npos);
    }
}
