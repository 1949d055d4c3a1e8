#pragma once
// Keeps an import's upload (the file's bytes and its password) encrypted at rest until its job is final:
// AES-256-GCM under a 32-byte key in DATA_DIR/upload.key (mode 0600, made on first start), each sealed
// blob bound to its job id as associated data so that blobs cannot be swapped between jobs. The same key
// (through HMAC-SHA-256) fingerprints requests for Idempotency-Key, so no password is ever hashed bare.

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

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

    std::string seal(const Upload& upload, std::string_view job_id) const;
    // Errors: internal-error when the blob was altered or sealed for another job or key.
    Result<Upload> unseal(std::string_view sealed, std::string_view job_id) const;
    // HMAC-SHA-256 of `text` under the vault's key, in hex.
    std::string fingerprint(std::string_view text) const;

  private:
    explicit UploadVault(Secret key) : key_(std::move(key)) {}
    Secret key_;
};

}  // namespace certdeploy::controller
