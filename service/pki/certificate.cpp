#include "service/pki/certificate.hpp"

#include <openssl/pem.h>

#include <algorithm>
#include <ctime>
#include <stdexcept>

namespace certdeploy::pki {
namespace {

std::string digest(X509* cert, const EVP_MD* md) {
    unsigned char buf[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (X509_digest(cert, md, buf, &len) != 1) {
        drain_errors();
        return {};
    }
    return upper_hex(buf, len);
}

std::string name_text(const X509_NAME* name) {
    BioPtr bio(BIO_new(BIO_s_mem()));
    // RFC 2253 order (most specific first), ", " between parts, UTF-8 kept rather than escaped.
    const unsigned long flags = (XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB & ~XN_FLAG_SEP_MASK) | XN_FLAG_SEP_CPLUS_SPC;
    if (X509_NAME_print_ex(bio.get(), name, 0, flags) < 0) {
        drain_errors();
        return {};
    }
    return bio_contents(bio.get());
}

std::chrono::system_clock::time_point to_time_point(const ASN1_TIME* time) {
    std::tm tm{};
    if (time == nullptr || ASN1_TIME_to_tm(time, &tm) != 1) {
        drain_errors();
        return {};
    }
    // A time_point counts nanoseconds in 64 bits (years 1678 to 2261): a date beyond, such as RFC 5280's "no
    // expiry" 99991231235959Z, is held as the nearest one it can hold instead of overflowing it (undefined
    // behaviour, which tests/fuzz/reader_fuzz.cpp reports for such a certificate).
    using std::chrono::duration_cast;
    using std::chrono::seconds;
    using std::chrono::system_clock;
    return system_clock::from_time_t(
        std::clamp<std::time_t>(timegm(&tm), duration_cast<seconds>(system_clock::duration::min()).count(),
                                duration_cast<seconds>(system_clock::duration::max()).count()));
}

}  // namespace

std::string upper_hex(const unsigned char* data, std::size_t size) {
    static constexpr char kDigits[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(size * 2);
    for (std::size_t i = 0; i < size; ++i) {
        out += kDigits[data[i] >> 4];
        out += kDigits[data[i] & 0x0F];
    }
    return out;
}

Certificate::Certificate(X509Ptr cert) : cert_(std::move(cert)) {
    if (!cert_) {
        throw std::invalid_argument("Certificate from a null X509");
    }
    thumbprint_ = digest(cert_.get(), EVP_sha1());
    sha256_ = digest(cert_.get(), EVP_sha256());
}

Certificate::Certificate(const Certificate& other)
    : cert_(share(other.cert_.get())), thumbprint_(other.thumbprint_), sha256_(other.sha256_) {}

Certificate& Certificate::operator=(const Certificate& other) {
    if (this != &other) {
        cert_ = share(other.cert_.get());
        thumbprint_ = other.thumbprint_;
        sha256_ = other.sha256_;
    }
    return *this;
}

std::string Certificate::subject() const {
    return name_text(X509_get_subject_name(cert_.get()));
}
std::string Certificate::issuer() const {
    return name_text(X509_get_issuer_name(cert_.get()));
}

std::string Certificate::common_name() const {
    const X509_NAME* name = X509_get_subject_name(cert_.get());
    int index = -1;
    int last = -1;
    while ((index = X509_NAME_get_index_by_NID(name, NID_commonName, index)) >= 0) {
        last = index;
    }
    if (last < 0) {
        return {};
    }
    unsigned char* utf8 = nullptr;
    const int len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, last)));
    if (len < 0) {
        drain_errors();
        return {};
    }
    OpensslBytesPtr owned(utf8);
    return std::string(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(len));
}

std::string Certificate::serial_number() const {
    BignumPtr bn(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert_.get()), nullptr));
    if (!bn) {
        drain_errors();
        return {};
    }
    OpensslStringPtr hex(BN_bn2hex(bn.get()));
    return hex ? std::string(hex.get()) : std::string();
}

std::vector<std::string> Certificate::domains() const {
    std::vector<std::string> out;
    GeneralNamesPtr names(
        static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert_.get(), NID_subject_alt_name, nullptr, nullptr)));
    if (names) {
        for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
            const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names.get(), i);
            if (gn->type == GEN_DNS) {
                const ASN1_IA5STRING* dns = gn->d.dNSName;
                out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(dns)),
                                 static_cast<std::size_t>(ASN1_STRING_length(dns)));
            }
        }
    }
    const auto cn = common_name();
    if (!cn.empty() && std::find(out.begin(), out.end(), cn) == out.end()) {
        out.push_back(cn);
    }
    return out;
}

std::chrono::system_clock::time_point Certificate::not_before() const {
    return to_time_point(X509_get0_notBefore(cert_.get()));
}
std::chrono::system_clock::time_point Certificate::not_after() const {
    return to_time_point(X509_get0_notAfter(cert_.get()));
}

bool Certificate::is_self_signed() const {
    const int result = X509_self_signed(cert_.get(), 0);
    drain_errors();
    return result == 1;
}

bool Certificate::issued(const Certificate& child) const {
    // Names, key identifiers and key usage; the signature itself is checked when the status is evaluated.
    const bool result = X509_check_issued(cert_.get(), child.get()) == X509_V_OK;
    drain_errors();
    return result;
}

bool Certificate::matches_key(EVP_PKEY* key) const {
    EVP_PKEY* pub = X509_get0_pubkey(cert_.get());
    const bool same = pub != nullptr && key != nullptr && EVP_PKEY_eq(pub, key) == 1;
    drain_errors();
    return same;
}

std::string Certificate::to_pem() const {
    BioPtr bio(BIO_new(BIO_s_mem()));
    PEM_write_bio_X509(bio.get(), cert_.get());
    return bio_contents(bio.get());
}

std::string Certificate::to_der() const {
    unsigned char* der = nullptr;
    const int len = i2d_X509(cert_.get(), &der);
    if (len <= 0) {
        drain_errors();
        return {};
    }
    OpensslBytesPtr owned(der);
    return std::string(reinterpret_cast<const char*>(der), static_cast<std::size_t>(len));
}

}  // namespace certdeploy::pki
