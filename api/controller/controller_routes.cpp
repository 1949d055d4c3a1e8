#include "api/controller/controller_routes.hpp"

#include "api/controller/fleet_views.hpp"
#include "api/http/json_body.hpp"
#include "api/http/problem.hpp"
#include "api/http/query.hpp"
#include "service/async/run_blocking.hpp"

namespace certdeploy::api {
namespace {

using Awaitable = asio::awaitable<Result<Response>>;

}  // namespace

void add_controller_routes(Router& router, Access& access, controller::ServerRegistry& servers,
                           asio::thread_pool& pool) {
    add_v1(router, access, http::verb::put, "/v1/servers/{name}", controller::Role::admin,
           [&](Request& req, const controller::Caller&) -> Awaitable {
               auto body = json_object_body(req);
               if (!body) {
                   co_return body.error();
               }
               auto spec = controller::parse_server_spec(*body);
               if (!spec) {
                   co_return spec.error();
               }
               const std::string name = req.params.at("name");
               auto outcome = co_await run_blocking(pool, [&] { return servers.put(name, *spec); });
               if (!outcome) {
                   co_return outcome.error();
               }
               auto res = json_reply(req, outcome->created ? http::status::created : http::status::ok,
                                     server_json(outcome->server));
               res.set(http::field::location, "/v1/servers/" + name);
               co_return res;
           });

    // A scoped token sees the servers it reaches (a page may then hold fewer; `next` still continues it).
    add_v1(router, access, http::verb::get, "/v1/servers", controller::Role::viewer,
           [&](Request& req, const controller::Caller& caller) -> Awaitable {
               auto paging =
                   page(req, controller::ServerRegistry::kDefaultPageSize, controller::ServerRegistry::kMaxPageSize);
               if (!paging) {
                   co_return paging.error();
               }
               auto list = co_await run_blocking(pool, [&] { return servers.list(paging->second, paging->first); });
               if (!list) {
                   co_return list.error();
               }
               std::erase_if(list->servers, [&](const store::ServerRow& row) { return !caller.reaches(row.labels); });
               co_return json_reply(req, http::status::ok, server_page_json(*list));
           });

    add_v1(router, access, http::verb::get, "/v1/servers/{name}", controller::Role::viewer,
           [&](Request& req, const controller::Caller& caller) -> Awaitable {
               const std::string name = req.params.at("name");
               auto found =
                   co_await run_read(pool, servers.quick_reads(), [&] { return servers.get_within(name, caller); });
               if (!found) {
                   co_return found.error();
               }
               co_return json_reply(req, http::status::ok, server_json(*found));
           });

    add_v1(router, access, http::verb::delete_, "/v1/servers/{name}", controller::Role::admin,
           [&](Request& req, const controller::Caller&) -> Awaitable {
               const std::string name = req.params.at("name");
               auto removed = co_await run_blocking(pool, [&] { return servers.remove(name); });
               if (!removed) {
                   co_return removed.error();
               }
               co_return Response{http::status::no_content, req.message.version()};
           });

    // An enrolled server waiting for approval (enrolmentApproval: manual) may receive jobs from now on.
    add_v1(router, access, http::verb::post, "/v1/servers/{name}/approve", controller::Role::admin,
           [&](Request& req, const controller::Caller&) -> Awaitable {
               const std::string name = req.params.at("name");
               auto approved = co_await run_blocking(pool, [&] { return servers.approve(name); });
               if (!approved) {
                   co_return approved.error();
               }
               co_return json_reply(req, http::status::ok, server_json(*approved));
           });
}

}  // namespace certdeploy::api
