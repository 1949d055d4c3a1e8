#include "service/pki/trust.hpp"

#include <openssl/pem.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "service/fs/atomic_file.hpp"
#include "service/pki/reader.hpp"

namespace certdeploy::pki {
namespace {

// Collects every verification error instead of stopping at the first, so that an expired certificate
// under an untrusted root is reported as DateInvalid whichever check OpenSSL happens to run first.
int collect_errors(int ok, X509_STORE_CTX* ctx) {
    if (ok == 0) {
        auto* errors = static_cast<std::vector<int>*>(X509_STORE_CTX_get_ex_data(ctx, 0));
        errors->push_back(X509_STORE_CTX_get_error(ctx));
    }
    return 1;
}

Status classify(const std::vector<int>& errors) {
    bool untrusted = false;
    bool dates = false;
    bool invalid = false;
    for (int error : errors) {
        switch (error) {
            case X509_V_ERR_CERT_NOT_YET_VALID:
            case X509_V_ERR_CERT_HAS_EXPIRED:
            case X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD:
            case X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD:
                dates = true;
                break;
            case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
            case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
            case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
            case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
            case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
            case X509_V_ERR_CERT_UNTRUSTED:
                untrusted = true;
                break;
            default:
                invalid = true;  // bad signatures, weak or undecodable keys, CA misuse, path length
                break;
        }
    }
    if (invalid) {
        return Status::invalid;
    }
    if (dates) {
        return Status::date_invalid;
    }
    return untrusted ? Status::untrusted : Status::valid;
}

}  // namespace

std::string_view status_name(Status status) noexcept {
    switch (status) {
        case Status::valid:
            return "Valid";
        case Status::untrusted:
            return "Untrusted";
        case Status::date_invalid:
            return "DateInvalid";
        case Status::invalid:
            return "Invalid";
    }
    return "Invalid";
}

bool parse_status(std::string_view text, Status& out) noexcept {
    for (Status s : {Status::valid, Status::untrusted, Status::date_invalid, Status::invalid}) {
        const auto name = status_name(s);
        if (name.size() == text.size() && std::equal(name.begin(), name.end(), text.begin(), [](char a, char b) {
                return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
            })) {
            out = s;
            return true;
        }
    }
    return false;
}

TrustStore::TrustStore(std::shared_ptr<const PkiContext> ctx, X509StorePtr store)
    : ctx_(std::move(ctx)), store_(std::move(store)) {}

Result<std::shared_ptr<const TrustStore>> TrustStore::create(std::shared_ptr<const PkiContext> ctx,
                                                             const std::vector<std::filesystem::path>& ca_files,
                                                             bool use_system_roots) {
    X509StorePtr store(X509_STORE_new());
    if (!store) {
        return make_error(ErrorCode::internal, "cannot create a certificate store", drain_errors());
    }
    if (use_system_roots) {
        // The hashed directory (Debian's /etc/ssl/certs, or $SSL_CERT_DIR) is searched lazily, per issuer,
        // where X509_STORE_set_default_paths would also parse the whole CA bundle file up front (~24 ms).
        X509_LOOKUP* lookup = X509_STORE_add_lookup(store.get(), X509_LOOKUP_hash_dir());
        const char* env_dir = std::getenv(X509_get_default_cert_dir_env());  // NOLINT(concurrency-mt-unsafe)
        const char* dir = env_dir != nullptr ? env_dir : X509_get_default_cert_dir();
        if (lookup == nullptr || X509_LOOKUP_add_dir(lookup, dir, X509_FILETYPE_PEM) != 1) {
            drain_errors();  // no system roots installed: only the extra CA files are trusted
        }
    }
    for (const auto& file : ca_files) {
        auto text = fs::read_file(file, kMaxFileBytes);
        if (!text) {
            return make_error(ErrorCode::io_error, "cannot read the CA file " + file.string(), text.error().message);
        }
        const std::string& pem = *text;
        BioPtr bio = memory_bio(pem.data(), pem.size());
        int added = 0;
        while (X509Ptr cert{PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)}) {
            if (X509_STORE_add_cert(store.get(), cert.get()) == 1) {
                ++added;
            }
        }
        drain_errors();
        if (added == 0) {
            return make_error(ErrorCode::unreadable_certificate,
                              "the CA file " + file.string() + " holds no PEM certificate");
        }
    }
    return std::make_shared<const TrustStore>(std::move(ctx), std::move(store));
}

Status TrustStore::evaluate(const Bundle& bundle, std::chrono::system_clock::time_point now) const {
    ScopedDefaultContext scope(*ctx_);
    X509StackPtr untrusted(sk_X509_new_null());
    for (const auto& cert : bundle.chain) {
        sk_X509_push(untrusted.get(), share(cert.get()).release());
    }
    X509StoreCtxPtr verify(X509_STORE_CTX_new_ex(ctx_->libctx(), nullptr));
    std::vector<int> errors;
    if (!verify || X509_STORE_CTX_init(verify.get(), store_.get(), bundle.leaf.get(), untrusted.get()) != 1) {
        drain_errors();
        return Status::invalid;
    }
    X509_STORE_CTX_set_ex_data(verify.get(), 0, &errors);
    X509_STORE_CTX_set_verify_cb(verify.get(), collect_errors);
    X509_STORE_CTX_set_time(verify.get(), 0, std::chrono::system_clock::to_time_t(now));
    if (X509_verify_cert(verify.get()) != 1 && errors.empty()) {
        errors.push_back(X509_STORE_CTX_get_error(verify.get()));
    }
    drain_errors();
    return classify(errors);
}

}  // namespace certdeploy::pki
