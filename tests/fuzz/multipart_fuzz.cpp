// libFuzzer target for multipart/form-data (api/http/multipart) and the import decoder built on it. The input's
// first line is a Content-Type, the rest the body. What must hold, for any bytes:
//   - form_boundary gives a boundary of at most 70 characters, or nothing;
//   - parse_form, with that boundary and with the first line itself as the boundary (any bytes, any length),
//     gives parts or an invalid-request error: at most 64 parts, each named, each body a view inside the
//     request's body;
//   - POST /v1/imports with that Content-Type and body (import_input: the parts' meaning) gives an ImportInput
//     or a 4xx error;
// and never a crash, a leak, a hang or undefined behaviour.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "api/controller/job_requests.hpp"
#include "api/http/multipart.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace {

using namespace certdeploy;

void check_parts(std::string_view body, const Result<std::vector<api::FormPart>>& parts) {
    if (!parts) {
        fuzz::require(parts.error().code == ErrorCode::invalid_request, "parse_form refuses with invalid-request");
        fuzz::require_client_error(parts.error(), "/v1/imports");
        return;
    }
    fuzz::require(parts->size() <= 64, "at most 64 parts");
    for (const auto& part : *parts) {
        fuzz::require(!part.name.empty(), "every part is named");
        fuzz::require(
            part.body.data() >= body.data() && part.body.data() + part.body.size() <= body.data() + body.size(),
            "a part's body is a view inside the request's body");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const auto line_end = input.find('\n');
    std::string_view content_type = input.substr(0, line_end);
    const std::string_view body = line_end == std::string_view::npos ? std::string_view() : input.substr(line_end + 1);
    if (!content_type.empty() && content_type.back() == '\r') {
        content_type.remove_suffix(1);
    }

    const auto boundary = api::form_boundary(content_type);
    fuzz::require(boundary.size() <= 70, "a boundary has at most 70 characters");
    check_parts(body, api::parse_form(body, boundary));
    check_parts(body, api::parse_form(body, content_type));

    // As the handler of POST /v1/imports gets it: a header field's value holds no line end or NUL (Beast's
    // parser refuses them) and fits the server's header limit.
    if (content_type.size() <= 16 * 1024 &&
        content_type.find_first_of(std::string_view("\r\0", 2)) == std::string_view::npos) {
        auto req = fuzz::make_request(api::http::verb::post, "/v1/imports", content_type, body);
        auto in = api::import_input(req);
        if (!in) {
            fuzz::require_client_error(in.error(), "/v1/imports");
        }
        fuzz::require(req.message.body().empty(), "the body is wiped once decoded");
    }
    return 0;
}
