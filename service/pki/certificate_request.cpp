#include "service/pki/certificate_request.hpp"

#include <openssl/pem.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "service/pki/certificate.hpp"

namespace certdeploy::pki {
namespace {

Error invalid_subject(const std::string& why) {
    return make_error(ErrorCode::invalid_subject, "\"subject\": " + why);
}

Error invalid_domain(const std::string& why) {
    return make_error(ErrorCode::invalid_domain, "\"domains\": " + why);
}

Error crypto(const std::string& what) {
    return make_error(ErrorCode::internal, "cannot " + what, drain_errors());
}

std::string trim(std::string_view text) {
    const auto first = text.find_first_not_of(" \t");
    if (first == std::string_view::npos) {
        return {};
    }
    const auto last = text.find_last_not_of(" \t");
    return std::string(text.substr(first, last - first + 1));
}

std::string upper(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::toupper(c); });
    return text;
}

std::string lower(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
    return text;
}

// The attribute names a request's subject may hold, as OpenSSL spells them.
const char* attribute(const std::string& key) {
    static const std::pair<const char*, const char*> kNames[] = {
        {"CN", "CN"},
        {"O", "O"},
        {"OU", "OU"},
        {"L", "L"},
        {"ST", "ST"},
        {"S", "ST"},
        {"C", "C"},
        {"DC", "DC"},
        {"E", "emailAddress"},
        {"EMAILADDRESS", "emailAddress"},
    };
    for (const auto& [name, spelled] : kNames) {
        if (key == name) {
            return spelled;
        }
    }
    return nullptr;
}

struct Rdn {
    std::string key;  // OpenSSL's name
    std::string value;
};

// "CN=mail.contoso.com, O=Contoso\, Ltd, C=US": commas separate, a backslash escapes the next character.
Result<std::vector<Rdn>> parse_subject(std::string_view text) {
    std::vector<std::string> parts(1);
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\\' && i + 1 < text.size()) {
            parts.back() += text[++i];
        } else if (text[i] == ',' || text[i] == ';') {
            parts.emplace_back();
        } else {
            parts.back() += text[i];
        }
    }
    std::vector<Rdn> out;
    for (const auto& part : parts) {
        const auto eq = part.find('=');
        if (eq == std::string::npos) {
            return invalid_subject("\"" + trim(part) +
                                   "\" is not NAME=value (e.g. \"CN=mail.contoso.com, O=Contoso\")");
        }
        const std::string key = upper(trim(std::string_view(part).substr(0, eq)));
        const std::string value = trim(std::string_view(part).substr(eq + 1));
        const char* name = attribute(key);
        if (name == nullptr) {
            return invalid_subject("unknown attribute \"" + key + "\" (use CN, O, OU, L, ST, C, DC or E)");
        }
        if (value.empty() || value.size() > 64) {
            return invalid_subject(key + " must hold 1 to 64 characters");
        }
        if (key == "C" && (value.size() != 2 || !std::isalpha(static_cast<unsigned char>(value[0])) ||
                           !std::isalpha(static_cast<unsigned char>(value[1])))) {
            return invalid_subject("C is a two-letter country code (ISO 3166), not \"" + value + "\"");
        }
        for (unsigned char c : value) {
            if (c < 0x20 || c == 0x7f) {
                return invalid_subject(key + " holds a control character");
            }
        }
        out.push_back({name, key == "C" ? upper(value) : value});
    }
    return out;
}

// A DNS name as a certificate may hold it: LDH labels, an optional leading "*." wildcard.
bool is_dns_name(std::string_view name) {
    if (name.substr(0, 2) == "*.") {
        name.remove_prefix(2);
    }
    if (name.empty() || name.size() > 253 || name.find('.') == std::string_view::npos) {
        return false;
    }
    std::size_t start = 0;
    while (start <= name.size()) {
        auto end = name.find('.', start);
        if (end == std::string_view::npos) {
            end = name.size();
        }
        const auto label = name.substr(start, end - start);
        if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
            return false;
        }
        for (unsigned char c : label) {
            if (!std::isalnum(c) && c != '-') {
                return false;
            }
        }
        start = end + 1;
    }
    return true;
}

void free_extension_stack(STACK_OF(X509_EXTENSION) * s) {
    sk_X509_EXTENSION_pop_free(s, X509_EXTENSION_free);
}

