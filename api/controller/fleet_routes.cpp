// Per-server views answered at once by that server's agent (the seed's "How do you know this worked?"),
// and the fleet's inventory from what the agents last said.

#include <charconv>

#include "api/clients/agent_link.hpp"
#include "api/controller/controller_routes.hpp"
#include "api/controller/fleet_views.hpp"
#include "api/http/problem.hpp"
#include "api/http/query.hpp"
#include "service/async/run_blocking.hpp"
#include "service/controller/job_queue.hpp"
#include "service/pki/certificate.hpp"
#include "service/pki/thumbprint.hpp"
#include "service/pki/trust.hpp"
#include "service/time/rfc3339.hpp"

namespace certdeploy::api {
namespace {

using Awaitable = asio::awaitable<Result<Response>>;
using nlohmann::json;

constexpr const char* kPendingRequest = "PendingRequest";

Result<std::string> thumbprint_param(const Request& req) {
    auto thumbprint = pki::normalize_thumbprint(req.params.at("thumbprint"));
    if (!thumbprint) {
        return make_error(ErrorCode::invalid_thumbprint, "a thumbprint is 40 hexadecimal digits (SHA-1)");
    }
    return *thumbprint;
}

// Where server `name`'s agent answers now, when `caller` reaches it; agent-unreachable when the controller
// has no agent TLS.
asio::awaitable<Result<controller::AgentApi::Where>> where(controller::ServerRegistry& servers, AgentLink* link,
                                                           asio::thread_pool& pool, std::string name,
                                                           const controller::Caller& caller) {
    auto row = co_await run_read(pool, servers.quick_reads(), [&] { return servers.get_within(name, caller); });
    if (!row) {
        co_return row.error();
    }
    if (link == nullptr) {
        co_return controller::no_agent_tls();
    }
    co_return controller::AgentApi::Where{name, std::move(row->agentUrl)};
}

// Drops the rows of servers `caller` does not reach (nothing for an unscoped caller).
asio::awaitable<Result<void>> keep_reached(controller::ServerRegistry& servers, asio::thread_pool& pool,
                                           const controller::Caller& caller, std::vector<store::InventoryRow>& rows) {
    if (!caller.scoped) {
        co_return Result<void>();
    }
    auto reach = co_await run_blocking(pool, [&] { return servers.reach(caller); });
    if (!reach) {
        co_return reach.error();
    }
    std::erase_if(rows, [&](const store::InventoryRow& row) { return (*reach)->count(row.server) == 0; });
    co_return Result<void>();
}

}  // namespace

void add_fleet_routes(Router& router, Access& access, controller::ServerRegistry& servers, AgentLink* link,
                      asio::thread_pool& pool) {
    // Get-ExchangeCertificate -Server NAME, with its where {$_.Status -eq "Valid"} filter.
    add_v1(router, access, http::verb::get, "/v1/servers/{name}/certificates", controller::Role::viewer,
           [&, link](Request& req, const controller::Caller& caller) -> Awaitable {
               const std::string name = req.params.at("name");
               std::optional<pki::Status> status;
               if (auto text = query_param(req, "status")) {
                   pki::Status parsed{};
                   if (!pki::parse_status(*text, parsed)) {
                       co_return make_error(ErrorCode::invalid_request,
                                            "status must be one of Valid, Untrusted, DateInvalid, Invalid");
                   }
                   status = parsed;
               }
               auto agent = co_await where(servers, link, pool, name, caller);
               if (!agent) {
                   co_return agent.error();
               }
               const std::string asked_at = rfc3339_now();
               auto body = co_await link->on_link(link->agents().list(*agent, status));
               if (!body) {
                   co_return body.error();
               }
               if (!status) {
                   // A whole answer is the freshest inventory of this server.
                   auto kept = co_await run_blocking(
                       pool, [&] { return servers.replace_inventory(name, (*body)["certificates"], asked_at); });
                   (void)kept;  // the answer stands even if the inventory could not be written
               }
               (*body)["server"] = name;
               co_return json_reply(req, http::status::ok, *body);
           });

    add_v1(router, access, http::verb::get, "/v1/servers/{name}/certificates/{thumbprint}", controller::Role::viewer,
           [&, link](Request& req, const controller::Caller& caller) -> Awaitable {
               const std::string name = req.params.at("name");
               auto thumbprint = thumbprint_param(req);
               if (!thumbprint) {
                   co_return thumbprint.error();
               }
               auto agent = co_await where(servers, link, pool, name, caller);
               if (!agent) {
                   co_return agent.error();
               }
               auto body = co_await link->on_link(link->agents().get(*agent, *thumbprint));
               if (!body) {
                   co_return body.error();
               }
               (*body)["server"] = name;
               co_return json_reply(req, http::status::ok, *body);
           });

    // Export-ExchangeCertificate -Server NAME: the agent's PKCS #12, passed through.
    add_v1(router, access, http::verb::post, "/v1/servers/{name}/certificates/{thumbprint}/export",
           controller::Role::admin, [&, link](Request& req, const controller::Caller& caller) -> Awaitable {
               const std::string name = req.params.at("name");
               std::string body = std::move(req.message.body());  // holds the password: wiped once sent
               auto thumbprint = thumbprint_param(req);
               if (!thumbprint) {
                   wipe(body);
                   co_return thumbprint.error();
               }
               auto agent = co_await where(servers, link, pool, name, caller);
               if (!agent) {
                   wipe(body);
                   co_return agent.error();
               }
               auto pkcs12 = co_await link->on_link(link->agents().export_pkcs12(*agent, *thumbprint, std::move(body)));
               if (!pkcs12) {
                   co_return pkcs12.error();
               }
               Response res{http::status::ok, req.message.version()};
               res.set(http::field::content_type, "application/x-pkcs12");
               res.set(http::field::content_disposition, "attachment; filename=\"" + *thumbprint + ".pfx\"");
               res.set(http::field::cache_control, "no-store");
               res.body() = std::move(*pkcs12);
               co_return res;
           });

    // The fleet's inventory: every certificate the agents hold, where, with its status there.
    add_v1(router, access, http::verb::get, "/v1/certificates", controller::Role::viewer,
           [&](Request& req, const controller::Caller& caller) -> Awaitable {
               auto paging = page(req, 100, 1000);
               if (!paging) {
                   co_return paging.error();
               }
               store::InventoryFilter filter;
               filter.limit = paging->first;
               filter.afterThumbprint = paging->second;
               if (auto status = query_param(req, "status")) {
                   pki::Status parsed{};
                   if (*status == kPendingRequest) {
                       filter.status = kPendingRequest;
                   } else if (!pki::parse_status(*status, parsed)) {
                       co_return make_error(ErrorCode::invalid_request,
                                            "status must be one of Valid, Untrusted, DateInvalid, Invalid, "
                                            "PendingRequest");
                   } else {
                       filter.status = std::string(pki::status_name(parsed));
                   }
               }
               filter.server = query_param(req, "server");
               filter.domain = query_param(req, "domain");
               if (auto days = query_param(req, "expiringWithinDays")) {
                   int n = -1;
                   auto [ptr, ec] = std::from_chars(days->data(), days->data() + days->size(), n);
                   if (ec != std::errc() || ptr != days->data() + days->size() || n < 0 || n > 36500) {
                       co_return make_error(ErrorCode::invalid_request,
                                            "expiringWithinDays must be an integer from 0 to 36500");
                   }
                   filter.notAfterBefore = rfc3339(std::chrono::system_clock::now() + std::chrono::hours(24 * n));
               }
               auto list = co_await run_blocking(pool, [&] { return servers.inventory(filter); });
               if (!list) {
                   co_return list.error();
               }
               // A scoped token sees what its servers hold.
               if (auto kept = co_await keep_reached(servers, pool, caller, list->rows); !kept) {
                   co_return kept.error();
               }
               co_return json_reply(req, http::status::ok, inventory_json(*list));
           });

    // The certificate requests waiting for a CA's answer, with their PKCS #10 requests.
    add_v1(router, access, http::verb::get, "/v1/requests", controller::Role::viewer,
           [&](Request& req, const controller::Caller& caller) -> Awaitable {
               auto paging = page(req, 100, 1000);
               if (!paging) {
                   co_return paging.error();
               }
               store::InventoryFilter filter;
               filter.limit = paging->first;
               filter.afterThumbprint = paging->second;
               filter.status = kPendingRequest;
               filter.server = query_param(req, "server");
               auto list = co_await run_blocking(pool, [&] { return servers.inventory(filter); });
               if (!list) {
                   co_return list.error();
               }
               // A scoped token sees what its servers hold.
               if (auto kept = co_await keep_reached(servers, pool, caller, list->rows); !kept) {
                   co_return kept.error();
               }
               co_return json_reply(req, http::status::ok, requests_json(*list));
           });

    // One server's request as a file for the CA (curl -OJ): application/pkcs10, PEM.
    add_v1(router, access, http::verb::get, "/v1/servers/{name}/requests/{id}", controller::Role::viewer,
           [&](Request& req, const controller::Caller& caller) -> Awaitable {
               const std::string name = req.params.at("name");
               const auto id = pki::normalize_thumbprint(req.params.at("id"));
               auto found = co_await run_blocking(pool, [&]() -> Result<std::optional<store::InventoryRow>> {
                   auto server = servers.get_within(name, caller);  // scope first: out-of-scope says nothing more
                   if (!server) {
                       return server.error();
                   }
                   if (!id) {
                       return make_error(ErrorCode::invalid_thumbprint,
                                         "a request's id is 40 hexadecimal digits (as GET /v1/requests lists it)");
                   }
                   store::InventoryFilter filter;
                   filter.status = kPendingRequest;
                   filter.server = name;
                   filter.thumbprint = *id;
                   auto rows = servers.inventory(filter);
                   if (!rows) {
                       return rows.error();
                   }
                   if (rows->rows.empty()) {
                       return std::optional<store::InventoryRow>();
                   }
                   return std::optional<store::InventoryRow>(rows->rows.front());
               });
               if (!found) {
                   co_return found.error();
               }
               auto described = *found ? json::parse((*found)->certificateJson, nullptr, false) : json();
               if (!*found || !described.is_object() || !described.contains("certificateRequest") ||
                   !described["certificateRequest"].is_string()) {
                   co_return make_error(ErrorCode::certificate_not_found,
                                        "no pending request " + *id + " on " + name + " (GET /v1/requests lists them)");
               }
               Response res{http::status::ok, req.message.version()};
               res.set(http::field::content_type, "application/pkcs10");
               res.set(http::field::content_disposition, "attachment; filename=\"" + name + "-" + *id + ".csr\"");
               res.body() = described["certificateRequest"].get<std::string>();
               co_return res;
           });
}

}  // namespace certdeploy::api
