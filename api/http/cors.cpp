#include "api/http/cors.hpp"

#include <algorithm>

#include "api/http/problem.hpp"

namespace certdeploy::api {

bool CorsPolicy::allows(std::string_view origin) const {
    return !origin.empty() && std::any_of(origins.begin(), origins.end(), [&](const std::string& allowed) {
        return allowed == "*" || allowed == origin;
    });
}

std::optional<Response> cors_preflight(const CorsPolicy& policy, const Request& req,
                                       const std::vector<std::string>& path_methods) {
    const auto origin = req.message[http::field::origin];
    if (req.message.method() != http::verb::options || origin.empty() ||
        req.message[http::field::access_control_request_method].empty() || path_methods.empty()) {
        return std::nullopt;
    }
    if (!policy.allows(origin)) {
        return problem_response(
            make_error(ErrorCode::forbidden, "the origin " + std::string(origin) + " is not in corsAllowedOrigins"),
            req.message.version(), req.target.path());
    }
    Response res{http::status::no_content, req.message.version()};
    std::string methods;
    for (const auto& method : path_methods) {
        methods += (methods.empty() ? "" : ", ") + method;
    }
    res.set(http::field::access_control_allow_origin, origin);
    res.set(http::field::vary, "Origin");
    res.set(http::field::access_control_allow_methods, methods);
    res.set(http::field::access_control_allow_headers, "Authorization, Content-Type, Idempotency-Key, Last-Event-ID");
    res.set(http::field::access_control_max_age, "600");
    return res;
}

void cors_decorate(const CorsPolicy& policy, const Request& req, Response& res) {
    const auto origin = req.message[http::field::origin];
    if (!policy.allows(origin)) {
        return;
    }
    res.set(http::field::access_control_allow_origin, origin);
    res.set(http::field::vary, "Origin");
    res.set(http::field::access_control_expose_headers,
            "Location, Idempotent-Replayed, Retry-After, WWW-Authenticate, Content-Disposition");
}

}  // namespace certdeploy::api
