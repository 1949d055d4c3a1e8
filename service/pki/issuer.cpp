#include "service/pki/issuer.hpp"

#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "service/fs/atomic_file.hpp"
#include "service/pki/certificate.hpp"
#include "service/pki/writer.hpp"
#include "service/try.hpp"

namespace certdeploy::pki {
namespace {}  // namespace

Error crypto_failure(const std::string& what) {
    return make_error(ErrorCode::internal, "cannot " + what, drain_errors());
}

Result<EvpPkeyPtr> new_ec_key(const PkiContext& ctx) {
    EvpPkeyPtr key(EVP_PKEY_Q_keygen(ctx.libctx(), nullptr, "EC", "P-256"));
    if (!key) {
        return crypto_failure("generate a key");
    }
    return key;
}

namespace {

bool add_extension(X509* cert, X509* issuer, int nid, const char* value) {
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, issuer, cert, nullptr, nullptr, 0);
    X509ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, &v3, nid, value));
    return ext && X509_add_ext(cert, ext.get(), -1) == 1;
}

}  // namespace

Result<X509Ptr> sign_certificate(const PkiContext& ctx, const std::string& common_name, EVP_PKEY* key, X509* issuer,
                                 EVP_PKEY* issuer_key, std::chrono::seconds lifetime, std::chrono::seconds backdate,
                                 const Extensions& extensions) {
    X509Ptr cert(X509_new_ex(ctx.libctx(), nullptr));
    unsigned char serial_bytes[16];
    if (!cert || RAND_bytes_ex(ctx.libctx(), serial_bytes, sizeof serial_bytes, 0) != 1) {
        return crypto_failure("create a certificate");
    }
    serial_bytes[0] &= 0x7F;  // a positive serial number
    BignumPtr serial_bn(BN_bin2bn(serial_bytes, sizeof serial_bytes, nullptr));
    X509_NAME* name = X509_get_subject_name(cert.get());
    const bool ok =
        X509_set_version(cert.get(), X509_VERSION_3) == 1 && serial_bn &&
        BN_to_ASN1_INTEGER(serial_bn.get(), X509_get_serialNumber(cert.get())) != nullptr &&
        X509_gmtime_adj(X509_getm_notBefore(cert.get()), -static_cast<long>(backdate.count())) != nullptr &&
        X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(lifetime.count())) != nullptr &&
        X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>("certdeploy"), -1,
                                   -1, 0) == 1 &&
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1, 0) == 1 &&
        X509_set_issuer_name(cert.get(), issuer != nullptr ? X509_get_subject_name(issuer) : name) == 1 &&
        X509_set_pubkey(cert.get(), key) == 1;
    if (!ok) {
        return crypto_failure("fill in a certificate");
    }
    X509* issuer_cert = issuer != nullptr ? issuer : cert.get();
    for (const auto& [nid, value] : extensions) {
        if (!add_extension(cert.get(), issuer_cert, nid, value.c_str())) {
            return crypto_failure("add a certificate extension");
        }
    }
    if (X509_sign(cert.get(), issuer_key, EVP_sha256()) == 0) {
        return crypto_failure("sign a certificate");
    }
    return cert;
}

Result<void> save_pair(const std::filesystem::path& pem_path, const std::filesystem::path& key_path, X509* cert,
                       EVP_PKEY* key) {
    CERTDEPLOY_TRY_ASSIGN(auto key_pem, private_key_pem(key));
    // The key first: a certificate without its key would be kept by a rerun and be useless.
    CERTDEPLOY_TRY(fs::write_file_atomically(key_path, key_pem.reveal(), 0600));
    return fs::write_file_atomically(pem_path, Certificate(share(cert)).to_pem(), 0644);
}

