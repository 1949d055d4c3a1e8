#include "service/pki/reader.hpp"

#include <openssl/err.h>

#include <algorithm>

#include "service/pki/contents.hpp"

namespace certdeploy::pki {

std::string_view format_name(Format format) noexcept {
    switch (format) {
        case Format::pkcs12:
            return "pkcs12";
        case Format::pkcs7:
            return "pkcs7";
        case Format::pem:
            return "pem";
        case Format::der:
            return "der";
    }
    return "der";
}

namespace detail {

Error unreadable(std::string message) {
    return make_error(ErrorCode::unreadable_certificate, std::move(message), drain_errors());
}

Error bad_password(const Secret* password, std::string_view what) {
    return bad_password(password, what, drain_errors());
}

bool says_unsupported(const ErrorQueue& errors) {
    return errors.has_reason(
        {EVP_R_UNSUPPORTED_CIPHER, EVP_R_UNKNOWN_PBE_ALGORITHM, EVP_R_UNSUPPORTED_KEY_DERIVATION_FUNCTION,
         EVP_R_UNSUPPORTED_PRF, EVP_R_UNSUPPORTED_ALGORITHM, ERR_R_UNSUPPORTED, PKCS12_R_UNKNOWN_DIGEST_ALGORITHM,
         EVP_R_UNKNOWN_CIPHER, EVP_R_UNKNOWN_DIGEST, ERR_R_FETCH_FAILED, EVP_R_UNSUPPORTED_KEYLENGTH});
}

Error bad_password(const Secret* password, std::string_view what, std::string detail) {
    if (password == nullptr) {
        return make_error(ErrorCode::password_required,
                          std::string(what) + " is protected by a password; none was given", std::move(detail));
    }
    return make_error(ErrorCode::wrong_password, "the password does not open " + std::string(what), std::move(detail));
}

Result<Contents> read_pkcs7(PKCS7* p7, Format format) {
    Contents contents;
    contents.format = format;
    if (PKCS7_type_is_signed(p7) == 0 || p7->d.sign == nullptr) {
        return make_error(ErrorCode::no_certificate, "the PKCS #7 file holds no certificates (it is not a chain file)");
    }
    STACK_OF(X509)* certs = p7->d.sign->cert;
    for (int i = 0; certs != nullptr && i < sk_X509_num(certs); ++i) {
        contents.certs.push_back({Certificate(share(sk_X509_value(certs, i))), {}, {}});
    }
    return contents;
}

}  // namespace detail

namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

bool is_blank(std::string_view bytes) {
    return std::all_of(bytes.begin(), bytes.end(),
                       [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; });
}

// Why DER that parsed as nothing failed: a SEQUENCE whose declared length runs past the end was cut short.
Error diagnose_der(std::string_view bytes) {
    drain_errors();
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
    long length = 0;
    int tag = 0;
    int klass = 0;
    const int flags = ASN1_get_object(&p, &length, &tag, &klass, static_cast<long>(bytes.size()));
    drain_errors();
    if ((flags & 0x80) == 0 && tag == V_ASN1_SEQUENCE && klass == V_ASN1_UNIVERSAL) {
        const auto header = static_cast<std::size_t>(p - reinterpret_cast<const unsigned char*>(bytes.data()));
        if (header + static_cast<std::size_t>(length) > bytes.size()) {
            return detail::unreadable("the file is truncated: it ends before its own declared length");
        }
        return detail::unreadable("the file is damaged: it is DER but neither PKCS #12, PKCS #7 nor X.509");
    }
    if ((flags & 0x80) != 0 && !bytes.empty() && static_cast<unsigned char>(bytes[0]) == 0x30) {
        return detail::unreadable("the file is truncated: it ends before its own declared length");
    }
    return detail::unreadable("the file is not a certificate: expected PEM, PKCS #12, PKCS #7 or X.509 DER");
}

Result<detail::Contents> read_der(std::string_view bytes, const Secret* password, const PkiContext& ctx) {
    const auto* begin = reinterpret_cast<const unsigned char*>(bytes.data());
    const auto size = static_cast<long>(bytes.size());

    const unsigned char* p = begin;
    if (Pkcs12Ptr p12(d2i_PKCS12(nullptr, &p, size)); p12) {
        return detail::read_pkcs12(p12.get(), password, ctx);
    }
    drain_errors();
    p = begin;
    if (Pkcs7Ptr p7(d2i_PKCS7(nullptr, &p, size)); p7) {
        return detail::read_pkcs7(p7.get(), Format::pkcs7);
    }
    drain_errors();
    p = begin;
    if (X509Ptr x509(d2i_X509(nullptr, &p, size)); x509) {
        detail::Contents contents;
        contents.format = Format::der;
        contents.certs.push_back({Certificate(std::move(x509)), {}, {}});
        return contents;
    }
    return diagnose_der(bytes);
}

}  // namespace

Result<Bundle> read_bundle(std::string_view bytes, const Secret* password, const PkiContext& ctx) {
    ScopedDefaultContext scope(ctx);  // PKCS #12 decryption has no library-context parameter in OpenSSL 3.0
    drain_errors();
    if (bytes.size() > kMaxFileBytes) {
        return make_error(ErrorCode::too_large, "the file is larger than " +
                                                    std::to_string(kMaxFileBytes / 1024 / 1024) +
                                                    " MiB; certificate files are a few KiB");
    }
    if (bytes.substr(0, kBom.size()) == kBom) {
        bytes.remove_prefix(kBom.size());
    }
    if (is_blank(bytes)) {
        return make_error(ErrorCode::unreadable_certificate, "the file is empty");
    }
    auto contents = bytes.find("-----BEGIN ") != std::string_view::npos ? detail::read_pem(bytes, password, ctx)
                                                                        : read_der(bytes, password, ctx);
    if (!contents) {
        return contents.error();
    }
    if (contents->certs.size() > kMaxCertificates) {
        return make_error(ErrorCode::too_large, "the file holds " + std::to_string(contents->certs.size()) +
                                                    " certificates; at most " + std::to_string(kMaxCertificates) +
                                                    " are accepted");
    }
    auto bundle = detail::normalise(std::move(*contents));
    drain_errors();
    return bundle;
}

}  // namespace certdeploy::pki
