#include "config/schema.hpp"

#include <boost/program_options.hpp>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

namespace certdeploy::config {
namespace po = boost::program_options;

namespace {

constexpr const char* kConfigEnv = "CERTDEPLOY_CONFIG";

Error config_error(std::string message) {
    return make_error(ErrorCode::invalid_config, std::move(message));
}

// Values are echoed in errors so the user sees what was read: as JSON, so that a newline in a value or a
// key cannot break the one-line message, and cut (at a character boundary) when long.
std::string shown(const nlohmann::json& value) {
    std::string text = value.dump(-1, ' ', true, nlohmann::json::error_handler_t::replace);
    constexpr std::size_t kMax = 80;
    if (text.size() > kMax) {
        text = text.substr(0, kMax) + "...";
    }
    return text;
}

std::string shown(const std::string& text) {
    return shown(nlohmann::json(text));
}

// A library's message that may quote user input: control characters replaced, so it stays one line.
std::string one_line(std::string text) {
    for (char& c : text) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
            c = '?';
        }
    }
    return text;
}

// The text of the last I/O error, or a generic one: errno is not reliable after a failed std::ifstream.
std::string io_reason() {
    const int saved = errno;
    return saved != 0 ? std::strerror(saved) : "cannot be opened";
}

// A flag's or variable's text as JSON. Text that does not parse as the key's type stays a string, so
// the key's validator refuses it with the key's own expected form.
nlohmann::json from_text(const std::string& text, ValueType type) {
    switch (type) {
        case ValueType::string:
            return text;
        case ValueType::integer: {
            long long number = 0;
            const auto* end = text.data() + text.size();
            auto [ptr, ec] = std::from_chars(text.data(), end, number);
            if (ec == std::errc() && ptr == end && !text.empty()) {
                return number;
            }
            return text;
        }
        case ValueType::number: {
            double number = 0;
            const auto* end = text.data() + text.size();
            auto [ptr, ec] = std::from_chars(text.data(), end, number);
            if (ec == std::errc() && ptr == end && !text.empty()) {
                return number;
            }
            return text;
        }
        case ValueType::boolean:
            if (text == "true" || text == "1" || text == "yes") {
                return true;
            }
            if (text == "false" || text == "0" || text == "no") {
                return false;
            }
            return text;
        case ValueType::json: {
            auto parsed = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false, /*ignore_comments=*/true);
            return parsed.is_discarded() ? nlohmann::json(text) : parsed;
        }
    }
    return text;
}

Result<nlohmann::json> read_config_file(const std::string& path) {
    errno = 0;
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return config_error("cannot read configuration file " + shown(path) + " (key \"config\"): " + io_reason());
    }
    std::stringstream text;
    text << in.rdbuf();
    try {
        auto parsed = nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/true, /*ignore_comments=*/true);
        if (!parsed.is_object()) {
            return config_error("configuration file " + shown(path) + " must hold one JSON object of keys");
        }
        // nlohmann::json converts to anything, so the value alternative is named explicitly.
        return Result<nlohmann::json>(boost::system::in_place_value, std::move(parsed));
    } catch (const nlohmann::json::exception& e) {
        // A syntax error, or a number no double holds (out_of_range, e.g. 1e400). e.what() carries the byte
        // offset and what was expected, or the number, never a value from elsewhere.
        return config_error("configuration file " + shown(path) + " is not valid JSON: " + one_line(e.what()));
    }
}

std::string key_list(const std::vector<KeyInfo>& keys) {
    std::string out;
    for (const auto& key : keys) {
        out += (out.empty() ? "" : ", ") + key.name;
    }
    return out;
}

po::options_description build_description(const std::vector<KeyInfo>& keys) {
    po::options_description desc("Options", 120, 60);
    desc.add_options()("help,h", "show this help and exit");
    desc.add_options()("config", po::value<std::string>()->value_name("FILE"),
                       "JSON configuration file, comments allowed (env CERTDEPLOY_CONFIG)");
    for (const auto& key : keys) {
        std::string help = key.help + " (key " + key.name + ", env " + env_name(key.name);
        if (!key.fallback.is_null()) {
            help += ", default " + (key.fallback.is_string() ? key.fallback.get<std::string>() : key.fallback.dump());
        }
        help += ")";
        auto* semantic = po::value<std::string>()->value_name(key.type == ValueType::boolean ? "BOOL" : "VALUE");
        if (key.type == ValueType::boolean) {
            semantic->implicit_value("true");
        }
        desc.add_options()(flag_name(key.name).c_str(), semantic, help.c_str());
    }
    return desc;
}

}  // namespace

