#pragma once
// Files that are either wholly old or wholly new: written beside the target, fsynced, renamed over it,
// and the directory fsynced, so that a crash at any instant leaves one or the other.

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string_view>

#include "service/error.hpp"

namespace certdeploy::fs {

// Creates or replaces `path` with `bytes` and permission bits `mode` (e.g. 0600 for a key: the mode is
// set when the file is created, so the bytes are never readable by others, not even for an instant).
// Owner and group, when given, are set on the new file before it replaces the old one.
Result<void> write_file_atomically(const std::filesystem::path& path, std::string_view bytes, mode_t mode,
                                   std::optional<uid_t> owner = std::nullopt,
                                   std::optional<gid_t> group = std::nullopt);

// Reads a whole file, refusing one larger than `max_bytes` (too-large).
Result<std::string> read_file(const std::filesystem::path& path, std::size_t max_bytes);

// Creates `dir` (and parents) if missing; a directory created here gets `mode`.
Result<void> ensure_directory(const std::filesystem::path& dir, mode_t mode);

}  // namespace certdeploy::fs
