// PKCS #12 as found in the field: AES/PBKDF2 with HMAC-SHA-256 (Windows Server 2019+, OpenSSL 3),
// RC2-40 or 3DES with a SHA-1 MAC (older Windows and Exchange, through the legacy provider), files
// without a MAC, no password versus an empty one, and non-ASCII passwords.
//
// The password is settled first: against the MAC when there is one (so a wrong password is never
// mistaken for a damaged file), otherwise by whether the encrypted parts decrypt. The bags are then walked
// by hand, rather than through PKCS12_parse, to keep each one's friendlyName and localKeyId.

#include <openssl/err.h>

#include <optional>

#include "service/pki/contents.hpp"

namespace certdeploy::pki::detail {
namespace {

// One way of presenting the password to OpenSSL: pointer and length (null with 0 is "no password").
struct Attempt {
    const char* pass = nullptr;
    int length = 0;
};

Error unsupported(const std::string& what, std::string detail) {
    return make_error(ErrorCode::unsupported_algorithm, what + " is protected with an algorithm certdeploy cannot read",
                      std::move(detail));
}
Error unsupported(const std::string& what) {
    return unsupported(what, drain_errors());
}

std::string attribute_bytes(const PKCS12_SAFEBAG* bag, int nid) {
    const ASN1_TYPE* attr = PKCS12_SAFEBAG_get0_attr(bag, nid);
    if (attr == nullptr || attr->type != V_ASN1_OCTET_STRING) {
        return {};
    }
    const ASN1_OCTET_STRING* octets = attr->value.octet_string;
    return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(octets)),
                       static_cast<std::size_t>(ASN1_STRING_length(octets)));
}

std::string friendly_name(PKCS12_SAFEBAG* bag) {
    OpensslStringPtr name(PKCS12_get_friendlyname(bag));
    drain_errors();
    return name ? std::string(name.get()) : std::string();
}

class BagWalker {
  public:
    BagWalker(const Attempt& attempt, const PkiContext& ctx, bool mac_verified, const Secret* password)
        : attempt_(attempt), ctx_(ctx), mac_verified_(mac_verified), password_(password) {}

    std::optional<Error> walk(const STACK_OF(PKCS12_SAFEBAG) * bags, Contents& out, int depth = 0) {
        if (depth > 4) {
            return unreadable("the file is damaged: its bags nest too deeply");
        }
        for (int i = 0; i < sk_PKCS12_SAFEBAG_num(bags); ++i) {
            PKCS12_SAFEBAG* bag = sk_PKCS12_SAFEBAG_value(bags, i);
            if (auto error = take(bag, out, depth)) {
                return error;
            }
        }
        return std::nullopt;
    }

    // A decryption that failed: with the MAC verified the password is right, so the file is at fault.
    Error decryption_failed(const std::string& what) const {
        auto errors = take_errors();
        if (says_unsupported(errors)) {
            return unsupported(what, std::move(errors.text));
        }
        if (mac_verified_) {
            return make_error(ErrorCode::unreadable_certificate,
                              "the file is damaged: " + what + " does not decrypt although the password is right",
                              std::move(errors.text));
        }
        return bad_password(password_, "this file", std::move(errors.text));
    }

  private:
    std::optional<Error> take(PKCS12_SAFEBAG* bag, Contents& out, int depth) {
        switch (PKCS12_SAFEBAG_get_nid(bag)) {
            case NID_keyBag: {
                EvpPkeyPtr key(EVP_PKCS82PKEY_ex(PKCS12_SAFEBAG_get0_p8inf(bag), ctx_.libctx(), nullptr));
                if (!key) {
                    return unsupported("the private key");
                }
                out.keys.push_back({std::move(key), friendly_name(bag), attribute_bytes(bag, NID_localKeyID)});
                return std::nullopt;
            }
            case NID_pkcs8ShroudedKeyBag: {
                Pkcs8Ptr p8(PKCS12_decrypt_skey_ex(bag, attempt_.pass, attempt_.length, ctx_.libctx(), nullptr));
                if (!p8) {
                    return decryption_failed("the private key");
                }
                EvpPkeyPtr key(EVP_PKCS82PKEY_ex(p8.get(), ctx_.libctx(), nullptr));
                if (!key) {
                    return unsupported("the private key");
                }
                out.keys.push_back({std::move(key), friendly_name(bag), attribute_bytes(bag, NID_localKeyID)});
                return std::nullopt;
            }
            case NID_certBag: {
                if (PKCS12_SAFEBAG_get_bag_nid(bag) != NID_x509Certificate) {
                    return std::nullopt;  // SDSI certificates: not X.509, not deployable
                }
                X509Ptr cert(PKCS12_SAFEBAG_get1_cert(bag));
                if (!cert) {
                    return unreadable("the file is damaged: a certificate inside it does not parse");
                }
                out.certs.push_back(
                    {Certificate(std::move(cert)), friendly_name(bag), attribute_bytes(bag, NID_localKeyID)});
                return std::nullopt;
            }
            case NID_safeContentsBag:
                return walk(PKCS12_SAFEBAG_get0_safes(bag), out, depth + 1);
            default:
                return std::nullopt;  // CRL and secret bags: nothing to deploy
        }
    }

