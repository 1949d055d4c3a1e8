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
#include "service/pki/writer.hpp"
#include "service/try.hpp"

namespace certdeploy::pki {
namespace {

constexpr long kDay = 24L * 60 * 60;

struct Issued {
    X509Ptr cert;
    EvpPkeyPtr key;
};

Error crypto_failure(const std::string& what) {
    return make_error(ErrorCode::internal, "cannot " + what, drain_errors());
}

Result<EvpPkeyPtr> new_key(const PkiContext& ctx) {
    EvpPkeyPtr key(EVP_PKEY_Q_keygen(ctx.libctx(), nullptr, "EC", "P-256"));
    if (!key) {
        return crypto_failure("generate a key");
    }
    return key;
}

bool add_extension(X509* cert, X509* issuer, int nid, const char* value) {
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, issuer, cert, nullptr, nullptr, 0);
    X509ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, &v3, nid, value));
    return ext && X509_add_ext(cert, ext.get(), -1) == 1;
}

// Signs a new certificate for `key` with `issuer_key` (self-signed when `issuer` is null).
Result<X509Ptr> make_certificate(const PkiContext& ctx, const std::string& common_name, EVP_PKEY* key, X509* issuer,
                                 EVP_PKEY* issuer_key, long days,
                                 const std::vector<std::pair<int, std::string>>& extensions) {
    X509Ptr cert(X509_new_ex(ctx.libctx(), nullptr));
    unsigned char serial_bytes[16];
    if (!cert || RAND_bytes_ex(ctx.libctx(), serial_bytes, sizeof serial_bytes, 0) != 1) {
        return crypto_failure("create a certificate");
    }
    serial_bytes[0] &= 0x7F;  // a positive serial number
    BignumPtr serial_bn(BN_bin2bn(serial_bytes, sizeof serial_bytes, nullptr));
    X509_NAME* name = X509_get_subject_name(cert.get());
    const bool ok =
        X509_set_version(cert.get(), X509_VERSION_3) == 1 && serial_bn &&
        BN_to_ASN1_INTEGER(serial_bn.get(), X509_get_serialNumber(cert.get())) != nullptr &&
        X509_gmtime_adj(X509_getm_notBefore(cert.get()), -kDay) != nullptr &&  // tolerate clock skew
        X509_gmtime_adj(X509_getm_notAfter(cert.get()), days * kDay) != nullptr &&
        X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>("certdeploy"), -1,
                                   -1, 0) == 1 &&
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1, 0) == 1 &&
        X509_set_issuer_name(cert.get(), issuer != nullptr ? X509_get_subject_name(issuer) : name) == 1 &&
        X509_set_pubkey(cert.get(), key) == 1;
    if (!ok) {
        return crypto_failure("fill in a certificate");
    }
    X509* issuer_cert = issuer != nullptr ? issuer : cert.get();
    for (const auto& [nid, value] : extensions) {
        if (!add_extension(cert.get(), issuer_cert, nid, value.c_str())) {
            return crypto_failure("add a certificate extension");
        }
    }
    if (X509_sign(cert.get(), issuer_key, EVP_sha256()) == 0) {
        return crypto_failure("sign a certificate");
    }
    return cert;
}

Result<void> save(const std::filesystem::path& pem_path, const std::filesystem::path& key_path, X509* cert,
                  EVP_PKEY* key) {
    CERTDEPLOY_TRY_ASSIGN(auto key_pem, private_key_pem(key));
    // The key first: a certificate without its key would be kept by a rerun and be useless.
    CERTDEPLOY_TRY(fs::write_file_atomically(key_path, key_pem.reveal(), 0600));
    return fs::write_file_atomically(pem_path, Certificate(share(cert)).to_pem(), 0644);
}

