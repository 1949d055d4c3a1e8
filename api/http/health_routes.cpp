#include "api/http/health_routes.hpp"

#include "api/http/problem.hpp"

namespace certdeploy::api {

void add_health_routes(Router& router, const HealthMonitor& health) {
    router.add(
        http::verb::get, "/healthz",
        [&health](Request& req) -> asio::awaitable<Result<Response>> {
            auto res = json_response(http::status::ok, health.report(), req.message.version());
            res.set(http::field::cache_control, "no-store");
            co_return res;
        },
        "none");  // load balancers and probes carry no token
}

}  // namespace certdeploy::api
