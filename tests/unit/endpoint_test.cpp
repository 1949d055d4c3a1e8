#include <doctest/doctest.h>

#include "config/values.hpp"

using certdeploy::config::Endpoint;
using certdeploy::config::parse_endpoint;

TEST_CASE("HOST:PORT parsing") {
    struct Case {
        const char* text;
        bool ok;
        const char* host;
        unsigned port;
    };
    const Case cases[] = {
        {"127.0.0.1:8080", true, "127.0.0.1", 8080},
        {"0.0.0.0:0", true, "0.0.0.0", 0},
        {"localhost:65535", true, "localhost", 65535},
        {"[::1]:9001", true, "::1", 9001},
        {"[::]:443", true, "::", 443},
        {"agent-01.example.com:9001", true, "agent-01.example.com", 9001},
        {"127.0.0.1", false, "", 0},
        {":8080", false, "", 0},
        {"127.0.0.1:", false, "", 0},
        {"127.0.0.1:65536", false, "", 0},
        {"127.0.0.1:80a", false, "", 0},
        {"::1:80", false, "", 0},
        {"[::1:80", false, "", 0},
        {"[]:80", false, "", 0},
        {"host name:80", false, "", 0},
        {"", false, "", 0},
    };
    for (const auto& c : cases) {
        CAPTURE(c.text);
        Endpoint ep;
        REQUIRE(parse_endpoint(c.text, ep) == c.ok);
        if (c.ok) {
            CHECK(ep.host == c.host);
            CHECK(ep.port == c.port);
        }
    }
    CHECK(Endpoint{"::1", 80}.to_string() == "[::1]:80");
    CHECK(Endpoint{"127.0.0.1", 80}.to_string() == "127.0.0.1:80");
}
