#include "service/pki/ossl.hpp"

#include <openssl/err.h>

namespace certdeploy::pki {

X509Ptr share(X509* cert) {
    if (cert != nullptr) {
        X509_up_ref(cert);
    }
    return X509Ptr(cert);
}

EvpPkeyPtr share(EVP_PKEY* key) {
    if (key != nullptr) {
        EVP_PKEY_up_ref(key);
    }
    return EvpPkeyPtr(key);
}

ErrorQueue take_errors() {
    ErrorQueue queue;
    while (unsigned long code = ERR_get_error()) {
        char text[256];
        ERR_error_string_n(code, text, sizeof text);
        queue.text += (queue.text.empty() ? "" : "; ") + std::string(text);
        queue.codes.push_back(code);
    }
    return queue;
}

bool ErrorQueue::has_reason(std::initializer_list<int> reasons) const {
    for (unsigned long code : codes) {
        for (int reason : reasons) {
            if (ERR_GET_REASON(code) == reason) {
                return true;
            }
        }
    }
    return false;
}

std::string drain_errors() {
    return take_errors().text;
}

int last_error_reason() noexcept {
    return ERR_GET_REASON(ERR_peek_last_error());
}
int last_error_library() noexcept {
    return ERR_GET_LIB(ERR_peek_last_error());
}

BioPtr memory_bio(const void* data, std::size_t size) {
    return BioPtr(BIO_new_mem_buf(data, static_cast<int>(size)));
}

std::string bio_contents(BIO* bio) {
    char* data = nullptr;
    const long size = BIO_get_mem_data(bio, &data);
    return size > 0 ? std::string(data, static_cast<std::size_t>(size)) : std::string();
}

}  // namespace certdeploy::pki
