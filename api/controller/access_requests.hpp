#pragma once
// Decoding the controller's access requests (access_routes.cpp) into the domain's typed ones.

#include <nlohmann/json.hpp>

#include "service/controller/access/token_service.hpp"
#include "service/error.hpp"

namespace certdeploy::api {

// POST /v1/tokens: {"name", "role", "scope": {"team": "mail"}, "expiresAt": RFC 3339 | "expiresInDays": N};
// invalid-request naming the field otherwise.
Result<controller::TokenSpec> token_spec(const nlohmann::json& body);

}  // namespace certdeploy::api
