#include "api/console/console_routes.hpp"

#include "api/console/embedded_files.hpp"

namespace certdeploy::api {
namespace {

const console::EmbeddedFile* find_file(std::string_view name) {
    for (const auto& file : console::embedded_files()) {
        if (file.name == name) {
            return &file;
        }
    }
    return nullptr;
}

// The file, or 304 when the browser holds this version already. `no-cache` makes the browser ask each
// time (an upgraded controller serves a new console at once); the ETag makes asking cheap.
Response file_response(const Request& req, const console::EmbeddedFile& file) {
    const auto version = req.message.version();
    const auto etag_sent = req.message[http::field::if_none_match];
    Response res{etag_sent == file.etag ? http::status::not_modified : http::status::ok, version};
    res.set(http::field::etag, file.etag);
    res.set(http::field::cache_control, "no-cache");
    res.set("Content-Security-Policy", kConsoleContentSecurityPolicy);
    res.set("X-Content-Type-Options", "nosniff");
    res.set("X-Frame-Options", "DENY");
    res.set("Referrer-Policy", "no-referrer");
    res.set("Cross-Origin-Opener-Policy", "same-origin");
    if (res.result() == http::status::ok) {
        res.set(http::field::content_type, file.content_type);
        res.body() = std::string(file.bytes);
    }
    res.prepare_payload();
    return res;
}

}  // namespace

void add_console_routes(Router& router) {
    router.add(
        http::verb::get, "/",
        [](Request& req) -> asio::awaitable<Result<Response>> {
            co_return file_response(req, *find_file("index.html"));
        },
        "none");
    router.add(
        http::verb::get, "/console/{file}",
        [](Request& req) -> asio::awaitable<Result<Response>> {
            const auto* file = find_file(req.params.at("file"));
            if (file == nullptr) {
                co_return make_error(ErrorCode::not_found, "the console has no file " + req.params.at("file"));
            }
            co_return file_response(req, *file);
        },
        "none");
}

}  // namespace certdeploy::api
