#pragma once
// Reading a job as the API shows it (openapi.yaml: JobWithTargets), for the tests' assertions.

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <string>

namespace certdeploy::test {

// The job's target for `server`; fails the test when there is none.
inline const nlohmann::json& target(const nlohmann::json& job, const std::string& server) {
    for (const auto& t : job["targets"]) {
        if (t["server"] == server) {
            return t;
        }
    }
    FAIL("no target for " << server);
    static const nlohmann::json none;
    return none;
}

}  // namespace certdeploy::test
