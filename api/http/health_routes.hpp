#pragma once
// GET /healthz: liveness for load balancers, orchestrators and curl.

#include "api/http/router.hpp"
#include "service/health.hpp"

namespace certdeploy::api {

void add_health_routes(Router& router, const HealthMonitor& health);

}  // namespace certdeploy::api
