#pragma once
// Keeps an import's upload (the file's bytes and its password) encrypted at rest until its job is final:
// AES-256-GCM under a 32-byte key in DATA_DIR/upload.key (mode 0600, made on first start) or a key file the
// configuration names (uploadKeyFile: several controllers on one database share it, so that whichever runs
// a target can open its upload, and the database alone never holds enough to), each sealed blob bound to
// its job id as associated data so that blobs cannot be swapped between jobs, and naming its key by an id
// (a SHA-256 prefix) so that keys can be rotated: new uploads under the current key, older ones still
// opened with the previous keys. The current key (through HMAC-SHA-256) also fingerprints requests for
// Idempotency-Key, so no password is ever hashed bare.

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "service/error.hpp"
#include "service/secret.hpp"

namespace certdeploy::controller {

struct Upload {
    std::string file;  // wiped on destruction
    std::optional<Secret> password;
    Upload() = default;
    Upload(Upload&&) = default;
    Upload& operator=(Upload&&) = default;
    ~Upload() { wipe(file); }
};

class UploadVault {
  public:
    // Reads DATA_DIR/upload.key, or creates it; errors: io-error naming the file.
    static Result<UploadVault> open(const std::filesystem::path& data_dir);
    // Reads `key_file` (the current key) and `previous` (keys it replaced): each must exist, hold 32 bytes
    // and be readable by its owner only; errors: invalid-config or io-error naming the file.
    static Result<UploadVault> open_keys(const std::filesystem::path& key_file,
                                         const std::vector<std::filesystem::path>& previous);

    std::string seal(const Upload& upload, std::string_view job_id) const;
    // Errors: internal-error when the blob was altered, sealed for another job, or under a key this vault
    // does not hold.
    Result<Upload> unseal(std::string_view sealed, std::string_view job_id) const;
    // HMAC-SHA-256 of `text` under the vault's key, in hex.
    std::string fingerprint(std::string_view text) const;

  private:
    struct Key {
        std::string id;  // the first 8 bytes of the key's SHA-256: names the key in a sealed blob
        Secret bytes;
    };
    explicit UploadVault(std::vector<Key> keys) : keys_(std::move(keys)) {}
    static Result<Key> read_key(const std::filesystem::path& file);
    const Secret& current() const { return keys_.front().bytes; }
    std::vector<Key> keys_;  // the current key first
};

}  // namespace certdeploy::controller
