#include "service/log.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <array>
#include <charconv>
#include <cstdint>
#include <optional>
#include <string>

#include "service/codec/json_string.hpp"

namespace certdeploy::log {
namespace {

spdlog::level::level_enum to_spdlog(Level level) noexcept {
    switch (level) {
        case Level::trace:
            return spdlog::level::trace;
        case Level::debug:
            return spdlog::level::debug;
        case Level::info:
            return spdlog::level::info;
        case Level::warn:
            return spdlog::level::warn;
        case Level::error:
            return spdlog::level::err;
        case Level::off:
            return spdlog::level::off;
    }
    return spdlog::level::info;
}

// Invalid UTF-8 (a client's path, a file's subject) is replaced, never allowed to throw from a log call.
std::string dump(const nlohmann::json& value) {
    return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

bool parse_level(std::string_view text, Level& out) noexcept {
    static constexpr std::array<std::pair<std::string_view, Level>, 6> kNames{{{"trace", Level::trace},
                                                                               {"debug", Level::debug},
                                                                               {"info", Level::info},
                                                                               {"warn", Level::warn},
                                                                               {"error", Level::error},
                                                                               {"off", Level::off}}};
    for (const auto& [name, level] : kNames) {
        if (name == text) {
            out = level;
            return true;
        }
    }
    return false;
}

std::shared_ptr<spdlog::logger>& audit_logger() {
    static std::shared_ptr<spdlog::logger> logger;
    return logger;
}

void init(std::string_view component, Level level) {
    auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    auto audit = std::make_shared<spdlog::logger>("audit", sink);
    audit->set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","component":"%n",%v})",
                       spdlog::pattern_time_type::utc);
    audit->set_level(level == Level::off ? spdlog::level::off : spdlog::level::info);
    audit->flush_on(spdlog::level::trace);
    audit_logger() = std::move(audit);
    auto logger = std::make_shared<spdlog::logger>(std::string(component), std::move(sink));
    // The payload (%v) is the event's JSON members without braces; spdlog supplies time, level and name.
    logger->set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","component":"%n",%v})",
                        spdlog::pattern_time_type::utc);
    logger->set_level(to_spdlog(level));
    logger->flush_on(spdlog::level::trace);
    spdlog::set_default_logger(std::move(logger));
}

bool enabled(Level level) noexcept {
    return spdlog::default_logger_raw()->should_log(to_spdlog(level));
}

void write(Level level, std::string_view msg, std::initializer_list<Field> fields) {
    if (!enabled(level)) {
        return;
    }
    // One line per request at the default level: written straight into one string. Strings (most values,
    // every key) and integers are written here; nlohmann's serializer, costly to build, only for the rest.
    std::string payload;
    payload.reserve(256);
    payload += "\"msg\":";
    codec::append_json_string(payload, msg);
    std::optional<nlohmann::detail::serializer<nlohmann::json>> other;
    for (const auto& [key, value] : fields) {
        payload += ',';
        codec::append_json_string(payload, key);
        payload += ':';
        if (value.is_string()) {
            codec::append_json_string(payload, value.get_ref<const std::string&>());
        } else if (value.is_number_integer()) {
            std::array<char, 24> digits{};
            const auto end = value.is_number_unsigned()
                                 ? std::to_chars(digits.begin(), digits.end(), value.get<std::uint64_t>()).ptr
                                 : std::to_chars(digits.begin(), digits.end(), value.get<std::int64_t>()).ptr;
            payload.append(digits.data(), end);
        } else {
            if (!other) {
                other.emplace(nlohmann::detail::output_adapter<char>(payload), ' ',
                              nlohmann::json::error_handler_t::replace);
            }
            other->dump(value, false, false, 0);
        }
    }
    spdlog::default_logger_raw()->log(to_spdlog(level), spdlog::string_view_t(payload.data(), payload.size()));
}

void audit(std::string_view msg, const nlohmann::json& fields) {
    const auto& logger = audit_logger();
    if (!logger || !logger->should_log(spdlog::level::info)) {
        return;
    }
    std::string payload = "\"msg\":" + dump(nlohmann::json(msg));
    for (const auto& [key, value] : fields.items()) {
        payload += ',';
        payload += dump(nlohmann::json(key));
        payload += ':';
        payload += dump(value);
    }
    logger->log(spdlog::level::info, spdlog::string_view_t(payload.data(), payload.size()));
}

}  // namespace certdeploy::log
