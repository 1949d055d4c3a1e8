#include "api/http/query.hpp"

#include <boost/url/url_view.hpp>
#include <charconv>

namespace certdeploy::api {

Result<std::pair<std::size_t, std::string>> page(const Request& req, std::size_t default_limit, std::size_t max_limit) {
    std::size_t limit = default_limit;
    if (auto text = query_param(req, "limit")) {
        auto [ptr, ec] = std::from_chars(text->data(), text->data() + text->size(), limit);
        if (ec != std::errc() || ptr != text->data() + text->size() || limit == 0 || limit > max_limit) {
            return make_error(ErrorCode::invalid_request,
                              "limit must be an integer from 1 to " + std::to_string(max_limit));
        }
    }
    return std::make_pair(limit, query_param(req, "after").value_or(""));
}

std::optional<std::string> query_param(const Request& req, std::string_view name) {
    for (const auto& param : boost::urls::url_view(req.target).params()) {
        if (param.key == name) {
            return std::string(param.value);
        }
    }
    return std::nullopt;
}

Result<std::optional<bool>> bool_param(const Request& req, std::string_view name) {
    auto text = query_param(req, name);
    if (!text) {
        return std::optional<bool>();
    }
    if (*text == "true" || *text == "false") {
        return std::optional<bool>(*text == "true");
    }
    return make_error(ErrorCode::invalid_request, std::string(name) + " must be true or false");
}

}  // namespace certdeploy::api
