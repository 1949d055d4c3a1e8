#pragma once
// The one place where a domain Error becomes HTTP: an RFC 9457 problem+json response with a stable `code`.

#include <nlohmann/json.hpp>
#include <string_view>

#include "api/http/net.hpp"
#include "api/http/request.hpp"
#include "service/error.hpp"

namespace certdeploy::api {

http::status http_status(ErrorCode code) noexcept;

// {"type": "urn:certdeploy:problem:<code>", "title", "status", "detail", "code", "instance"}.
// Only error.message reaches the client; error.detail is for the log.
Response problem_response(const Error& error, unsigned http_version, std::string_view instance);

// A JSON body with the given status.
Response json_response(http::status status, const nlohmann::json& body, unsigned http_version);

// A handler's JSON answer to `req`: never cached (certificates, servers and jobs change under it).
Response json_reply(const Request& req, http::status status, const nlohmann::json& body);

}  // namespace certdeploy::api
