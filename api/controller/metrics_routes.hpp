#pragma once
// GET /metrics: the Prometheus text exposition (format 0.0.4) of the controller — its own counters and
// histograms (HTTP, jobs and targets, the store), the process's figures, the build, and what the store says
// of the fleet (service/controller/fleet_metrics.hpp). On the API it needs a viewer token that is not
// scoped (the figures cover every server); on `metricsListen` (loopback only) it needs none, as Prometheus
// deployments expect.

#include <boost/asio/thread_pool.hpp>

#include "api/controller/access_guard.hpp"
#include "api/http/router.hpp"
#include "store/controller_store.hpp"

namespace certdeploy::api {

void add_metrics_route(Router& router, Access& access, store::ControllerStore& store, boost::asio::thread_pool& pool);

// The same exposition without a token: for the separate loopback listener only.
void add_open_metrics_route(Router& router, store::ControllerStore& store, boost::asio::thread_pool& pool);

}  // namespace certdeploy::api
