#include "api/controller_routes.hpp"

#include <boost/url/url_view.hpp>
#include <charconv>

#include "api/blocking.hpp"
#include "api/json_body.hpp"
#include "api/problem.hpp"

namespace certdeploy::api {
namespace {

using Awaitable = asio::awaitable<Result<Response>>;

// ?limit=N&after=CURSOR, with the limit bounded.
Result<std::pair<std::size_t, std::string>> page(const Request& req, std::size_t default_limit, std::size_t max_limit) {
    std::size_t limit = default_limit;
    std::string after;
    for (const auto& param : boost::urls::url_view(req.target).params()) {
        if (param.key == "limit") {
            const auto& v = param.value;
            auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), limit);
            if (ec != std::errc() || ptr != v.data() + v.size() || limit == 0 || limit > max_limit) {
                return make_error(ErrorCode::invalid_request,
                                  "limit must be an integer from 1 to " + std::to_string(max_limit));
            }
        } else if (param.key == "after") {
            after = param.value;
        }
    }
    return std::make_pair(limit, after);
}

}  // namespace

void add_controller_routes(Router& router, controller::ServerRegistry& servers, asio::thread_pool& pool) {
    router.add(http::verb::put, "/v1/servers/{name}", [&](Request& req) -> Awaitable {
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
        auto res = json_reply(req, outcome->created ? http::status::created : http::status::ok, outcome->server);
        res.set(http::field::location, "/v1/servers/" + name);
        co_return res;
    });

    router.add(http::verb::get, "/v1/servers", [&](Request& req) -> Awaitable {
        auto paging = page(req, controller::ServerRegistry::kDefaultPageSize, controller::ServerRegistry::kMaxPageSize);
        if (!paging) {
            co_return paging.error();
        }
        auto list = co_await run_blocking(pool, [&] { return servers.list(paging->second, paging->first); });
        if (!list) {
            co_return list.error();
        }
        co_return json_reply(req, http::status::ok, *list);
    });

    router.add(http::verb::get, "/v1/servers/{name}", [&](Request& req) -> Awaitable {
        const std::string name = req.params.at("name");
        auto found = co_await run_blocking(pool, [&] { return servers.get(name); });
        if (!found) {
            co_return found.error();
        }
        co_return json_reply(req, http::status::ok, *found);
    });

    router.add(http::verb::delete_, "/v1/servers/{name}", [&](Request& req) -> Awaitable {
        const std::string name = req.params.at("name");
        auto removed = co_await run_blocking(pool, [&] { return servers.remove(name); });
        if (!removed) {
            co_return removed.error();
        }
        co_return Response{http::status::no_content, req.message.version()};
    });
}

}  // namespace certdeploy::api
