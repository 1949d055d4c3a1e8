#include "config/process_config.hpp"

#include <unistd.h>

#include <thread>

namespace certdeploy::config {
namespace {

using nlohmann::json;

constexpr std::int64_t kMiB = 1024 * 1024;

// The keys every HTTP process has; `Cfg` is ServerConfig or AgentConfig, both with `http` and `logLevel`.
template <class Cfg>
void add_http_keys(Schema<Cfg>& schema, const char* default_listen) {
    schema.entries.push_back(
        {{"listen", ValueType::string, "HOST:PORT, with a port from 0 to 65535 (0 picks a free port)",
          "address to listen on", default_listen},
         [](const json& v, Cfg& c) { return decode_endpoint(v, c.http.listen); }});
    schema.entries.push_back(
        {{"readyFile", ValueType::string, "a file path",
          "once listening, write the bound HOST:PORT and a newline to this file (removed at exit)", nullptr},
         [](const json& v, Cfg& c) { return decode_optional_path(v, c.http.readyFile); }});
    schema.entries.push_back(
        {{"logLevel", ValueType::string, "one of trace, debug, info, warn, error, off",
          "least severe level that is logged", "info"},
         [](const json& v, Cfg& c) { return v.is_string() && log::parse_level(v.get<std::string>(), c.logLevel); }});
    schema.entries.push_back(
        {{"threads", ValueType::integer, "an integer from 0 to 256 (0: one per CPU core)", "I/O threads", 0},
         [](const json& v, Cfg& c) {
             std::int64_t n = 0;
             if (!decode_integer(v, 0, 256, n)) {
                 return false;
             }
             c.http.threads = n == 0 ? std::max(1U, std::thread::hardware_concurrency()) : static_cast<unsigned>(n);
             return true;
         }});
    schema.entries.push_back({{"maxBodyBytes", ValueType::integer, "an integer from 1024 to 1073741824",
                               "largest request body accepted, in bytes", 16 * kMiB},
                              [](const json& v, Cfg& c) {
                                  std::int64_t n = 0;
                                  if (!decode_integer(v, 1024, 1024 * kMiB, n)) {
                                      return false;
                                  }
                                  c.http.maxBodyBytes = static_cast<std::size_t>(n);
                                  return true;
                              }});
    schema.entries.push_back(
        {{"requestTimeoutSeconds", ValueType::number, "a number of seconds from 0.1 to 3600",
          "time allowed to receive a whole request once it has begun", 30},
         [](const json& v, Cfg& c) { return decode_seconds(v, 0.1, 3600, c.http.requestTimeout); }});
    schema.entries.push_back({{"idleTimeoutSeconds", ValueType::number, "a number of seconds from 0.1 to 3600",
                               "time a keep-alive connection may wait for its next request", 60},
                              [](const json& v, Cfg& c) { return decode_seconds(v, 0.1, 3600, c.http.idleTimeout); }});
    schema.entries.push_back({{"shutdownGraceSeconds", ValueType::number, "a number of seconds from 0 to 60",
                               "on SIGINT or SIGTERM, time in-flight requests get to finish", 1.5},
                              [](const json& v, Cfg& c) { return decode_seconds(v, 0, 60, c.http.shutdownGrace); }});
}

}  // namespace

namespace {

std::string host_name() {
    char buf[256] = {};
    if (::gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') {
        return "localhost";
    }
    return buf;
}

bool decode_required_path(const json& v, std::filesystem::path& out) {
    std::optional<std::filesystem::path> path;
    if (!decode_optional_path(v, path) || !path) {
        return false;
    }
    out = *path;
    return true;
}

// "caFile" (and "uploadPreviousKeyFiles"): one path or an array of them.
bool decode_ca_files(const json& v, std::vector<std::filesystem::path>& out) {
    out.clear();
    if (v.is_null()) {
        return true;
    }
    const json list = v.is_array() ? v : json::array({v});
    for (const auto& item : list) {
        if (!item.is_string() || item.get<std::string>().empty()) {
            return false;
        }
        out.emplace_back(item.get<std::string>());
    }
    return true;
}

}  // namespace

const Schema<ServerConfig>& server_schema() {
    static const Schema<ServerConfig> schema = [] {
        Schema<ServerConfig> s;
        add_http_keys(s, "127.0.0.1:8080");
        s.entries.push_back({{"dataDir", ValueType::string, "a directory path",
                              "where the controller keeps its database (mode 0700)", "/var/lib/certdeploy/controller"},
                             [](const json& v, ServerConfig& c) { return decode_required_path(v, c.dataDir); }});
        s.entries.push_back(
            {{"database", ValueType::string,
              "a postgresql:// URI or a libpq connection string (host=... dbname=...), without a password",
              "PostgreSQL, to run several controllers on one database (default: SQLite in dataDir/controller.db); "
              "the password comes from databasePasswordFile or libpq's PGPASSFILE",
              nullptr},
             [](const json& v, ServerConfig& c) {
                 if (!decode_optional_string(v, c.database)) {
                     return false;
                 }
                 if (c.database && c.database->empty()) {
                     c.database.reset();  // empty: the default, SQLite
                 }
                 return !c.database || c.database->rfind("postgresql://", 0) == 0 ||
                        c.database->rfind("postgres://", 0) == 0 || c.database->find('=') != std::string::npos;
             }});
        s.entries.push_back(
            {{"databasePasswordFile", ValueType::string, "a file path (mode 0600)",
              "the PostgreSQL password, alone in a file only its owner can read", nullptr},
             [](const json& v, ServerConfig& c) { return decode_optional_path(v, c.databasePasswordFile); }});
        s.entries.push_back({{"databaseMaxConnections", ValueType::integer, "an integer from 1 to 1000",
                              "the most PostgreSQL connections this controller opens at once", 8},
                             [](const json& v, ServerConfig& c) {
                                 std::int64_t n = 0;
                                 return decode_integer(v, 1, 1000, n) &&
                                        (c.databaseMaxConnections = static_cast<std::size_t>(n), true);
                             }});
        s.entries.push_back(
            {{"servers", ValueType::json,
              "an object of server names, each {\"agentUrl\": \"https://HOST:PORT\", \"labels\": {...}}",
              "servers to register at start (PUT /v1/servers/{name} registers more)", json::object()},
             [](const json& v, ServerConfig& c) {
                 if (!v.is_object()) {
                     return false;
                 }
                 c.servers = v;
                 return true;
             }});
        s.entries.push_back(
            {{"tlsCert", ValueType::string, "a PEM file path",
              "the certificate (chain allowed) the API is served with over HTTPS (pki init: server.pem)", nullptr},
             [](const json& v, ServerConfig& c) { return decode_optional_path(v, c.tlsCert); }});
        s.entries.push_back({{"tlsKey", ValueType::string, "a PEM file path",
                              "the private key of tlsCert (pki init: server.key); SIGHUP re-reads both", nullptr},
                             [](const json& v, ServerConfig& c) { return decode_optional_path(v, c.tlsKey); }});
        s.entries.push_back(
            {{"insecureHttp", ValueType::boolean, "true or false",
              "serve plain HTTP instead of HTTPS: passwords and keys then cross in the clear, so only on a loopback "
              "listen address",
              false},
             [](const json& v, ServerConfig& c) {
                 if (!v.is_boolean()) {
                     return false;
                 }
                 c.insecureHttp = v.get<bool>();
                 return true;
             }});
        s.entries.push_back(
            {{"corsAllowedOrigins", ValueType::json, "a list of origins, e.g. [\"https://admin.contoso.com\"]",
              "web front ends (origins) whose browsers may call the API; bearer tokens only, never cookies",
              json::array()},
             [](const json& v, ServerConfig& c) {
                 if (!v.is_array()) {
                     return false;
                 }
                 c.corsAllowedOrigins.clear();
                 for (const auto& origin : v) {
                     const auto text = origin.is_string() ? origin.get<std::string>() : std::string();
                     if (text != "*" && text.rfind("https://", 0) != 0 && text.rfind("http://", 0) != 0) {
                         return false;
                     }
                     c.corsAllowedOrigins.push_back(text);
                 }
                 return true;
             }});
        s.entries.push_back({{"clientCa", ValueType::string, "a PEM file path",
                              "the CA whose client certificates the API also accepts instead of a token (mutual TLS); "
                              "SIGHUP re-reads it",
                              nullptr},
                             [](const json& v, ServerConfig& c) { return decode_optional_path(v, c.clientCa); }});
        s.entries.push_back(
            {{"clientCertificates", ValueType::json,
              "an object of certificate common names, each {\"role\": \"viewer\" | \"operator\" | \"admin\", "
              "\"scope\": {...}}",
              "the identity (role and optional label scope) of each client certificate clientCa issued",
              json::object()},
             [](const json& v, ServerConfig& c) {
                 if (!v.is_object()) {
                     return false;
                 }
                 c.clientCertificates = v;
                 return true;
             }});
        s.entries.push_back({{"agentCa", ValueType::string, "a PEM file path",
                              "the CA of the agents' certificates (default: the fleet CA the controller makes in "
                              "DATA_DIR/pki)",
                              nullptr},
                             [](const json& v, ServerConfig& c) { return decode_optional_path(v, c.agentCa); }});
        s.entries.push_back(
            {{"agentClientCert", ValueType::string, "a PEM file path",
              "the certificate the controller presents to agents (pki init: controller.pem)", nullptr},
             [](const json& v, ServerConfig& c) { return decode_optional_path(v, c.agentClientCert); }});
        s.entries.push_back({{"agentClientKey", ValueType::string, "a PEM file path",
                              "the private key of agentClientCert (pki init: controller.key)", nullptr},
                             [](const json& v, ServerConfig& c) { return decode_optional_path(v, c.agentClientKey); }});
        s.entries.push_back(
            {{"agentCaKey", ValueType::string, "a PEM file path",
              "the key of agentCa, to use that CA as the fleet CA (default: the controller makes one in "
              "DATA_DIR/pki)",
              nullptr},
             [](const json& v, ServerConfig& c) { return decode_optional_path(v, c.agentCaKey); }});
        s.entries.push_back(
            {{"agentClientCertLifetimeSeconds", ValueType::integer, "an integer from 10 to 315360000",
              "lifetime of the client certificate the fleet CA issues the controller; renewed with a third left",
              7776000},
             [](const json& v, ServerConfig& c) {
                 std::int64_t n = 0;
                 return decode_integer(v, 10, 315360000, n) &&
                        (c.agentClientCertLifetime = std::chrono::seconds(n), true);
             }});
        s.entries.push_back(
            {{"agentCertificateLifetimeSeconds", ValueType::integer, "an integer from 10 to 315360000",
              "lifetime of the certificates the fleet CA issues enrolled agents; they renew at two thirds", 2592000},
             [](const json& v, ServerConfig& c) {
                 std::int64_t n = 0;
                 return decode_integer(v, 10, 315360000, n) &&
                        (c.agentCertificateLifetime = std::chrono::seconds(n), true);
             }});
        s.entries.push_back({{"metricsListen", ValueType::string, "HOST:PORT on a loopback address",
                              "also serve GET /metrics (and /healthz) there, over plain HTTP and without a token, "
                              "for a Prometheus on this machine",
                              nullptr},
                             [](const json& v, ServerConfig& c) {
                                 if (v.is_null()) {
                                     c.metricsListen.reset();
                                     return true;
                                 }
                                 Endpoint endpoint;
                                 if (!decode_endpoint(v, endpoint)) {
                                     return false;
                                 }
                                 c.metricsListen = endpoint;
                                 return true;
                             }});
        s.entries.push_back({{"caFile", ValueType::json, "a PEM file path, or an array of them",
                              "extra trusted roots when judging an uploaded certificate's status (a dry run's "
                              "answer); each agent judges it again with its own",
                              nullptr},
                             [](const json& v, ServerConfig& c) { return decode_ca_files(v, c.caFiles); }});
        s.entries.push_back({{"enrolmentApproval", ValueType::string, "\"auto\" or \"manual\"",
                              "manual: a server that enrols itself waits, pending, until an admin approves it "
                              "(POST /v1/servers/{name}/approve); no job is dispatched to it before",
                              "auto"},
                             [](const json& v, ServerConfig& c) {
                                 if (!v.is_string() || (v != "auto" && v != "manual")) {
                                     return false;
                                 }
                                 c.manualApproval = v == "manual";
                                 return true;
                             }});
        s.entries.push_back(
            {{"probeIntervalSeconds", ValueType::number, "a number of seconds from 0.1 to 3600",
              "how often each agent's health is asked (reachability, version, last contact)", 30},
             [](const json& v, ServerConfig& c) { return decode_seconds(v, 0.1, 3600, c.probeInterval); }});
        s.entries.push_back(
            {{"agentTimeoutSeconds", ValueType::number, "a number of seconds from 0.1 to 600",
              "deadline of each step (connect, handshake, request) with an agent", 10},
             [](const json& v, ServerConfig& c) { return decode_seconds(v, 0.1, 600, c.agentTimeout); }});
        s.entries.push_back({{"maxParallelTargets", ValueType::integer, "an integer from 1 to 10000",
                              "targets (servers) dispatched at once", 64},
                             [](const json& v, ServerConfig& c) {
                                 std::int64_t n = 0;
                                 return decode_integer(v, 1, 10000, n) &&
                                        (c.maxParallelTargets = static_cast<std::size_t>(n), true);
                             }});
        s.entries.push_back({{"maxAttempts", ValueType::integer, "an integer from 1 to 100",
                              "attempts per target when its agent cannot be reached (refusals are never retried)", 4},
                             [](const json& v, ServerConfig& c) {
                                 std::int64_t n = 0;
                                 return decode_integer(v, 1, 100, n) && (c.maxAttempts = static_cast<int>(n), true);
                             }});
        s.entries.push_back(
            {{"retryDelaySeconds", ValueType::number, "a number of seconds from 0.01 to 3600",
              "first backoff before trying an unreachable agent again; doubles per attempt, with jitter", 1},
             [](const json& v, ServerConfig& c) { return decode_seconds(v, 0.01, 3600, c.retryDelay); }});
        s.entries.push_back(
            {{"attemptTimeoutSeconds", ValueType::number, "a number of seconds from 0.1 to 3600",
              "deadline of one attempt on one server (install and enable together); a timeout is retried", 120},
             [](const json& v, ServerConfig& c) { return decode_seconds(v, 0.1, 3600, c.attemptTimeout); }});
        s.entries.push_back(
            {{"leaseSeconds", ValueType::integer, "an integer from 2 to 3600",
              "how long a target this controller runs stays its claim without a renewal (renewed every third); "
              "with several controllers on one database, another takes it over once it has ended",
              30},
             [](const json& v, ServerConfig& c) {
                 std::int64_t n = 0;
                 return decode_integer(v, 2, 3600, n) && (c.lease = std::chrono::seconds(n), true);
             }});
        s.entries.push_back(
            {{"uploadKeyFile", ValueType::string, "a file path (mode 0600, 32 bytes)",
              "the key that encrypts uploads at rest until their jobs end (default: dataDir/upload.key, "
              "made on the first start); controllers sharing a database share this file",
              nullptr},
             [](const json& v, ServerConfig& c) { return decode_optional_path(v, c.uploadKeyFile); }});
        s.entries.push_back(
            {{"uploadPreviousKeyFiles", ValueType::json, "a file path, or an array of them",
              "keys replaced by uploadKeyFile: uploads sealed under them are still opened, new ones "
              "use uploadKeyFile only",
              nullptr},
             [](const json& v, ServerConfig& c) { return decode_ca_files(v, c.uploadPreviousKeyFiles); }});
        s.entries.push_back({{"uploadRetentionHours", ValueType::integer, "an integer from 0 to 8760",
                              "how long a finished job with failed targets keeps its encrypted upload for a retry", 24},
                             [](const json& v, ServerConfig& c) {
                                 std::int64_t n = 0;
                                 return decode_integer(v, 0, 8760, n) &&
                                        (c.uploadRetention = std::chrono::hours(n), true);
                             }});
        return s;
    }();
    return schema;
}

const Schema<AgentConfig>& agent_schema() {
    static const Schema<AgentConfig> schema = [] {
        Schema<AgentConfig> s;
        add_http_keys(s, "127.0.0.1:9001");
        s.entries.push_back({{"name", ValueType::string, "a host name: letters, digits, '-' and '.'",
                              "this server's name, used for the default certificate (default: the host name)", nullptr},
                             [](const json& v, AgentConfig& c) {
                                 if (v.is_null()) {
                                     c.name = host_name();
                                     return true;
                                 }
                                 if (!v.is_string() || v.get<std::string>().empty() ||
                                     v.get<std::string>().find_first_not_of(
                                         "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.") !=
                                         std::string::npos) {
                                     return false;
                                 }
                                 c.name = v.get<std::string>();
                                 return true;
                             }});
        s.entries.push_back({{"store", ValueType::string, "a directory path", "the certificate store (mode 0700)",
                              "/var/lib/certdeploy/agent"},
                             [](const json& v, AgentConfig& c) { return decode_required_path(v, c.store); }});
        s.entries.push_back({{"tlsCert", ValueType::string, "a PEM file path (required: the agent serves HTTPS only)",
                              "the agent's certificate chain, PEM (certdeploy pki init makes one)", nullptr},
                             [](const json& v, AgentConfig& c) { return decode_optional_path(v, c.tlsCert); }});
        s.entries.push_back({{"tlsKey", ValueType::string, "a PEM file path (required: the agent serves HTTPS only)",
                              "the private key of tlsCert, PEM", nullptr},
                             [](const json& v, AgentConfig& c) { return decode_optional_path(v, c.tlsKey); }});
        s.entries.push_back(
            {{"clientCa", ValueType::string, "a PEM file path (required: only clients it issued are accepted)",
              "the CA that issued the controller's client certificate", nullptr},
             [](const json& v, AgentConfig& c) { return decode_optional_path(v, c.clientCa); }});
        s.entries.push_back(
            {{"controller", ValueType::string, "https://HOST:PORT",
              "the controller to enrol with and renew this agent's certificate from (instead of tlsCert, tlsKey "
              "and clientCa)",
              nullptr},
             [](const json& v, AgentConfig& c) { return decode_optional_string(v, c.controller); }});
        s.entries.push_back({{"joinTokenFile", ValueType::string, "a file path",
                              "a join token from the controller, for the first start (deleted once used)", nullptr},
                             [](const json& v, AgentConfig& c) { return decode_optional_path(v, c.joinTokenFile); }});
        s.entries.push_back(
            {{"caFingerprint", ValueType::string, "sha256: and 64 hex digits",
              "the fleet CA's fingerprint, as POST /v1/join-tokens answers it: the controller is trusted only if "
              "its CA has it",
              nullptr},
             [](const json& v, AgentConfig& c) { return decode_optional_string(v, c.caFingerprint); }});
        s.entries.push_back({{"controllerCa", ValueType::string, "a PEM file path",
                              "the fleet CA itself, instead of caFingerprint", nullptr},
                             [](const json& v, AgentConfig& c) { return decode_optional_path(v, c.controllerCa); }});
        s.entries.push_back(
            {{"advertiseUrl", ValueType::string, "https://HOST:PORT",
              "where the controller reaches this agent (default: https://NAME:PORT of listen)", nullptr},
             [](const json& v, AgentConfig& c) { return decode_optional_string(v, c.advertiseUrl); }});
        s.entries.push_back(
            {{"identityDir", ValueType::string, "a directory path",
              "where an enrolled agent keeps its certificate and key (agent.pem, 0600) and the fleet CA (ca.pem)",
              "/var/lib/certdeploy/identity"},
             [](const json& v, AgentConfig& c) { return decode_required_path(v, c.identityDir); }});
        s.entries.push_back({{"caFile", ValueType::json, "a PEM file path, or an array of them",
                              "extra trusted roots when judging a certificate's status", nullptr},
                             [](const json& v, AgentConfig& c) { return decode_ca_files(v, c.caFiles); }});
        s.entries.push_back({{"services", ValueType::json,
                              "an object of services, each with certFile, layout, reload... (see config/examples)",
                              "the services of this server that certificates can be bound to", json::object()},
                             [](const json& v, AgentConfig& c) {
                                 if (!v.is_object()) {
                                     return false;
                                 }
                                 c.services = v;
                                 return true;
                             }});
        return s;
    }();
    return schema;
}

Result<ServerConfig> load_server_config(const std::vector<std::string>& args, const EnvLookup& env) {
    return server_schema().load(args, env);
}

Result<AgentConfig> load_agent_config(const std::vector<std::string>& args, const EnvLookup& env) {
    return agent_schema().load(args, env);
}

}  // namespace certdeploy::config
