// certdeploy token create|list|revoke|join --data-dir DIR: the controller's API tokens and agents' join tokens,
// on the machine itself (first use, or recovery when the admin token is lost). Works beside a running
// controller (SQLite WAL).

#include <boost/program_options.hpp>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/controller_database.hpp"
#include "service/controller/access/token_service.hpp"
#include "service/controller/enrolment/enrolment.hpp"
#include "service/fs/atomic_file.hpp"
#include "service/pki/fleet_ca.hpp"
#include "service/time/duration.hpp"
#include "service/time/rfc3339.hpp"
#include "store/controller_store.hpp"

namespace certdeploy::cli {
namespace po = boost::program_options;
namespace {

constexpr const char* kUsage = R"(Usage:
  certdeploy token create NAME --role viewer|operator|admin [--scope LABEL=VALUE[,...]] [--expires-in-days N]
  certdeploy token list [--output json]
  certdeploy token revoke NAME
  certdeploy token join [--server NAME] [--labels LABEL=VALUE[,...]] [--expires-in 1h] [--uses N]
                        [--agent-ca FILE] [--output json]
Every form takes --data-dir DIR (env CERTDEPLOY_DATA_DIR, default /var/lib/certdeploy/controller): the
controller's data directory, on this machine. With PostgreSQL, also --database CONNINFO (env
CERTDEPLOY_DATABASE) and --database-password-file FILE (env CERTDEPLOY_DATABASE_PASSWORD_FILE), as the
controller's configuration names them.

create prints the new token on stdout, once; the database keeps only its SHA-256. A --scope limits the
token to the servers whose labels match (a viewer or an operator only).

join makes a join token for a new agent (single-use unless --uses, and then for any name; 1h unless
--expires-in 90s|30m|1h|7d) and prints it on stdout, once; the fleet CA's fingerprint, which the agent pins
(--ca-fingerprint), goes to stderr (or both in --output json). The fleet CA is read from
DATA_DIR/pki/fleet-ca.pem (the controller puts it there), or from --agent-ca.
)";

// LABEL=VALUE[,LABEL=VALUE...] into `out`; false when malformed.
bool parse_selector(const std::string& text, std::map<std::string, std::string>& out) {
    std::size_t pos = 0;
    while (pos <= text.size()) {
        const auto comma = text.find(',', pos);
        const auto item = text.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
        const auto eq = item.find('=');
        if (eq == std::string::npos || eq == 0) {
            return false;
        }
        out[item.substr(0, eq)] = item.substr(eq + 1);
        if (comma == std::string::npos) {
            return true;
        }
        pos = comma + 1;
    }
    return true;
}

int usage_error(const std::string& message) {
    std::cerr << "certdeploy token: " << message << " (see certdeploy token --help)\n";
    return 2;
}

std::string or_dash(const std::optional<std::string>& value) {
    return value ? *value : "-";
}

}  // namespace

