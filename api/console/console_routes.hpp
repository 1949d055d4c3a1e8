#pragma once
// The web console (api/console/web): GET / answers its page, GET /console/{file} its scripts, stylesheet and
// icon, all from the executable (embedded_files.hpp). The console calls the /v1 API with a token the user
// types; these routes carry no secret and need none.

#include "api/http/router.hpp"

namespace certdeploy::api {

// The Content-Security-Policy sent with every console file: nothing from another host, no inline script or
// style, no plugin, no framing; the API is reached on the same origin.
inline constexpr const char* kConsoleContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

void add_console_routes(Router& router);

}  // namespace certdeploy::api
