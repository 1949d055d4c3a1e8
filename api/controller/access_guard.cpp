#include "api/controller/access_guard.hpp"

#include <boost/algorithm/string/predicate.hpp>

#include "api/http/problem.hpp"
#include "service/async/run_blocking.hpp"

namespace certdeploy::api {
namespace {

std::optional<std::string> param(const Request& req, const char* name) {
    auto it = req.params.find(name);
    return it == req.params.end() ? std::nullopt : std::optional<std::string>(it->second);
}

// The job a request made or touched: its {id}, or the Location of a job it created.
std::optional<std::string> job_of(const Request& req, const Response* res) {
    if (auto id = param(req, "id")) {
        return id;
    }
    if (res != nullptr) {
        const std::string location(res->base()[http::field::location]);
        constexpr std::string_view kJobs = "/v1/jobs/";
        if (location.rfind(kJobs, 0) == 0) {
            return location.substr(kJobs.size());
        }
    }
    return std::nullopt;
}

}  // namespace

std::string client_address(const std::string& remote) {
    const auto colon = remote.rfind(':');
    std::string host = colon == std::string::npos ? remote : remote.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    }
    return host;
}

void add_v1(Router& router, Access& access, http::verb method, const std::string& pattern, controller::Role need,
            V1Handler handler, Audited audited) {
    const bool audit_success = audited == Audited::yes || method != http::verb::get;
    auto guarded = [&access, method, pattern, need, handler = std::move(handler),
                    audit_success](Request& req) -> asio::awaitable<Result<Response>> {
        const std::string client = client_address(req.remote);
        store::AuditRow entry;
        entry.client = client;
        entry.method = std::string(http::to_string(method));
        entry.route = pattern;
        entry.server = param(req, "name");
        entry.thumbprint = param(req, "thumbprint");
        // A refusal is written down (off the I/O thread) and answered.
        auto refuse = [&](const Error& error) -> asio::awaitable<Error> {
            entry.status = static_cast<int>(http_status(error.code));
            entry.code = std::string(code_string(error.code));
            entry.job = job_of(req, nullptr);
            co_await run_blocking(access.pool, [&] {
                access.audit.record(entry);
                return 0;
            });
            co_return error;
        };

        if (auto wait = access.throttle.blocked(client)) {
            const auto seconds = std::chrono::ceil<std::chrono::seconds>(*wait).count();
            auto error = co_await refuse(make_error(
                ErrorCode::too_many_requests,
                "too many failed authentications from " + client + ": retry in " + std::to_string(seconds) + " s"));
            auto res = problem_response(error, req.message.version(), req.target.path());
            res.set(http::field::retry_after, std::to_string(seconds));
            co_return res;
        }
        const std::string authorization(req.message[http::field::authorization]);
        const bool bearer = authorization.size() > 7 && boost::algorithm::istarts_with(authorization, "Bearer ");
        controller::Caller caller;
        if (bearer) {
            const std::string_view secret = std::string_view(authorization).substr(7);
            auto authenticated = co_await run_read(access.pool, access.tokens.quick_reads(),
                                                   [&] { return access.tokens.authenticate(secret); });
            if (!authenticated) {
                if (authenticated.error().code != ErrorCode::internal &&
                    authenticated.error().code != ErrorCode::disk_full &&
                    authenticated.error().code != ErrorCode::io_error) {
                    access.throttle.failed(client);
                }
                co_return co_await refuse(authenticated.error());
            }
            caller = std::move(authenticated->caller);
            if (authenticated->touch) {
                // Nobody waits for lastUsedAt: written on the store's threads while the request goes on.
                asio::post(access.pool, [&tokens = access.tokens, name = caller.token] { tokens.touch(name); });
            }
        } else if (!req.client_cn.empty() && req.client_auth) {
            // A certificate the TLS handshake verified against clientCa: its common name is the identity.
            auto mapped = access.clients.find(req.client_cn);
            if (!mapped) {
                co_return co_await refuse(
                    make_error(ErrorCode::unauthenticated, "the client certificate \"" + req.client_cn +
                                                               "\" is not mapped to a role (clientCertificates); "
                                                               "or send the header Authorization: Bearer <token>"));
            }
            caller = std::move(*mapped);
        } else {
            // No token is not a guess: only a token presented and refused counts towards the throttle.
            co_return co_await refuse(make_error(ErrorCode::unauthenticated,
                                                 "this needs a token: send the header Authorization: Bearer <token>"));
        }
        entry.token = caller.token;
        if (!controller::allows(caller.role, need)) {
            co_return co_await refuse(make_error(
                ErrorCode::forbidden, "this needs the " + std::string(controller::name(need)) + " role; the token " +
                                          caller.token + " is " + std::string(controller::name(caller.role))));
        }

        auto result = co_await handler(req, caller);
        if (result) {
            result->set("X-Content-Type-Options", "nosniff");
        }
        // Changes and exports are audited whatever their outcome; of reads, only a refusal for scope (a
        // token reaching for another team's servers): a job not found is not a security event.
        const bool out_of_scope = !result && result.error().code == ErrorCode::out_of_scope;
        if (audit_success || out_of_scope) {
            if (result) {
                entry.status = static_cast<int>(result->result_int());
                entry.job = job_of(req, &*result);
            } else {
                entry.status = static_cast<int>(http_status(result.error().code));
                entry.code = std::string(code_string(result.error().code));
                entry.job = job_of(req, nullptr);
            }
            co_await run_blocking(access.pool, [&] {
                access.audit.record(entry);
                return 0;
            });
        }
        co_return result;
    };
    router.add(method, pattern, std::move(guarded), std::string(controller::name(need)));
}

}  // namespace certdeploy::api
