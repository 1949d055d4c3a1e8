#include "api/http/problem.hpp"

#include <nlohmann/json.hpp>
#include <string>

namespace certdeploy::api {

http::status http_status(ErrorCode code) noexcept {
    switch (code) {
        case ErrorCode::invalid_request:
        case ErrorCode::invalid_config:
            return http::status::bad_request;
        case ErrorCode::not_found:
            return http::status::not_found;
        case ErrorCode::method_not_allowed:
            return http::status::method_not_allowed;
        case ErrorCode::payload_too_large:
            return http::status::payload_too_large;
        case ErrorCode::headers_too_large:
            return http::status::request_header_fields_too_large;
        case ErrorCode::wrong_password:
        case ErrorCode::password_required:
        case ErrorCode::unreadable_certificate:
        case ErrorCode::unsupported_algorithm:
        case ErrorCode::key_mismatch:
        case ErrorCode::no_certificate:
        case ErrorCode::ambiguous_leaf:
        case ErrorCode::too_large:
        case ErrorCode::thumbprint_mismatch:
        case ErrorCode::unknown_service:
        case ErrorCode::unknown_server:
        case ErrorCode::no_servers:
        case ErrorCode::invalid_subject:
        case ErrorCode::invalid_domain:
        case ErrorCode::invalid_key_parameters:
        case ErrorCode::no_matching_request:
            return http::status::unprocessable_entity;
        case ErrorCode::unsupported_media_type:
            return http::status::unsupported_media_type;
        case ErrorCode::job_not_found:
            return http::status::not_found;
        case ErrorCode::job_not_retryable:
        case ErrorCode::job_finished:
        case ErrorCode::upload_expired:
        case ErrorCode::idempotency_conflict:
            return http::status::conflict;
        case ErrorCode::invalid_thumbprint:
            return http::status::bad_request;
        case ErrorCode::certificate_not_found:
        case ErrorCode::server_not_found:
            return http::status::not_found;
        case ErrorCode::no_private_key:
        case ErrorCode::not_exportable:
        case ErrorCode::certificate_in_use:
            return http::status::conflict;
        case ErrorCode::reload_failed:
        case ErrorCode::agent_unreachable:
        case ErrorCode::agent_error:
            return http::status::bad_gateway;
        case ErrorCode::unauthenticated:
        case ErrorCode::token_expired:
        case ErrorCode::token_revoked:
            return http::status::unauthorized;
        case ErrorCode::forbidden:
        case ErrorCode::out_of_scope:
            return http::status::forbidden;
        case ErrorCode::too_many_requests:
            return http::status::too_many_requests;
        case ErrorCode::token_exists:
            return http::status::conflict;
        case ErrorCode::token_not_found:
        case ErrorCode::join_token_not_found:
            return http::status::not_found;
        case ErrorCode::join_token_invalid:
        case ErrorCode::join_token_used:
        case ErrorCode::join_token_expired:
        case ErrorCode::join_token_revoked:
        case ErrorCode::identity_revoked:
            return http::status::unauthorized;
        case ErrorCode::join_token_mismatch:
            return http::status::forbidden;
        case ErrorCode::enrolment_unavailable:
        case ErrorCode::server_pending:
            return http::status::conflict;
        case ErrorCode::disk_full:
            return http::status::insufficient_storage;
        case ErrorCode::read_only_storage:
        case ErrorCode::permission_denied:
        case ErrorCode::store_unavailable:
            return http::status::service_unavailable;
        case ErrorCode::io_error:
        case ErrorCode::internal:
            return http::status::internal_server_error;
    }
    return http::status::internal_server_error;
}

Response json_response(http::status status, const nlohmann::json& body, unsigned http_version) {
    Response res{status, http_version};
    res.set(http::field::content_type, "application/json");
    res.set("X-Content-Type-Options", "nosniff");
    res.body() = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return res;
}

Response json_reply(const Request& req, http::status status, const nlohmann::json& body) {
    auto res = json_response(status, body, req.message.version());
    res.set(http::field::cache_control, "no-store");
    return res;
}

Response problem_response(const Error& error, unsigned http_version, std::string_view instance) {
    const auto status = http_status(error.code);
    const std::string code(code_string(error.code));
    nlohmann::json body = {
        {"type", "urn:certdeploy:problem:" + code},
        {"title", std::string(code_title(error.code))},
        {"status", static_cast<unsigned>(status)},
        {"detail", error.message},
        {"code", code},
    };
    if (!instance.empty()) {
        body["instance"] = std::string(instance);
    }
    auto res = json_response(status, body, http_version);
    res.set(http::field::content_type, "application/problem+json");
    if (error.code == ErrorCode::store_unavailable) {
        res.set(http::field::retry_after, "1");  // the store reconnects on the next request
    }
    if (status == http::status::unauthorized) {
        // RFC 6750: what to send instead; error="invalid_token" when one was sent and refused.
        res.set(http::field::www_authenticate,
                error.code == ErrorCode::unauthenticated && error.message.find("Authorization") != std::string::npos
                    ? "Bearer realm=\"certdeploy\""
                    : "Bearer realm=\"certdeploy\", error=\"invalid_token\"");
    }
    return res;
}

}  // namespace certdeploy::api
