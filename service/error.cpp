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

std::optional<ErrorCode> code_from_string(std::string_view text) noexcept {
#define CERTDEPLOY_MATCH(name, str, title) \
    if (text == str) {                     \
        return ErrorCode::name;            \
    }
    CERTDEPLOY_ERROR_CODES(CERTDEPLOY_MATCH)
#undef CERTDEPLOY_MATCH
    return std::nullopt;
}

void throw_exception_from_error(const Error& error, const boost::source_location& /*location*/) {
    throw ErrorException(error);
}

}  // namespace certdeploy
