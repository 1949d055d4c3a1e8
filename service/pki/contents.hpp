#pragma once
// Internal to the reader: everything a file held, before the leaf and chain are chosen.

#include <string>
#include <vector>

#include "service/error.hpp"
#include "service/pki/bundle.hpp"
#include "service/pki/pki_context.hpp"
#include "service/secret.hpp"

namespace certdeploy::pki::detail {

struct FoundCertificate {
    Certificate cert;
    std::string friendly_name;
    std::string local_key_id;  // raw bytes of the localKeyId attribute
};

struct FoundKey {
    EvpPkeyPtr key;
    std::string friendly_name;
    std::string local_key_id;
};

struct Contents {
    Format format = Format::der;
    std::vector<FoundCertificate> certs;
    std::vector<FoundKey> keys;
};

Result<Contents> read_pem(std::string_view text, const Secret* password, const PkiContext& ctx);
// Null PKCS12 means the bytes are not DER PKCS #12 at all (the next guess is tried).
Result<Contents> read_pkcs12(PKCS12* p12, const Secret* password, const PkiContext& ctx);
// Certificates of a PKCS #7 SignedData.
Result<Contents> read_pkcs7(PKCS7* p7, Format format);

// Picks the leaf, orders the chain, drops duplicates.
Result<Bundle> normalise(Contents contents);

// Error helpers shared by the readers; `detail` takes OpenSSL's queue.
Error unreadable(std::string message);
Error bad_password(const Secret* password, std::string_view what);
Error bad_password(const Secret* password, std::string_view what, std::string detail);
// The reasons by which OpenSSL says an algorithm is unknown or not available (rather than a bad input).
bool says_unsupported(const ErrorQueue& errors);

}  // namespace certdeploy::pki::detail
