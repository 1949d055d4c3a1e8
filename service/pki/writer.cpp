#include "service/pki/writer.hpp"

#include <openssl/pem.h>

namespace certdeploy::pki {
namespace {

constexpr int kIterations = 2048;  // OpenSSL 3's default; Windows uses 2000

}  // namespace

bool parse_profile(std::string_view text, Pkcs12Profile& out) noexcept {
    if (text == "modern") {
        out = Pkcs12Profile::modern;
        return true;
    }
    if (text == "legacy") {
        out = Pkcs12Profile::legacy;
        return true;
    }
    return false;
}

Result<std::string> write_pkcs12(const Bundle& bundle, const Secret& password, Pkcs12Profile profile,
                                 const PkiContext& ctx) {
    ScopedDefaultContext scope(ctx);
    X509StackPtr chain(sk_X509_new_null());
    for (const auto& cert : bundle.chain) {
        sk_X509_push(chain.get(), share(cert.get()).release());
    }
    const int nid = profile == Pkcs12Profile::modern ? NID_aes_256_cbc : NID_pbe_WithSHA1And3_Key_TripleDES_CBC;
    const char* name = bundle.friendly_name.empty() ? nullptr : bundle.friendly_name.c_str();
    // mac_iter -1: no MAC yet; it is added below with the digest the profile asks for.
    Pkcs12Ptr p12(PKCS12_create_ex(password.c_str(), name, bundle.key.get(), bundle.leaf.get(), chain.get(), nid, nid,
                                   kIterations, -1, 0, ctx.libctx(), nullptr));
    if (!p12) {
        return make_error(ErrorCode::internal, "cannot build the PKCS #12 file", drain_errors());
    }
    EvpMdPtr md(EVP_MD_fetch(ctx.libctx(), profile == Pkcs12Profile::modern ? "SHA256" : "SHA1", nullptr));
    if (!md || PKCS12_set_mac(p12.get(), password.c_str(), static_cast<int>(password.size()), nullptr, 0, kIterations,
                              md.get()) != 1) {
        return make_error(ErrorCode::internal, "cannot protect the PKCS #12 file with a MAC", drain_errors());
    }
    unsigned char* der = nullptr;
    const int len = i2d_PKCS12(p12.get(), &der);
    if (len <= 0) {
        return make_error(ErrorCode::internal, "cannot encode the PKCS #12 file", drain_errors());
    }
    OpensslBytesPtr owned(der);
    return std::string(reinterpret_cast<const char*>(der), static_cast<std::size_t>(len));
}

Result<Secret> private_key_pem(EVP_PKEY* key) {
    BioPtr bio(BIO_new(BIO_s_secmem()));
    if (!bio || PEM_write_bio_PKCS8PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
        return make_error(ErrorCode::internal, "cannot encode the private key", drain_errors());
    }
    char* data = nullptr;
    const long size = BIO_get_mem_data(bio.get(), &data);
    return Secret(std::string_view(data, static_cast<std::size_t>(size)));
}

Result<PemTexts> write_pem(const Bundle& bundle) {
    PemTexts texts;
    texts.certificate = bundle.leaf.to_pem();
    for (const auto& cert : bundle.chain) {
        texts.chain += cert.to_pem();
    }
    if (bundle.key) {
        auto key = private_key_pem(bundle.key.get());
        if (!key) {
            return key.error();
        }
        texts.key = std::move(*key);
    }
    return texts;
}

}  // namespace certdeploy::pki
