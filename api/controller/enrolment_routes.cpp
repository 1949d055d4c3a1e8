// Agents that enrol themselves (service/controller/enrolment):
//   /v1/join-tokens            admin: make, list and revoke join tokens (behind the access guard)
//   /enrol/v1/ca               anyone: the fleet CA, which a new agent checks against its pinned fingerprint
//   /enrol/v1/join             a join token (Authorization: Bearer cdj_...): a CSR in, the agent's certificate out
//   /enrol/v1/renew            an agent's current certificate (mutual TLS): a CSR in, a new certificate out
// The /enrol routes are outside /v1 because API tokens do not open them; each is throttled and audited
// like the guard does for /v1.

#include "api/controller/access_guard.hpp"
#include "api/controller/controller_routes.hpp"
#include "api/controller/enrolment_requests.hpp"
#include "api/http/json_body.hpp"
#include "api/http/problem.hpp"
#include "service/async/run_blocking.hpp"
#include "service/scope_exit.hpp"
#include "service/secret.hpp"

namespace certdeploy::api {
namespace {

using Awaitable = asio::awaitable<Result<Response>>;
using nlohmann::json;

// A controller with a PKI of its own issues no certificates: its agents are given files.
Error unavailable() {
    return make_error(ErrorCode::enrolment_unavailable,
                      "this controller uses a PKI of its own (agentClientCert, agentClientKey): its agents are given "
                      "certificate files; for join tokens, give agentCa with agentCaKey, or neither (the fleet CA)");
}

json join_token_json(const store::JoinTokenRow& row) {
    return json{{"id", row.id},
                {"server", row.server ? json(*row.server) : json(nullptr)},
                {"labels", row.labels},
                {"usesLeft", row.usesLeft},
                {"createdBy", row.createdBy},
                {"createdAt", row.createdAt},
                {"expiresAt", row.expiresAt},
                {"revokedAt", row.revokedAt ? json(*row.revokedAt) : json(nullptr)}};
}

json enrolled_json(const controller::Enrolled& enrolled) {
    return json{{"server", enrolled.server},
                {"certificate", enrolled.certificate},
                {"ca", enrolled.ca},
                {"notAfter", enrolled.notAfter},
                {"pending", enrolled.pending}};
}

// The throttle and the audit log for the /enrol routes, as the guard has them for /v1.
class EnrolDoor {
  public:
    EnrolDoor(Access& access, Request& req, std::string route) : access_(access), client_(client_address(req.remote)) {
        entry_.client = client_;
        entry_.method = std::string(http::to_string(req.message.method()));
        entry_.route = std::move(route);
    }
    std::optional<std::chrono::seconds> blocked() const {
        if (auto wait = access_.throttle.blocked(client_)) {
            return std::chrono::ceil<std::chrono::seconds>(*wait);
        }
        return std::nullopt;
    }
    void failed_authentication() { access_.throttle.failed(client_); }
    store::AuditRow& entry() { return entry_; }
    asio::awaitable<void> record(int status, std::optional<std::string> code) {
        entry_.status = status;
        entry_.code = std::move(code);
        co_await run_blocking(access_.pool, [&] {
            access_.audit.record(entry_);
            return 0;
        });
    }

