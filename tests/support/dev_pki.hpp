#pragma once
// Mutual-TLS material for tests, made by the real `certdeploy pki init`.

#include <filesystem>
#include <string>
#include <vector>

#include "tests/support/http_client.hpp"

namespace certdeploy::test {

struct DevPki {
    std::filesystem::path dir;
    // Runs `certdeploy pki init DIR --agents ...`; throws when it fails.
    DevPki(std::filesystem::path dir, const std::vector<std::string>& agents);

    // The flags that make `certdeploy agent` serve `agent`'s certificate and accept the controller.
    std::vector<std::string> agent_flags(const std::string& agent) const;
    // What the controller presents: trusted by the agents.
    TlsClientFiles controller() const;
    // A client with no certificate at all (of the controller's HTTPS API, or refused by an agent).
    TlsClientFiles anonymous() const;
    // The flags that make `certdeploy server` serve its API over HTTPS with server.pem.
    std::vector<std::string> api_flags() const;
};

// A certificate for `name` (CN) issued by the CA in `ca_pem`/`ca_key` with the openssl command, as a PKI
// other than certdeploy's would: `usage` is its extended key usage ("clientAuth", "serverAuth"), `san` its
// subjectAltName ("DNS:ex01,IP:127.0.0.1"; empty: none). Written to DIR/NAME.pem and NAME.key.
TlsClientFiles issue_with_openssl(const std::filesystem::path& ca_pem, const std::filesystem::path& ca_key,
                                  const std::string& name, const std::string& usage, const std::string& san,
                                  const std::filesystem::path& dir);

}  // namespace certdeploy::test
