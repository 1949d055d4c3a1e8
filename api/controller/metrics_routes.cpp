#include "api/controller/metrics_routes.hpp"

#include "certdeploy/version.hpp"
#include "service/async/run_blocking.hpp"
#include "service/controller/fleet_metrics.hpp"
#include "service/metrics/metrics.hpp"

namespace certdeploy::api {
namespace {

using Awaitable = asio::awaitable<Result<Response>>;

Result<std::string> scrape(store::ControllerStore& store) {
    metrics::Exposition out;
    metrics::process_registry().render(out);
    metrics::render_process_metrics(out);
    out.family("certdeploy_build_info", "gauge", "The controller's version, as its label (value 1).");
    out.sample("certdeploy_build_info", {{"version", kVersion}}, 1);
    if (auto fleet = controller::render_fleet_metrics(store, out); !fleet) {
        return fleet.error();
    }
    return out.text();
}

asio::awaitable<Result<Response>> answer(Request& req, store::ControllerStore& store, asio::thread_pool& pool) {
    auto text = co_await run_blocking(pool, [&] { return scrape(store); });
    if (!text) {
        co_return text.error();
    }
    Response res{http::status::ok, req.message.version()};
    res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
    res.set(http::field::cache_control, "no-store");
    res.body() = std::move(*text);
    co_return res;
}

}  // namespace

void add_metrics_route(Router& router, Access& access, store::ControllerStore& store, asio::thread_pool& pool) {
    add_v1(router, access, http::verb::get, "/metrics", controller::Role::viewer,
           [&](Request& req, const controller::Caller& caller) -> Awaitable {
               if (caller.scoped) {
                   co_return make_error(ErrorCode::out_of_scope,
                                        "the metrics cover every server: a scoped token cannot read them");
               }
               co_return co_await answer(req, store, pool);
           });
}

void add_open_metrics_route(Router& router, store::ControllerStore& store, asio::thread_pool& pool) {
    router.add(
        http::verb::get, "/metrics", [&](Request& req) -> Awaitable { co_return co_await answer(req, store, pool); },
        "none");
}

}  // namespace certdeploy::api
