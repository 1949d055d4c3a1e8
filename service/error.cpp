#include "service/error.hpp"

namespace certdeploy {

std::string_view code_string(ErrorCode code) noexcept {
    switch (code) {
#define CERTDEPLOY_CASE(name, str, title) \
    case ErrorCode::name:                 \
        return str;
        CERTDEPLOY_ERROR_CODES(CERTDEPLOY_CASE)
#undef CERTDEPLOY_CASE
    }
    return "internal-error";
}

std::string_view code_title(ErrorCode code) noexcept {
    switch (code) {
#define CERTDEPLOY_CASE(name, str, title) \
    case ErrorCode::name:                 \
        return title;
        CERTDEPLOY_ERROR_CODES(CERTDEPLOY_CASE)
#undef CERTDEPLOY_CASE
    }
    return "Internal error";
}

void throw_exception_from_error(const Error& error, const boost::source_location& /*location*/) {
    throw ErrorException(error);
}

}  // namespace certdeploy
