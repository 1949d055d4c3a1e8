#include "service/health.hpp"

#include "certdeploy/version.hpp"

namespace certdeploy {

HealthMonitor::HealthMonitor(std::string role) : role_(std::move(role)), started_(std::chrono::steady_clock::now()) {}

nlohmann::json HealthMonitor::report() const {
    const auto uptime = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    return {{"status", "ok"}, {"role", role_}, {"version", kVersion}, {"uptimeSeconds", uptime}};
}

}  // namespace certdeploy