std::string sha_hex(const EVP_MD* md, const unsigned char* data, std::size_t size) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (EVP_Digest(data, size, digest, &length, md, nullptr) != 1) {
        drain_errors();
        return {};
    }
    return upper_hex(digest, length);
}

}  // namespace

std::string_view key_algorithm_name(KeyAlgorithm algorithm) noexcept {
    return algorithm == KeyAlgorithm::rsa ? "RSA" : "ECDSA";
}

Result<RequestSpec> check_request(const RequestFields& fields) {
    RequestSpec spec;
    std::set<std::string> seen;
    for (const auto& given : fields.domains) {
        const std::string domain = lower(trim(given));
        if (!is_dns_name(domain)) {
            return invalid_domain("\"" + given +
                                  "\" is not a DNS name (letters, digits and hyphens in dotted labels, optionally "
                                  "starting with \"*.\")");
        }
        if (seen.insert(domain).second) {
            spec.domains.push_back(domain);
        }
    }
    std::string subject = trim(fields.subject);
    if (subject.empty()) {
        if (spec.domains.empty()) {
            return invalid_subject("give a subject, domains, or both (e.g. \"CN=mail.contoso.com\")");
        }
        subject = "CN=" + spec.domains.front();
    }
    auto rdns = parse_subject(subject);
    if (!rdns) {
        return rdns.error();
    }
    std::string normalised;
    std::string common_name;
    for (const auto& rdn : *rdns) {
        std::string value;
        for (char c : rdn.value) {
            if (c == ',' || c == '\\' || c == '+' || c == '"' || c == '<' || c == '>' || c == ';' || c == '=') {
                value += '\\';
            }
            value += c;
        }
        normalised +=
            (normalised.empty() ? "" : ", ") + std::string(rdn.key == "emailAddress" ? "E" : rdn.key) + "=" + value;
        if (rdn.key == "CN" && common_name.empty()) {
            common_name = rdn.value;
        }
    }
    spec.subject = normalised;
    if (spec.domains.empty()) {
        if (!is_dns_name(lower(common_name))) {
            return invalid_domain("none given, and the subject's CN is not a DNS name to use instead");
        }
        spec.domains.push_back(lower(common_name));
    }
    const std::string algorithm = upper(trim(fields.keyAlgorithm));
    if (algorithm.empty() || algorithm == "RSA") {
        spec.keyAlgorithm = KeyAlgorithm::rsa;
        spec.keySize = fields.keySize == 0 ? 2048 : fields.keySize;
        if (spec.keySize != 2048 && spec.keySize != 3072 && spec.keySize != 4096) {
            return make_error(
                ErrorCode::invalid_key_parameters,
                "\"keySize\": an RSA key is 2048, 3072 or 4096 bits, not " + std::to_string(spec.keySize));
        }
    } else if (algorithm == "ECDSA" || algorithm == "EC") {
        spec.keyAlgorithm = KeyAlgorithm::ecdsa;
        spec.keySize = fields.keySize == 0 ? 256 : fields.keySize;
        if (spec.keySize != 256 && spec.keySize != 384) {
            return make_error(
                ErrorCode::invalid_key_parameters,
                "\"keySize\": an ECDSA key is 256 (P-256) or 384 (P-384) bits, not " + std::to_string(spec.keySize));
        }
    } else {
        return make_error(ErrorCode::invalid_key_parameters,
                          "\"keyAlgorithm\" is RSA or ECDSA, not \"" + fields.keyAlgorithm + "\"");
    }
    return spec;
}

Result<EvpPkeyPtr> generate_request_key(const PkiContext& ctx, const RequestSpec& spec) {
    EvpPkeyPtr key;
    if (spec.keyAlgorithm == KeyAlgorithm::rsa) {
        key.reset(EVP_PKEY_Q_keygen(ctx.libctx(), nullptr, "RSA", static_cast<size_t>(spec.keySize)));
    } else {
        key.reset(EVP_PKEY_Q_keygen(ctx.libctx(), nullptr, "EC", spec.keySize == 384 ? "P-384" : "P-256"));
    }
    if (!key) {
        return crypto("generate a key pair");
    }
    return key;
}

