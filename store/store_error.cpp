#include "store/store_error.hpp"

#include <system_error>

namespace certdeploy::store {

void throw_exception_from_error(const StoreError& error, const boost::source_location& /*location*/) {
    throw std::system_error(error.err, std::generic_category(), error.what);
}

}  // namespace certdeploy::store
