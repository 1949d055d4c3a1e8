#pragma once
// An X.509 certificate as a value: copies share the OpenSSL object (reference-counted), and the
// fingerprints are computed once, when it is made.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "service/pki/ossl.hpp"

namespace certdeploy::pki {

class Certificate {
  public:
    explicit Certificate(X509Ptr cert);  // takes ownership; cert must not be null
    Certificate(const Certificate& other);
    Certificate& operator=(const Certificate& other);
    Certificate(Certificate&&) noexcept = default;
    Certificate& operator=(Certificate&&) noexcept = default;
    ~Certificate() = default;

    X509* get() const noexcept { return cert_.get(); }

    // SHA-1 of the DER, upper-case hex without separators, as Exchange's Thumbprint.
    const std::string& thumbprint() const noexcept { return thumbprint_; }
    const std::string& sha256_fingerprint() const noexcept { return sha256_; }
    std::string subject() const;  // "CN=mail.contoso.com, O=Contoso, C=US"
    std::string issuer() const;
    std::string common_name() const;    // the last CN of the subject, empty when none
    std::string serial_number() const;  // upper-case hex
    // SAN DNS names, then the CN when it is not among them (Exchange's CertificateDomains).
    std::vector<std::string> domains() const;
    std::chrono::system_clock::time_point not_before() const;
    std::chrono::system_clock::time_point not_after() const;
    bool is_self_signed() const;
    // True when this certificate's subject and key identifier match `child`'s issuer (no signature check).
    bool issued(const Certificate& child) const;
    bool matches_key(EVP_PKEY* key) const;

    std::string to_pem() const;
    std::string to_der() const;

    friend bool operator==(const Certificate& a, const Certificate& b) { return a.sha256_ == b.sha256_; }

  private:
    X509Ptr cert_;
    std::string thumbprint_;
    std::string sha256_;
};

std::string upper_hex(const unsigned char* data, std::size_t size);

}  // namespace certdeploy::pki
