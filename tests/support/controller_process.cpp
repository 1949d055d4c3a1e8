#include "tests/support/controller_process.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <csignal>
#include <fstream>

namespace certdeploy::test {

using namespace std::chrono_literals;

ControllerProcess::ControllerProcess(const std::filesystem::path& dir, const std::vector<std::string>& flags,
                                     const std::map<std::string, std::optional<std::string>>& env) {
    const auto ready = dir / "server.addr";
    std::filesystem::remove(ready);
    std::vector<std::string> args{"server",       "--listen",   "127.0.0.1:0",          "--ready-file",
                                  ready.string(), "--data-dir", (dir / "data").string()};
    // Plain HTTP on loopback unless the flags make it HTTPS (the tests of HTTPS).
    if (std::find(flags.begin(), flags.end(), "--tls-cert") == flags.end()) {
        args.emplace_back("--insecure-http");
    }
    args.insert(args.end(), flags.begin(), flags.end());
    child_ = std::make_unique<ChildProcess>(certdeploy_binary(), args, dir, env);
    address_ = wait_for_ready_file(ready, 20s);
    INFO(child_->stderr_text());
    REQUIRE_FALSE(address_.empty());
    data_dir_ = dir / "data";
    std::ifstream token_file(data_dir_ / "admin.token");
    std::getline(token_file, admin_token_);
}

ControllerProcess::~ControllerProcess() {
    if (!child_->wait_for_exit(0ms)) {  // (a reaped pid may be someone else's by now)
        child_->signal(SIGTERM);
        child_->wait_for_exit(10s);
    }
}

Response ControllerProcess::call(http::verb method, const std::string& target, const nlohmann::json& body) const {
    HttpClient client(address_);
    http::request<http::string_body> req{method, target, 11};
    req.set(http::field::authorization, bearer());
    if (!body.is_null()) {
        req.set(http::field::content_type, "application/json");
        req.body() = body.dump();
    }
    return client.send(std::move(req));
}

nlohmann::json ControllerProcess::body(http::verb method, const std::string& target, const nlohmann::json& body) const {
    return nlohmann::json::parse(call(method, target, body).body());
}

}  // namespace certdeploy::test
