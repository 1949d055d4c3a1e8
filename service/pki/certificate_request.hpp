#pragma once
// Certificate requests made where the key is to live (New-ExchangeCertificate -GenerateRequest): what a
// request asks for, checked field by field; its key pair, made here; the PKCS #10 request (PEM) a CA signs;
// and the public key's fingerprint, by which a CA's answer finds the request it completes.

#include <string>
#include <string_view>
#include <vector>

#include "service/error.hpp"
#include "service/pki/ossl.hpp"
#include "service/pki/pki_context.hpp"

namespace certdeploy::pki {

enum class KeyAlgorithm { rsa, ecdsa };
std::string_view key_algorithm_name(KeyAlgorithm algorithm) noexcept;  // "RSA", "ECDSA"

// What a request asks for, checked (check_request): every field usable as it is.
struct RequestSpec {
    std::string subject;               // "CN=mail.contoso.com, O=Contoso, C=US" (RFC 4514 order)
    std::vector<std::string> domains;  // subject alternative names (DNS), lower case, no duplicates
    KeyAlgorithm keyAlgorithm = KeyAlgorithm::rsa;
    int keySize = 2048;  // RSA: 2048, 3072, 4096; ECDSA: 256 (P-256), 384 (P-384)
};

// The fields as a client gave them; empty strings and 0 mean "not given".
struct RequestFields {
    std::string subject;
    std::vector<std::string> domains;
    std::string keyAlgorithm;  // "RSA" (default), "ECDSA" (or "EC")
    int keySize = 0;           // default: 2048 for RSA, 256 for ECDSA
};

// Errors (422), each naming its field: invalid-subject, invalid-domain, invalid-key-parameters. With no
// subject, the common name is the first domain; with no domains, the common name when it is a DNS name.
Result<RequestSpec> check_request(const RequestFields& fields);

// A new key pair for the request (RSA keys of 4096 bits take a while: call off the I/O threads).
Result<EvpPkeyPtr> generate_request_key(const PkiContext& ctx, const RequestSpec& spec);

// The PKCS #10 request, signed with `key` (SHA-256), as PEM.
Result<std::string> make_request_pem(const PkiContext& ctx, EVP_PKEY* key, const RequestSpec& spec);

// SHA-1 of a PEM request's DER, upper-case hex: the id a pending request is known by (a thumbprint's shape).
Result<std::string> request_id(std::string_view pem);

// A pending request's private key as the agent's store keeps it (unencrypted PKCS #8 PEM, file mode 0600).
Result<EvpPkeyPtr> read_request_key(const PkiContext& ctx, std::string_view pem);

// SHA-256 of the key's SubjectPublicKeyInfo (DER), upper-case hex: the same for a key and for the public key
// of a certificate issued for it.
std::string public_key_sha256(EVP_PKEY* key);

}  // namespace certdeploy::pki
