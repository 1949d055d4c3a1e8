// Configuration: precedence of flag over env over file over default, and one clear line per bad value.

#include <doctest/doctest.h>

#include <map>

#include "config/process_config.hpp"
#include "tests/support/temp_dir.hpp"

using certdeploy::ErrorCode;
using certdeploy::config::AgentConfig;
using certdeploy::config::EnvLookup;
using certdeploy::config::load_agent_config;
using certdeploy::config::load_server_config;
using certdeploy::test::TempDir;
using certdeploy::test::write_file;

namespace {

EnvLookup fake_env(std::map<std::string, std::string> vars) {
    return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
        auto it = vars.find(name);
        if (it == vars.end()) {
            return std::nullopt;
        }
        return it->second;
    };
}

const EnvLookup kNoEnv = fake_env({});

}  // namespace

TEST_CASE("defaults apply when nothing is set") {
    auto server = load_server_config({}, kNoEnv);
    REQUIRE(server.has_value());
    CHECK(server->http.listen.to_string() == "127.0.0.1:8080");
    CHECK_FALSE(server->http.readyFile.has_value());
    CHECK(server->logLevel == certdeploy::log::Level::info);
    CHECK(server->http.threads >= 1);
    CHECK(server->http.maxBodyBytes == 16U * 1024 * 1024);
    CHECK(server->http.requestTimeout == std::chrono::seconds(30));
    CHECK(server->http.shutdownGrace == std::chrono::milliseconds(1500));

    // The agent's TLS: files of its own, or an identity from the controller (`certdeploy agent` refuses to
    // start with neither: tests/integration/enrolment_test.cpp).
    auto no_tls = load_agent_config({}, kNoEnv);
    REQUIRE(no_tls.has_value());
    CHECK_FALSE(no_tls->tlsCert.has_value());
    CHECK_FALSE(no_tls->controller.has_value());
    CHECK(no_tls->identityDir == "/var/lib/certdeploy/identity");

    auto agent = load_agent_config(
        {"--tls-cert", "/pki/a.pem", "--tls-key", "/pki/a.key", "--client-ca", "/pki/ca.pem"}, kNoEnv);
    REQUIRE(agent.has_value());
    CHECK(agent->http.listen.to_string() == "127.0.0.1:9001");
    CHECK(agent->store == "/var/lib/certdeploy/agent");
    CHECK_FALSE(agent->name.empty());  // the host name
    CHECK(agent->services.empty());
    CHECK(agent->caFiles.empty());

    auto with_cas =
        load_agent_config({"--tls-cert", "/a", "--tls-key", "/b", "--client-ca", "/c", "--ca-file", "/r.pem"}, kNoEnv);
    REQUIRE(with_cas.has_value());
    CHECK(with_cas->caFiles == std::vector<std::filesystem::path>{"/r.pem"});
    auto bad_name =
        load_agent_config({"--tls-cert", "/a", "--tls-key", "/b", "--client-ca", "/c", "--name", "ex 01"}, kNoEnv);
    REQUIRE_FALSE(bad_name.has_value());
    CHECK(bad_name.error().message.find("\"name\"") != std::string::npos);
}

TEST_CASE("a flag beats the environment, which beats the file, which beats the default") {
    TempDir dir;
    write_file(dir / "server.json", R"({
        // comments are allowed
        "listen": "127.0.0.1:1001",
        "logLevel": "debug",
        "threads": 3, /* and block comments */
        "idleTimeoutSeconds": 2.5
    })");
    const std::string config = (dir / "server.json").string();

    SUBCASE("file over default") {
        auto cfg = load_server_config({"--config", config}, kNoEnv);
        REQUIRE(cfg.has_value());
        CHECK(cfg->http.listen.to_string() == "127.0.0.1:1001");
        CHECK(cfg->logLevel == certdeploy::log::Level::debug);
        CHECK(cfg->http.threads == 3);
        CHECK(cfg->http.idleTimeout == std::chrono::milliseconds(2500));
        CHECK(cfg->http.requestTimeout == std::chrono::seconds(30));  // not in the file: default
    }
    SUBCASE("env over file") {
        auto cfg = load_server_config({"--config", config},
                                      fake_env({{"CERTDEPLOY_LISTEN", "127.0.0.1:2002"}, {"CERTDEPLOY_THREADS", "4"}}));
        REQUIRE(cfg.has_value());
        CHECK(cfg->http.listen.to_string() == "127.0.0.1:2002");
        CHECK(cfg->http.threads == 4);
        CHECK(cfg->logLevel == certdeploy::log::Level::debug);  // from the file still
    }
    SUBCASE("flag over env over file") {
        auto cfg = load_server_config({"--config", config, "--listen", "127.0.0.1:3003", "--threads=5"},
                                      fake_env({{"CERTDEPLOY_LISTEN", "127.0.0.1:2002"}, {"CERTDEPLOY_THREADS", "4"}}));
        REQUIRE(cfg.has_value());
        CHECK(cfg->http.listen.to_string() == "127.0.0.1:3003");
        CHECK(cfg->http.threads == 5);
    }
    SUBCASE("CERTDEPLOY_CONFIG names the file when --config is absent") {
        auto cfg = load_server_config({}, fake_env({{"CERTDEPLOY_CONFIG", config}}));
        REQUIRE(cfg.has_value());
        CHECK(cfg->http.listen.to_string() == "127.0.0.1:1001");
    }
    SUBCASE("--config beats CERTDEPLOY_CONFIG") {
        write_file(dir / "other.json", R"({"listen": "127.0.0.1:4004"})");
        auto cfg =
            load_server_config({"--config", config}, fake_env({{"CERTDEPLOY_CONFIG", (dir / "other.json").string()}}));
        REQUIRE(cfg.has_value());
        CHECK(cfg->http.listen.to_string() == "127.0.0.1:1001");
    }
}

