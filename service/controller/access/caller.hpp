#pragma once
// Who is calling: the token's name, its role and, for a scoped token, the label selector that bounds the
// servers it sees and touches (one team's CI cannot reach another team's servers).

#include <map>
#include <string>
#include <vector>

#include "service/controller/access/role.hpp"

namespace certdeploy::controller {

struct Caller {
    std::string token;  // the token's name
    Role role = Role::viewer;
    bool scoped = false;
    std::map<std::string, std::string> scope;  // when scoped: every label must match

    // Whether a server with these labels is within the caller's reach.
    bool reaches(const std::map<std::string, std::string>& labels) const {
        if (!scoped) {
            return true;
        }
        for (const auto& [key, value] : scope) {
            auto it = labels.find(key);
            if (it == labels.end() || it->second != value) {
                return false;
            }
        }
        return true;
    }
};

}  // namespace certdeploy::controller
