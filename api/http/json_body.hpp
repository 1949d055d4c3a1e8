#pragma once
// Decoding JSON request bodies with errors that name the field and never quote a value (it may be a
// password).

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "api/http/request.hpp"
#include "service/error.hpp"
#include "service/pki/certificate_request.hpp"
#include "service/secret.hpp"

namespace certdeploy::api {

// An invalid-request error (400) saying `message`: what every decoder refuses a malformed field with.
Error invalid_request(std::string message);

// The body as a JSON object; the body's text is wiped afterwards (it may hold a password).
Result<nlohmann::json> json_object_body(Request& req);

// Optional fields: nothing when absent or null; an invalid-request error when of the wrong type.
Result<std::optional<std::string>> string_field(const nlohmann::json& body, const char* name);
Result<std::optional<bool>> bool_field(const nlohmann::json& body, const char* name);
Result<std::optional<int>> int_field(const nlohmann::json& body, const char* name);
Result<std::optional<std::vector<std::string>>> string_list_field(const nlohmann::json& body, const char* name);
// New-ExchangeCertificate -GenerateRequest's fields, as the agent's and the controller's requests both take
// them: subject, domains, keyAlgorithm, keySize (checked by pki::check_request).
Result<pki::RequestFields> request_fields(const nlohmann::json& body);
// A password moved into a Secret; the JSON's copy is wiped.
Result<std::optional<Secret>> secret_field(nlohmann::json& body, const char* name);

}  // namespace certdeploy::api
