#include "tests/support/controller_process.hpp"

#include <doctest/doctest.h>

#include <csignal>

namespace certdeploy::test {

using namespace std::chrono_literals;

ControllerProcess::ControllerProcess(const std::filesystem::path& dir, const std::vector<std::string>& flags) {
    const auto ready = dir / "server.addr";
    std::filesystem::remove(ready);
    std::vector<std::string> args{"server",       "--listen",   "127.0.0.1:0",          "--ready-file",
                                  ready.string(), "--data-dir", (dir / "data").string()};
    args.insert(args.end(), flags.begin(), flags.end());
    child_ = std::make_unique<ChildProcess>(certdeploy_binary(), args, dir);
    address_ = wait_for_ready_file(ready, 20s);
    INFO(child_->stderr_text());
    REQUIRE_FALSE(address_.empty());
}

ControllerProcess::~ControllerProcess() {
    if (!child_->wait_for_exit(0ms)) {  // (a reaped pid may be someone else's by now)
        child_->signal(SIGTERM);
        child_->wait_for_exit(10s);
    }
}

Response ControllerProcess::call(http::verb method, const std::string& target, const nlohmann::json& body) const {
    HttpClient client(address_);
    return client.request(method, target, body.is_null() ? "" : body.dump(), body.is_null() ? "" : "application/json");
}

nlohmann::json ControllerProcess::body(http::verb method, const std::string& target, const nlohmann::json& body) const {
    return nlohmann::json::parse(call(method, target, body).body());
}

}  // namespace certdeploy::test