EnvLookup process_environment() {
    return [](const std::string& name) -> std::optional<std::string> {
        if (const char* value = std::getenv(name.c_str())) {  // NOLINT(concurrency-mt-unsafe): read at start only
            return std::string(value);
        }
        return std::nullopt;
    };
}

std::string flag_name(const std::string& key) {
    std::string out;
    for (char c : key) {
        if (std::isupper(static_cast<unsigned char>(c)) != 0) {
            out += '-';
            out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        } else {
            out += c;
        }
    }
    return out;
}

std::string env_name(const std::string& key) {
    std::string out = "CERTDEPLOY_";
    for (char c : key) {
        if (std::isupper(static_cast<unsigned char>(c)) != 0) {
            out += '_';
        }
        out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    return out;
}

Result<std::vector<ResolvedValue>> resolve(const std::vector<KeyInfo>& keys, const std::vector<std::string>& args,
                                           const EnvLookup& env) {
    po::variables_map flags;
    try {
        // Stray words are collected so that the error can name them, rather than being ignored.
        auto options = build_description(keys);
        options.add_options()("stray-arguments", po::value<std::vector<std::string>>());
        po::positional_options_description strays;
        strays.add("stray-arguments", -1);
        // No guessing of abbreviated flags: --thread must not silently mean --threads.
        const int style = po::command_line_style::default_style & ~po::command_line_style::allow_guessing;
        po::store(po::command_line_parser(args).options(options).positional(strays).style(style).run(), flags);
    } catch (const po::error& e) {
        // program_options names the offending option, e.g. "unrecognised option '--lisen'".
        return config_error(one_line(e.what()));
    }

    if (flags.count("stray-arguments") != 0) {
        return config_error("unexpected argument " +
                            shown(flags["stray-arguments"].as<std::vector<std::string>>().front()) +
                            ": settings are given as --flag VALUE");
    }

    nlohmann::json file = nlohmann::json::object();
    std::string file_origin;
    std::optional<std::string> config_path;
    if (flags.count("config") != 0) {
        config_path = flags["config"].as<std::string>();
    } else if (auto from_env = env(kConfigEnv)) {
        config_path = *from_env;
    }
    if (config_path) {
        auto loaded = read_config_file(*config_path);
        if (!loaded) {
            return loaded.error();
        }
        file = std::move(*loaded);
        file_origin = "configuration file " + shown(*config_path);
        for (const auto& [name, value] : file.items()) {
            bool known = false;
            for (const auto& key : keys) {
                known = known || key.name == name;
            }
            if (!known) {
                return config_error("unknown key " + shown(name) + " in " + file_origin + ": expected one of " +
                                    key_list(keys));
            }
        }
    }

    std::vector<ResolvedValue> out;
    out.reserve(keys.size());
    for (const auto& key : keys) {
        const std::string flag = flag_name(key.name);
        if (flags.count(flag) != 0) {
            out.push_back({from_text(flags[flag].as<std::string>(), key.type), "--" + flag});
        } else if (auto text = env(env_name(key.name))) {
            out.push_back({from_text(*text, key.type), env_name(key.name)});
        } else if (file.contains(key.name)) {
            out.push_back({file[key.name], file_origin});
        } else {
            out.push_back({key.fallback, "default"});
        }
    }
    return out;
}

std::string describe_options(const std::vector<KeyInfo>& keys) {
    std::ostringstream out;
    out << build_description(keys);
    return out.str();
}

Error invalid_value(const KeyInfo& key, const ResolvedValue& resolved) {
    return config_error("invalid value for key \"" + key.name + "\" (from " + resolved.origin + "): expected " +
                        key.expected + "; got " + shown(resolved.value));
}

}  // namespace certdeploy::config
