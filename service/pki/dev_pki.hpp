#pragma once
// `certdeploy pki init`: a private CA and the certificates for mutual TLS between the controller and its
// agents, for development, tests and trying certdeploy out.
//
//   DIR/ca.pem, DIR/ca.key                  the CA (EC P-256, ten years)
//   DIR/controller.pem, DIR/controller.key  the controller's client certificate (clientAuth)
//   DIR/server.pem, DIR/server.key          the controller's API certificate (serverAuth), SANs localhost,
//                                           127.0.0.1, ::1, this host's name and any names given
//   DIR/agents/NAME.pem, NAME.key           each agent's server certificate, SANs NAME, localhost, 127.0.0.1
//
// Keys are mode 0600, directories 0700. Running it again adds what is missing and keeps what exists.

#include <filesystem>
#include <string>
#include <vector>

#include "service/error.hpp"
#include "service/pki/bundle.hpp"
#include "service/pki/pki_context.hpp"

namespace certdeploy::pki {

struct DevPkiReport {
    std::vector<std::string> created;  // paths of the certificates made by this run
    std::vector<std::string> kept;     // paths of the certificates that were there already
};

// `server_names`: more names (host names or IP addresses) the controller's API is reached by.
Result<DevPkiReport> init_dev_pki(const std::filesystem::path& dir, const std::vector<std::string>& agents,
                                  const std::vector<std::string>& server_names, const PkiContext& ctx);

}  // namespace certdeploy::pki

namespace certdeploy::pki {

// A self-signed RSA 2048 certificate with its key, CN and DNS SAN `name`, valid five years: what the agent
// installs on first start, as Exchange installs one on every new server.
Result<Bundle> make_self_signed(const std::string& name, const PkiContext& ctx);

}  // namespace certdeploy::pki
