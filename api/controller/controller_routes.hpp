#pragma once
// The controller's API under /v1 (openapi.yaml): thin HTTP glue over the controller's domain, every route
// behind the access guard (access_guard.hpp) with the role it needs. `pool` runs
// the store's blocking work, so that writes never hold an I/O thread.

#include <boost/asio/thread_pool.hpp>

#include "api/clients/agent_link.hpp"
#include "api/controller/access_guard.hpp"
#include "api/http/router.hpp"
#include "service/controller/enrolment/enrolment.hpp"
#include "service/controller/job_service.hpp"
#include "service/controller/server_registry.hpp"

namespace certdeploy::api {

// /v1/servers: the registry.
void add_controller_routes(Router& router, Access& access, controller::ServerRegistry& servers,
                           boost::asio::thread_pool& pool);

// /v1/imports, /v1/certificates/{thumbprint}/enable|remove and /v1/jobs (job_routes.cpp). When JobService
// has no queue (no agent TLS material), jobs are listed but none is created: agent-unreachable.
void add_job_routes(Router& router, Access& access, controller::JobService& jobs, controller::ServerRegistry& servers,
                    boost::asio::thread_pool& pool);

// /v1/servers/{name}/certificates..., answered by that server's agent, and the inventory /v1/certificates
// (fleet_routes.cpp).
void add_fleet_routes(Router& router, Access& access, controller::ServerRegistry& servers, AgentLink* link,
                      boost::asio::thread_pool& pool);

// /v1/tokens and /v1/audit (access_routes.cpp): admin only.
void add_access_routes(Router& router, Access& access);

// /v1/join-tokens (admin), and /enrol/v1/ca, /enrol/v1/join, /enrol/v1/renew, which agents call to get and
// renew their certificates (enrolment_routes.cpp).
// Without the fleet CA (`enrolment` null: a PKI of one's own), they answer enrolment-unavailable.
void add_enrolment_routes(Router& router, Access& access, controller::Enrolment* enrolment);

}  // namespace certdeploy::api
