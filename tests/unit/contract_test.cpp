// openapi.yaml stays exact about problem codes: every code the service can answer is listed there, and
// nothing listed there is unknown to the service.

#include <doctest/doctest.h>

#include <regex>

#include "service/error.hpp"
#include "tests/support/temp_dir.hpp"

TEST_CASE("every problem code is in openapi.yaml, and every code there exists") {
    const std::string spec = certdeploy::test::read_file(CERTDEPLOY_SOURCE_DIR "/openapi.yaml");
    std::vector<std::string> codes;
#define CERTDEPLOY_CODE(name, str, title) codes.emplace_back(str);
    CERTDEPLOY_ERROR_CODES(CERTDEPLOY_CODE)
#undef CERTDEPLOY_CODE
    // The Problem schema's code enum: the lines "            - some-code" after its "code:".
    const auto start = spec.find("        code:\n", spec.find("\n    Problem:\n"));
    REQUIRE(start != std::string::npos);
    const auto end = spec.find("        instance:", start);
    const std::string block = spec.substr(start, end - start);
    std::vector<std::string> listed;
    const std::regex item(R"(\n\s+- ([a-z-]+))");
    for (auto it = std::sregex_iterator(block.begin(), block.end(), item); it != std::sregex_iterator(); ++it) {
        listed.push_back((*it)[1]);
    }
    for (const auto& code : codes) {
        CAPTURE(code);
        if (code == "invalid-config") {
            continue;  // reported at start-up, on the command line; never over HTTP
        }
        CHECK(std::find(listed.begin(), listed.end(), code) != listed.end());
    }
    for (const auto& code : listed) {
        CAPTURE(code);
        CHECK(std::find(codes.begin(), codes.end(), code) != codes.end());
    }
}
