#include "service/controller/access/token_service.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <memory>
#include <stdexcept>

#include "service/controller/store_errors.hpp"
#include "service/fs/atomic_file.hpp"
#include "service/time/rfc3339.hpp"
#include "service/try.hpp"

namespace certdeploy::controller {
namespace {

constexpr std::size_t kSecretBytes = 32;  // 256 bits
constexpr auto kTouchEvery = std::chrono::minutes(1);

Error invalid(std::string message) {
    return make_error(ErrorCode::invalid_request, std::move(message));
}

bool valid_token_name(const std::string& name) {
    return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
               c == '-';
    });
}

}  // namespace

Result<Secret> new_token_secret(std::string_view prefix) {
    std::array<unsigned char, kSecretBytes> raw{};
    if (RAND_priv_bytes(raw.data(), static_cast<int>(raw.size())) != 1) {
        return make_error(ErrorCode::internal, "no random bytes for a token");
    }
    static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string text(prefix);
    std::uint32_t buffer = 0;
    int bits = 0;
    for (unsigned char byte : raw) {
        buffer = (buffer << 8) | byte;
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            text.push_back(kAlphabet[(buffer >> bits) & 0x3F]);
        }
    }
    if (bits > 0) {
        text.push_back(kAlphabet[(buffer << (6 - bits)) & 0x3F]);
    }
    OPENSSL_cleanse(raw.data(), raw.size());
    Secret secret(text);
    wipe(text);
    return secret;
}

std::string token_hash(std::string_view secret) {
    // Fetched once: EVP_sha256() makes OpenSSL 3 look the algorithm up again, under a global lock, on every
    // call, and this runs on every authenticated request.
    static const std::unique_ptr<EVP_MD, decltype(&EVP_MD_free)> sha256(EVP_MD_fetch(nullptr, "SHA256", nullptr),
                                                                        &EVP_MD_free);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    if (sha256 == nullptr || EVP_Digest(secret.data(), secret.size(), digest, &size, sha256.get(), nullptr) != 1) {
        throw std::runtime_error("SHA-256 is not available");  // never an empty hash that could match
    }
    static constexpr char kHex[] = "0123456789abcdef";
    std::string hex;
    hex.reserve(2 * size);
    for (unsigned int i = 0; i < size; ++i) {
        hex.push_back(kHex[digest[i] >> 4]);
        hex.push_back(kHex[digest[i] & 0xF]);
    }
    return hex;
}

TokenService::TokenService(std::shared_ptr<store::ControllerStore> store) : store_(std::move(store)) {}

Result<CreatedToken> TokenService::create(const TokenSpec& spec) {
    if (!valid_token_name(spec.name)) {
        return invalid("a token's name is 1 to 64 letters, digits, '.', '_' or '-'");
    }
    if (spec.scoped && spec.role == Role::admin) {
        return invalid("an admin token cannot be scoped: scope a viewer or an operator");
    }
    if (spec.scoped && spec.scope.empty()) {
        return invalid("a scope is a label selector with at least one label, e.g. {\"team\": \"mail\"}");
    }
    const auto now = std::chrono::system_clock::now();
    if (spec.expiresAt && *spec.expiresAt <= now) {
        return invalid("the expiry must be in the future");
    }
    CERTDEPLOY_TRY_ASSIGN(auto secret, new_token_secret(kPrefix));
    store::TokenRow row;
    row.name = spec.name;
    row.secretHash = token_hash(secret.reveal());
    row.role = std::string(controller::name(spec.role));
    row.scoped = spec.scoped;
    row.scope = spec.scope;
    row.createdAt = rfc3339(now);
    if (spec.expiresAt) {
        row.expiresAt = rfc3339(*spec.expiresAt);
    }
    CERTDEPLOY_TRY_ASSIGN_AS(auto created, store_->create_token(row), from_store);
    if (!created) {
        return make_error(ErrorCode::token_exists,
                          "a token named " + spec.name + " exists: revoke it first, or choose another name");
    }
    return CreatedToken{std::move(row), std::move(secret)};
}