Result<std::optional<Issued>> load_pair(const std::filesystem::path& pem_path, const std::filesystem::path& key_path) {
    std::error_code ec;
    const bool has_pem = std::filesystem::exists(pem_path, ec);
    const bool has_key = std::filesystem::exists(key_path, ec);
    if (!has_pem && !has_key) {
        return std::optional<Issued>();
    }
    if (has_pem != has_key) {
        return make_error(
            ErrorCode::invalid_request,
            (has_pem ? key_path : pem_path).string() + " is missing while its pair exists; remove both to remake it");
    }
    auto pem = fs::read_file(pem_path, 1024 * 1024);
    auto key_text = fs::read_file(key_path, 1024 * 1024);
    if (!pem || !key_text) {
        return pem ? key_text.error() : pem.error();
    }
    BioPtr pem_bio = memory_bio(pem->data(), pem->size());
    BioPtr key_bio = memory_bio(key_text->data(), key_text->size());
    Issued issued{X509Ptr(PEM_read_bio_X509(pem_bio.get(), nullptr, nullptr, nullptr)),
                  EvpPkeyPtr(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr))};
    wipe(*key_text);
    if (!issued.cert || !issued.key || X509_check_private_key(issued.cert.get(), issued.key.get()) != 1) {
        return make_error(ErrorCode::key_mismatch,
                          pem_path.string() + " and " + key_path.string() + " are not a certificate and its key",
                          drain_errors());
    }
    return std::optional<Issued>(std::move(issued));
}

Result<Issued> make_ca(const PkiContext& ctx, const std::string& common_name, std::chrono::seconds lifetime) {
    CERTDEPLOY_TRY_ASSIGN(auto key, new_ec_key(ctx));
    CERTDEPLOY_TRY_ASSIGN(
        auto cert, sign_certificate(ctx, common_name, key.get(), nullptr, key.get(), lifetime, std::chrono::hours(24),
                                    {{NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
                                     {NID_key_usage, "critical,keyCertSign,cRLSign"},
                                     {NID_subject_key_identifier, "hash"}}));
    return Issued{std::move(cert), std::move(key)};
}

Result<X509Ptr> issue_leaf(const PkiContext& ctx, const Issued& ca, const std::string& common_name,
                           EVP_PKEY* subject_key, const std::string& usage, const std::string& san,
                           std::chrono::seconds lifetime, std::chrono::seconds backdate) {
    Extensions extensions = {{NID_basic_constraints, "critical,CA:FALSE"},
                             {NID_key_usage, "critical,digitalSignature"},
                             {NID_ext_key_usage, usage},
                             {NID_subject_key_identifier, "hash"},
                             {NID_authority_key_identifier, "keyid:always"}};
    if (!san.empty()) {
        extensions.emplace_back(NID_subject_alt_name, san);
    }
    return sign_certificate(ctx, common_name, subject_key, ca.cert.get(), ca.key.get(), lifetime, backdate, extensions);
}

Result<std::string> make_csr_pem(const PkiContext& ctx, EVP_PKEY* key, const std::string& common_name) {
    X509ReqPtr req(X509_REQ_new_ex(ctx.libctx(), nullptr));
    if (!req) {
        return crypto_failure("create a certificate request");
    }
    X509_NAME* name = X509_REQ_get_subject_name(req.get());
    const bool ok =
        X509_REQ_set_version(req.get(), X509_REQ_VERSION_1) == 1 &&
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1, 0) == 1 &&
        X509_REQ_set_pubkey(req.get(), key) == 1 && X509_REQ_sign(req.get(), key, EVP_sha256()) != 0;
    if (!ok) {
        return crypto_failure("sign a certificate request");
    }
    BioPtr out(BIO_new(BIO_s_mem()));
    if (!out || PEM_write_bio_X509_REQ(out.get(), req.get()) != 1) {
        return crypto_failure("write a certificate request");
    }
    char* data = nullptr;
    const long length = BIO_get_mem_data(out.get(), &data);
    return std::string(data, static_cast<std::size_t>(length));
}

Result<EvpPkeyPtr> csr_public_key(const PkiContext& ctx, std::string_view pem) {
    ScopedDefaultContext scope(ctx);
    BioPtr in = memory_bio(pem.data(), pem.size());
    X509ReqPtr req(PEM_read_bio_X509_REQ(in.get(), nullptr, nullptr, nullptr));
    if (!req) {
        return make_error(ErrorCode::invalid_request, "\"csr\" is not a PEM certificate request", drain_errors());
    }
    EvpPkeyPtr key(X509_REQ_get_pubkey(req.get()));
    if (!key || X509_REQ_verify(req.get(), key.get()) != 1) {
        return make_error(ErrorCode::invalid_request, "the certificate request's signature does not hold",
                          drain_errors());
    }
    return key;
}

}  // namespace certdeploy::pki