Result<std::string> make_request_pem(const PkiContext& ctx, EVP_PKEY* key, const RequestSpec& spec) {
    auto rdns = parse_subject(spec.subject);
    if (!rdns) {
        return rdns.error();
    }
    X509ReqPtr req(X509_REQ_new_ex(ctx.libctx(), nullptr));
    if (!req || X509_REQ_set_version(req.get(), X509_REQ_VERSION_1) != 1) {
        return crypto("create a certificate request");
    }
    // The DN is encoded from its root (C) down to the CN: the reverse of how it is written.
    X509_NAME* name = X509_REQ_get_subject_name(req.get());
    for (auto it = rdns->rbegin(); it != rdns->rend(); ++it) {
        if (X509_NAME_add_entry_by_txt(name, it->key.c_str(), MBSTRING_UTF8,
                                       reinterpret_cast<const unsigned char*>(it->value.c_str()), -1, -1, 0) != 1) {
            return make_error(ErrorCode::invalid_subject,
                              "\"subject\": " + it->key + " cannot hold \"" + it->value + "\"", drain_errors());
        }
    }
    GeneralNamesPtr names(sk_GENERAL_NAME_new_null());
    for (const auto& domain : spec.domains) {
        GENERAL_NAME* entry = GENERAL_NAME_new();
        ASN1_IA5STRING* text = ASN1_IA5STRING_new();
        if (entry == nullptr || text == nullptr ||
            ASN1_STRING_set(text, domain.data(), static_cast<int>(domain.size())) != 1) {
            GENERAL_NAME_free(entry);
            ASN1_IA5STRING_free(text);
            return crypto("build the request's names");
        }
        GENERAL_NAME_set0_value(entry, GEN_DNS, text);
        sk_GENERAL_NAME_push(names.get(), entry);
    }
    OsslPtr<STACK_OF(X509_EXTENSION), free_extension_stack> extensions(sk_X509_EXTENSION_new_null());
    X509_EXTENSION* san = X509V3_EXT_i2d(NID_subject_alt_name, 0, names.get());
    if (!extensions || san == nullptr || sk_X509_EXTENSION_push(extensions.get(), san) == 0 ||
        X509_REQ_add_extensions(req.get(), extensions.get()) != 1 || X509_REQ_set_pubkey(req.get(), key) != 1 ||
        X509_REQ_sign(req.get(), key, EVP_sha256()) == 0) {
        return crypto("sign the certificate request");
    }
    BioPtr out(BIO_new(BIO_s_mem()));
    if (!out || PEM_write_bio_X509_REQ(out.get(), req.get()) != 1) {
        return crypto("write the certificate request");
    }
    return bio_contents(out.get());
}

Result<std::string> request_id(std::string_view pem) {
    BioPtr in = memory_bio(pem.data(), pem.size());
    X509ReqPtr req(PEM_read_bio_X509_REQ(in.get(), nullptr, nullptr, nullptr));
    if (!req) {
        return make_error(ErrorCode::internal, "cannot read a certificate request", drain_errors());
    }
    unsigned char* der = nullptr;
    const int size = i2d_X509_REQ(req.get(), &der);
    OpensslBytesPtr owned(der);
    if (size <= 0) {
        return crypto("encode a certificate request");
    }
    return sha_hex(EVP_sha1(), der, static_cast<std::size_t>(size));
}

Result<EvpPkeyPtr> read_request_key(const PkiContext& ctx, std::string_view pem) {
    BioPtr in = memory_bio(pem.data(), pem.size());
    EvpPkeyPtr key(PEM_read_bio_PrivateKey_ex(in.get(), nullptr, nullptr, nullptr, ctx.libctx(), nullptr));
    if (!key) {
        return make_error(ErrorCode::internal, "cannot read a pending request's key", drain_errors());
    }
    return key;
}

std::string public_key_sha256(EVP_PKEY* key) {
    if (key == nullptr) {
        return {};
    }
    unsigned char* der = nullptr;
    const int size = i2d_PUBKEY(key, &der);
    OpensslBytesPtr owned(der);
    if (size <= 0) {
        drain_errors();
        return {};
    }
    return sha_hex(EVP_sha256(), der, static_cast<std::size_t>(size));
}

}  // namespace certdeploy::pki
