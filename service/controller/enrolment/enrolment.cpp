#include "service/controller/enrolment/enrolment.hpp"

#include <boost/url/parse.hpp>

#include "service/codec/random_hex.hpp"
#include "service/controller/access/token_service.hpp"
#include "service/controller/store_errors.hpp"
#include "service/net/host_name.hpp"
#include "service/time/rfc3339.hpp"
#include "service/try.hpp"

namespace certdeploy::controller {
namespace {

Error invalid(std::string message) {
    return make_error(ErrorCode::invalid_request, std::move(message));
}

// jt_ and 12 hex digits: the handle a token is listed and revoked by (not a secret).
Result<std::string> new_token_id() {
    return "jt_" + codec::random_hex(6);
}

// The host of an agent URL parse_server_spec accepted, without IPv6 brackets.
std::string url_host(const std::string& agent_url) {
    auto url = boost::urls::parse_absolute_uri(agent_url);
    if (!url) {
        return {};
    }
    std::string host(url->encoded_host());
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    }
    return host;
}

}  // namespace

Enrolment::Enrolment(std::shared_ptr<store::ControllerStore> store, const pki::FleetCa& ca, ServerRegistry& servers,
                     std::chrono::seconds lifetime, bool manual_approval)
    : store_(std::move(store)), ca_(ca), servers_(servers), lifetime_(lifetime), manual_approval_(manual_approval) {}

Result<CreatedJoinToken> Enrolment::create_token(const JoinTokenSpec& spec, const std::string& created_by) {
    return create_join_token(*store_, spec, created_by);
}

Result<CreatedJoinToken> create_join_token(store::ControllerStore& store, const JoinTokenSpec& spec,
                                           const std::string& created_by) {
    if (spec.server && !net::valid_host_name(*spec.server)) {
        return invalid("\"server\" must be a host name: letters, digits, '-' and '.'");
    }
    if (spec.expiresIn < std::chrono::seconds(1) || spec.expiresIn > std::chrono::hours(24 * 30)) {
        return invalid("\"expiresIn\" must be from 1s to 30 days, e.g. \"1h\"");
    }
    if (spec.uses < 1 || spec.uses > 10000) {
        return invalid("\"uses\" must be from 1 to 10000");
    }
    if (spec.server && spec.uses != 1) {
        return invalid("a join token bound to one \"server\" is for one use; leave \"server\" out to allow several");
    }
    // Labels are checked as a registration would check them.
    nlohmann::json probe{{"agentUrl", "https://localhost:1"}, {"labels", spec.labels}};
    CERTDEPLOY_TRY(parse_server_spec(probe));
    CERTDEPLOY_TRY_ASSIGN(auto id, new_token_id());
    CERTDEPLOY_TRY_ASSIGN(auto secret, new_token_secret(Enrolment::kPrefix));
    const auto now = std::chrono::system_clock::now();
    store::JoinTokenRow row;
    row.id = id;
    row.secretHash = token_hash(secret.reveal());
    row.server = spec.server;
    row.labels = spec.labels;
    row.usesLeft = spec.uses;
    row.createdBy = created_by;
    row.createdAt = rfc3339(now);
    row.expiresAt = rfc3339(now + spec.expiresIn);
    CERTDEPLOY_TRY_AS(store.create_join_token(row), from_store);
    return CreatedJoinToken{std::move(row), std::move(secret)};
}

Result<std::vector<store::JoinTokenRow>> Enrolment::tokens() const {
    CERTDEPLOY_TRY_ASSIGN_AS(auto rows, store_->list_join_tokens(), from_store);
    return rows;
}

Result<void> Enrolment::revoke_token(const std::string& id) {
    CERTDEPLOY_TRY_ASSIGN_AS(auto revoked, store_->revoke_join_token(id, rfc3339_now()), from_store);
    if (!revoked) {
        return make_error(ErrorCode::join_token_not_found, "no live join token has the id " + id);
    }
    return {};
}

Result<Enrolled> Enrolment::join(std::string_view secret, const JoinRequest& request) {
    const auto hash = token_hash(secret);
    CERTDEPLOY_TRY_ASSIGN_AS(auto found, store_->join_token_by_hash(hash), from_store);
    if (!found || secret.substr(0, kPrefix.size()) != kPrefix) {
        return make_error(ErrorCode::join_token_invalid, "this join token is not one the controller made");
    }
    const auto& token = *found;
    const auto now = rfc3339_now();
    if (token.revokedAt) {
        return make_error(ErrorCode::join_token_revoked, "join token " + token.id + " was revoked");
    }
    if (token.expiresAt <= now) {
        return make_error(ErrorCode::join_token_expired,
                          "join token " + token.id + " expired at " + token.expiresAt + ": ask for a new one");
    }
    if (token.usesLeft <= 0) {
        return make_error(ErrorCode::join_token_used, "join token " + token.id + " has been used");
    }
    if (token.server && *token.server != request.name) {
        return make_error(ErrorCode::join_token_mismatch,
                          "join token " + token.id + " is for the server " + *token.server + ", not " + request.name);
    }
    if (!net::valid_host_name(request.name)) {
        return invalid("\"name\" must be a host name: letters, digits, '-' and '.'");
    }
    nlohmann::json registration{{"agentUrl", request.agentUrl}, {"labels", token.labels}};
    CERTDEPLOY_TRY_ASSIGN(auto spec, parse_server_spec(registration));
    CERTDEPLOY_TRY(pki::csr_public_key(ca_.context(), request.csr));  // a bad request takes no use
    CERTDEPLOY_TRY_ASSIGN_AS(auto taken, store_->take_join_token_use(hash, now), from_store);
    if (!taken) {  // another agent took the last use in the meantime
        return make_error(ErrorCode::join_token_used, "join token " + token.id + " has been used");
    }
    CERTDEPLOY_TRY_ASSIGN(auto enrolled, issue(request.name, request.csr, spec.agentUrl));
    CERTDEPLOY_TRY_ASSIGN(auto put, servers_.put(request.name, spec, manual_approval_));
    enrolled.registered = put.created;
    enrolled.pending = put.server.pending;
    return enrolled;
}

Result<Enrolled> Enrolment::renew(const std::string& fingerprint, std::string_view csr) {
    CERTDEPLOY_TRY_ASSIGN_AS(auto identity, store_->identity(fingerprint), from_store);
    auto refused = [] {
        return make_error(ErrorCode::identity_revoked,
                          "this certificate is not a live agent identity (the server was removed, or it was never "
                          "issued by this controller): enrol again with a join token");
    };
    if (!identity || identity->revokedAt) {
        return refused();
    }
    auto server = servers_.get(identity->server);
    if (!server) {
        return refused();
    }
    return issue(identity->server, csr, server->agentUrl);
}

Result<Enrolled> Enrolment::issue(const std::string& server, std::string_view csr, const std::string& agent_url) {
    std::vector<std::string> addresses;
    if (auto host = url_host(agent_url); !host.empty()) {
        addresses.push_back(host);
    }
    CERTDEPLOY_TRY_ASSIGN(auto cert, ca_.issue_agent(server, csr, addresses, lifetime_));
    store::AgentIdentityRow row;
    row.fingerprint = pki::certificate_fingerprint(cert.pem).value_or("");
    row.server = server;
    row.serial = cert.serial;
    row.issuedAt = rfc3339_now();
    row.notAfter = rfc3339(cert.not_after);
    CERTDEPLOY_TRY_AS(store_->record_identity(row), from_store);
    return Enrolled{server, cert.pem, ca_.ca_pem(), row.notAfter, false};
}

}  // namespace certdeploy::controller
