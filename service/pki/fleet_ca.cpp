#include "service/pki/fleet_ca.hpp"

#include <arpa/inet.h>
#include <openssl/pem.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>

#include "service/fs/atomic_file.hpp"
#include "service/net/host_name.hpp"
#include "service/pki/certificate.hpp"
#include "service/try.hpp"

namespace certdeploy::pki {
namespace {

constexpr std::chrono::seconds kDay{24 * 60 * 60};

std::string lower(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
    return text;
}

// How far back a certificate's notBefore goes, for clocks a little behind ours: five minutes, or a tenth
// of a short lifetime (tests use lifetimes of seconds).
std::chrono::seconds skew_allowance(std::chrono::seconds lifetime) {
    return std::min<std::chrono::seconds>(std::chrono::minutes(5), lifetime / 10);
}

bool is_ip_address(const std::string& text) {
    unsigned char buf[16];
    return ::inet_pton(AF_INET, text.c_str(), buf) == 1 || ::inet_pton(AF_INET6, text.c_str(), buf) == 1;
}

}  // namespace

std::optional<std::string> certificate_fingerprint(std::string_view pem) {
    BioPtr in = memory_bio(pem.data(), pem.size());
    X509Ptr cert(PEM_read_bio_X509(in.get(), nullptr, nullptr, nullptr));
    if (!cert) {
        drain_errors();
        return std::nullopt;
    }
    return "sha256:" + lower(Certificate(std::move(cert)).sha256_fingerprint());
}

FleetCa::FleetCa(const PkiContext& ctx, std::filesystem::path dir, std::filesystem::path ca_file, Issued ca)
    : ctx_(&ctx), dir_(std::move(dir)), ca_file_(std::move(ca_file)), ca_(std::move(ca)) {
    const Certificate cert(share(ca_.cert.get()));
    ca_pem_ = cert.to_pem();
    fingerprint_ = "sha256:" + lower(cert.sha256_fingerprint());
}

Result<FleetCa> FleetCa::open(const std::filesystem::path& dir, const PkiContext& ctx,
                              const std::optional<std::filesystem::path>& ca_cert,
                              const std::optional<std::filesystem::path>& ca_key) {
    ScopedDefaultContext scope(ctx);
    if (ca_cert.has_value() != ca_key.has_value()) {
        return make_error(ErrorCode::invalid_config,
                          "keys \"agentCa\" and \"agentCaKey\" go together: give both "
                          "(the fleet CA to issue agents' certificates with) or neither");
    }
    CERTDEPLOY_TRY(fs::ensure_directory(dir, 0700));
    ::chmod(dir.c_str(), 0700);
    const auto cert_path = ca_cert.value_or(dir / "ca.pem");
    const auto key_path = ca_key.value_or(dir / "ca.key");
    CERTDEPLOY_TRY_ASSIGN(auto existing, load_pair(cert_path, key_path));
    if (existing) {
        FleetCa ca(ctx, dir, cert_path, std::move(*existing));
        CERTDEPLOY_TRY(fs::write_file_atomically(ca.published_file(), ca.ca_pem(), 0644));
        return ca;
    }
    if (ca_cert) {
        return make_error(ErrorCode::invalid_config,
                          "the fleet CA " + ca_cert->string() + " (agentCa) and its key (agentCaKey) do not exist");
    }
    CERTDEPLOY_TRY_ASSIGN(auto made, make_ca(ctx, "certdeploy fleet CA", kDay * 3650));
    CERTDEPLOY_TRY(save_pair(cert_path, key_path, made.cert.get(), made.key.get()));
    FleetCa ca(ctx, dir, cert_path, std::move(made));
    CERTDEPLOY_TRY(fs::write_file_atomically(ca.published_file(), ca.ca_pem(), 0644));
    return ca;
}

Result<bool> FleetCa::ensure_client_certificate(std::chrono::system_clock::time_point now,
                                                std::chrono::seconds lifetime) {
    ScopedDefaultContext scope(*ctx_);
    CERTDEPLOY_TRY_ASSIGN(auto existing, load_pair(client_cert_file(), client_key_file()));
    if (existing) {
        const Certificate cert(std::move(existing->cert));
        const bool ours = X509_check_issued(ca_.cert.get(), cert.get()) == X509_V_OK;
        if (ours && cert.not_after() - now > lifetime / 3) {
            return false;
        }
    }
    CERTDEPLOY_TRY_ASSIGN(auto key, new_ec_key(*ctx_));
    CERTDEPLOY_TRY_ASSIGN(auto cert, issue_leaf(*ctx_, ca_, "certdeploy controller", key.get(), "clientAuth", "",
                                                lifetime, skew_allowance(lifetime)));
    CERTDEPLOY_TRY(save_pair(client_cert_file(), client_key_file(), cert.get(), key.get()));
    return true;
}

Result<AgentCertificate> FleetCa::issue_agent(const std::string& name, std::string_view csr_pem,
                                              const std::vector<std::string>& addresses,
                                              std::chrono::seconds lifetime) const {
    ScopedDefaultContext scope(*ctx_);
    if (!net::valid_host_name(name)) {
        return make_error(ErrorCode::invalid_request,
                          "server name \"" + name + "\" must be letters, digits, '-' and '.' (a host name)");
    }
    CERTDEPLOY_TRY_ASSIGN(auto key, csr_public_key(*ctx_, csr_pem));
    std::vector<std::string> names{name};
    for (const auto& address : addresses) {
        if (!net::valid_host_name(address) && !is_ip_address(address)) {
            return make_error(ErrorCode::invalid_request,
                              "address \"" + address + "\" must be a host name or an IP address");
        }
        if (std::find(names.begin(), names.end(), address) == names.end()) {
            names.push_back(address);
        }
    }
    std::string san;
    for (const auto& entry : names) {
        san += (san.empty() ? "" : ",") + std::string(is_ip_address(entry) ? "IP:" : "DNS:") + entry;
    }
    CERTDEPLOY_TRY_ASSIGN(
        auto cert, issue_leaf(*ctx_, ca_, name, key.get(), "serverAuth", san, lifetime, skew_allowance(lifetime)));
    const Certificate issued(std::move(cert));
    return AgentCertificate{issued.to_pem(), issued.serial_number(), issued.not_after()};
}

}  // namespace certdeploy::pki
