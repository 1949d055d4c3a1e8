#pragma once
// What a process reports about itself on GET /healthz.

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

namespace certdeploy {

class HealthMonitor {
  public:
    explicit HealthMonitor(std::string role);

    // {"status": "ok", "role": ..., "version": ..., "uptimeSeconds": ...}
    nlohmann::json report() const;

  private:
    std::string role_;
    std::chrono::steady_clock::time_point started_;
};

}  // namespace certdeploy
