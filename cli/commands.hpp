#pragma once
// The subcommands other than server and agent. Each returns the process's exit status.

#include <string>
#include <vector>

#include "config/process_config.hpp"

namespace certdeploy::cli {

// certdeploy agent, once its configuration has loaded.
int run_agent(const config::AgentConfig& cfg);

// certdeploy server, once its configuration has loaded.
int run_server(const config::ServerConfig& cfg);

// certdeploy inspect FILE [--password-file F | --password-stdin] [--ca-file PEM]...
int inspect_command(const std::vector<std::string>& args);

// certdeploy pki init DIR --agents NAME[,NAME...]
int pki_command(const std::vector<std::string>& args);

// certdeploy token create|list|revoke --data-dir DIR
int token_command(const std::vector<std::string>& args, const config::EnvLookup& env);

// The command-line client: import, jobs, servers, certificates, enable, remove, retry, cancel.
bool is_client_command(const std::string& command);
int client_command(const std::string& command, const std::vector<std::string>& args, const config::EnvLookup& env);
// One line per client command, for the top-level usage.
std::string client_commands_help();

}  // namespace certdeploy::cli
