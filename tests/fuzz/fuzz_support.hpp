#pragma once
// What the libFuzzer targets share: a property that must hold for every input (a broken one aborts, which
// libFuzzer reports as a crash, with the input that broke it), and requests as api::HttpServer hands them to
// the handlers (message, parsed target), with whatever body the fuzzer made.

#include <boost/url/parse.hpp>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "api/http/problem.hpp"
#include "api/http/request.hpp"
#include "service/error.hpp"

namespace certdeploy::fuzz {

inline void require(bool holds, const char* property) {
    if (!holds) {
        std::fprintf(stderr, "fuzz: property broken: %s\n", property);
        std::abort();
    }
}

// A refusal of what a client sent: a 4xx code (never internal-error), rendered as the server would.
inline void require_client_error(const Error& error, std::string_view instance) {
    const auto status = static_cast<unsigned>(api::http_status(error.code));
    require(status >= 400 && status < 500, "a malformed request is refused with a 4xx code");
    (void)api::problem_response(error, 11, instance);
}

// `target` must be in origin form (a literal of the target, not the fuzzer's bytes).
inline api::Request make_request(api::http::verb method, std::string_view target, std::string_view content_type,
                                 std::string_view body) {
    api::Request req;
    req.message = api::HttpRequest{method, target, 11};
    if (!content_type.empty()) {
        req.message.set(api::http::field::content_type, content_type);
    }
    req.message.body() = std::string(body);
    req.message.prepare_payload();
    req.target = *boost::urls::parse_origin_form(target);
    req.remote = "192.0.2.1:40000";
    return req;
}

}  // namespace certdeploy::fuzz
