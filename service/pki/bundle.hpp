#pragma once
// What a certificate file holds once read and normalised: the leaf, its chain leaf-to-root, and the
// private key when the file has one.

#include <string>
#include <string_view>
#include <vector>

#include "service/pki/certificate.hpp"

namespace certdeploy::pki {

enum class Format { pkcs12, pkcs7, pem, der };
std::string_view format_name(Format format) noexcept;  // "pkcs12", "pkcs7", "pem", "der"

struct Bundle {
    Certificate leaf;
    std::vector<Certificate> chain;  // the leaf's issuer first, up to the root; then any unrelated extras
    EvpPkeyPtr key;                  // null when the file holds none
    std::string friendly_name;       // PKCS #12 friendlyName of the leaf or its key, else empty
    Format format = Format::der;
};

}  // namespace certdeploy::pki
