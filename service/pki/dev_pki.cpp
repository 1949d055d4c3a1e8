#include "service/pki/dev_pki.hpp"

#include <arpa/inet.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <optional>

#include "service/fs/atomic_file.hpp"
#include "service/net/host_name.hpp"
#include "service/pki/certificate.hpp"
#include "service/pki/issuer.hpp"
#include "service/pki/writer.hpp"
#include "service/try.hpp"

namespace certdeploy::pki {
namespace {

constexpr std::chrono::seconds kDay{24 * 60 * 60};

// Loads the pair or, when absent, makes it with `make` and saves it.
template <class Make>
Result<Issued> load_or_make(const std::filesystem::path& pem_path, const std::filesystem::path& key_path,
                            DevPkiReport& report, Make&& make) {
    CERTDEPLOY_TRY_ASSIGN(auto existing, load_pair(pem_path, key_path));
    if (existing) {
        report.kept.push_back(pem_path.string());
        return std::move(*existing);
    }
    CERTDEPLOY_TRY_ASSIGN(auto made, make());
    CERTDEPLOY_TRY(save_pair(pem_path, key_path, made.cert.get(), made.key.get()));
    report.created.push_back(pem_path.string());
    return made;
}

// localhost, the loopback addresses, this host's name, then the names given: each IP address as IP:, any
// other name as DNS:, each once.
std::string api_subject_alt_names(const std::vector<std::string>& names) {
    std::vector<std::string> all{"localhost", "127.0.0.1", "::1"};
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) == 0 && net::valid_host_name(host)) {
        all.emplace_back(host);
    }
    all.insert(all.end(), names.begin(), names.end());
    std::string san;
    std::vector<std::string> seen;
    for (const auto& name : all) {
        if (std::find(seen.begin(), seen.end(), name) != seen.end()) {
            continue;
        }
        seen.push_back(name);
        unsigned char buf[16];
        const bool ip = ::inet_pton(AF_INET, name.c_str(), buf) == 1 || ::inet_pton(AF_INET6, name.c_str(), buf) == 1;
        san += (san.empty() ? "" : ",") + std::string(ip ? "IP:" : "DNS:") + name;
    }
    return san;
}

}  // namespace

Result<DevPkiReport> init_dev_pki(const std::filesystem::path& dir, const std::vector<std::string>& agents,
                                  const std::vector<std::string>& server_names, const PkiContext& ctx) {
    ScopedDefaultContext scope(ctx);
    for (const auto& name : agents) {
        if (!net::valid_host_name(name)) {
            return make_error(ErrorCode::invalid_request,
                              "agent name \"" + name + "\" must be letters, digits, '-' and '.' (a host name)");
        }
    }
    for (const auto& name : server_names) {
        unsigned char buf[16];
        if (!net::valid_host_name(name) && ::inet_pton(AF_INET6, name.c_str(), buf) != 1) {
            return make_error(ErrorCode::invalid_request,
                              "server name \"" + name + "\" must be a host name or an IP address");
        }
    }
    CERTDEPLOY_TRY(fs::ensure_directory(dir / "agents", 0700));
    ::chmod(dir.c_str(), 0700);

    DevPkiReport report;
    auto ca = load_or_make(dir / "ca.pem", dir / "ca.key", report,
                           [&]() -> Result<Issued> { return make_ca(ctx, "certdeploy development CA", kDay * 3650); });
    if (!ca) {
        return ca.error();
    }

    auto leaf = [&](const std::string& common_name, const std::string& usage,
                    const std::string& san) -> Result<Issued> {
        CERTDEPLOY_TRY_ASSIGN(auto key, new_ec_key(ctx));
        CERTDEPLOY_TRY_ASSIGN(auto cert, issue_leaf(ctx, *ca, common_name, key.get(), usage, san, kDay * 825, kDay));
        return Issued{std::move(cert), std::move(key)};
    };

    auto controller = load_or_make(dir / "controller.pem", dir / "controller.key", report,
                                   [&] { return leaf("certdeploy controller", "clientAuth", ""); });
    if (!controller) {
        return controller.error();
    }
    auto server = load_or_make(dir / "server.pem", dir / "server.key", report, [&] {
        return leaf("certdeploy controller API", "serverAuth", api_subject_alt_names(server_names));
    });
    if (!server) {
        return server.error();
    }
    for (const auto& name : agents) {
        auto agent = load_or_make(dir / "agents" / (name + ".pem"), dir / "agents" / (name + ".key"), report, [&] {
            return leaf(name, "serverAuth", "DNS:" + name + ",DNS:localhost,IP:127.0.0.1");
        });
        if (!agent) {
            return agent.error();
        }
    }
    return report;
}

}  // namespace certdeploy::pki

namespace certdeploy::pki {

Result<Bundle> make_self_signed(const std::string& name, const PkiContext& ctx) {
    ScopedDefaultContext scope(ctx);
    EvpPkeyPtr key(EVP_PKEY_Q_keygen(ctx.libctx(), nullptr, "RSA", static_cast<size_t>(2048)));
    if (!key) {
        return crypto_failure("generate a key");
    }
    CERTDEPLOY_TRY_ASSIGN(auto cert, sign_certificate(ctx, name, key.get(), nullptr, key.get(), kDay * 5 * 365, kDay,
                                                      {{NID_basic_constraints, "critical,CA:FALSE"},
                                                       {NID_key_usage, "critical,digitalSignature,keyEncipherment"},
                                                       {NID_ext_key_usage, "serverAuth"},
                                                       {NID_subject_key_identifier, "hash"},
                                                       {NID_subject_alt_name, "DNS:" + name}}));
    return Bundle{Certificate(std::move(cert)), {}, std::move(key), "certdeploy default certificate", Format::pem};
}

}  // namespace certdeploy::pki
