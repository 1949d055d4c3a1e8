#pragma once
// One error type for the whole code base: a stable machine code, a one-line message that is safe to show
// a client, and an internal detail that only the log sees (OpenSSL's text, paths, errno strings).

#include <boost/system/result.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace certdeploy {

// X(enumerator, stable code, short title). The code strings are API: never rename one.
#define CERTDEPLOY_ERROR_CODES(X)                                                       \
    X(invalid_config, "invalid-config", "Invalid configuration")                        \
    X(invalid_request, "invalid-request", "Malformed request")                          \
    X(not_found, "not-found", "Not found")                                              \
    X(method_not_allowed, "method-not-allowed", "Method not allowed")                   \
    X(payload_too_large, "payload-too-large", "Request body too large")                 \
    X(headers_too_large, "headers-too-large", "Request headers too large")              \
    X(io_error, "io-error", "Input/output error")                                       \
    X(wrong_password, "wrong-password", "Wrong password")                               \
    X(password_required, "password-required", "Password required")                      \
    X(unreadable_certificate, "unreadable-certificate", "Unreadable certificate file")  \
    X(unsupported_algorithm, "unsupported-algorithm", "Unsupported algorithm")          \
    X(key_mismatch, "key-mismatch", "Private key does not match")                       \
    X(no_certificate, "no-certificate", "No certificate in the file")                   \
    X(ambiguous_leaf, "ambiguous-leaf", "Ambiguous certificate")                        \
    X(too_large, "too-large", "File too large")                                         \
    X(invalid_thumbprint, "invalid-thumbprint", "Invalid thumbprint")                   \
    X(thumbprint_mismatch, "thumbprint-mismatch", "Thumbprint does not match the file") \
    X(certificate_not_found, "certificate-not-found", "Certificate not found")          \
    X(unknown_service, "unknown-service", "Unknown service")                            \
    X(no_private_key, "no-private-key", "Certificate has no private key")               \
    X(not_exportable, "not-exportable", "Private key not exportable")                   \
    X(certificate_in_use, "certificate-in-use", "Certificate in use")                   \
    X(reload_failed, "reload-failed", "Service reload failed")                          \
    X(disk_full, "disk-full", "Disk full")                                              \
    X(read_only_storage, "read-only-storage", "Read-only storage")                      \
    X(permission_denied, "permission-denied", "Permission denied")                      \
    X(store_unavailable, "store-unavailable", "Database unavailable")                   \
    X(server_not_found, "server-not-found", "Server not found")                         \
    X(agent_unreachable, "agent-unreachable", "Agent unreachable")                      \
    X(agent_error, "agent-error", "Unexpected answer from an agent")                    \
    X(unsupported_media_type, "unsupported-media-type", "Unsupported media type")       \
    X(unknown_server, "unknown-server", "Unknown server")                               \
    X(no_servers, "no-servers", "No servers selected")                                  \
    X(job_not_found, "job-not-found", "Job not found")                                  \
    X(job_not_retryable, "job-not-retryable", "Nothing to retry")                       \
    X(job_finished, "job-finished", "Job already finished")                             \
    X(upload_expired, "upload-expired", "Upload no longer kept")                        \
    X(idempotency_conflict, "idempotency-conflict", "Idempotency key reused")           \
    X(unauthenticated, "unauthenticated", "Authentication required")                    \
    X(token_expired, "token-expired", "Token expired")                                  \
    X(token_revoked, "token-revoked", "Token revoked")                                  \
    X(forbidden, "forbidden", "Role does not allow this")                               \
    X(out_of_scope, "out-of-scope", "Server outside the token's scope")                 \
    X(too_many_requests, "too-many-requests", "Too many failed attempts")               \
    X(token_exists, "token-exists", "Token name taken")                                 \
    X(token_not_found, "token-not-found", "Token not found")                            \
    X(join_token_invalid, "join-token-invalid", "Unknown join token")                   \
    X(join_token_used, "join-token-used", "Join token already used")                    \
    X(join_token_expired, "join-token-expired", "Join token expired")                   \
    X(join_token_revoked, "join-token-revoked", "Join token revoked")                   \
    X(join_token_mismatch, "join-token-mismatch", "Join token is for another server")   \
    X(join_token_not_found, "join-token-not-found", "Join token not found")             \
    X(identity_revoked, "identity-revoked", "Agent identity not valid")                 \
    X(enrolment_unavailable, "enrolment-unavailable", "Enrolment not available")        \
    X(server_pending, "server-pending", "Server waiting for approval")                  \
    X(invalid_subject, "invalid-subject", "Invalid subject")                            \
    X(invalid_domain, "invalid-domain", "Invalid domain name")                          \
    X(invalid_key_parameters, "invalid-key-parameters", "Unsupported key parameters")   \
    X(no_matching_request, "no-matching-request", "No matching certificate request")    \
    X(internal, "internal-error", "Internal error")

enum class ErrorCode {
#define CERTDEPLOY_ENUMERATOR(name, code, title) name,
    CERTDEPLOY_ERROR_CODES(CERTDEPLOY_ENUMERATOR)
#undef CERTDEPLOY_ENUMERATOR
};

// The stable string form, e.g. "invalid-config".
std::string_view code_string(ErrorCode code) noexcept;
// The code whose string form is `text` (an agent's answer, read back by the controller).
std::optional<ErrorCode> code_from_string(std::string_view text) noexcept;
// A short human title, e.g. "Invalid configuration".
std::string_view code_title(ErrorCode code) noexcept;

struct Error {
    ErrorCode code = ErrorCode::internal;
    std::string message;  // one line, safe for a client or a terminal
    std::string detail;   // for the log only; may name files or carry a library's own text
};

inline Error make_error(ErrorCode code, std::string message, std::string detail = {}) {
    return Error{code, std::move(message), std::move(detail)};
}

// Thrown only by Result<T>::value() on an error: code that wants exceptions gets one carrying the Error.
class ErrorException : public std::runtime_error {
  public:
    explicit ErrorException(Error error) : std::runtime_error(error.message), error_(std::move(error)) {}
    const Error& error() const noexcept { return error_; }

  private:
    Error error_;
};

[[noreturn]] void throw_exception_from_error(const Error& error, const boost::source_location& location);

template <class T>
using Result = boost::system::result<T, Error>;

}  // namespace certdeploy
