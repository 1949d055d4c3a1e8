#pragma once
// What Get-ExchangeCertificate shows about a certificate, in camelCase JSON.

#include <nlohmann/json.hpp>

#include "service/pki/bundle.hpp"
#include "service/pki/trust.hpp"

namespace certdeploy::pki {

// thumbprint, sha256Fingerprint, subject, issuer, serialNumber, certificateDomains, notBefore, notAfter,
// hasPrivateKey, publicKeySize, keyAlgorithm, isSelfSigned, friendlyName, format, chain, status.
nlohmann::json summarize(const Bundle& bundle, Status status);

// "RSA", "EC", "Ed25519"...: a key's algorithm as summaries name it.
std::string key_algorithm(EVP_PKEY* key);

// {subject, issuer, thumbprint, notAfter} of one certificate.
nlohmann::json chain_entry(const Certificate& cert);

}  // namespace certdeploy::pki