int token_command(const std::vector<std::string>& args, const config::EnvLookup& env) {
    if (args.empty() || args.front() == "--help" || args.front() == "-h") {
        std::cout << kUsage;
        return args.empty() ? 2 : 0;
    }
    const std::string action = args.front();
    if (action != "create" && action != "list" && action != "revoke" && action != "join") {
        return usage_error("unknown action '" + action + "'");
    }
    po::options_description desc("Options");
    desc.add_options()("help,h", "show this help")("data-dir", po::value<std::string>()->value_name("DIR"))(
        "role", po::value<std::string>()->value_name("ROLE"))("scope", po::value<std::string>()->value_name("SEL"))(
        "expires-in-days", po::value<int>()->value_name("N"))("output", po::value<std::string>()->value_name("FMT"))(
        "name", po::value<std::string>())("server", po::value<std::string>()->value_name("NAME"))(
        "labels", po::value<std::string>()->value_name("SEL"))("expires-in", po::value<std::string>()->value_name("D"))(
        "uses", po::value<int>()->value_name("N"))("agent-ca", po::value<std::string>()->value_name("FILE"))(
        "database", po::value<std::string>()->value_name("CONNINFO"))("database-password-file",
                                                                      po::value<std::string>()->value_name("FILE"));
    po::positional_options_description positional;
    positional.add("name", 1);
    po::variables_map vm;
    try {
        const int style = po::command_line_style::default_style & ~po::command_line_style::allow_guessing;
        po::store(po::command_line_parser(std::vector<std::string>(args.begin() + 1, args.end()))
                      .options(desc)
                      .positional(positional)
                      .style(style)
                      .run(),
                  vm);
    } catch (const po::error& e) {
        return usage_error(e.what());
    }
    if (vm.count("help") != 0) {
        std::cout << kUsage;
        return 0;
    }
    std::string data_dir = "/var/lib/certdeploy/controller";
    if (auto from_env = env("CERTDEPLOY_DATA_DIR")) {
        data_dir = *from_env;
    }
    if (vm.count("data-dir") != 0) {
        data_dir = vm["data-dir"].as<std::string>();
    }
    DatabaseChoice database{data_dir, env("CERTDEPLOY_DATABASE"), std::nullopt, 2};
    if (auto from_env = env("CERTDEPLOY_DATABASE_PASSWORD_FILE")) {
        database.passwordFile = *from_env;
    }
    if (vm.count("database") != 0) {
        database.database = vm["database"].as<std::string>();
    }
    if (vm.count("database-password-file") != 0) {
        database.passwordFile = vm["database-password-file"].as<std::string>();
    }
    if (database.database && database.database->empty()) {
        database.database.reset();
    }
    const bool needs_name = action == "create" || action == "revoke";
    if (needs_name != (vm.count("name") != 0)) {
        return usage_error(needs_name ? "no token NAME given" : action + " takes no NAME");
    }
    if (action != "join" && (vm.count("server") + vm.count("labels") + vm.count("expires-in") + vm.count("uses") +
                             vm.count("agent-ca")) != 0) {
        return usage_error("--server, --labels, --expires-in, --uses and --agent-ca go with join");
    }
    if (action != "create" && (vm.count("role") + vm.count("scope") + vm.count("expires-in-days")) != 0) {
        return usage_error("--role, --scope and --expires-in-days go with create");
    }
    const bool json_output = vm.count("output") != 0 && vm["output"].as<std::string>() == "json";
    if (vm.count("output") != 0 && !json_output && vm["output"].as<std::string>() != "table") {
        return usage_error("--output is table or json");
    }

    controller::TokenSpec spec;
    if (action == "create") {
        spec.name = vm["name"].as<std::string>();
        auto role = vm.count("role") != 0 ? controller::parse_role(vm["role"].as<std::string>()) : std::nullopt;
        if (!role) {
            return usage_error("--role is viewer, operator or admin");
        }
        spec.role = *role;
        if (vm.count("scope") != 0) {
            if (!parse_selector(vm["scope"].as<std::string>(), spec.scope)) {
                return usage_error("--scope is LABEL=VALUE[,LABEL=VALUE...]");
            }
            spec.scoped = true;
        }
        if (vm.count("expires-in-days") != 0) {
            const int days = vm["expires-in-days"].as<int>();
            if (days < 1 || days > 3650) {
                return usage_error("--expires-in-days is from 1 to 3650");
            }
            spec.expiresAt = std::chrono::system_clock::now() + std::chrono::hours(24 * days);
        }
    }

    if (!database.database && !std::filesystem::exists(std::filesystem::path(data_dir) / "controller.db")) {
        std::cerr << "certdeploy token: no controller database in " << data_dir
                  << " (start the controller once, or give --data-dir)\n";
        return 1;
    }
    auto opened = open_controller_database(database);
    if (opened.failure) {
        std::cerr << "certdeploy token: " << opened.failure->message << '\n';
        return opened.failure->exitCode;
    }
    std::shared_ptr<store::ControllerStore> store = std::move(opened.store);
    if (action == "join") {
        controller::JoinTokenSpec join;
        if (vm.count("server") != 0) {
            join.server = vm["server"].as<std::string>();
        }
        if (vm.count("labels") != 0 && !parse_selector(vm["labels"].as<std::string>(), join.labels)) {
            return usage_error("--labels is LABEL=VALUE[,LABEL=VALUE...]");
        }
        if (vm.count("expires-in") != 0) {
            auto duration = parse_duration(vm["expires-in"].as<std::string>());
            if (!duration) {
                return usage_error("--expires-in is a duration such as 90s, 30m, 1h or 7d");
            }
            join.expiresIn = *duration;
        }
        if (vm.count("uses") != 0) {
            join.uses = vm["uses"].as<int>();
        }
        const auto ca_file = vm.count("agent-ca") != 0 ? std::filesystem::path(vm["agent-ca"].as<std::string>())
                                                       : std::filesystem::path(data_dir) / "pki" / "fleet-ca.pem";
        auto ca_pem = fs::read_file(ca_file, 1024 * 1024);
        const auto fingerprint = ca_pem ? pki::certificate_fingerprint(*ca_pem) : std::nullopt;
        if (!fingerprint) {
            std::cerr << "certdeploy token: no fleet CA at " << ca_file.string()
                      << " (start the controller once, or give --agent-ca: the controller's agentCa)\n";
            return 1;
        }
        auto created = controller::create_join_token(*store, join, "certdeploy token join");
        if (!created) {
            std::cerr << "certdeploy token: " << created.error().message << '\n';
            return created.error().code == ErrorCode::invalid_request ? 2 : 1;
        }
        if (json_output) {
            std::cout << nlohmann::json{{"id", created->token.id},
                                        {"token", std::string(created->secret.reveal())},
                                        {"caFingerprint", *fingerprint},
                                        {"expiresAt", created->token.expiresAt}}
                             .dump(2)
                      << '\n';
        } else {
            std::cout << created->secret.reveal() << '\n';
            std::cerr << "join token " << created->token.id << " expires at " << created->token.expiresAt
                      << "; the fleet CA's fingerprint (--ca-fingerprint): " << *fingerprint << '\n';
        }
        return 0;
    }
    controller::TokenService tokens(store);
    if (action == "create") {
        auto created = tokens.create(spec);
        if (!created) {
            std::cerr << "certdeploy token: " << created.error().message << '\n';
            return created.error().code == ErrorCode::invalid_request || created.error().code == ErrorCode::token_exists
                       ? 2
                       : 1;
        }
        std::cout << created->secret.reveal() << '\n';
        return 0;
    }
    if (action == "revoke") {
        auto revoked = tokens.revoke(vm["name"].as<std::string>());
        if (!revoked) {
            std::cerr << "certdeploy token: " << revoked.error().message << '\n';
            return revoked.error().code == ErrorCode::token_not_found ? 2 : 1;
        }
        return 0;
    }
    auto rows = tokens.list();
    if (!rows) {
        std::cerr << "certdeploy token: " << rows.error().message << '\n';
        return 1;
    }
    if (json_output) {
        nlohmann::json out = nlohmann::json::array();
        for (const auto& row : *rows) {
            out.push_back({{"name", row.name},
                           {"role", row.role},
                           {"scope", row.scoped ? nlohmann::json(row.scope) : nlohmann::json(nullptr)},
                           {"createdAt", row.createdAt},
                           {"expiresAt", row.expiresAt ? nlohmann::json(*row.expiresAt) : nlohmann::json(nullptr)},
                           {"lastUsedAt", row.lastUsedAt ? nlohmann::json(*row.lastUsedAt) : nlohmann::json(nullptr)},
                           {"revokedAt", row.revokedAt ? nlohmann::json(*row.revokedAt) : nlohmann::json(nullptr)}});
        }
        std::cout << nlohmann::json{{"tokens", out}}.dump(2) << '\n';
        return 0;
    }
    std::cout << "NAME\tROLE\tSCOPE\tCREATED\tEXPIRES\tLAST USED\tREVOKED\n";
    for (const auto& row : *rows) {
        std::string scope = "-";
        if (row.scoped) {
            scope.clear();
            for (const auto& [key, value] : row.scope) {
                scope += (scope.empty() ? "" : ",") + key + "=" + value;
            }
        }
        std::cout << row.name << '\t' << row.role << '\t' << scope << '\t' << row.createdAt << '\t'
                  << or_dash(row.expiresAt) << '\t' << or_dash(row.lastUsedAt) << '\t' << or_dash(row.revokedAt)
                  << '\n';
    }
    return 0;
}

}  // namespace certdeploy::cli
