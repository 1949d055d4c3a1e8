#pragma once
// The fleet's CA, kept by the controller in DATA_DIR/pki unless one is configured (agentCa, agentCaKey):
//
//   ca.pem, ca.key                   the CA (EC P-256, ten years), made on the first start
//   controller.pem, controller.key   the controller's client certificate to the agents (clientAuth),
//                                    remade when a third of its life is left
//   fleet-ca.pem                     the CA certificate, copied here whichever CA is configured
//
// It issues the agents' server certificates from their certificate requests: the agent's key never leaves
// the agent. Keys are 0600, the directory 0700.

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "service/error.hpp"
#include "service/pki/issuer.hpp"
#include "service/pki/pki_context.hpp"

namespace certdeploy::pki {

struct AgentCertificate {
    std::string pem;  // the certificate alone; the CA is FleetCa::ca_pem()
    std::string serial;
    std::chrono::system_clock::time_point not_after;
};

class FleetCa {
  public:
    // Opens `dir`'s CA, making it when absent. With `ca_cert`/`ca_key`, that CA instead (both, or neither);
    // the controller's client certificate is still kept in `dir`.
    static Result<FleetCa> open(const std::filesystem::path& dir, const PkiContext& ctx,
                                const std::optional<std::filesystem::path>& ca_cert = std::nullopt,
                                const std::optional<std::filesystem::path>& ca_key = std::nullopt);

    const PkiContext& context() const noexcept { return *ctx_; }
    const std::filesystem::path& ca_file() const noexcept { return ca_file_; }
    std::filesystem::path client_cert_file() const { return dir_ / "controller.pem"; }
    // DIR/fleet-ca.pem: a copy of the CA certificate at a known place, whichever CA is configured, for
    // `certdeploy token join` on this machine.
    std::filesystem::path published_file() const { return dir_ / "fleet-ca.pem"; }
    std::filesystem::path client_key_file() const { return dir_ / "controller.key"; }
    const std::string& ca_pem() const noexcept { return ca_pem_; }
    // "sha256:" and the CA certificate's SHA-256 in lower-case hex: what an agent pins.
    const std::string& fingerprint() const noexcept { return fingerprint_; }

    // Makes the controller's client certificate (valid for `lifetime`) when it is missing, was issued by
    // another CA, or has less than a third of `lifetime` left at `now`. True when it made one.
    Result<bool> ensure_client_certificate(std::chrono::system_clock::time_point now,
                                           std::chrono::seconds lifetime = std::chrono::hours(24 * 90));

    // A server certificate (serverAuth) for the agent `name`, for the key in `csr_pem`, with `name` and
    // `addresses` (host names or IP addresses) as subjectAltNames.
    Result<AgentCertificate> issue_agent(const std::string& name, std::string_view csr_pem,
                                         const std::vector<std::string>& addresses,
                                         std::chrono::seconds lifetime) const;

  private:
    FleetCa(const PkiContext& ctx, std::filesystem::path dir, std::filesystem::path ca_file, Issued ca);

    const PkiContext* ctx_;
    std::filesystem::path dir_;
    std::filesystem::path ca_file_;
    Issued ca_;
    std::string ca_pem_;
    std::string fingerprint_;
};

// "sha256:<64 lower-case hex digits>" of a PEM certificate's DER; nothing when it is not one.
std::optional<std::string> certificate_fingerprint(std::string_view pem);

}  // namespace certdeploy::pki
