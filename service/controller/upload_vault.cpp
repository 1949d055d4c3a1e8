#include "service/controller/upload_vault.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <sys/stat.h>

#include <array>
#include <cstring>

#include "service/fs/atomic_file.hpp"
#include "service/pki/ossl.hpp"
#include "service/try.hpp"

namespace certdeploy::controller {
namespace {

constexpr std::size_t kKeyBytes = 32;
constexpr std::size_t kNonceBytes = 12;
constexpr std::size_t kTagBytes = 16;
constexpr std::size_t kKeyIdBytes = 8;
constexpr char kVersionWithoutKeyId = '\x01';
constexpr char kVersion = '\x02';

using CipherCtxPtr = pki::OsslPtr<EVP_CIPHER_CTX, EVP_CIPHER_CTX_free>;

const unsigned char* bytes(std::string_view s) {
    return reinterpret_cast<const unsigned char*>(s.data());
}

// The plaintext: a flag (password given or not), the file's length on 4 bytes, the file, the password.
std::string serialise(const Upload& upload) {
    const auto size = static_cast<std::uint32_t>(upload.file.size());
    std::string out;
    out.reserve(5 + upload.file.size() + (upload.password ? upload.password->size() : 0));
    out.push_back(upload.password ? '\x01' : '\x00');
    for (int shift = 24; shift >= 0; shift -= 8) {
        out.push_back(static_cast<char>((size >> shift) & 0xFF));
    }
    out += upload.file;
    if (upload.password) {
        out += upload.password->reveal();
    }
    return out;
}

}  // namespace

Result<UploadVault::Key> UploadVault::read_key(const std::filesystem::path& file) {
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0) {
        return make_error(ErrorCode::invalid_config, "the key file " + file.string() + " does not exist");
    }
    if ((st.st_mode & 077) != 0) {
        return make_error(ErrorCode::invalid_config,
                          "the key file " + file.string() + " must be readable by its owner only (chmod 600)");
    }
    CERTDEPLOY_TRY_ASSIGN(auto key, fs::read_file(file, 4096));
    if (key.size() != kKeyBytes) {
        wipe(key);
        return make_error(ErrorCode::invalid_config, "the key file " + file.string() + " is not 32 bytes");
    }
    std::array<unsigned char, 32> digest{};
    SHA256(bytes(key), key.size(), digest.data());
    Key out{std::string(reinterpret_cast<const char*>(digest.data()), kKeyIdBytes), Secret(key)};
    wipe(key);
    return out;
}

Result<UploadVault> UploadVault::open(const std::filesystem::path& data_dir) {
    const auto path = data_dir / "upload.key";
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) {
        std::array<unsigned char, kKeyBytes> key{};
        if (RAND_bytes(key.data(), static_cast<int>(key.size())) != 1) {
            return make_error(ErrorCode::internal, "cannot draw a random key", pki::drain_errors());
        }
        std::string text(reinterpret_cast<const char*>(key.data()), key.size());
        OPENSSL_cleanse(key.data(), key.size());
        auto written = fs::write_file_atomically(path, text, 0600);
        wipe(text);
        if (!written) {
            return written.error();
        }
    }
    return open_keys(path, {});
}

Result<UploadVault> UploadVault::open_keys(const std::filesystem::path& key_file,
                                           const std::vector<std::filesystem::path>& previous) {
    std::vector<Key> keys;
    CERTDEPLOY_TRY_ASSIGN(auto current, read_key(key_file));
    keys.push_back(std::move(current));
    for (const auto& file : previous) {
        CERTDEPLOY_TRY_ASSIGN(auto old, read_key(file));
        keys.push_back(std::move(old));
    }
    return UploadVault(std::move(keys));
}

