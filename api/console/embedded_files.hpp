#pragma once
// The web console's files (api/console/web), compiled into the executable by cmake/EmbedFiles.cmake.

#include <string_view>
#include <vector>

namespace certdeploy::api::console {

struct EmbeddedFile {
    std::string_view name;          // "app.js": the path under api/console/web
    std::string_view content_type;  // "text/javascript; charset=utf-8"
    std::string_view etag;          // "\"<first 32 hex digits of its SHA-256>\""
    std::string_view bytes;
};

const std::vector<EmbeddedFile>& embedded_files();

}  // namespace certdeploy::api::console
