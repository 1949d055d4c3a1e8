// certdeploy: one executable, one subcommand per role (as `vault server` and `consul agent`).

#include <iostream>
#include <string>
#include <vector>

#include "certdeploy/version.hpp"
#include "cli/commands.hpp"
#include "cli/http_process.hpp"
#include "config/process_config.hpp"

namespace {

using certdeploy::config::EnvLookup;

constexpr const char* kUsage = R"(Usage: certdeploy COMMAND [options]

Deploys TLS certificates to fleets of servers.

Commands:
  server    run the controller's REST API
  agent     run the agent that installs certificates on this server
  inspect   read a certificate file and print its summary and status
  pki init  create development certificates (mutual TLS, the controller's HTTPS)
  token     create, list or revoke the controller's API tokens (on its machine)
  version   print the version

Client commands (they call a controller's HTTP API):
)";

constexpr const char* kUsageEnd = R"(
Run 'certdeploy COMMAND --help' for a command's options.
)";

constexpr const char* kConfigNote = R"(
Every option is also a key of the --config file (the camelCase name shown) and an environment
variable (shown). A flag beats the environment, which beats the file, which beats the default.
)";

bool wants_help(const std::vector<std::string>& args) {
    for (const auto& arg : args) {
        if (arg == "--help" || arg == "-h") {
            return true;
        }
    }
    return false;
}

// Configuration errors are one line on stderr and exit status 2, before any log is set up.
int config_failure(const std::string& command, const certdeploy::Error& error) {
    std::cerr << "certdeploy " << command << ": " << error.message << '\n';
    return 2;
}

template <class Schema>
void print_usage(const std::string& command, const std::string& summary, const Schema& schema) {
    std::cout << "Usage: certdeploy " << command << " [options]\n\n"
              << summary << "\n\n"
              << certdeploy::config::describe_options(schema.infos()) << kConfigNote;
}

int server_command(const std::vector<std::string>& args, const EnvLookup& env) {
    if (wants_help(args)) {
        print_usage("server", "Runs the controller: the REST API that deploys certificates to agents.",
                    certdeploy::config::server_schema());
        return 0;
    }
    auto cfg = certdeploy::config::load_server_config(args, env);
    if (!cfg) {
        return config_failure("server", cfg.error());
    }
    return certdeploy::cli::run_server(*cfg);
}

int agent_command(const std::vector<std::string>& args, const EnvLookup& env) {
    if (wants_help(args)) {
        print_usage("agent", "Runs the agent: installs certificates on this server for the controller.",
                    certdeploy::config::agent_schema());
        return 0;
    }
    auto cfg = certdeploy::config::load_agent_config(args, env);
    if (!cfg) {
        return config_failure("agent", cfg.error());
    }
    return certdeploy::cli::run_agent(*cfg);
}

int version_command(const std::vector<std::string>& args) {
    if (wants_help(args)) {
        std::cout << "Usage: certdeploy version\n\nPrints certdeploy's version.\n";
        return 0;
    }
    if (!args.empty()) {
        std::cerr << "certdeploy version: unexpected argument '" << args.front() << "'\n";
        return 2;
    }
    std::cout << "certdeploy " << certdeploy::kVersion << '\n';
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty()) {
        std::cerr << kUsage << certdeploy::cli::client_commands_help() << kUsageEnd;
        return 2;
    }
    const std::string command = args.front();
    args.erase(args.begin());
    const auto env = certdeploy::config::process_environment();
    try {
        if (command == "server") {
            return server_command(args, env);
        }
        if (command == "agent") {
            return agent_command(args, env);
        }
        if (command == "inspect") {
            return certdeploy::cli::inspect_command(args);
        }
        if (command == "pki") {
            return certdeploy::cli::pki_command(args);
        }
        if (command == "token") {
            return certdeploy::cli::token_command(args, env);
        }
        if (command == "version" || command == "--version") {
            return version_command(args);
        }
        if (certdeploy::cli::is_client_command(command)) {
            return certdeploy::cli::client_command(command, args, env);
        }
        if (command == "help" || command == "--help" || command == "-h") {
            std::cout << kUsage << certdeploy::cli::client_commands_help() << kUsageEnd;
            return 0;
        }
    } catch (const std::exception& e) {
        std::cerr << "certdeploy " << command << ": fatal: " << e.what() << '\n';
        return 1;
    }
    std::cerr << "certdeploy: unknown command '" << command << "' (see 'certdeploy --help')\n";
    return 2;
}