std::string UploadVault::seal(const Upload& upload, std::string_view job_id) const {
    std::string plain = serialise(upload);
    const std::size_t head = 1 + kKeyIdBytes + kNonceBytes;
    std::string out(head + plain.size() + kTagBytes, '\0');
    out[0] = kVersion;
    out.replace(1, kKeyIdBytes, keys_.front().id);
    auto* nonce = reinterpret_cast<unsigned char*>(out.data() + 1 + kKeyIdBytes);
    auto* cipher = nonce + kNonceBytes;
    CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
    int len = 0;
    const bool ok =
        ctx && RAND_bytes(nonce, kNonceBytes) == 1 &&
        EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, bytes(current().reveal()), nonce) == 1 &&
        EVP_EncryptUpdate(ctx.get(), nullptr, &len, bytes(job_id), static_cast<int>(job_id.size())) == 1 &&
        EVP_EncryptUpdate(ctx.get(), cipher, &len, bytes(plain), static_cast<int>(plain.size())) == 1 &&
        EVP_EncryptFinal_ex(ctx.get(), cipher + len, &len) == 1 &&
        EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kTagBytes), cipher + plain.size()) == 1;
    wipe(plain);
    if (!ok) {
        // AES-GCM with a valid key does not fail; if OpenSSL cannot, nothing may be stored in clear.
        throw std::runtime_error("AES-256-GCM encryption failed: " + pki::drain_errors());
    }
    return out;
}

Result<Upload> UploadVault::unseal(std::string_view sealed, std::string_view job_id) const {
    // Version 1 (before keys had ids): the nonce follows the version, and any key may be the one.
    // Version 2: the key's id, then the nonce.
    if (sealed.empty() || (sealed[0] != kVersionWithoutKeyId && sealed[0] != kVersion)) {
        return make_error(ErrorCode::internal, "the stored upload is damaged");
    }
    const bool with_id = sealed[0] == kVersion;
    const std::size_t head = 1 + (with_id ? kKeyIdBytes : 0) + kNonceBytes;
    if (sealed.size() < head + 5 + kTagBytes) {
        return make_error(ErrorCode::internal, "the stored upload is damaged");
    }
    std::vector<const Secret*> candidates;
    for (const auto& key : keys_) {
        if (!with_id || sealed.substr(1, kKeyIdBytes) == key.id) {
            candidates.push_back(&key.bytes);
        }
    }
    if (candidates.empty()) {
        return make_error(ErrorCode::internal, "the stored upload cannot be decrypted",
                          "it was sealed under a key this controller does not hold (uploadKeyFile, "
                          "uploadPreviousKeyFiles)");
    }
    const auto* nonce = bytes(sealed.substr(head - kNonceBytes, kNonceBytes));
    const std::string_view cipher = sealed.substr(head, sealed.size() - head - kTagBytes);
    std::string tag(sealed.substr(sealed.size() - kTagBytes));
    std::string plain(cipher.size(), '\0');
    bool ok = false;
    for (const Secret* key : candidates) {
        CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
        int len = 0;
        ok = ctx && EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, bytes(key->reveal()), nonce) == 1 &&
             EVP_DecryptUpdate(ctx.get(), nullptr, &len, bytes(job_id), static_cast<int>(job_id.size())) == 1 &&
             EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(plain.data()), &len, bytes(cipher),
                               static_cast<int>(cipher.size())) == 1 &&
             EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTagBytes), tag.data()) == 1 &&
             EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(plain.data()) + len, &len) == 1;
        if (ok) {
            break;
        }
    }
    if (!ok) {
        wipe(plain);
        pki::drain_errors();
        return make_error(ErrorCode::internal, "the stored upload cannot be decrypted",
                          "AES-256-GCM authentication failed: altered, or sealed under another key or job");
    }
    std::uint32_t size = 0;
    for (std::size_t i = 1; i < 5; ++i) {
        size = (size << 8) | static_cast<unsigned char>(plain[i]);
    }
    if (size > plain.size() - 5) {
        wipe(plain);
        return make_error(ErrorCode::internal, "the stored upload is damaged");
    }
    Upload upload;
    upload.file = plain.substr(5, size);
    if (plain[0] != '\0') {
        upload.password.emplace(std::string_view(plain).substr(5 + size));
    }
    wipe(plain);
    return upload;
}

std::string UploadVault::fingerprint(std::string_view text) const {
    std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
    std::size_t mac_len = 0;
    if (EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, current().reveal().data(), current().size(), bytes(text),
                  text.size(), mac.data(), mac.size(), &mac_len) == nullptr) {
        throw std::runtime_error("HMAC-SHA-256 failed: " + pki::drain_errors());
    }
    static constexpr char kHex[] = "0123456789abcdef";
    std::string hex;
    for (std::size_t i = 0; i < mac_len; ++i) {
        hex.push_back(kHex[mac[i] >> 4]);
        hex.push_back(kHex[mac[i] & 0xF]);
    }
    return hex;
}

}  // namespace certdeploy::controller
