#pragma once
// What the controller's store says of the fleet, as Prometheus metrics, computed at each scrape:
//   x509_cert_not_after, x509_cert_not_before, x509_cert_expired — one series per server and thumbprint,
//     named and labelled as the x509-certificate-exporter does (subject_CN, issuer_CN, serial_number), so
//     that its dashboards and alerts work unchanged, plus server, thumbprint and status;
//   certdeploy_agent_up, certdeploy_agent_last_contact_timestamp_seconds, certdeploy_agent_info{version},
//     certdeploy_agent_identity_expiry_timestamp_seconds — per registered server;
//   certdeploy_jobs{kind,state} — how many jobs are in each state now.
// Every label is bounded by the fleet (server names, thumbprints), never by traffic.

#include <chrono>
#include <string_view>

#include "service/error.hpp"
#include "service/metrics/metrics.hpp"
#include "store/controller_store.hpp"

namespace certdeploy::controller {

Result<void> render_fleet_metrics(store::ControllerStore& store, metrics::Exposition& out,
                                  std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

// "mail.fabrikam.com" of "CN=mail.fabrikam.com, O=Fabrikam"; empty when the name has no CN.
std::string common_name(std::string_view distinguished_name);

}  // namespace certdeploy::controller
