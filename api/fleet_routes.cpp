// Per-server views answered at once by that server's agent (the seed's "How do you know this worked?"),
// and the fleet's inventory from what the agents last said.

#include <charconv>

#include "api/agent_reply.hpp"
#include "api/blocking.hpp"
#include "api/controller_routes.hpp"
#include "api/problem.hpp"
#include "api/query.hpp"
#include "service/pki/certificate.hpp"
#include "service/pki/thumbprint.hpp"
#include "service/pki/trust.hpp"

namespace certdeploy::api {
namespace {

using Awaitable = asio::awaitable<Result<Response>>;
using nlohmann::json;

Result<std::string> thumbprint_param(const Request& req) {
    auto thumbprint = pki::normalize_thumbprint(req.params.at("thumbprint"));
    if (!thumbprint) {
        return make_error(ErrorCode::invalid_thumbprint, "a thumbprint is 40 hexadecimal digits (SHA-1)");
    }
    return *thumbprint;
}

// Sends a request to server `name`'s agent: its 200 answer, or its refusal as the controller's error.
// `body` (it may hold a password) is wiped on every path.
asio::awaitable<Result<AgentClient::Reply>> call_agent(controller::ServerRegistry& servers, AgentLink* link,
                                                       asio::thread_pool& pool, std::string name, http::verb method,
                                                       std::string target, std::string body = {}) {
    auto url = co_await run_blocking(pool, [&] { return servers.agent_url(name); });
    if (!url || link == nullptr) {
        wipe(body);
        if (!url) {
            co_return url.error();
        }
        co_return no_agent_tls();
    }
    auto reply = co_await link->call(*url, method, std::move(target), std::move(body));
    if (!reply) {
        co_return reply.error();
    }
    if (reply->status != 200) {
        co_return agent_refusal(name, *reply);
    }
    co_return std::move(*reply);
}

// GET `target` from server `name`'s agent, as JSON.
asio::awaitable<Result<json>> ask_agent(controller::ServerRegistry& servers, AgentLink* link, asio::thread_pool& pool,
                                        std::string name, std::string target) {
    auto reply = co_await call_agent(servers, link, pool, name, http::verb::get, std::move(target));
    if (!reply) {
        co_return reply.error();
    }
    co_return agent_json(name, *reply);
}

}  // namespace

void add_fleet_routes(Router& router, controller::ServerRegistry& servers, AgentLink* link, asio::thread_pool& pool) {
    // Get-ExchangeCertificate -Server NAME, with its where {$_.Status -eq "Valid"} filter.
    router.add(http::verb::get, "/v1/servers/{name}/certificates", [&, link](Request& req) -> Awaitable {
        const std::string name = req.params.at("name");
        std::string target = "/agent/v1/certificates";
        auto status = query_param(req, "status");
        if (status) {
            pki::Status parsed{};
            if (!pki::parse_status(*status, parsed)) {
                co_return make_error(ErrorCode::invalid_request,
                                     "status must be one of Valid, Untrusted, DateInvalid, Invalid");
            }
            target += "?status=" + std::string(pki::status_name(parsed));
        }
        auto body = co_await ask_agent(servers, link, pool, name, target);
        if (!body) {
            co_return body.error();
        }
        if (!status && body->contains("certificates")) {
            // A whole answer is the freshest inventory of this server.
            auto kept =
                co_await run_blocking(pool, [&] { return servers.replace_inventory(name, (*body)["certificates"]); });
            (void)kept;  // the answer stands even if the inventory could not be written
        }
        (*body)["server"] = name;
        co_return json_reply(req, http::status::ok, *body);
    });

    router.add(http::verb::get, "/v1/servers/{name}/certificates/{thumbprint}", [&, link](Request& req) -> Awaitable {
        const std::string name = req.params.at("name");
        auto thumbprint = thumbprint_param(req);
        if (!thumbprint) {
            co_return thumbprint.error();
        }
        std::string target = "/agent/v1/certificates/" + *thumbprint;
        auto body = co_await ask_agent(servers, link, pool, name, std::move(target));
        if (!body) {
            co_return body.error();
        }
        (*body)["server"] = name;
        co_return json_reply(req, http::status::ok, *body);
    });

    // Export-ExchangeCertificate -Server NAME: the agent's PKCS #12, passed through.
    router.add(
        http::verb::post, "/v1/servers/{name}/certificates/{thumbprint}/export", [&, link](Request& req) -> Awaitable {
            const std::string name = req.params.at("name");
            std::string body = std::move(req.message.body());  // holds the password: wiped once sent
            auto thumbprint = thumbprint_param(req);
            if (!thumbprint) {
                wipe(body);
                co_return thumbprint.error();
            }
            std::string target = "/agent/v1/certificates/" + *thumbprint + "/export";
            auto reply =
                co_await call_agent(servers, link, pool, name, http::verb::post, std::move(target), std::move(body));
            if (!reply) {
                co_return reply.error();
            }
            Response res{http::status::ok, req.message.version()};
            res.set(http::field::content_type, "application/x-pkcs12");
            res.set(http::field::content_disposition, "attachment; filename=\"" + *thumbprint + ".pfx\"");
            res.set(http::field::cache_control, "no-store");
            res.body() = std::move(reply->body);
            co_return res;
        });

    // The fleet's inventory: every certificate the agents hold, where, with its status there.
    router.add(http::verb::get, "/v1/certificates", [&](Request& req) -> Awaitable {
        auto paging = page(req, 100, 1000);
        if (!paging) {
            co_return paging.error();
        }
        store::InventoryFilter filter;
        filter.limit = paging->first;
        filter.afterThumbprint = paging->second;
        if (auto status = query_param(req, "status")) {
            pki::Status parsed{};
            if (!pki::parse_status(*status, parsed)) {
                co_return make_error(ErrorCode::invalid_request,
                                     "status must be one of Valid, Untrusted, DateInvalid, Invalid");
            }
            filter.status = std::string(pki::status_name(parsed));
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
            filter.notAfterBefore = pki::rfc3339(std::chrono::system_clock::now() + std::chrono::hours(24 * n));
        }
        auto list = co_await run_blocking(pool, [&] { return servers.inventory(filter); });
        if (!list) {
            co_return list.error();
        }
        co_return json_reply(req, http::status::ok, *list);
    });
}

}  // namespace certdeploy::api
