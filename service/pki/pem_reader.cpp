// PEM: every block in the text, in order. Text around the blocks and CRLF line ends are tolerated by
// OpenSSL's own PEM parser; the byte-order mark was stripped by read_bundle.

#include <openssl/err.h>
#include <openssl/pem.h>

#include <cstring>

#include "service/pki/contents.hpp"

namespace certdeploy::pki::detail {
namespace {

struct Block {
    OpensslStringPtr name;
    OpensslStringPtr header;
    OpensslBytesPtr data;
    long length = 0;

    ~Block() {
        if (data && length > 0) {
            OPENSSL_cleanse(data.get(), static_cast<std::size_t>(length));  // may hold a private key
        }
    }
};

// OpenSSL's password callback: hands over the password when there is one, refuses otherwise.
int password_callback(char* buf, int size, int /*rwflag*/, void* user) {
    const auto* password = static_cast<const Secret*>(user);
    if (password == nullptr || static_cast<int>(password->size()) > size) {
        return -1;
    }
    std::memcpy(buf, password->c_str(), password->size());
    return static_cast<int>(password->size());
}

Result<EvpPkeyPtr> read_pkcs8(const unsigned char* der, long length, const PkiContext& ctx) {
    Pkcs8Ptr p8(d2i_PKCS8_PRIV_KEY_INFO(nullptr, &der, length));
    if (!p8) {
        return unreadable("a PRIVATE KEY block is damaged");
    }
    EvpPkeyPtr key(EVP_PKCS82PKEY_ex(p8.get(), ctx.libctx(), nullptr));
    if (!key) {
        return make_error(ErrorCode::unsupported_algorithm, "a private key uses an algorithm certdeploy cannot read",
                          drain_errors());
    }
    return key;
}

Result<EvpPkeyPtr> read_encrypted_pkcs8(const unsigned char* der, long length, const Secret* password,
                                        const PkiContext& ctx) {
    X509SigPtr sig(d2i_X509_SIG(nullptr, &der, length));
    if (!sig) {
        return unreadable("an ENCRYPTED PRIVATE KEY block is damaged");
    }
    if (password == nullptr) {
        return bad_password(password, "the encrypted private key");
    }
    Pkcs8Ptr p8(
        PKCS8_decrypt_ex(sig.get(), password->c_str(), static_cast<int>(password->size()), ctx.libctx(), nullptr));
    if (!p8) {
        auto errors = take_errors();
        if (says_unsupported(errors)) {
            return make_error(ErrorCode::unsupported_algorithm,
                              "the private key is encrypted with an algorithm certdeploy cannot read",
                              std::move(errors.text));
        }
        return bad_password(password, "the encrypted private key", std::move(errors.text));
    }
    EvpPkeyPtr key(EVP_PKCS82PKEY_ex(p8.get(), ctx.libctx(), nullptr));
    if (!key) {
        return make_error(ErrorCode::unsupported_algorithm, "a private key uses an algorithm certdeploy cannot read",
                          drain_errors());
    }
    return key;
}

// "RSA PRIVATE KEY" and friends, possibly encrypted the old OpenSSL way (Proc-Type: 4,ENCRYPTED).
Result<EvpPkeyPtr> read_traditional(Block& block, const Secret* password, const PkiContext& ctx) {
    const bool encrypted = block.header && std::strstr(block.header.get(), "ENCRYPTED") != nullptr;
    if (encrypted) {
        EVP_CIPHER_INFO cipher;
        if (PEM_get_EVP_CIPHER_INFO(block.header.get(), &cipher) == 0) {
            return make_error(ErrorCode::unsupported_algorithm,
                              "the private key is encrypted with an algorithm certdeploy cannot read", drain_errors());
        }
        if (password == nullptr) {
            return bad_password(password, "the encrypted private key");
        }
        if (PEM_do_header(&cipher, block.data.get(), &block.length, password_callback, const_cast<Secret*>(password)) ==
            0) {
            return bad_password(password, "the encrypted private key");
        }
    }
    const unsigned char* p = block.data.get();
    EvpPkeyPtr key(d2i_AutoPrivateKey_ex(nullptr, &p, block.length, ctx.libctx(), nullptr));
    if (!key) {
        // Decrypted with a wrong password, old-style PEM encryption yields garbage rather than a padding error.
        if (encrypted) {
            return bad_password(password, "the encrypted private key");
        }
        return unreadable(std::string("a ") + block.name.get() + " block is damaged");
    }
    return key;
}

}  // namespace

Result<Contents> read_pem(std::string_view text, const Secret* password, const PkiContext& ctx) {
    Contents contents;
    contents.format = Format::pem;
    BioPtr bio = memory_bio(text.data(), text.size());
    int blocks = 0;
    int pkcs7_blocks = 0;
    for (;;) {
        Block block;
        char* name = nullptr;
        char* header = nullptr;
        unsigned char* data = nullptr;
        const int ok = PEM_read_bio(bio.get(), &name, &header, &data, &block.length);
        block.name.reset(name);
        block.header.reset(header);
        block.data.reset(data);
        if (ok == 0) {
            const int reason = last_error_reason();
            if (reason == PEM_R_NO_START_LINE && blocks > 0) {
                drain_errors();
                break;  // the end of the text, after at least one block
            }
            if (reason == PEM_R_NO_START_LINE) {
                return unreadable("the file is not a certificate: it has a -----BEGIN line but no PEM block");
            }
            if (reason == PEM_R_BAD_END_LINE || reason == PEM_R_SHORT_HEADER) {
                return unreadable("the file is truncated: a PEM block has no END line");
            }
            return unreadable("the file is damaged: a PEM block is not valid base64");
        }
        ++blocks;
        const std::string kind = block.name.get();
        const unsigned char* der = block.data.get();
        if (kind == "CERTIFICATE" || kind == "X509 CERTIFICATE" || kind == "TRUSTED CERTIFICATE") {
            X509Ptr cert(kind == "TRUSTED CERTIFICATE" ? d2i_X509_AUX(nullptr, &der, block.length)
                                                       : d2i_X509(nullptr, &der, block.length));
            if (!cert) {
                return unreadable("the file is damaged: a CERTIFICATE block does not hold a certificate");
            }
            contents.certs.push_back({Certificate(std::move(cert)), {}, {}});
        } else if (kind == "PKCS7") {
            ++pkcs7_blocks;
            Pkcs7Ptr p7(d2i_PKCS7(nullptr, &der, block.length));
            if (!p7) {
                return unreadable("the file is damaged: a PKCS7 block does not hold a PKCS #7 structure");
            }
            auto chain = read_pkcs7(p7.get(), Format::pem);
            if (!chain) {
                return chain.error();
            }
            for (auto& found : chain->certs) {
                contents.certs.push_back(std::move(found));
            }
        } else if (kind == "PRIVATE KEY" || kind == "ENCRYPTED PRIVATE KEY" || kind == "RSA PRIVATE KEY" ||
                   kind == "EC PRIVATE KEY" || kind == "DSA PRIVATE KEY") {
            auto key = kind == "PRIVATE KEY"             ? read_pkcs8(der, block.length, ctx)
                       : kind == "ENCRYPTED PRIVATE KEY" ? read_encrypted_pkcs8(der, block.length, password, ctx)
                                                         : read_traditional(block, password, ctx);
            if (!key) {
                return key.error();
            }
            contents.keys.push_back({std::move(*key), {}, {}});
        }
        // Other blocks (CERTIFICATE REQUEST, PUBLIC KEY, parameters) are not part of a deployment: skipped.
    }
    if (pkcs7_blocks > 0 && pkcs7_blocks == blocks) {
        contents.format = Format::pkcs7;  // a .p7b in its text form is still a PKCS #7 chain
    }
    return contents;
}

}  // namespace certdeploy::pki::detail
