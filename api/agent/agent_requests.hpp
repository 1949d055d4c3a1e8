#pragma once
// Decoding the agent's request bodies (agent_routes.cpp) into what agent::AgentService takes. Errors are
// invalid-request naming the field (values never quoted: one may be a password), or pki::check_request's.

#include <optional>
#include <string>
#include <vector>

#include "api/http/request.hpp"
#include "service/agent/agent_service.hpp"
#include "service/error.hpp"
#include "service/pki/writer.hpp"
#include "service/secret.hpp"

namespace certdeploy::api {

// PUT /agent/v1/certificates/{thumbprint}: Import-ExchangeCertificate.
struct InstallInput {
    std::string file;  // fileData, base64-decoded: the caller wipes it once used
    std::optional<Secret> password;
    bool exportable = false;
    std::string friendlyName;
};
Result<InstallInput> install_input(Request& req);

// POST /agent/v1/requests: New-ExchangeCertificate -GenerateRequest, its fields checked.
Result<agent::NewRequest> new_request_input(Request& req);

// POST /agent/v1/certificates/{thumbprint}/enable: the services, at least one.
Result<std::vector<std::string>> enable_input(Request& req);

// POST /agent/v1/certificates/{thumbprint}/export: a password (required) and the PKCS #12 profile.
struct ExportInput {
    Secret password;
    pki::Pkcs12Profile profile = pki::Pkcs12Profile::modern;
};
Result<ExportInput> export_input(Request& req);

}  // namespace certdeploy::api
