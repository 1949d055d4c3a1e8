#pragma once
// The door of the controller's /v1 API. Every route is added through add_v1 with the role it needs; the
// guard then, for each request:
//   1. refuses a client address that failed to authenticate too often (429 too-many-requests, Retry-After);
//   2. reads `Authorization: Bearer <token>` and authenticates it (401 unauthenticated, token-expired,
//      token-revoked, with WWW-Authenticate: Bearer); without one, a client certificate verified against
//      clientCa stands for the identity clientCertificates gives its common name;
//   3. checks the token's role (403 forbidden, naming the role needed);
//   4. runs the handler with the Caller (a scoped token's reach is checked by the handlers: out-of-scope);
//   5. records the request in the audit log when it changed something, exported a key, or was refused.
// A handler never sees a request that did not pass 1–3.

#include <boost/asio/thread_pool.hpp>
#include <functional>
#include <string>

#include "api/http/router.hpp"
#include "service/controller/access/audit_log.hpp"
#include "service/controller/access/caller.hpp"
#include "service/controller/access/client_identities.hpp"
#include "service/controller/access/failure_throttle.hpp"
#include "service/controller/access/token_service.hpp"

namespace certdeploy::api {

struct Access {
    controller::TokenService& tokens;
    const controller::ClientIdentities& clients;  // by client certificate (clientCa); may be empty
    controller::AuditLog& audit;
    controller::FailureThrottle& throttle;
    boost::asio::thread_pool& pool;
};

using V1Handler = std::function<asio::awaitable<Result<Response>>(Request&, const controller::Caller&)>;

// Whether a route's calls are written to the audit log when they succeed (refusals always are).
enum class Audited { no, yes };

// Adds `pattern` behind the guard. Routes that change something (any method but GET) are audited; a GET
// that hands out a secret says Audited::yes.
void add_v1(Router& router, Access& access, http::verb method, const std::string& pattern, controller::Role need,
            V1Handler handler, Audited audited = Audited::no);

// The client's address without its port, as the throttle and the audit log name it.
std::string client_address(const std::string& remote);

}  // namespace certdeploy::api
