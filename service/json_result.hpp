#pragma once
// A JSON value as a Result. nlohmann::json converts to anything, so the value alternative of
// boost::system::result must be named explicitly or the conversion is ambiguous.

#include <nlohmann/json.hpp>

#include "service/error.hpp"

namespace certdeploy {

inline Result<nlohmann::json> json_result(nlohmann::json value) {
    return Result<nlohmann::json>(boost::system::in_place_value, std::move(value));
}

}  // namespace certdeploy