    const Attempt& attempt_;
    const PkiContext& ctx_;
    bool mac_verified_;
    const Secret* password_;
};

// Reads every authenticated safe with one password attempt.
Result<Contents> unpack(PKCS12* p12, const Attempt& attempt, bool mac_verified, const Secret* password,
                        const PkiContext& ctx) {
    Pkcs7StackPtr safes(PKCS12_unpack_authsafes(p12));
    if (!safes) {
        return unreadable("the file is damaged: its contents do not parse");
    }
    Contents contents;
    contents.format = Format::pkcs12;
    BagWalker walker(attempt, ctx, mac_verified, password);
    for (int i = 0; i < sk_PKCS7_num(safes.get()); ++i) {
        PKCS7* safe = sk_PKCS7_value(safes.get(), i);
        SafeBagStackPtr bags;
        switch (OBJ_obj2nid(safe->type)) {
            case NID_pkcs7_data:
                bags.reset(PKCS12_unpack_p7data(safe));
                if (!bags) {
                    return unreadable("the file is damaged: a part of it does not parse");
                }
                break;
            case NID_pkcs7_encrypted:
                bags.reset(PKCS12_unpack_p7encdata(safe, attempt.pass, attempt.length));
                if (!bags) {
                    return walker.decryption_failed("the certificates");
                }
                break;
            default:
                return make_error(ErrorCode::unsupported_algorithm,
                                  "the file uses public-key protection (enveloped data), which certdeploy cannot read");
        }
        if (auto error = walker.walk(bags.get(), contents)) {
            return *error;
        }
    }
    return contents;
}

// OpenSSL before 1.1.0 widened each byte of a UTF-8 password to 16 bits instead of encoding it as UTF-16;
// files made that way open with the password re-encoded so that the new rule yields the same bytes.
std::string old_openssl_form(const Secret& password) {
    int uni_length = 0;
    OpensslBytesPtr uni(OPENSSL_asc2uni(password.c_str(), static_cast<int>(password.size()), nullptr, &uni_length));
    if (!uni) {
        return {};
    }
    OpensslStringPtr utf8(OPENSSL_uni2utf8(uni.get(), uni_length));
    OPENSSL_cleanse(uni.get(), static_cast<std::size_t>(uni_length));
    if (!utf8) {
        return {};
    }
    std::string out(utf8.get());
    OPENSSL_cleanse(utf8.get(), out.size());
    return out;
}

}  // namespace

Result<Contents> read_pkcs12(PKCS12* p12, const Secret* password, const PkiContext& ctx) {
    // Candidates in order. No password and an empty one are both tried either way: Windows writes both.
    std::vector<Attempt> attempts;
    if (password != nullptr && !password->empty()) {
        attempts.push_back({password->c_str(), static_cast<int>(password->size())});
    } else {
        attempts.push_back({nullptr, 0});
        attempts.push_back({"", 0});
    }
    Secret legacy_form;
    if (password != nullptr && !password->empty()) {
        std::string converted = old_openssl_form(*password);
        if (!converted.empty() && converted != password->reveal()) {
            legacy_form.assign(converted);
            attempts.push_back({legacy_form.c_str(), static_cast<int>(legacy_form.size())});
        }
        wipe(converted);
    }

    if (PKCS12_mac_present(p12) == 1) {
        for (const auto& attempt : attempts) {
            drain_errors();
            if (PKCS12_verify_mac(p12, attempt.pass, attempt.length) == 1) {
                return unpack(p12, attempt, /*mac_verified=*/true, password, ctx);
            }
            // A plain mismatch leaves the queue empty; anything queued means the MAC could not even be
            // computed (an unknown digest), which no password would fix.
            if (auto errors = take_errors(); !errors.codes.empty()) {
                return make_error(ErrorCode::unsupported_algorithm,
                                  "the file's integrity check (MAC) uses an algorithm certdeploy cannot read",
                                  std::move(errors.text));
            }
        }
        return bad_password(password, "this file");
    }

    // No MAC: the first password under which everything decrypts is the right one.
    std::optional<Error> first_error;
    for (const auto& attempt : attempts) {
        drain_errors();
        auto contents = unpack(p12, attempt, /*mac_verified=*/false, password, ctx);
        if (contents) {
            return contents;
        }
        if (contents.error().code != ErrorCode::wrong_password &&
            contents.error().code != ErrorCode::password_required) {
            return contents.error();
        }
        if (!first_error) {
            first_error = contents.error();
        }
    }
    return *first_error;
}

}  // namespace certdeploy::pki::detail
