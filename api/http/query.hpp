#pragma once
// Query parameters shared by the list endpoints.

#include <optional>
#include <string>
#include <utility>

#include "api/http/request.hpp"
#include "service/error.hpp"

namespace certdeploy::api {

// ?limit=N&after=CURSOR, with the limit from 1 to max_limit.
Result<std::pair<std::size_t, std::string>> page(const Request& req, std::size_t default_limit, std::size_t max_limit);

// The value of ?name=..., percent-decoded; nothing when absent.
std::optional<std::string> query_param(const Request& req, std::string_view name);

// ?name=true|false; invalid-request otherwise.
Result<std::optional<bool>> bool_param(const Request& req, std::string_view name);

}  // namespace certdeploy::api
