#pragma once
// The agent's certificate store on disk: one directory per certificate under a root (mode 0700), named by
// its id (the thumbprint), holding a few small files. Every change is all-or-nothing across a crash:
//   put    — files written into a temporary directory and fsynced, the directory fsynced, then renamed into
//            place (or swapped with the old one by renameat2(RENAME_EXCHANGE)), then the root fsynced;
//   remove — the directory renamed to a trash name, the root fsynced, then deleted.
// open() deletes temporary and trash directories a crash left behind. The store knows nothing of
// certificates: the agent service decides what the files hold.

#include <sys/types.h>

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/store_error.hpp"

namespace certdeploy::store {

struct StoredFile {
    std::string name;   // a plain file name, no directories
    std::string bytes;  // wiped by the store after writing
    mode_t mode = 0600;
};

class CertificateDirectoryStore {
  public:
    explicit CertificateDirectoryStore(std::filesystem::path root);

    // Creates the root (0700) if missing and removes what an interrupted change left behind.
    StoreResult<void> open();
    // Creates or replaces the entry `id` with exactly `files`.
    StoreResult<void> put(const std::string& id, std::vector<StoredFile> files);
    // The entry's files, or nothing when there is no such entry.
    StoreResult<std::optional<std::vector<StoredFile>>> get(const std::string& id) const;
    StoreResult<std::vector<std::string>> list() const;
    // False when there was no such entry.
    StoreResult<bool> remove(const std::string& id);

    const std::filesystem::path& root() const { return root_; }

    // Tests only: called with the name of each step of a change; a test makes it throw to simulate a
    // crash at that instant.
    std::function<void(std::string_view step)> crash_point;

  private:
    void step(std::string_view name) const {
        if (crash_point) {
            crash_point(name);
        }
    }
    std::filesystem::path root_;
};

}  // namespace certdeploy::store
