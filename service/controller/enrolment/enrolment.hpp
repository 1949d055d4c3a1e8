#pragma once
// Agents that enrol themselves. An admin makes a join token (single-use by default, expiring, revocable,
// stored only as its hash); a new agent makes its key pair itself, checks the fleet CA against the
// fingerprint it was given, and sends a certificate request with the token. The fleet CA signs it for the
// agent's name and advertised address, and the server is registered (or updated) with its agent URL and
// the token's labels. Later the agent renews with its current certificate; removing the server revokes it.

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "service/controller/server_registry.hpp"
#include "service/error.hpp"
#include "service/pki/fleet_ca.hpp"
#include "service/secret.hpp"
#include "store/controller_store.hpp"

namespace certdeploy::controller {

struct JoinTokenSpec {
    std::optional<std::string> server;  // bind to this name; nothing: the agent's --name
    std::map<std::string, std::string> labels;
    std::chrono::seconds expiresIn = std::chrono::hours(1);
    int uses = 1;
};

struct CreatedJoinToken {
    store::JoinTokenRow token;
    Secret secret;  // cdj_...: shown once
};

struct JoinRequest {
    std::string name;      // the agent's --name
    std::string csr;       // PEM
    std::string agentUrl;  // https://HOST:PORT where the agent serves (--advertise-url)
};

struct Enrolled {
    std::string server;
    std::string certificate;  // PEM, the agent's
    std::string ca;           // PEM, the fleet CA (the agent's clientCa, and the controller API's trust)
    std::string notAfter;     // RFC 3339
    bool registered = false;  // a new server (not an update)
    bool pending = false;     // waiting for an admin's approval
};

// Makes a join token (the controller's API and `certdeploy token join` on its machine). Errors:
// invalid-request (server name, labels, expiry, uses).
Result<CreatedJoinToken> create_join_token(store::ControllerStore& store, const JoinTokenSpec& spec,
                                           const std::string& created_by);

class Enrolment {
  public:
    // `manual_approval`: a server that enrols for the first time waits, pending, for an admin's approval.
    Enrolment(std::shared_ptr<store::ControllerStore> store, const pki::FleetCa& ca, ServerRegistry& servers,
              std::chrono::seconds lifetime, bool manual_approval = false);

    // Errors: invalid-request (server name, labels, expiry, uses).
    Result<CreatedJoinToken> create_token(const JoinTokenSpec& spec, const std::string& created_by);
    Result<std::vector<store::JoinTokenRow>> tokens() const;
    // join-token-not-found when no live token has that id.
    Result<void> revoke_token(const std::string& id);

    // Errors: join-token-invalid, -used, -expired, -revoked, -mismatch (the token is for another name);
    // invalid-request (name, CSR, URL). Nothing is registered or issued on an error.
    Result<Enrolled> join(std::string_view secret, const JoinRequest& request);
    // A new certificate for the agent whose current certificate has `fingerprint` (verified by the TLS
    // handshake against the fleet CA). identity-revoked when it is not a live identity of a registered server.
    Result<Enrolled> renew(const std::string& fingerprint, std::string_view csr);

    const pki::FleetCa& ca() const noexcept { return ca_; }
    std::chrono::seconds lifetime() const noexcept { return lifetime_; }

    static constexpr std::string_view kPrefix = "cdj_";

  private:
    Result<Enrolled> issue(const std::string& server, std::string_view csr, const std::string& agent_url);

    std::shared_ptr<store::ControllerStore> store_;
    const pki::FleetCa& ca_;
    ServerRegistry& servers_;
    std::chrono::seconds lifetime_;
    bool manual_approval_;
};

}  // namespace certdeploy::controller