Result<std::vector<store::TokenRow>> TokenService::list() const {
    CERTDEPLOY_TRY_ASSIGN_AS(auto rows, store_->list_tokens(), from_store);
    return rows;
}

Result<void> TokenService::revoke(const std::string& name) {
    CERTDEPLOY_TRY_ASSIGN_AS(auto revoked, store_->revoke_token(name, rfc3339_now()), from_store);
    if (!revoked) {
        return make_error(ErrorCode::token_not_found, "no live token is named " + name);
    }
    return {};
}

Result<TokenService::Authenticated> TokenService::authenticate(std::string_view secret) {
    const auto unknown = make_error(ErrorCode::unauthenticated, "the token is not valid");
    if (secret.substr(0, kPrefix.size()) != kPrefix || secret.size() > 256) {
        return unknown;
    }
    const auto hash = token_hash(secret);
    CERTDEPLOY_TRY_ASSIGN_AS(auto row, store_->token_by_hash(hash), from_store);
    // Found by its hash; compared again in constant time, so no answer depends on how much of it matched.
    if (!row || row->secretHash.size() != hash.size() ||
        CRYPTO_memcmp(row->secretHash.data(), hash.data(), hash.size()) != 0) {
        return unknown;
    }
    if (row->revokedAt) {
        return make_error(ErrorCode::token_revoked, "the token " + row->name + " was revoked at " + *row->revokedAt);
    }
    const auto now = std::chrono::system_clock::now();
    if (row->expiresAt) {
        auto expiry = parse_rfc3339(*row->expiresAt);
        if (!expiry || *expiry <= now) {
            return make_error(ErrorCode::token_expired, "the token " + row->name + " expired at " + *row->expiresAt);
        }
    }
    auto role = parse_role(row->role);
    if (!role) {
        return make_error(ErrorCode::internal, "the token " + row->name + " has an unknown role", row->role);
    }
    bool touch = false;
    {
        std::lock_guard lock(touched_mutex_);
        auto& last = touched_[row->name];
        const auto steady = std::chrono::steady_clock::now();
        if (last == std::chrono::steady_clock::time_point{} || steady - last >= kTouchEvery) {
            last = steady;
            touch = true;
        }
    }
    return Authenticated{Caller{row->name, *role, row->scoped, row->scope}, touch};
}

void TokenService::touch(const std::string& name) {
    (void)store_->touch_token(name, rfc3339(std::chrono::system_clock::now()));
}

Result<bool> TokenService::ensure_admin_token(const std::filesystem::path& file) {
    CERTDEPLOY_TRY_ASSIGN_AS(auto rows, store_->list_tokens(), from_store);
    if (!rows.empty()) {
        return false;
    }
    // The file first, then the row: a start that fails between them leaves no token that no one can read,
    // and the next start makes one again.
    CERTDEPLOY_TRY_ASSIGN(auto secret, new_token_secret(kPrefix));
    std::string line(secret.reveal());
    line.push_back('\n');
    auto written = fs::write_file_atomically(file, line, 0600);
    wipe(line);
    if (!written) {
        return make_error(ErrorCode::io_error, "cannot write the admin token to " + file.string(),
                          written.error().message);
    }
    store::TokenRow row;
    row.name = "admin";
    row.secretHash = token_hash(secret.reveal());
    row.role = std::string(controller::name(Role::admin));
    row.createdAt = rfc3339_now();
    auto created = store_->create_token(row);
    if (!created || !*created) {
        std::error_code ignored;
        std::filesystem::remove(file, ignored);
        if (created) {
            return false;  // another controller on the same database made it in the same moment: it is there
        }
        return from_store(created.error());
    }
    return true;
}

}  // namespace certdeploy::controller