TEST_CASE("each kind of bad value is refused with one line naming the key, its origin and the expected form") {
    struct Case {
        std::string name;
        std::vector<std::string> args;
        std::map<std::string, std::string> env;
        std::string file;  // written as the config file when not empty
        std::vector<std::string> expected_fragments;
    };
    const std::vector<Case> cases = {
        {"listen without a port",
         {"--listen", "localhost"},
         {},
         "",
         {"\"listen\"", "--listen", "HOST:PORT", "\"localhost\""}},
        {"listen with a port too big", {"--listen", "127.0.0.1:70000"}, {}, "", {"\"listen\"", "0 to 65535"}},
        {"listen with a negative port", {"--listen", "127.0.0.1:-1"}, {}, "", {"\"listen\""}},
        {"listen with garbage host", {"--listen", "a b:80"}, {}, "", {"\"listen\""}},
        {"listen from env", {}, {{"CERTDEPLOY_LISTEN", "nonsense"}}, "", {"\"listen\"", "CERTDEPLOY_LISTEN"}},
        {"listen of the wrong JSON type",
         {},
         {},
         R"({"listen": 8080})",
         {"\"listen\"", "configuration file", "got 8080"}},
        {"threads not a number",
         {"--threads", "many"},
         {},
         "",
         {"\"threads\"", "an integer from 0 to 256", "\"many\""}},
        {"threads out of range", {}, {{"CERTDEPLOY_THREADS", "1000"}}, "", {"\"threads\"", "CERTDEPLOY_THREADS"}},
        {"threads fractional in the file", {}, {}, R"({"threads": 1.5})", {"\"threads\""}},
        {"logLevel unknown", {"--log-level", "loud"}, {}, "", {"\"logLevel\"", "one of trace, debug"}},
        {"maxBodyBytes too small", {"--max-body-bytes", "10"}, {}, "", {"\"maxBodyBytes\"", "1024"}},
        {"timeout zero", {"--request-timeout-seconds", "0"}, {}, "", {"\"requestTimeoutSeconds\"", "0.1 to 3600"}},
        {"timeout not a number", {}, {}, R"({"idleTimeoutSeconds": "soon"})", {"\"idleTimeoutSeconds\""}},
        {"grace too long", {"--shutdown-grace-seconds", "61"}, {}, "", {"\"shutdownGraceSeconds\""}},
        {"readyFile empty", {"--ready-file", ""}, {}, "", {"\"readyFile\"", "a file path"}},
        {"unknown key in the file",
         {},
         {},
         R"({"lisen": "127.0.0.1:1"})",
         {"unknown key \"lisen\"", "expected one of listen"}},
        {"a key of the other role", {}, {}, R"({"services": {}})", {"unknown key \"services\""}},
        {"file not valid JSON", {}, {}, R"({"listen": )", {"not valid JSON"}},
        // Found by tests/fuzz/config_fuzz.cpp: nlohmann's out_of_range escaped and terminated the process.
        {"file with a number beyond a double", {}, {}, R"({"requestTimeoutSeconds": 1e400})", {"not valid JSON"}},
        {"file not an object", {}, {}, R"(["listen"])", {"one JSON object"}},
        {"unknown flag", {"--lisen", "x"}, {}, "", {"--lisen"}},
        {"flag given twice", {"--listen", "127.0.0.1:1", "--listen", "127.0.0.1:2"}, {}, "", {"listen"}},
        {"positional argument", {"stray"}, {}, "", {"stray"}},
        {"abbreviated flag", {"--thread", "4"}, {}, "", {"--thread"}},
        {"key with a newline", {}, {}, R"({"a\nb": 1})", {"unknown key"}},
    };
    for (const auto& c : cases) {
        CAPTURE(c.name);
        TempDir dir;
        auto args = c.args;
        if (!c.file.empty()) {
            write_file(dir / "c.json", c.file);
            args.insert(args.begin(), {"--config", (dir / "c.json").string()});
        }
        auto cfg = load_server_config(args, fake_env(c.env));
        REQUIRE_FALSE(cfg.has_value());
        CHECK(cfg.error().code == ErrorCode::invalid_config);
        const auto& message = cfg.error().message;
        CHECK(message.find('\n') == std::string::npos);
        for (const auto& fragment : c.expected_fragments) {
            CAPTURE(message);
            CHECK(message.find(fragment) != std::string::npos);
        }
    }
}

TEST_CASE("a missing configuration file names the file") {
    auto cfg = load_server_config({"--config", "/nonexistent/certdeploy.json"}, kNoEnv);
    REQUIRE_FALSE(cfg.has_value());
    CHECK(cfg.error().message.find("/nonexistent/certdeploy.json") != std::string::npos);
    CHECK(cfg.error().message.find("\"config\"") != std::string::npos);
}

TEST_CASE("the examples under config/examples load as they are") {
    auto server = load_server_config({"--config", CERTDEPLOY_SOURCE_DIR "/config/examples/server.jsonc"}, kNoEnv);
    CHECK_MESSAGE(server.has_value(), (server ? "" : server.error().message));
    auto agent = load_agent_config({"--config", CERTDEPLOY_SOURCE_DIR "/config/examples/agent.jsonc"}, kNoEnv);
    CHECK_MESSAGE(agent.has_value(), (agent ? "" : agent.error().message));
}

TEST_CASE("flag and environment names derive from the key") {
    CHECK(certdeploy::config::flag_name("readyFile") == "ready-file");
    CHECK(certdeploy::config::env_name("readyFile") == "CERTDEPLOY_READY_FILE");
    CHECK(certdeploy::config::env_name("maxBodyBytes") == "CERTDEPLOY_MAX_BODY_BYTES");
}
