// The controller's server registry over its real HTTP API, persisted in SQLite across restarts.

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <algorithm>
#include <csignal>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/support/controller_process.hpp"
#include "tests/support/dev_pki.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

using namespace certdeploy::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

// A controller of its own in `dir` (tests/support/controller_process).
struct Controller : ControllerProcess {
    explicit Controller(const TempDir& dir, const std::vector<std::string>& flags = {})
        : ControllerProcess(dir.path(), flags) {}
};

}  // namespace

TEST_CASE("servers: register, update, read, page through, delete / kept across a restart") {
    TempDir dir;
    {
        Controller controller(dir);
        auto created = controller.call(http::verb::put, "/v1/servers/ex01",
                                       {{"agentUrl", "https://127.0.0.1:9001"}, {"labels", {{"role", "mailbox"}}}});
        CHECK(created.result() == http::status::created);
        CHECK(created[http::field::location] == "/v1/servers/ex01");
        auto server = json::parse(created.body());
        CHECK(server["name"] == "ex01");
        CHECK(server["agentUrl"] == "https://127.0.0.1:9001");
        CHECK(server["labels"] == json{{"role", "mailbox"}});
        CHECK(server["reachable"].is_null());  // never probed yet
        CHECK(server["createdAt"].get<std::string>().back() == 'Z');

        auto updated = controller.call(http::verb::put, "/v1/servers/ex01",
                                       {{"agentUrl", "https://127.0.0.1:9002"}, {"labels", {{"role", "edge"}}}});
        CHECK(updated.result() == http::status::ok);
        CHECK(json::parse(updated.body())["agentUrl"] == "https://127.0.0.1:9002");
        CHECK(json::parse(updated.body())["createdAt"] == server["createdAt"]);

        for (const std::string name : {"ex02", "ex03", "ex04", "ex05"}) {
            CHECK(controller.call(http::verb::put, "/v1/servers/" + name, {{"agentUrl", "https://" + name + ":9001"}})
                      .result() == http::status::created);
        }
        auto first = controller.body(http::verb::get, "/v1/servers?limit=2");
        REQUIRE(first["servers"].size() == 2);
        CHECK(first["servers"][0]["name"] == "ex01");
        CHECK(first["next"] == "ex02");
        auto second = controller.body(http::verb::get, "/v1/servers?limit=2&after=ex02");
        CHECK(second["servers"][0]["name"] == "ex03");
        auto last = controller.body(http::verb::get, "/v1/servers?limit=2&after=ex04");
        CHECK(last["servers"].size() == 1);
        CHECK(last["next"].is_null());

        CHECK(controller.call(http::verb::delete_, "/v1/servers/ex05").result() == http::status::no_content);
        auto gone = controller.call(http::verb::get, "/v1/servers/ex05");
        CHECK(gone.result() == http::status::not_found);
        CHECK(json::parse(gone.body())["code"] == "server-not-found");
        CHECK(controller.call(http::verb::delete_, "/v1/servers/ex05").result() == http::status::not_found);
    }
    struct stat st {};
    ::stat((dir / "data").c_str(), &st);
    CHECK((st.st_mode & 0777) == 0700);
    ::stat((dir / "data" / "controller.db").c_str(), &st);
    CHECK((st.st_mode & 0777) == 0600);
    Controller restarted(dir);
    auto all = restarted.body(http::verb::get, "/v1/servers");
    CHECK(all["servers"].size() == 4);
    CHECK(restarted.body(http::verb::get, "/v1/servers/ex01")["agentUrl"] == "https://127.0.0.1:9002");
}

TEST_CASE("servers: bad names, URLs, labels and bodies are refused with invalid-request, and nothing is stored") {
    TempDir dir;
    Controller controller(dir);
    struct Case {
        std::string name;
        json body;
    };
    const std::vector<Case> cases = {
        {"ex01", {{"agentUrl", "http://127.0.0.1:9001"}}},  // agents speak HTTPS only
        {"ex01", {{"agentUrl", "https://127.0.0.1"}}},      // no port
        {"ex01", {{"agentUrl", "https://127.0.0.1:9001/x"}}},
        {"ex01", {{"agentUrl", "not a url"}}},
        {"ex01", json::object()},
        {"ex01", {{"agentUrl", "https://a:1"}, {"labels", {{"role", 5}}}}},
        {"ex01", {{"agentUrl", "https://a:1"}, {"labels", json::array()}}},
        {"ex01", {{"agentUrl", "https://a:1"}, {"agentURL", "typo"}}},
        {"-bad-name-", {{"agentUrl", "https://a:1"}}},
        {"under_score", {{"agentUrl", "https://a:1"}}},
    };
    for (const auto& c : cases) {
        CAPTURE(c.body.dump());
        auto res = controller.call(http::verb::put, "/v1/servers/" + c.name, c.body);
        CHECK(res.result() == http::status::bad_request);
        CHECK(json::parse(res.body())["code"] == "invalid-request");
    }
    CHECK(controller.call(http::verb::get, "/v1/servers?limit=0").result() == http::status::bad_request);
    CHECK(controller.call(http::verb::get, "/v1/servers?limit=5000").result() == http::status::bad_request);
    CHECK(controller.body(http::verb::get, "/v1/servers")["servers"].empty());
}

