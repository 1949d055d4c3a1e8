#pragma once
// Writing a bundle back out: PKCS #12 under a password, or PEM texts for services that read files.

#include <string>

#include "service/error.hpp"
#include "service/pki/bundle.hpp"
#include "service/pki/pki_context.hpp"
#include "service/secret.hpp"

namespace certdeploy::pki {

enum class Pkcs12Profile {
    modern,  // AES-256-CBC with PBKDF2 (HMAC-SHA-256), HMAC-SHA-256 MAC: Windows Server 2019+, OpenSSL 3
    legacy,  // 3DES with a SHA-1 MAC: Windows Server 2016 and older, appliances that cannot read AES
};
bool parse_profile(std::string_view text, Pkcs12Profile& out) noexcept;

// DER bytes. The key (when the bundle has one) is encrypted under `password`; the friendlyName is kept.
Result<std::string> write_pkcs12(const Bundle& bundle, const Secret& password, Pkcs12Profile profile,
                                 const PkiContext& ctx);

struct PemTexts {
    std::string certificate;  // the leaf
    std::string chain;        // the chain, leaf's issuer first; empty when there is none
    Secret key;               // PKCS #8, unencrypted; empty when the bundle has no key
};
Result<PemTexts> write_pem(const Bundle& bundle);

// A private key as unencrypted PKCS #8 PEM, wiped when the Secret goes.
Result<Secret> private_key_pem(EVP_PKEY* key);

}  // namespace certdeploy::pki
