#pragma once
// Reading a job as the API shows it (openapi.yaml: JobWithTargets) and its events stream, for the tests'
// assertions.

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

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

// The events of a stream as (id, type, data).
struct Event {
    long id;
    std::string type;
    nlohmann::json data;
};
inline std::vector<Event> parse_events(const std::string& text) {
    std::vector<Event> events;
    Event current{0, "", nullptr};
    std::size_t pos = 0;
    while (pos < text.size()) {
        auto end = text.find('\n', pos);
        if (end == std::string::npos) {
            end = text.size();
        }
        const auto line = text.substr(pos, end - pos);
        pos = end + 1;
        if (line.empty()) {
            if (!current.type.empty()) {
                events.push_back(current);
            }
            current = Event{0, "", nullptr};
        } else if (line.rfind("id: ", 0) == 0) {
            current.id = std::stol(line.substr(4));
        } else if (line.rfind("event: ", 0) == 0) {
            current.type = line.substr(7);
        } else if (line.rfind("data: ", 0) == 0) {
            current.data = nlohmann::json::parse(line.substr(6));
        }
    }
    return events;
}

}  // namespace certdeploy::test
