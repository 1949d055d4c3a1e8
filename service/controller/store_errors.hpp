#pragma once
// The store's failures as the controller's errors: ENOSPC -> disk-full, EROFS -> read-only-storage...

#include "service/fs/storage_error.hpp"
#include "store/controller_store.hpp"

namespace certdeploy::controller {

inline Error from_store(const store::StoreError& error) {
    return fs::storage_error(error.err, error.what);
}

}  // namespace certdeploy::controller
