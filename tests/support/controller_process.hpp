#pragma once
// The one way tests start a controller (`certdeploy server`): on a free loopback port, its data in
// DIR/data, its address read from the ready file; SIGTERM and a wait when it goes out of scope. Plain HTTP
// (--insecure-http, allowed on loopback) unless the flags give --tls-cert.
// Fleet starts its controllers through it too.

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"

namespace certdeploy::test {

class ControllerProcess {
  public:
    // `dir`: where the ready file and data/ go; `flags`: more command-line flags; `env`: more environment.
    ControllerProcess(const std::filesystem::path& dir, const std::vector<std::string>& flags = {},
                      const std::map<std::string, std::optional<std::string>>& env = {});
    ~ControllerProcess();  // SIGTERM, then at most 10 s
    ControllerProcess(const ControllerProcess&) = delete;
    ControllerProcess& operator=(const ControllerProcess&) = delete;

    const std::string& address() const { return address_; }
    // The admin token the controller made on its first start (DIR/data/admin.token), and where it is.
    const std::string& admin_token() const { return admin_token_; }
    std::filesystem::path admin_token_file() const { return data_dir_ / "admin.token"; }
    // "Bearer <admin token>", for an Authorization header.
    std::string bearer() const { return "Bearer " + admin_token_; }
    ChildProcess& process() { return *child_; }
    const ChildProcess& process() const { return *child_; }

    // One request on a new plain-HTTP connection, with the admin token; a JSON body is sent as
    // application/json.
    Response call(http::verb method, const std::string& target, const nlohmann::json& body = nullptr) const;
    // The answer's body, parsed.
    nlohmann::json body(http::verb method, const std::string& target, const nlohmann::json& body = nullptr) const;

  private:
    std::unique_ptr<ChildProcess> child_;
    std::string address_;
    std::filesystem::path data_dir_;
    std::string admin_token_;
};

}  // namespace certdeploy::test
