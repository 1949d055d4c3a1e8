#pragma once
// Every OpenSSL handle certdeploy touches is owned by one of these from the instant it exists.

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pkcs12.h>
#include <openssl/pkcs7.h>
#include <openssl/provider.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

namespace certdeploy::pki {

template <class T, void (*Free)(T*)>
struct OsslDeleter {
    void operator()(T* p) const noexcept { Free(p); }
};

template <class T, void (*Free)(T*)>
using OsslPtr = std::unique_ptr<T, OsslDeleter<T, Free>>;

inline void free_x509_stack(STACK_OF(X509) * s) {
    sk_X509_pop_free(s, X509_free);
}
inline void free_safebag_stack(STACK_OF(PKCS12_SAFEBAG) * s) {
    sk_PKCS12_SAFEBAG_pop_free(s, PKCS12_SAFEBAG_free);
}
inline void free_pkcs7_stack(STACK_OF(PKCS7) * s) {
    sk_PKCS7_pop_free(s, PKCS7_free);
}
inline void free_openssl_string(char* s) {
    OPENSSL_free(s);
}
inline void free_openssl_bytes(unsigned char* s) {
    OPENSSL_free(s);
}
inline void free_general_names(GENERAL_NAMES* s) {
    GENERAL_NAMES_free(s);
}
inline void free_bio(BIO* b) {
    BIO_free_all(b);
}
inline void free_provider(OSSL_PROVIDER* p) {
    OSSL_PROVIDER_unload(p);
}

using BioPtr = OsslPtr<BIO, free_bio>;
using X509Ptr = OsslPtr<X509, X509_free>;
using X509StackPtr = OsslPtr<STACK_OF(X509), free_x509_stack>;
using X509StorePtr = OsslPtr<X509_STORE, X509_STORE_free>;
using X509StoreCtxPtr = OsslPtr<X509_STORE_CTX, X509_STORE_CTX_free>;
using X509NamePtr = OsslPtr<X509_NAME, X509_NAME_free>;
using X509ExtensionPtr = OsslPtr<X509_EXTENSION, X509_EXTENSION_free>;
using X509SigPtr = OsslPtr<X509_SIG, X509_SIG_free>;
using X509ReqPtr = OsslPtr<X509_REQ, X509_REQ_free>;
using EvpPkeyPtr = OsslPtr<EVP_PKEY, EVP_PKEY_free>;
using EvpPkeyCtxPtr = OsslPtr<EVP_PKEY_CTX, EVP_PKEY_CTX_free>;
using EvpMdPtr = OsslPtr<EVP_MD, EVP_MD_free>;
using Pkcs12Ptr = OsslPtr<PKCS12, PKCS12_free>;
using Pkcs7Ptr = OsslPtr<PKCS7, PKCS7_free>;
using Pkcs7StackPtr = OsslPtr<STACK_OF(PKCS7), free_pkcs7_stack>;
using SafeBagStackPtr = OsslPtr<STACK_OF(PKCS12_SAFEBAG), free_safebag_stack>;
using Pkcs8Ptr = OsslPtr<PKCS8_PRIV_KEY_INFO, PKCS8_PRIV_KEY_INFO_free>;
using Asn1IntegerPtr = OsslPtr<ASN1_INTEGER, ASN1_INTEGER_free>;
using Asn1TimePtr = OsslPtr<ASN1_TIME, ASN1_TIME_free>;
using BignumPtr = OsslPtr<BIGNUM, BN_free>;
using GeneralNamesPtr = OsslPtr<GENERAL_NAMES, free_general_names>;
using LibCtxPtr = OsslPtr<OSSL_LIB_CTX, OSSL_LIB_CTX_free>;
using ProviderPtr = OsslPtr<OSSL_PROVIDER, free_provider>;
using OpensslStringPtr = OsslPtr<char, free_openssl_string>;
using OpensslBytesPtr = OsslPtr<unsigned char, free_openssl_bytes>;

// Takes another reference on `cert` (X509_up_ref) and owns it.
X509Ptr share(X509* cert);
EvpPkeyPtr share(EVP_PKEY* key);

// This thread's OpenSSL error queue, emptied: the codes to decide on, the text for the debug log.
struct ErrorQueue {
    std::vector<unsigned long> codes;
    std::string text;  // "error:...; error:..."
    bool has_reason(std::initializer_list<int> reasons) const;
};
ErrorQueue take_errors();
// Empties the queue into one line of text, for the debug log.
std::string drain_errors();
// The reason code of the most recent error still queued (0 if none), leaving the queue as it is.
int last_error_reason() noexcept;
int last_error_library() noexcept;

// A read-only memory BIO over `data`; the bytes must outlive it.
BioPtr memory_bio(const void* data, std::size_t size);
// The bytes written to a memory BIO so far.
std::string bio_contents(BIO* bio);

}  // namespace certdeploy::pki
