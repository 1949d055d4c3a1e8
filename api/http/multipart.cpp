#include "api/http/multipart.hpp"

// Not boost::beast::iequals: Boost 1.81's reads one byte past the end of texts equal only ignoring case (found by
// tests/fuzz/multipart_fuzz.cpp; fixed upstream since).
#include <boost/algorithm/string/predicate.hpp>

namespace certdeploy::api {
namespace {

constexpr std::size_t kMaxParts = 64;

Error malformed(const std::string& why) {
    return make_error(ErrorCode::invalid_request, "the multipart/form-data body is malformed: " + why);
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
        s.remove_suffix(1);
    }
    return s;
}

// The value of `key` in a header's parameters ("form-data; name=\"file\"; filename=\"a.pfx\"").
std::string parameter(std::string_view header, std::string_view key) {
    std::size_t pos = 0;
    while (pos < header.size()) {
        auto end = header.find(';', pos);
        // A quoted value may hold a ';': skip to the closing quote.
        auto eq = header.find('=', pos);
        if (eq != std::string_view::npos && (end == std::string_view::npos || eq < end) && eq + 1 < header.size() &&
            header[eq + 1] == '"') {
            auto close = header.find('"', eq + 2);
            end = close == std::string_view::npos ? std::string_view::npos : header.find(';', close);
        }
        auto item = trim(header.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos));
        auto item_eq = item.find('=');
        if (item_eq != std::string_view::npos && boost::algorithm::iequals(trim(item.substr(0, item_eq)), key)) {
            auto value = trim(item.substr(item_eq + 1));
            if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
                value = value.substr(1, value.size() - 2);
            }
            return std::string(value);
        }
        if (end == std::string_view::npos) {
            break;
        }
        pos = end + 1;
    }
    return {};
}

}  // namespace

std::string form_boundary(std::string_view content_type) {
    auto semi = content_type.find(';');
    if (!boost::algorithm::iequals(trim(content_type.substr(0, semi)), "multipart/form-data") ||
        semi == std::string_view::npos) {
        return {};
    }
    auto boundary = parameter(content_type.substr(semi + 1), "boundary");
    return boundary.size() <= 70 ? boundary : std::string();
}

Result<std::vector<FormPart>> parse_form(std::string_view body, std::string_view boundary) {
    if (boundary.empty()) {
        return malformed("no boundary in the Content-Type");
    }
    const std::string delimiter = "--" + std::string(boundary);
    const std::string separator = "\r\n" + delimiter;
    // The first delimiter may open the body or follow a preamble line.
    std::size_t pos = body.rfind(delimiter, 0) == 0 ? 0 : body.find(separator);
    if (pos == std::string_view::npos) {
        return malformed("no part begins with the boundary");
    }
    pos += pos == 0 ? delimiter.size() : separator.size();
    std::vector<FormPart> parts;
    for (;;) {
        if (body.substr(pos, 2) == "--") {
            return parts;  // the closing delimiter
        }
        if (body.substr(pos, 2) != "\r\n") {
            return malformed("a boundary is not followed by a line end");
        }
        pos += 2;
        if (parts.size() == kMaxParts) {
            return malformed("more than " + std::to_string(kMaxParts) + " parts");
        }
        const auto headers_end = body.find("\r\n\r\n", pos);
        if (headers_end == std::string_view::npos) {
            return malformed("a part's headers never end");
        }
        FormPart part;
        for (auto line_start = pos; line_start < headers_end;) {
            auto line_end = body.find("\r\n", line_start);
            if (line_end == std::string_view::npos || line_end > headers_end) {
                line_end = headers_end;
            }
            auto line = body.substr(line_start, line_end - line_start);
            auto colon = line.find(':');
            if (colon != std::string_view::npos &&
                boost::algorithm::iequals(trim(line.substr(0, colon)), "content-disposition")) {
                auto value = line.substr(colon + 1);
                part.name = parameter(value, "name");
                part.filename = parameter(value, "filename");
            }
            line_start = line_end + 2;
        }
        if (part.name.empty()) {
            return malformed("a part has no Content-Disposition name");
        }
        const auto content_start = headers_end + 4;
        const auto content_end = body.find(separator, content_start);
        if (content_end == std::string_view::npos) {
            return malformed("the part \"" + part.name + "\" is not closed by the boundary");
        }
        part.body = body.substr(content_start, content_end - content_start);
        parts.push_back(std::move(part));
        pos = content_end + separator.size();
    }
}

}  // namespace certdeploy::api
