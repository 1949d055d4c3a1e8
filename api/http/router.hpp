#pragma once
// Maps a method and a path such as /v1/jobs/{id} to a handler. Read-only once the server starts.

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "api/http/net.hpp"
#include "api/http/request.hpp"
#include "service/error.hpp"

namespace certdeploy::api {

// Handlers decode HTTP, call the domain and encode its answer; errors go back as Result and are turned
// into problem+json in one place (api/problem.cpp).
using Handler = std::function<asio::awaitable<Result<Response>>(Request&)>;

class Router {
  public:
    // `pattern` is a path whose segments are literals or {name}; {name} matches one non-empty segment.
    // `access` says who may call it (the controller's routes: the role, "viewer", "operator", "admin", or
    // "none" for /healthz); the router only keeps it, for the route table and the tests that check it.
    void add(http::verb method, std::string_view pattern, Handler handler, std::string access = {});

    struct RouteInfo {
        http::verb method;
        std::string pattern;
        std::string access;
    };
    // Every route, in the order added.
    std::vector<RouteInfo> routes() const;

    struct Match {
        const Handler* handler = nullptr;  // null when nothing matched
        std::vector<std::string> allowed;  // methods of a path that matched, for 405's Allow
    };

    // Fills req.params on success.
    Match match(Request& req) const;

  private:
    struct Route {
        http::verb method;
        std::vector<std::string> segments;
        Handler handler;
        std::string pattern;
        std::string access;
    };
    std::vector<Route> routes_;
};

}  // namespace certdeploy::api