TEST_CASE("servers from the configuration are registered at start / a bad one stops the controller") {
    TempDir dir;
    {
        Controller controller(
            dir, {"--servers", R"({"ex01": {"agentUrl": "https://127.0.0.1:9001", "labels": {"role": "mailbox"}}})"});
        auto server = controller.body(http::verb::get, "/v1/servers/ex01");
        CHECK(server["labels"]["role"] == "mailbox");
    }
    auto bad = run_certdeploy({"server", "--data-dir", (dir / "data").string(), "--servers",
                               R"({"ex01": {"agentUrl": "http://insecure:80"}})"},
                              dir.path());
    CHECK(bad.status.code == 2);
    CHECK(bad.err.find("\"servers\"") != std::string::npos);
    CHECK(std::count(bad.err.begin(), bad.err.end(), '\n') == 1);
}

namespace {

// Polls GET /v1/servers/{name} until `done` accepts it, for at most `limit`.
template <class Pred>
json wait_for_server(Controller& controller, const std::string& name, Pred done, std::chrono::seconds limit = 15s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    json server;
    while (std::chrono::steady_clock::now() < deadline) {
        server = controller.body(http::verb::get, "/v1/servers/" + name);
        if (done(server)) {
            break;
        }
        std::this_thread::sleep_for(100ms);
    }
    return server;
}

}  // namespace

TEST_CASE("the controller probes each agent over mutual TLS: reachability, agent version and last contact") {
    TempDir dir;
    DevPki pki(dir / "pki", {"ex01"});
    // A real agent.
    const auto agent_ready = dir / "agent.addr";
    std::vector<std::string> agent_args{
        "agent",  "--listen", "127.0.0.1:0", "--ready-file",          agent_ready.string(),
        "--name", "ex01",     "--store",     (dir / "store").string()};
    const auto flags = pki.agent_flags("ex01");
    agent_args.insert(agent_args.end(), flags.begin(), flags.end());
    auto agent = std::make_unique<ChildProcess>(certdeploy_binary(), agent_args, dir.path());
    const auto agent_address = wait_for_ready_file(agent_ready, 20s);
    REQUIRE_FALSE(agent_address.empty());

    const json servers = {{"ex01", {{"agentUrl", "https://" + agent_address}}},
                          {"down", {{"agentUrl", "https://127.0.0.1:1"}}}};
    Controller controller(
        dir, {"--servers", servers.dump(), "--agent-ca", (pki.dir / "ca.pem").string(), "--agent-client-cert",
              (pki.dir / "controller.pem").string(), "--agent-client-key", (pki.dir / "controller.key").string(),
              "--probe-interval-seconds", "0.2", "--agent-timeout-seconds", "2"});

    auto up = wait_for_server(controller, "ex01", [](const json& s) { return s["reachable"] == true; });
    CHECK(up["reachable"] == true);
    CHECK(up["agentVersion"] == "0.1.0");
    CHECK(up["lastContact"].is_string());
    auto down = wait_for_server(controller, "down", [](const json& s) { return s["reachable"] == false; });
    CHECK(down["reachable"] == false);
    CHECK(down["lastContact"].is_null());  // never reached

    // The agent goes away: the server turns unreachable, its last contact stays the last success.
    agent->signal(SIGTERM);
    REQUIRE(agent->wait_for_exit(10s).has_value());
    auto gone = wait_for_server(controller, "ex01", [](const json& s) { return s["reachable"] == false; });
    CHECK(gone["reachable"] == false);
    CHECK(gone["lastContact"].is_string());
}

TEST_CASE("agent TLS keys go together / a controller whose certificate the agents' CA did not issue is refused") {
    TempDir dir;
    auto half =
        run_certdeploy({"server", "--data-dir", (dir / "data").string(), "--agent-ca", "/x/ca.pem"}, dir.path());
    CHECK(half.status.code == 2);
    CHECK(half.err.find("agentClientCert") != std::string::npos);

    DevPki pki(dir / "pki", {"ex01"});
    DevPki stranger(dir / "other", {"x"});
    const auto agent_ready = dir / "agent.addr";
    std::vector<std::string> agent_args{
        "agent", "--listen", "127.0.0.1:0", "--ready-file", agent_ready.string(), "--store", (dir / "store").string()};
    const auto flags = pki.agent_flags("ex01");
    agent_args.insert(agent_args.end(), flags.begin(), flags.end());
    ChildProcess agent(certdeploy_binary(), agent_args, dir.path());
    const auto agent_address = wait_for_ready_file(agent_ready, 20s);
    REQUIRE_FALSE(agent_address.empty());
    // Trusts the agent, but presents a certificate from another CA.
    Controller controller(
        dir, {"--servers", json{{"ex01", {{"agentUrl", "https://" + agent_address}}}}.dump(), "--agent-ca",
              (pki.dir / "ca.pem").string(), "--agent-client-cert", (stranger.dir / "controller.pem").string(),
              "--agent-client-key", (stranger.dir / "controller.key").string(), "--probe-interval-seconds", "0.2"});
    auto refused = wait_for_server(controller, "ex01", [](const json& s) { return !s["reachable"].is_null(); });
    CHECK(refused["reachable"] == false);
}
