#include "tests/support/dev_pki.hpp"

#include <cstdlib>
#include <fstream>
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

TlsClientFiles issue_with_openssl(const std::filesystem::path& ca_pem, const std::filesystem::path& ca_key,
                                  const std::string& name, const std::string& usage, const std::string& san,
                                  const std::filesystem::path& dir) {
    const auto key = dir / (name + ".key");
    const auto csr = dir / (name + ".csr");
    const auto cert = dir / (name + ".pem");
    const auto ext = dir / (name + ".ext");
    {
        std::ofstream out(ext);
        out << "extendedKeyUsage=" << usage << "\nkeyUsage=critical,digitalSignature\n";
        if (!san.empty()) {
            out << "subjectAltName=" << san << "\n";
        }
    }
    const auto command = "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout '" +
                         key.string() + "' -subj '/CN=" + name + "' -out '" + csr.string() +
                         "' 2>/dev/null && openssl x509 -req -in '" + csr.string() + "' -CA '" + ca_pem.string() +
                         "' -CAkey '" + ca_key.string() + "' -CAserial '" + (dir / (name + ".srl")).string() +
                         "' -CAcreateserial -days 1 -extfile '" + ext.string() + "' -out '" + cert.string() +
                         "' 2>/dev/null";
    if (std::system(command.c_str()) != 0) {
        throw std::runtime_error("openssl could not issue a certificate for " + name);
    }
    return {ca_pem.string(), cert.string(), key.string()};
}

TlsClientFiles DevPki::anonymous() const {
    return {(dir / "ca.pem").string(), {}, {}};
}

std::vector<std::string> DevPki::api_flags() const {
    return {"--tls-cert", (dir / "server.pem").string(), "--tls-key", (dir / "server.key").string()};
}

}  // namespace certdeploy::test
