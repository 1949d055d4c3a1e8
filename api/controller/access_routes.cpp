// /v1/whoami (any caller), /v1/tokens and /v1/audit (admin): who may call the API, and what was done with it.

#include <charconv>

#include "api/controller/access_requests.hpp"
#include "api/controller/access_views.hpp"
#include "api/controller/controller_routes.hpp"
#include "api/http/json_body.hpp"
#include "api/http/problem.hpp"
#include "api/http/query.hpp"
#include "service/async/run_blocking.hpp"
#include "service/time/rfc3339.hpp"

namespace certdeploy::api {
using Awaitable = asio::awaitable<Result<Response>>;
using nlohmann::json;

void add_access_routes(Router& router, Access& access) {
    // Who the credentials stand for: the web console asks once after sign-in to show only what the role and
    // scope allow (the API checks every call anyway).
    add_v1(
        router, access, http::verb::get, "/v1/whoami", controller::Role::viewer,
        [](Request& req, const controller::Caller& caller) -> Awaitable {
            json scope = nullptr;
            if (caller.scoped) {
                scope = json(caller.scope);
            }
            co_return json_reply(
                req, http::status::ok,
                json{{"name", caller.token}, {"role", std::string(controller::name(caller.role))}, {"scope", scope}});
        });

    add_v1(router, access, http::verb::post, "/v1/tokens", controller::Role::admin,
           [&](Request& req, const controller::Caller&) -> Awaitable {
               auto body = json_object_body(req);
               if (!body) {
                   co_return body.error();
               }
               auto spec = token_spec(*body);
               if (!spec) {
                   co_return spec.error();
               }
               auto created = co_await run_blocking(access.pool, [&] { return access.tokens.create(*spec); });
               if (!created) {
                   co_return created.error();
               }
               auto out = token_json(created->token);
               out["token"] = std::string(created->secret.reveal());  // shown here, and never again
               auto res = json_reply(req, http::status::created, out);
               res.set(http::field::location, "/v1/tokens/" + created->token.name);
               co_return res;
           });

    add_v1(router, access, http::verb::get, "/v1/tokens", controller::Role::admin,
           [&](Request& req, const controller::Caller&) -> Awaitable {
               auto tokens = co_await run_blocking(access.pool, [&] { return access.tokens.list(); });
               if (!tokens) {
                   co_return tokens.error();
               }
               json list = json::array();
               for (const auto& row : *tokens) {
                   list.push_back(token_json(row));
               }
               co_return json_reply(req, http::status::ok, json{{"tokens", std::move(list)}});
           });

    add_v1(router, access, http::verb::delete_, "/v1/tokens/{tokenName}", controller::Role::admin,
           [&](Request& req, const controller::Caller&) -> Awaitable {
               const std::string name = req.params.at("tokenName");
               auto revoked = co_await run_blocking(access.pool, [&] { return access.tokens.revoke(name); });
               if (!revoked) {
                   co_return revoked.error();
               }
               co_return Response{http::status::no_content, req.message.version()};
           });

    // ?since=&until= (RFC 3339), ?token=, ?server=, ?outcome=refused|succeeded, ?limit=&after=.
    add_v1(router, access, http::verb::get, "/v1/audit", controller::Role::admin,
           [&](Request& req, const controller::Caller&) -> Awaitable {
               auto paging = page(req, controller::AuditLog::kDefaultPageSize, controller::AuditLog::kMaxPageSize);
               if (!paging) {
                   co_return paging.error();
               }
               store::AuditFilter filter;
               filter.limit = paging->first;
               if (!paging->second.empty()) {
                   const auto& after = paging->second;
                   auto [ptr, ec] = std::from_chars(after.data(), after.data() + after.size(), filter.beforeSeq);
                   if (ec != std::errc() || ptr != after.data() + after.size() || filter.beforeSeq <= 0) {
                       co_return invalid_request("after must be a previous page's \"next\"");
                   }
               }
               for (const char* key : {"since", "until"}) {
                   if (auto text = query_param(req, key)) {
                       auto when = parse_rfc3339(*text);
                       if (!when) {
                           co_return invalid_request(std::string(key) +
                                                     " must be an RFC 3339 time, e.g. 2027-01-31T23:59:59Z");
                       }
                       (std::string_view(key) == "since" ? filter.since : filter.until) = rfc3339(*when);
                   }
               }
               filter.token = query_param(req, "token");
               filter.server = query_param(req, "server");
               if (auto outcome = query_param(req, "outcome")) {
                   if (*outcome != "refused" && *outcome != "succeeded") {
                       co_return invalid_request("outcome must be refused or succeeded");
                   }
                   filter.refused = *outcome == "refused";
               }
               auto listed = co_await run_blocking(access.pool, [&] { return access.audit.list(filter); });
               if (!listed) {
                   co_return listed.error();
               }
               co_return json_reply(req, http::status::ok, audit_page_json(*listed));
           });
}

}  // namespace certdeploy::api
