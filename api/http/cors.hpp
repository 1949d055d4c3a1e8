#pragma once
// CORS for browser front ends (corsAllowedOrigins): a listed Origin gets Access-Control-Allow-Origin on
// every answer and its preflight (OPTIONS with Access-Control-Request-Method) answered with the path's
// methods. Credentials are never allowed: the API authenticates with bearer tokens, not cookies, so a page
// of another origin can do nothing with a user's browser (no CSRF surface).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/http/net.hpp"
#include "api/http/request.hpp"

namespace certdeploy::api {

struct CorsPolicy {
    std::vector<std::string> origins;  // exact, e.g. https://admin.contoso.com; "*" for any

    bool allows(std::string_view origin) const;
};

// The answer to a preflight, when `req` is one: 204 with the allowed methods and headers for a listed
// origin, 403 for any other. Nothing when `req` is not a preflight.
std::optional<Response> cors_preflight(const CorsPolicy& policy, const Request& req,
                                       const std::vector<std::string>& path_methods);
// Adds Access-Control-Allow-Origin (and Vary, exposed headers) to an answer for a listed origin.
void cors_decorate(const CorsPolicy& policy, const Request& req, Response& res);

}  // namespace certdeploy::api
