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

}  // namespace certdeploy::cli
