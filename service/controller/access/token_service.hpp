#pragma once
// API tokens: made from 256 bits of the OS's CSPRNG, shown once, stored only as their SHA-256.
//
//   cdp_<43 characters of base64url>
//
// The prefix lets secret scanners recognise a leaked token. A token has a name, a role, an optional scope
// (a label selector), a creation time, an optional expiry and a last-used time (written at most once a
// minute per token, so that reading does not cost a disk write per request).

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "service/controller/access/caller.hpp"
#include "service/error.hpp"
#include "service/secret.hpp"
#include "store/controller_store.hpp"

namespace certdeploy::controller {

struct TokenSpec {
    std::string name;  // letters, digits, '.', '_', '-'; 1 to 64 characters
    Role role = Role::viewer;
    bool scoped = false;
    std::map<std::string, std::string> scope;
    std::optional<std::chrono::system_clock::time_point> expiresAt;
};

struct CreatedToken {
    store::TokenRow token;  // as stored (its hash is not shown by the API)
    Secret secret;          // the only time it exists outside its holder's hands
};

class TokenService {
  public:
    explicit TokenService(std::shared_ptr<store::ControllerStore> store);

    // Errors: invalid-request (name, scope on an admin token, expiry in the past), token-exists.
    Result<CreatedToken> create(const TokenSpec& spec);
    Result<std::vector<store::TokenRow>> list() const;
    // token-not-found when no live token has that name.
    Result<void> revoke(const std::string& name);

    struct Authenticated {
        Caller caller;
        bool touch = false;  // its lastUsedAt is due to be written (touch)
    };
    // The caller a presented secret stands for. Errors: unauthenticated (no such token), token-expired,
    // token-revoked. Only reads: with quick_reads() an I/O thread may call it.
    Result<Authenticated> authenticate(std::string_view secret);
    // Writes the token's lastUsedAt (at most once a minute per token, as authenticate says): a write, for
    // the store's threads; a failure refuses no one.
    void touch(const std::string& name);
    bool quick_reads() const { return store_->quick_reads(); }

    // On a controller's first start (no token at all): an admin token named "admin", written to `file`
    // (mode 0600, atomically) and nowhere else. Returns whether it made one (not when another controller on
    // the same database made it first).
    Result<bool> ensure_admin_token(const std::filesystem::path& file);

    static constexpr std::string_view kPrefix = "cdp_";

  private:
    std::shared_ptr<store::ControllerStore> store_;
    std::mutex touched_mutex_;
    std::unordered_map<std::string, std::chrono::steady_clock::time_point> touched_;  // name -> last write
};

// `prefix` and the base64url (no padding) of 256 bits from the OS's CSPRNG: an API or join token's secret.
Result<Secret> new_token_secret(std::string_view prefix);

// SHA-256 of the secret, hex: what the store keeps.
std::string token_hash(std::string_view secret);

}  // namespace certdeploy::controller
