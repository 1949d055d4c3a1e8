#pragma once
// multipart/form-data (RFC 7578) as curl -F sends it: the parts' names, file names and bytes. The parts
// are views into the request body, which the caller keeps alive and wipes (it may hold a password).

#include <string>
#include <string_view>
#include <vector>

#include "service/error.hpp"

namespace certdeploy::api {

struct FormPart {
    std::string name;
    std::string filename;  // empty for a plain field
    std::string_view body;
};

// The boundary of a "multipart/form-data; boundary=..." content type; empty when it is not one.
std::string form_boundary(std::string_view content_type);

// Errors: invalid-request naming what is malformed (never quoting a part's content).
Result<std::vector<FormPart>> parse_form(std::string_view body, std::string_view boundary);

}  // namespace certdeploy::api
