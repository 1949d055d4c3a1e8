// append_json_string against nlohmann::json's own dump (error_handler_t::replace, ensure_ascii off), byte
// for byte: named cases, then random strings made mostly of the bytes where UTF-8 goes wrong.

#include "service/codec/json_string.hpp"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <random>
#include <string>

using certdeploy::codec::append_json_string;

namespace {

std::string ours(std::string_view text) {
    std::string out = "x";  // appends, never replaces
    append_json_string(out, text);
    return out.substr(1);
}

std::string nlohmanns(const std::string& text) {
    return nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

TEST_CASE("JSON string: escapes, valid UTF-8 kept, each invalid or cut-short sequence replaced, as nlohmann") {
    CHECK(ours("") == "\"\"");
    CHECK(ours("GET /v1/servers/mail01") == "\"GET /v1/servers/mail01\"");
    CHECK(ours("a\"b\\c\n\t\r\b\f\x01\x1f\x7f") == "\"a\\\"b\\\\c\\n\\t\\r\\b\\f\\u0001\\u001f\x7f\"");
    CHECK(ours("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x94\x92") == "\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x94\x92\"");
    CHECK(ours("\xC3") == "\"\xEF\xBF\xBD\"");                                  // cut short at the end
    CHECK(ours("\xE2\x28\xA1") == "\"\xEF\xBF\xBD(\xEF\xBF\xBD\"");             // '(' read again
    CHECK(ours("\xC0\xAF") == "\"\xEF\xBF\xBD\xEF\xBF\xBD\"");                  // overlong
    CHECK(ours("\xED\xA0\x80") == "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");  // a surrogate
    CHECK(ours(std::string("a\0b", 3)) == "\"a\\u0000b\"");
    for (const std::string text : {"\xF4\x90\x80\x80", "\xF0\x80\x80", "\xE0\x9F\xBF", "\xF5", "\x80\x80",
                                   "\xEF\xBF\xBD", "\xF0\x9F\x94", "\xDF\xBF\xDF"}) {
        CHECK(ours(text) == nlohmanns(text));
    }
}

TEST_CASE("JSON string: 20 000 random strings come out as nlohmann's dump does") {
    std::mt19937 random(20261203);
    // Mostly the bytes that matter: leads, continuations, the edges of their ranges, controls, quotes.
    const std::string interesting = std::string(
        "\x80\x8f\x90\x9f\xa0\xbf\xc0\xc1\xc2\xdf\xe0\xe1\xec\xed\xee\xef"
        "\xf0\xf1\xf3\xf4\xf5\xff\x00\x01\x1f\x7f\"\\aZ/ ",
        32);
    int mismatches = 0;
    for (int n = 0; n < 20000; ++n) {
        std::string text(random() % 12, '\0');
        for (auto& c : text) {
            c = random() % 4 == 0 ? static_cast<char>(random() % 256) : interesting[random() % interesting.size()];
        }
        if (ours(text) != nlohmanns(text)) {
            ++mismatches;
            if (mismatches <= 3) {
                CHECK(ours(text) == nlohmanns(text));
            }
        }
    }
    CHECK(mismatches == 0);
}