  private:
    Access& access_;
    std::string client_;
    store::AuditRow entry_;
};

bool is_credential_error(ErrorCode code) {
    return code == ErrorCode::join_token_invalid || code == ErrorCode::join_token_used ||
           code == ErrorCode::join_token_expired || code == ErrorCode::join_token_revoked ||
           code == ErrorCode::identity_revoked;
}

// Runs `work` behind the door: refused while the client is throttled; the outcome audited.
template <class Work>
Awaitable behind_door(EnrolDoor& door, Request& req, Work work) {
    if (auto wait = door.blocked()) {
        co_await door.record(429, "too-many-requests");
        auto res = problem_response(
            make_error(ErrorCode::too_many_requests,
                       "too many failed attempts from this address: retry in " + std::to_string(wait->count()) + " s"),
            req.message.version(), req.target.path());
        res.set(http::field::retry_after, std::to_string(wait->count()));
        co_return res;
    }
    Result<Response> result = co_await work();
    if (result) {
        co_await door.record(static_cast<int>(result->result_int()), std::nullopt);
    } else {
        if (is_credential_error(result.error().code)) {
            door.failed_authentication();
        }
        co_await door.record(static_cast<int>(http_status(result.error().code)),
                             std::string(code_string(result.error().code)));
    }
    co_return result;
}

}  // namespace

void add_enrolment_routes(Router& router, Access& access, controller::Enrolment* enrolment) {
    add_v1(router, access, http::verb::post, "/v1/join-tokens", controller::Role::admin,
           [&, enrolment](Request& req, const controller::Caller& caller) -> Awaitable {
               if (enrolment == nullptr) {
                   co_return unavailable();
               }
               auto body = json_object_body(req);
               if (!body) {
                   co_return body.error();
               }
               auto spec = join_token_spec(*body);
               if (!spec) {
                   co_return spec.error();
               }
               auto created =
                   co_await run_blocking(access.pool, [&] { return enrolment->create_token(*spec, caller.token); });
               if (!created) {
                   co_return created.error();
               }
               auto out = join_token_json(created->token);
               out["token"] = std::string(created->secret.reveal());  // shown here, and never again
               out["caFingerprint"] = enrolment->ca().fingerprint();
               auto res = json_reply(req, http::status::created, out);
               res.set(http::field::location, "/v1/join-tokens/" + created->token.id);
               co_return res;
           });

    add_v1(router, access, http::verb::get, "/v1/join-tokens", controller::Role::admin,
           [&, enrolment](Request& req, const controller::Caller&) -> Awaitable {
               if (enrolment == nullptr) {
                   co_return unavailable();
               }
               auto tokens = co_await run_blocking(access.pool, [&] { return enrolment->tokens(); });
               if (!tokens) {
                   co_return tokens.error();
               }
               json list = json::array();
               for (const auto& row : *tokens) {
                   list.push_back(join_token_json(row));
               }
               co_return json_reply(
                   req, http::status::ok,
                   json{{"joinTokens", std::move(list)}, {"caFingerprint", enrolment->ca().fingerprint()}});
           });

    add_v1(router, access, http::verb::delete_, "/v1/join-tokens/{joinTokenId}", controller::Role::admin,
           [&, enrolment](Request& req, const controller::Caller&) -> Awaitable {
               if (enrolment == nullptr) {
                   co_return unavailable();
               }
               const std::string id = req.params.at("joinTokenId");
               auto revoked = co_await run_blocking(access.pool, [&] { return enrolment->revoke_token(id); });
               if (!revoked) {
                   co_return revoked.error();
               }
               co_return Response{http::status::no_content, req.message.version()};
           });

    router.add(
        http::verb::get, "/enrol/v1/ca",
        [&, enrolment](Request& req) -> Awaitable {
            if (enrolment == nullptr) {
                co_return unavailable();
            }
            co_return json_reply(
                req, http::status::ok,
                json{{"ca", enrolment->ca().ca_pem()}, {"fingerprint", enrolment->ca().fingerprint()}});
        },
        "anyone");

    router.add(
        http::verb::post, "/enrol/v1/join",
        [&, enrolment](Request& req) -> Awaitable {
            if (enrolment == nullptr) {
                co_return unavailable();
            }
            EnrolDoor door(access, req, "/enrol/v1/join");
            co_return co_await behind_door(door, req, [&]() -> Awaitable {
                std::string authorization(req.message[http::field::authorization]);
                ScopeExit wipe_token([&] { wipe(authorization); });
                if (authorization.size() <= 7 || authorization.compare(0, 7, "Bearer ") != 0) {
                    co_return make_error(ErrorCode::join_token_invalid,
                                         "this needs a join token: send the header Authorization: Bearer <token>");
                }
                auto body = json_object_body(req);
                if (!body) {
                    co_return body.error();
                }
                auto request = join_request(*body);
                if (!request) {
                    co_return request.error();
                }
                door.entry().server = request->name;
                auto enrolled = co_await run_blocking(
                    access.pool, [&] { return enrolment->join(std::string_view(authorization).substr(7), *request); });
                if (!enrolled) {
                    co_return enrolled.error();
                }
                co_return json_reply(req, enrolled->registered ? http::status::created : http::status::ok,
                                     enrolled_json(*enrolled));
            });
        },
        "join-token");

    router.add(
        http::verb::post, "/enrol/v1/renew",
        [&, enrolment](Request& req) -> Awaitable {
            if (enrolment == nullptr) {
                co_return unavailable();
            }
            EnrolDoor door(access, req, "/enrol/v1/renew");
            co_return co_await behind_door(door, req, [&]() -> Awaitable {
                if (req.client_fingerprint.empty()) {
                    co_return make_error(ErrorCode::identity_revoked,
                                         "a renewal is made with the agent's current certificate (mutual TLS)");
                }
                auto body = json_object_body(req);
                if (!body) {
                    co_return body.error();
                }
                auto csr = renewal_csr(*body);
                if (!csr) {
                    co_return csr.error();
                }
                auto renewed =
                    co_await run_blocking(access.pool, [&] { return enrolment->renew(req.client_fingerprint, *csr); });
                if (!renewed) {
                    co_return renewed.error();
                }
                door.entry().server = renewed->server;
                co_return json_reply(req, http::status::ok, enrolled_json(*renewed));
            });
        },
        "agent-certificate");
}

}  // namespace certdeploy::api
