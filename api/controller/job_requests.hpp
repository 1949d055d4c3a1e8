#pragma once
// Decoding the controller's job requests (job_routes.cpp): a request's body, Content-Type, headers and query
// into the domain's typed requests. Errors are invalid-request (or the code of what is refused: 415 for an
// unknown Content-Type, pki::check_request's for a request's fields), naming the field, never quoting a value.

#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "api/http/request.hpp"
#include "service/controller/job_service.hpp"
#include "service/error.hpp"

namespace certdeploy::api {

// What POST /v1/imports asks for.
struct ImportInput {
    controller::ImportRequest request;
    // Further "file" parts: CA answers imported together without naming servers (each finds its own).
    std::vector<std::string> moreFiles;
    bool dryRun = false;
};

// POST /v1/imports: multipart/form-data (curl -F) or application/json (fileData in base64), and ?dryRun.
// The body is wiped (it held the file and the password).
Result<ImportInput> import_input(Request& req);

// The Idempotency-Key header (empty when absent), at most 255 characters.
Result<std::string> idempotency_key(const Request& req);

// invalid-request naming the first field of `body` that is not `allowed`.
Result<void> only_fields(const nlohmann::json& body, std::initializer_list<const char*> allowed);

// POST /v1/certificates/{thumbprint}/enable|remove: the servers (and, to enable, the services).
Result<controller::FleetRequest> fleet_request(Request& req, controller::JobKind kind);

// POST /v1/requests: the request's fields (checked by pki::check_request), the servers, friendlyName and
// privateKeyExportable.
Result<controller::CertificateRequestJob> certificate_request(Request& req);

}  // namespace certdeploy::api
