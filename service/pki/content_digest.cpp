#include "service/pki/content_digest.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstdint>
#include <stdexcept>

#include "service/pki/ossl.hpp"

namespace certdeploy::pki {
namespace {

using MacPtr = OsslPtr<EVP_MAC, EVP_MAC_free>;
using MacCtxPtr = OsslPtr<EVP_MAC_CTX, EVP_MAC_CTX_free>;

// Each part is preceded by its length, so that no password and file pair reads as another.
void frame(EVP_MAC_CTX* ctx, std::uint8_t tag, std::string_view part) {
    std::array<unsigned char, 9> head{tag};
    std::uint64_t size = part.size();
    for (std::size_t i = 1; i < head.size(); ++i) {
        head[i] = static_cast<unsigned char>(size >> (8 * (i - 1)));
    }
    EVP_MAC_update(ctx, head.data(), head.size());
    EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(part.data()), part.size());
}

}  // namespace

ContentDigester::ContentDigester() {
    if (RAND_priv_bytes(key_.data(), static_cast<int>(key_.size())) != 1) {
        throw std::runtime_error("the random generator failed");
    }
}

ContentDigester::~ContentDigester() {
    OPENSSL_cleanse(key_.data(), key_.size());
}

std::optional<ContentDigest> ContentDigester::digest(const Secret* password, std::string_view file_bytes) const {
    // Fetched per call: a few microseconds beside the hashing, and no shared mutable OpenSSL state.
    MacPtr mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
    MacCtxPtr ctx(mac ? EVP_MAC_CTX_new(mac.get()) : nullptr);
    char sha256[] = "SHA256";
    const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, sha256, 0),
                                 OSSL_PARAM_construct_end()};
    if (!ctx || EVP_MAC_init(ctx.get(), key_.data(), key_.size(), params) != 1) {
        return std::nullopt;
    }
    frame(ctx.get(), password != nullptr ? 1 : 0, password != nullptr ? password->reveal() : std::string_view());
    frame(ctx.get(), 2, file_bytes);
    ContentDigest out{};
    std::size_t size = 0;
    if (EVP_MAC_final(ctx.get(), out.data(), &size, out.size()) != 1 || size != out.size()) {
        return std::nullopt;
    }
    return out;
}

}  // namespace certdeploy::pki
