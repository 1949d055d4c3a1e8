#pragma once
// Decoding the enrolment requests (enrolment_routes.cpp) into the domain's typed ones; invalid-request
// naming what is expected otherwise.

#include <nlohmann/json.hpp>
#include <string>

#include "service/controller/enrolment/enrolment.hpp"
#include "service/error.hpp"

namespace certdeploy::api {

// POST /v1/join-tokens: {"server": "ex03", "labels": {...}, "expiresIn": "1h", "uses": 1}.
Result<controller::JoinTokenSpec> join_token_spec(const nlohmann::json& body);

// POST /enrol/v1/join: {"name": ..., "csr": PEM, "agentUrl": "https://HOST:PORT"}, every field a string.
Result<controller::JoinRequest> join_request(const nlohmann::json& body);

// POST /enrol/v1/renew: {"csr": PEM} and nothing else; the CSR's text.
Result<std::string> renewal_csr(const nlohmann::json& body);

}  // namespace certdeploy::api
