#pragma once
// Structured logging: every line on stderr is one JSON object with time, level, component and msg,
// plus the event's own fields. Built on spdlog so that level filtering and the sink stay thread-safe.

#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string_view>
#include <utility>

namespace certdeploy::log {

enum class Level { trace, debug, info, warn, error, off };

// Parses "trace", "debug", "info", "warn", "error" or "off".
bool parse_level(std::string_view text, Level& out) noexcept;

// Sets up the process-wide logger; `component` is "server", "agent" or a command's name.
void init(std::string_view component, Level level);

using Field = std::pair<std::string_view, nlohmann::json>;

bool enabled(Level level) noexcept;
void write(Level level, std::string_view msg, std::initializer_list<Field> fields = {});

inline void debug(std::string_view msg, std::initializer_list<Field> fields = {}) {
    write(Level::debug, msg, fields);
}
inline void info(std::string_view msg, std::initializer_list<Field> fields = {}) {
    write(Level::info, msg, fields);
}
inline void warn(std::string_view msg, std::initializer_list<Field> fields = {}) {
    write(Level::warn, msg, fields);
}
inline void error(std::string_view msg, std::initializer_list<Field> fields = {}) {
    write(Level::error, msg, fields);
}

// An audit record: a line with "component": "audit" and the members of `fields` (an object), written
// whatever the log level but off.
void audit(std::string_view msg, const nlohmann::json& fields);

}  // namespace certdeploy::log
