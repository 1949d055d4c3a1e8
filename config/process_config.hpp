#pragma once
// The settings of `certdeploy server` and `certdeploy agent`, and the schemas that load them.

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "config/schema.hpp"
#include "config/values.hpp"
#include "service/log.hpp"

namespace certdeploy::config {

// How a process serves HTTP: shared by the controller and the agent.
struct HttpSettings {
    Endpoint listen;
    std::optional<std::filesystem::path> readyFile;  // written with HOST:PORT once listening
    unsigned threads = 0;                            // I/O threads; 0 at load time becomes one per core
    std::size_t maxBodyBytes = 0;
    std::chrono::milliseconds requestTimeout{};  // to receive one whole request once it has begun
    std::chrono::milliseconds idleTimeout{};     // a keep-alive connection may wait this long for a request
    std::chrono::milliseconds shutdownGrace{};   // in-flight requests get this long after SIGTERM
};

struct ServerConfig {
    HttpSettings http;
    log::Level logLevel = log::Level::info;
    std::filesystem::path dataDir;  // controller.db (SQLite, WAL) lives here
    // PostgreSQL instead of SQLite: a libpq connection string or postgresql:// URI (without a password), the
    // file holding the password (0600), and the most connections this controller opens.
    std::optional<std::string> database;
    std::optional<std::filesystem::path> databasePasswordFile;
    std::size_t databaseMaxConnections = 0;
    nlohmann::json servers = nlohmann::json::object();  // registered at start: name -> {agentUrl, labels}
    // HTTPS for the API: both, or insecureHttp (plain HTTP, loopback listen addresses only).
    std::optional<std::filesystem::path> tlsCert;
    std::optional<std::filesystem::path> tlsKey;
    bool insecureHttp = false;
    std::vector<std::string> corsAllowedOrigins;  // browser front ends allowed to call the API
    // API clients by certificate (mutual TLS): the CA that issues them, and common name -> {role, scope}.
    std::optional<std::filesystem::path> clientCa;
    nlohmann::json clientCertificates = nlohmann::json::object();
    // Mutual TLS to the agents: all three, or none (then agents are not contacted).
    std::optional<std::filesystem::path> agentCa;          // the CA that issued the agents' certificates
    std::optional<std::filesystem::path> agentClientCert;  // what the controller presents
    std::optional<std::filesystem::path> agentClientKey;
    std::optional<std::filesystem::path> agentCaKey;  // with agentCa: the fleet CA the controller issues with
    std::chrono::seconds agentClientCertLifetime{};   // of the client certificate the fleet CA gives it
    std::chrono::seconds agentCertificateLifetime{};  // of the certificates the fleet CA gives enrolled agents
    bool manualApproval = false;                      // enrolmentApproval: "manual"
    std::chrono::milliseconds probeInterval{};        // how often each agent's health is asked
    std::chrono::milliseconds agentTimeout{};         // per connect, handshake, write and read with an agent
    std::size_t maxParallelTargets = 0;               // targets dispatched at once
    int maxAttempts = 0;                              // per target, for transport failures
    std::chrono::milliseconds retryDelay{};           // first backoff; doubles per attempt, with jitter
    std::chrono::milliseconds attemptTimeout{};       // one attempt on one server, every request of it
    std::chrono::hours uploadRetention{};             // how long a failed job's upload is kept for a retry
    std::chrono::seconds lease{};                     // a running target's claim without a renewal
    // The upload key (default DATA_DIR/upload.key) and the keys it replaced, still read.
    std::optional<std::filesystem::path> uploadKeyFile;
    std::vector<std::filesystem::path> uploadPreviousKeyFiles;
    std::vector<std::filesystem::path> caFiles;  // extra trusted roots for an upload's status
    std::optional<Endpoint> metricsListen;       // GET /metrics without a token, loopback only
};

struct AgentConfig {
    HttpSettings http;
    log::Level logLevel = log::Level::info;
    std::string name;                               // this server's name (default: the host name)
    std::filesystem::path store;                    // the certificate store directory
    std::optional<std::filesystem::path> tlsCert;   // the agent's certificate chain (PEM)
    std::optional<std::filesystem::path> tlsKey;    // its private key (PEM)
    std::optional<std::filesystem::path> clientCa;  // the CA whose clients (the controller) are accepted
    // Or an identity of its own, from the controller's fleet CA (cli/agent_identity.hpp).
    std::optional<std::string> controller;               // https://HOST:PORT
    std::optional<std::filesystem::path> joinTokenFile;  // deleted once used
    std::optional<std::string> caFingerprint;            // sha256:..., the fleet CA's
    std::optional<std::filesystem::path> controllerCa;   // or the fleet CA itself
    std::optional<std::string> advertiseUrl;             // where the controller reaches this agent
    std::filesystem::path identityDir;                   // agent.pem (0600) and ca.pem
    std::vector<std::filesystem::path> caFiles;          // extra trusted roots for status
    nlohmann::json services = nlohmann::json::object();  // validated by agent::parse_services
};

const Schema<ServerConfig>& server_schema();
const Schema<AgentConfig>& agent_schema();

// `args` are the arguments after the subcommand; `env` reads CERTDEPLOY_* variables.
Result<ServerConfig> load_server_config(const std::vector<std::string>& args, const EnvLookup& env);
Result<AgentConfig> load_agent_config(const std::vector<std::string>& args, const EnvLookup& env);

}  // namespace certdeploy::config
