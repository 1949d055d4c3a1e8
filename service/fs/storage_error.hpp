#pragma once
// Storage failures, by errno: a full disk, a read-only file system and a permission error each
// get their own code, so that an administrator knows what to fix.

#include <cerrno>
#include <string>

#include "service/error.hpp"

namespace certdeploy::fs {

inline Error storage_error(int err, std::string what) {
    switch (err) {
        case ENOSPC:
        case EDQUOT:
            return make_error(ErrorCode::disk_full, "the disk is full: the change was not made", std::move(what));
        case EROFS:
            return make_error(ErrorCode::read_only_storage, "the file system is read-only: the change was not made",
                              std::move(what));
        case EACCES:
        case EPERM:
            return make_error(ErrorCode::permission_denied, "permission denied: the change was not made",
                              std::move(what));
        case EINVAL:
            return make_error(ErrorCode::invalid_request,
                              "a value in the request cannot be stored (not valid UTF-8?): nothing was changed",
                              std::move(what));
        case ECONNREFUSED:
        case ECONNRESET:
        case ETIMEDOUT:
            // The controller's database server cannot be reached, or every connection stayed busy: nothing
            // was changed, and the next request may well succeed (the connection is opened again).
            return make_error(ErrorCode::store_unavailable,
                              "the database is unavailable: the change was not made; try again", std::move(what));
        default:
            return make_error(ErrorCode::io_error, "a storage error stopped the change: nothing was changed",
                              std::move(what));
    }
}

}  // namespace certdeploy::fs
