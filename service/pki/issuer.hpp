#pragma once
// Making certificates: EC keys, a CA, leaf certificates signed by it, certificate requests (CSRs), and
// certificate/key pairs on disk (keys 0600). Used by `certdeploy pki init` (development) and by the fleet
// CA the controller keeps in its data directory, which issues the agents' certificates from their CSRs.

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "service/error.hpp"
#include "service/pki/ossl.hpp"
#include "service/pki/pki_context.hpp"

namespace certdeploy::pki {

struct Issued {
    X509Ptr cert;
    EvpPkeyPtr key;
};

// X.509v3 extensions by NID, in openssl's configuration syntax ("critical,CA:FALSE").
using Extensions = std::vector<std::pair<int, std::string>>;

Error crypto_failure(const std::string& what);

// An EC P-256 key pair.
Result<EvpPkeyPtr> new_ec_key(const PkiContext& ctx);

// A certificate for `subject_key` named O=certdeploy, CN=`common_name`, signed by `issuer_key` (self-signed
// when `issuer` is null), valid from `backdate` ago (clock skew) until `lifetime` from now.
Result<X509Ptr> sign_certificate(const PkiContext& ctx, const std::string& common_name, EVP_PKEY* subject_key,
                                 X509* issuer, EVP_PKEY* issuer_key, std::chrono::seconds lifetime,
                                 std::chrono::seconds backdate, const Extensions& extensions);

// A self-signed CA (pathlen 0) with a new key.
Result<Issued> make_ca(const PkiContext& ctx, const std::string& common_name, std::chrono::seconds lifetime);

// An end-entity certificate from `ca` for `subject_key`: `usage` is the extended key usage ("serverAuth",
// "clientAuth" or both, comma-separated), `san` the subjectAltName ("DNS:a,IP:1.2.3.4"; empty: none).
Result<X509Ptr> issue_leaf(const PkiContext& ctx, const Issued& ca, const std::string& common_name,
                           EVP_PKEY* subject_key, const std::string& usage, const std::string& san,
                           std::chrono::seconds lifetime, std::chrono::seconds backdate);

// A PEM certificate request for `key`, CN=`common_name`, signed with it.
Result<std::string> make_csr_pem(const PkiContext& ctx, EVP_PKEY* key, const std::string& common_name);

// The public key of a PEM certificate request whose signature holds (proof that its sender has the key).
Result<EvpPkeyPtr> csr_public_key(const PkiContext& ctx, std::string_view pem);

// The pair at these paths when both exist; nothing when neither does; an error for half a pair or for a
// certificate and a key that do not belong together.
Result<std::optional<Issued>> load_pair(const std::filesystem::path& pem_path, const std::filesystem::path& key_path);

// Writes the key (0600) and then the certificate (0644), each atomically.
Result<void> save_pair(const std::filesystem::path& pem_path, const std::filesystem::path& key_path, X509* cert,
                       EVP_PKEY* key);

}  // namespace certdeploy::pki
