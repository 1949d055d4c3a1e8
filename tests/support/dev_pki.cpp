#include "tests/support/dev_pki.hpp"

#include <stdexcept>

#include "tests/support/process.hpp"

namespace certdeploy::test {

DevPki::DevPki(std::filesystem::path dir_, const std::vector<std::string>& agents) : dir(std::move(dir_)) {
    std::string names;
    for (const auto& agent : agents) {
        names += (names.empty() ? "" : ",") + agent;
    }
    std::filesystem::create_directories(dir.parent_path());
    auto result = run_certdeploy({"pki", "init", dir.string(), "--agents", names}, dir.parent_path());
    if (result.status.code != 0) {
        throw std::runtime_error("certdeploy pki init failed: " + result.err);
    }
}

std::vector<std::string> DevPki::agent_flags(const std::string& agent) const {
    return {"--tls-cert",  (dir / "agents" / (agent + ".pem")).string(),
            "--tls-key",   (dir / "agents" / (agent + ".key")).string(),
            "--client-ca", (dir / "ca.pem").string()};
}

TlsClientFiles DevPki::controller() const {
    return {(dir / "ca.pem").string(), (dir / "controller.pem").string(), (dir / "controller.key").string()};
}

TlsClientFiles DevPki::anonymous() const {
    return {(dir / "ca.pem").string(), {}, {}};
}

std::vector<std::string> DevPki::api_flags() const {
    return {"--tls-cert", (dir / "server.pem").string(), "--tls-key", (dir / "server.key").string()};
}

}  // namespace certdeploy::test
