#pragma once
// An agent's own identity when it enrols itself with the controller instead of being given certificate
// files (agent keys controller, joinTokenFile, caFingerprint or controllerCa, advertiseUrl, identityDir):
//
//   IDENTITY_DIR/agent.pem   the agent's certificate (issued by the fleet CA) and its key, in one file (0600)
//                            so that a renewal replaces both at once; the key is made here and never sent
//   IDENTITY_DIR/ca.pem      the fleet CA: the only CA whose client (the controller) this agent accepts,
//                            and the one the controller's API certificate is checked against
//
// Enrolment: the fleet CA is fetched and checked against the pinned fingerprint before anything else is
// sent (no trust on first use), then a certificate request goes with the join token. Renewal: a new key
// and request, over mutual TLS with the current certificate.

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

#include "service/error.hpp"
#include "service/pki/pki_context.hpp"

namespace certdeploy::cli {

struct EnrolSettings {
    std::string controller;  // https://HOST:PORT (http:// only on a loopback address, for development)
    std::string name;
    std::string advertiseUrl;  // https://HOST:PORT where the controller reaches this agent
    std::filesystem::path identityDir;
    std::optional<std::filesystem::path> joinTokenFile;
    std::optional<std::string> caFingerprint;  // sha256:<hex>, colons and case as you like
    std::optional<std::filesystem::path> controllerCa;
};

struct IdentityFiles {
    std::filesystem::path pem;  // certificate and key
    std::filesystem::path ca;
};
IdentityFiles identity_files(const std::filesystem::path& dir);
bool has_identity(const std::filesystem::path& dir);

struct Validity {
    std::chrono::system_clock::time_point notBefore;
    std::chrono::system_clock::time_point notAfter;
};
Result<Validity> identity_validity(const std::filesystem::path& dir);

// The first start: checks the fleet CA against the pin, makes a key pair, sends a certificate request with
// the join token, stores the identity and deletes the token file. Errors say what to do.
Result<Validity> enrol(const EnrolSettings& settings, const pki::PkiContext& ctx);

// A new certificate for a new key, asked for with the current one; the identity file is replaced atomically.
Result<Validity> renew(const EnrolSettings& settings, const pki::PkiContext& ctx);

// "sha256:<64 lower-case hex digits>" from what a user typed (colons, upper case, with or without "sha256:").
std::optional<std::string> normalize_fingerprint(const std::string& text);

}  // namespace certdeploy::cli
