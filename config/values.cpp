#include "config/values.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>

namespace certdeploy::config {

std::string Endpoint::to_string() const {
    const bool v6 = host.find(':') != std::string::npos;
    return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

bool parse_endpoint(const std::string& text, Endpoint& out) {
    const auto colon = text.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) {
        return false;
    }
    std::string host = text.substr(0, colon);
    const std::string port_text = text.substr(colon + 1);
    if (host.front() == '[') {
        if (host.size() < 3 || host.back() != ']') {
            return false;
        }
        host = host.substr(1, host.size() - 2);
        if (!std::all_of(host.begin(), host.end(),
                         [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.'; })) {
            return false;
        }
    } else {
        // A name or an IPv4 address; an unbracketed IPv6 address is ambiguous with the port and refused.
        if (!std::all_of(host.begin(), host.end(),
                         [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-'; })) {
            return false;
        }
    }
    unsigned port = 0;
    const auto* end = port_text.data() + port_text.size();
    auto [ptr, ec] = std::from_chars(port_text.data(), end, port);
    if (ec != std::errc() || ptr != end || port > 65535) {
        return false;
    }
    out = Endpoint{std::move(host), static_cast<std::uint16_t>(port)};
    return true;
}

bool decode_endpoint(const nlohmann::json& value, Endpoint& out) {
    return value.is_string() && parse_endpoint(value.get<std::string>(), out);
}

bool decode_optional_path(const nlohmann::json& value, std::optional<std::filesystem::path>& out) {
    std::optional<std::string> text;
    if (!decode_optional_string(value, text)) {
        return false;
    }
    out = text ? std::optional<std::filesystem::path>(*text) : std::nullopt;
    return true;
}

bool decode_optional_string(const nlohmann::json& value, std::optional<std::string>& out) {
    if (value.is_null()) {
        out.reset();
        return true;
    }
    if (!value.is_string() || value.get<std::string>().empty()) {
        return false;
    }
    out = value.get<std::string>();
    return true;
}

bool decode_integer(const nlohmann::json& value, std::int64_t min, std::int64_t max, std::int64_t& out) {
    if (!value.is_number_integer()) {
        return false;
    }
    const auto number = value.get<std::int64_t>();
    if (number < min || number > max) {
        return false;
    }
    out = number;
    return true;
}

bool decode_seconds(const nlohmann::json& value, double min, double max, std::chrono::milliseconds& out) {
    if (!value.is_number()) {
        return false;
    }
    const auto seconds = value.get<double>();
    if (!std::isfinite(seconds) || seconds < min || seconds > max) {
        return false;
    }
    out = std::chrono::milliseconds(std::llround(seconds * 1000.0));
    return true;
}

}  // namespace certdeploy::config
