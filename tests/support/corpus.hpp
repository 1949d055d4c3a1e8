#pragma once
// The certificate corpus that tests/fixtures/make-fixtures.sh makes (CERTDEPLOY_FIXTURES, which CMake sets for
// the test executables), its password, and the import most job tests post: what `curl -F file=@FILE
// -F password=... -F servers=...` sends.

#include <doctest/doctest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/support/fleet.hpp"
#include "tests/support/temp_dir.hpp"

namespace certdeploy::test {

inline const std::filesystem::path kCorpus = CERTDEPLOY_FIXTURES;
inline const std::string kPassword = "P@ssw0rd1";

inline std::vector<FormField> import_form(const std::string& servers, const std::string& password = kPassword,
                                          const std::string& file = "modern.pfx") {
    return {{"file", read_file(kCorpus / file), file}, {"password", password, ""}, {"servers", servers, ""}};
}

// POST /v1/imports, which must be accepted; the new job's id.
inline std::string post_import(Fleet& fleet, const std::vector<FormField>& form) {
    auto accepted = fleet.post_form("/v1/imports", form);
    INFO(accepted.body());
    REQUIRE(accepted.result() == http::status::accepted);
    return nlohmann::json::parse(accepted.body())["id"];
}

}  // namespace certdeploy::test
