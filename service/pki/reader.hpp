#pragma once
// Reads any certificate file an administrator hands over, by content, never by name.
//
// Order of guesses:
//   1. PEM, when the bytes hold a "-----BEGIN " line (a UTF-8 byte-order mark, CRLF line ends and text
//      around the blocks are tolerated): every CERTIFICATE, TRUSTED CERTIFICATE, PKCS7, PRIVATE KEY,
//      ENCRYPTED PRIVATE KEY and RSA/EC/DSA PRIVATE KEY block is read; other blocks are skipped.
//   2. DER PKCS #12 (.pfx/.p12, and the .cer files Exchange exports).
//   3. DER PKCS #7 (.p7b/.p7c).
//   4. DER X.509 (.cer/.crt/.der).
// The first format the bytes parse as decides; its failures (a wrong password, a damaged bag) are final.

#include <cstddef>
#include <string_view>

#include "service/error.hpp"
#include "service/pki/bundle.hpp"
#include "service/pki/pki_context.hpp"
#include "service/secret.hpp"

namespace certdeploy::pki {

inline constexpr std::size_t kMaxFileBytes = 4 * 1024 * 1024;
inline constexpr std::size_t kMaxCertificates = 100;

// `password` is null when none was given, which differs from an empty one (both are tried for files
// protected with no password or an empty one, as Windows writes both).
// Errors: too-large, unreadable-certificate, wrong-password, password-required, unsupported-algorithm,
// no-certificate, key-mismatch, ambiguous-leaf.
Result<Bundle> read_bundle(std::string_view bytes, const Secret* password, const PkiContext& ctx);

}  // namespace certdeploy::pki
