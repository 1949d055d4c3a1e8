#include "api/http/router.hpp"

#include <algorithm>

namespace certdeploy::api {
namespace {

std::vector<std::string> split_pattern(std::string_view pattern) {
    std::vector<std::string> out;
    std::size_t pos = 0;
    while (pos < pattern.size()) {
        if (pattern[pos] == '/') {
            ++pos;
            continue;
        }
        const auto next = pattern.find('/', pos);
        out.emplace_back(pattern.substr(pos, next == std::string_view::npos ? std::string_view::npos : next - pos));
        pos = next == std::string_view::npos ? pattern.size() : next;
    }
    return out;
}

bool is_param(const std::string& segment) {
    return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

}  // namespace

void Router::add(http::verb method, std::string_view pattern, Handler handler, std::string access) {
    routes_.push_back(
        Route{method, split_pattern(pattern), std::move(handler), std::string(pattern), std::move(access)});
}

std::vector<Router::RouteInfo> Router::routes() const {
    std::vector<RouteInfo> out;
    for (const auto& route : routes_) {
        out.push_back({route.method, route.pattern, route.access});
    }
    return out;
}

Router::Match Router::match(Request& req) const {
    std::vector<std::string> path;
    for (auto segment : req.target.segments()) {  // percent-decoded by Boost.URL
        if (!segment.empty()) {
            path.push_back(std::move(segment));
        }
    }
    Match result;
    for (const auto& route : routes_) {
        if (route.segments.size() != path.size()) {
            continue;
        }
        std::map<std::string, std::string> params;
        bool same = true;
        for (std::size_t i = 0; same && i < path.size(); ++i) {
            if (is_param(route.segments[i])) {
                params[route.segments[i].substr(1, route.segments[i].size() - 2)] = path[i];
            } else {
                same = route.segments[i] == path[i];
            }
        }
        if (!same) {
            continue;
        }
        if (route.method == req.message.method()) {
            req.params = std::move(params);
            req.route = route.pattern;
            result.handler = &route.handler;
            return result;
        }
        result.allowed.emplace_back(http::to_string(route.method));
    }
    std::sort(result.allowed.begin(), result.allowed.end());
    result.allowed.erase(std::unique(result.allowed.begin(), result.allowed.end()), result.allowed.end());
    return result;
}

}  // namespace certdeploy::api
