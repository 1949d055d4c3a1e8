#pragma once
// Validators for the shapes configuration values take. Each returns false when the value does not fit.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace certdeploy::config {

// HOST:PORT where HOST is an IPv4 address, a bracketed IPv6 address or a host name.
struct Endpoint {
    std::string host;
    std::uint16_t port = 0;

    std::string to_string() const;  // "127.0.0.1:8080", "[::1]:8080"
    friend bool operator==(const Endpoint&, const Endpoint&) = default;
};

bool parse_endpoint(const std::string& text, Endpoint& out);

bool decode_endpoint(const nlohmann::json& value, Endpoint& out);
// null leaves `out` empty; otherwise a non-empty string.
bool decode_optional_path(const nlohmann::json& value, std::optional<std::filesystem::path>& out);
// null leaves `out` empty; otherwise a non-empty string.
bool decode_optional_string(const nlohmann::json& value, std::optional<std::string>& out);
bool decode_integer(const nlohmann::json& value, std::int64_t min, std::int64_t max, std::int64_t& out);
// A number of seconds, fractions allowed, within [min, max].
bool decode_seconds(const nlohmann::json& value, double min, double max, std::chrono::milliseconds& out);

}  // namespace certdeploy::config
