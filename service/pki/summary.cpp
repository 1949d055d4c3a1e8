#include "service/pki/summary.hpp"

#include "service/pki/certificate_request.hpp"
#include "service/time/rfc3339.hpp"

namespace certdeploy::pki {

std::string key_algorithm(EVP_PKEY* key) {
    switch (EVP_PKEY_get_base_id(key)) {
        case EVP_PKEY_RSA:
            return "RSA";
        case EVP_PKEY_RSA_PSS:
            return "RSA-PSS";
        case EVP_PKEY_EC:
            return "EC";
        case EVP_PKEY_ED25519:
            return "Ed25519";
        case EVP_PKEY_ED448:
            return "Ed448";
        case EVP_PKEY_DSA:
            return "DSA";
        default: {
            const char* name = EVP_PKEY_get0_type_name(key);
            return name != nullptr ? name : "unknown";
        }
    }
}

nlohmann::json chain_entry(const Certificate& cert) {
    return {{"subject", cert.subject()},
            {"issuer", cert.issuer()},
            {"thumbprint", cert.thumbprint()},
            {"notAfter", rfc3339(cert.not_after())}};
}

nlohmann::json summarize(const Bundle& bundle, Status status) {
    const Certificate& leaf = bundle.leaf;
    EVP_PKEY* pub = X509_get0_pubkey(leaf.get());
    nlohmann::json chain = nlohmann::json::array();
    chain.push_back(chain_entry(leaf));
    for (const auto& cert : bundle.chain) {
        chain.push_back(chain_entry(cert));
    }
    drain_errors();
    return {
        {"thumbprint", leaf.thumbprint()},
        {"sha256Fingerprint", leaf.sha256_fingerprint()},
        {"subject", leaf.subject()},
        {"issuer", leaf.issuer()},
        {"serialNumber", leaf.serial_number()},
        {"certificateDomains", leaf.domains()},
        {"notBefore", rfc3339(leaf.not_before())},
        {"notAfter", rfc3339(leaf.not_after())},
        {"hasPrivateKey", bundle.key != nullptr},
        {"publicKeySize", pub != nullptr ? EVP_PKEY_get_bits(pub) : 0},
        // By this a CA's answer (a certificate without a key) finds the pending request it completes.
        {"publicKeySha256", public_key_sha256(pub)},
        {"keyAlgorithm", pub != nullptr ? key_algorithm(pub) : "unknown"},
        {"isSelfSigned", leaf.is_self_signed()},
        {"friendlyName", bundle.friendly_name},
        {"format", std::string(format_name(bundle.format))},
        {"chain", std::move(chain)},
        {"status", std::string(status_name(status))},
    };
}

}  // namespace certdeploy::pki
