#pragma once
// The generic half of configuration: a list of keys, each settable from a command-line flag, an
// environment variable and a JSON config file, resolved in that order of precedence over a default.
// Names derive from the camelCase key: "readyFile" is --ready-file and CERTDEPLOY_READY_FILE.

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "service/error.hpp"

namespace certdeploy::config {

// How a flag's or an environment variable's text becomes a JSON value before validation.
enum class ValueType { string, integer, number, boolean, json };

struct KeyInfo {
    std::string name;  // camelCase, as written in the config file
    ValueType type = ValueType::string;
    std::string expected;     // the accepted form, quoted in every error about this key
    std::string help;         // one line for --help
    nlohmann::json fallback;  // the default; null means "not set"
};

// A key's value after precedence, and where it came from ("--listen", "CERTDEPLOY_LISTEN", a file, "default").
struct ResolvedValue {
    nlohmann::json value;
    std::string origin;
};

// Reads the environment. Injected so that tests need not touch the process's own.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;
EnvLookup process_environment();

std::string flag_name(const std::string& key);  // "readyFile" -> "ready-file"
std::string env_name(const std::string& key);   // "readyFile" -> "CERTDEPLOY_READY_FILE"

// Parses `args` (everything after the subcommand) and layers flags over env over file over defaults.
// The config file is --config or CERTDEPLOY_CONFIG. Unknown flags, unknown file keys, unreadable or
// malformed files are errors whose message is one line naming the flag, key or file.
Result<std::vector<ResolvedValue>> resolve(const std::vector<KeyInfo>& keys, const std::vector<std::string>& args,
                                           const EnvLookup& env);

// The options part of --help for these keys.
std::string describe_options(const std::vector<KeyInfo>& keys);

// The one-line error for a value that does not fit its key.
Error invalid_value(const KeyInfo& key, const ResolvedValue& resolved);

// A typed schema: each key carries the function that validates and stores its value into Cfg.
template <class Cfg>
struct Schema {
    struct Entry {
        KeyInfo info;
        std::function<bool(const nlohmann::json&, Cfg&)> apply;  // false: the value does not fit
    };
    std::vector<Entry> entries;

    std::vector<KeyInfo> infos() const {
        std::vector<KeyInfo> out;
        out.reserve(entries.size());
        for (const auto& entry : entries) {
            out.push_back(entry.info);
        }
        return out;
    }

    Result<Cfg> load(const std::vector<std::string>& args, const EnvLookup& env) const {
        auto resolved = resolve(infos(), args, env);
        if (!resolved) {
            return resolved.error();
        }
        Cfg cfg{};
        for (std::size_t i = 0; i < entries.size(); ++i) {
            if (!entries[i].apply((*resolved)[i].value, cfg)) {
                return invalid_value(entries[i].info, (*resolved)[i]);
            }
        }
        return cfg;
    }
};

}  // namespace certdeploy::config
