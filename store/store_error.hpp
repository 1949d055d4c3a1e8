#pragma once
// The stores' own error kind, shared by the agent's directory store and the controller's store: an errno
// (ENOSPC, EROFS, EACCES... — SQLite's codes are mapped to the same) and a text for the log. The service
// maps it to its codes (service/fs/storage_error.hpp, service/controller/store_errors.hpp).

#include <boost/system/result.hpp>
#include <string>

namespace certdeploy::store {

struct StoreError {
    int err = 0;       // errno
    std::string what;  // "cannot write /var/lib/.../key.pem", for the log
};

// What StoreResult<T>::value() throws on an error.
[[noreturn]] void throw_exception_from_error(const StoreError& error, const boost::source_location& location);

template <class T>
using StoreResult = boost::system::result<T, StoreError>;

}  // namespace certdeploy::store