// The pair at these paths, when both exist; nothing when neither does; an error for half a pair.
Result<std::optional<Issued>> load(const std::filesystem::path& pem_path, const std::filesystem::path& key_path) {
    std::error_code ec;
    const bool has_pem = std::filesystem::exists(pem_path, ec);
    const bool has_key = std::filesystem::exists(key_path, ec);
    if (!has_pem && !has_key) {
        return std::optional<Issued>();
    }
    if (has_pem != has_key) {
        return make_error(
            ErrorCode::invalid_request,
            (has_pem ? key_path : pem_path).string() + " is missing while its pair exists; remove both to remake it");
    }
    auto pem = fs::read_file(pem_path, 1024 * 1024);
    auto key_text = fs::read_file(key_path, 1024 * 1024);
    if (!pem || !key_text) {
        return pem ? key_text.error() : pem.error();
    }
    BioPtr pem_bio = memory_bio(pem->data(), pem->size());
    BioPtr key_bio = memory_bio(key_text->data(), key_text->size());
    Issued issued{X509Ptr(PEM_read_bio_X509(pem_bio.get(), nullptr, nullptr, nullptr)),
                  EvpPkeyPtr(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr))};
    wipe(*key_text);
    if (!issued.cert || !issued.key || X509_check_private_key(issued.cert.get(), issued.key.get()) != 1) {
        return make_error(ErrorCode::key_mismatch,
                          pem_path.string() + " and " + key_path.string() + " are not a certificate and its key",
                          drain_errors());
    }
    return std::optional<Issued>(std::move(issued));
}

// Loads the pair or, when absent, makes it with `make` and saves it.
template <class Make>
Result<Issued> load_or_make(const std::filesystem::path& pem_path, const std::filesystem::path& key_path,
                            DevPkiReport& report, Make&& make) {
    CERTDEPLOY_TRY_ASSIGN(auto existing, load(pem_path, key_path));
    if (existing) {
        report.kept.push_back(pem_path.string());
        return std::move(*existing);
    }
    CERTDEPLOY_TRY_ASSIGN(auto made, make());
    CERTDEPLOY_TRY(save(pem_path, key_path, made.cert.get(), made.key.get()));
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
    auto ca = load_or_make(dir / "ca.pem", dir / "ca.key", report, [&]() -> Result<Issued> {
        CERTDEPLOY_TRY_ASSIGN(auto key, new_key(ctx));
        CERTDEPLOY_TRY_ASSIGN(auto cert,
                              make_certificate(ctx, "certdeploy development CA", key.get(), nullptr, key.get(), 3650,
                                               {{NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
                                                {NID_key_usage, "critical,keyCertSign,cRLSign"},
                                                {NID_subject_key_identifier, "hash"}}));
        return Issued{std::move(cert), std::move(key)};
    });
    if (!ca) {
        return ca.error();
    }

    auto leaf = [&](const std::string& common_name, const std::string& usage,
                    const std::string& san) -> Result<Issued> {
        CERTDEPLOY_TRY_ASSIGN(auto key, new_key(ctx));
        std::vector<std::pair<int, std::string>> extensions = {{NID_basic_constraints, "critical,CA:FALSE"},
                                                               {NID_key_usage, "critical,digitalSignature"},
                                                               {NID_ext_key_usage, usage},
                                                               {NID_subject_key_identifier, "hash"},
                                                               {NID_authority_key_identifier, "keyid:always"}};
        if (!san.empty()) {
            extensions.emplace_back(NID_subject_alt_name, san);
        }
        CERTDEPLOY_TRY_ASSIGN(
            auto cert, make_certificate(ctx, common_name, key.get(), ca->cert.get(), ca->key.get(), 825, extensions));
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
    CERTDEPLOY_TRY_ASSIGN(auto cert, make_certificate(ctx, name, key.get(), nullptr, key.get(), 5 * 365,
                                                      {{NID_basic_constraints, "critical,CA:FALSE"},
                                                       {NID_key_usage, "critical,digitalSignature,keyEncipherment"},
                                                       {NID_ext_key_usage, "serverAuth"},
                                                       {NID_subject_key_identifier, "hash"},
                                                       {NID_subject_alt_name, "DNS:" + name}}));
    return Bundle{Certificate(std::move(cert)), {}, std::move(key), "certdeploy default certificate", Format::pem};
}

}  // namespace certdeploy::pki
