// Agents that enrol themselves: a join token and the fleet CA's fingerprint turn a new server into a
// registered, reachable agent that receives an import; bad tokens and a wrong fingerprint are refused with
// nothing registered; the agent's certificate renews itself during a deployment; a removed server's
// renewal is refused. Real processes, real TLS.

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <boost/asio/ip/tcp.hpp>
#include <csignal>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/support/controller_process.hpp"
#include "tests/support/dev_pki.hpp"
#include "tests/support/fleet.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

using namespace certdeploy::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

const std::filesystem::path kCorpus = CERTDEPLOY_FIXTURES;
constexpr const char* kPassword = "P@ssw0rd1";

unsigned short free_port() {
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::acceptor acceptor(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
    return acceptor.local_endpoint().port();
}

// A controller serving HTTPS with pki init's certificate, whose CA is also the fleet CA (agentCa with
// agentCaKey): so the API certificate an enrolling agent meets chains to the CA it pinned.
class Controller {
  public:
    Controller(const TempDir& dir, std::vector<std::string> flags = {})
        : pki_(dir / "pki", {"unused"}), process_(dir.path(), with_pki(dir, std::move(flags))) {}

    Response call(http::verb method, const std::string& target, const json& body = nullptr,
                  const std::string& content_type = "application/json", std::string raw = {}) const {
        http::request<http::string_body> req{method, target, 11};
        req.set(http::field::authorization, process_.bearer());
        if (!body.is_null()) {
            req.set(http::field::content_type, content_type);
            req.body() = body.dump();
        } else if (!raw.empty()) {
            req.set(http::field::content_type, content_type);
            req.body() = std::move(raw);
        }
        HttpClient client(process_.address(), pki_.anonymous());
        return client.send(std::move(req), 30s);
    }
    json body(http::verb method, const std::string& target, const json& payload = nullptr) const {
        return json::parse(call(method, target, payload).body());
    }
    // A join token: {"token", "caFingerprint", "id", ...}.
    json join_token(const json& spec) const {
        auto res = call(http::verb::post, "/v1/join-tokens", spec);
        REQUIRE(res.result() == http::status::created);
        return json::parse(res.body());
    }
    const std::string& address() const { return process_.address(); }
    const DevPki& pki() const { return pki_; }
    ControllerProcess& process() { return process_; }

  private:
    static std::vector<std::string> with_pki(const TempDir& dir, std::vector<std::string> flags) {
        std::vector<std::string> all{"--tls-cert", (dir / "pki" / "server.pem").string(), "--tls-key",
                                     (dir / "pki" / "server.key").string()};
        all.insert(all.end(), {"--agent-ca", (dir / "pki" / "ca.pem").string(), "--agent-ca-key",
                               (dir / "pki" / "ca.key").string(), "--probe-interval-seconds", "0.5"});
        all.insert(all.end(), flags.begin(), flags.end());
        return all;
    }

    DevPki pki_;
    ControllerProcess process_;
};

struct EnrollingAgent {
    std::unique_ptr<ChildProcess> process;
    std::string address;  // empty when it did not start
};

// `certdeploy agent` with nothing but a join token file and the fleet CA's fingerprint.
EnrollingAgent start_agent(const TempDir& dir, const std::string& name, const Controller& controller,
                           const std::filesystem::path& token_file, const std::string& fingerprint,
                           bool expect_ready = true) {
    const auto port = std::to_string(free_port());
    const auto ready = dir / (name + ".addr");
    std::filesystem::remove(ready);
    EnrollingAgent agent;
    agent.process = std::make_unique<ChildProcess>(certdeploy_binary(),
                                                   std::vector<std::string>{"agent",
                                                                            "--name",
                                                                            name,
                                                                            "--listen",
                                                                            "127.0.0.1:" + port,
                                                                            "--advertise-url",
                                                                            "https://127.0.0.1:" + port,
                                                                            "--ready-file",
                                                                            ready.string(),
                                                                            "--store",
                                                                            (dir / (name + "-store")).string(),
                                                                            "--identity-dir",
                                                                            (dir / (name + "-identity")).string(),
                                                                            "--controller",
                                                                            "https://" + controller.address(),
                                                                            "--join-token-file",
                                                                            token_file.string(),
                                                                            "--ca-fingerprint",
                                                                            fingerprint,
                                                                            "--idle-timeout-seconds",
                                                                            "0.5"},
                                                   dir.path());
    if (expect_ready) {
        agent.address = wait_for_ready_file(ready, 20s);
        INFO(agent.process->stderr_text());
        REQUIRE_FALSE(agent.address.empty());
    }
    return agent;
}

// The agent's exit status, once it has given up (a refused enrolment).
int exit_code(EnrollingAgent& agent) {
    auto status = agent.process->wait_for_exit(20s);
    REQUIRE(status.has_value());
    return status->code;
}

bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (condition()) {
            return true;
        }
        std::this_thread::sleep_for(100ms);
    }
    return condition();
}

std::string import_to(const Controller& controller, const std::string& servers) {
    auto [body, boundary] = form_body({{"file", read_file(kCorpus / "modern.pfx"), "modern.pfx"},
                                       {"password", kPassword, ""},
                                       {"servers", servers, ""}});
    auto res = controller.call(http::verb::post, "/v1/imports", nullptr, "multipart/form-data; boundary=" + boundary,
                               std::move(body));
    INFO(res.body());
    REQUIRE(res.result() == http::status::accepted);
    return json::parse(res.body())["id"];
}

json wait_job(const Controller& controller, const std::string& id) {
    json job;
    wait_until(
        [&] {
            job = controller.body(http::verb::get, "/v1/jobs/" + id);
            return job["state"] != "queued" && job["state"] != "running";
        },
        60s);
    return job;
}

unsigned mode_of(const std::filesystem::path& path) {
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    return st.st_mode & 0777;
}

}  // namespace

TEST_CASE("an agent enrols itself with a join token and the CA's fingerprint, then receives an import") {
    TempDir dir;
    Controller controller(dir);
    const auto token = controller.join_token({{"server", "ex03"}, {"labels", {{"team", "mail"}}}, {"expiresIn", "1h"}});
    CHECK(token["token"].get<std::string>().rfind("cdj_", 0) == 0);
    CHECK(token["usesLeft"] == 1);
    write_file(dir / "join.token", token["token"].get<std::string>() + "\n");

    auto agent = start_agent(dir, "ex03", controller, dir / "join.token", token["caFingerprint"]);
    // Registered with its address and the token's labels; the token file is gone, the key stayed home.
    const auto server = controller.body(http::verb::get, "/v1/servers/ex03");
    CHECK(server["agentUrl"] == "https://" + agent.address);
    CHECK(server["labels"] == json{{"team", "mail"}});
    CHECK_FALSE(std::filesystem::exists(dir / "join.token"));
    CHECK(mode_of(dir / "ex03-identity" / "agent.pem") == 0600);
    const auto tokens = controller.body(http::verb::get, "/v1/join-tokens");
    CHECK(tokens["joinTokens"][0]["usesLeft"] == 0);
    CHECK(tokens.dump().find(token["token"].get<std::string>()) == std::string::npos);
    // The private key never crossed: no PRIVATE KEY in the controller's log or data directory's database.
    CHECK(controller.process().process().stderr_text().find("PRIVATE KEY") == std::string::npos);

    REQUIRE(wait_until([&] { return controller.body(http::verb::get, "/v1/servers/ex03")["reachable"] == true; }, 20s));
    const auto job = wait_job(controller, import_to(controller, "ex03"));
    CHECK(job["state"] == "succeeded");
    // Both report how long its identity has left: the controller's registry and the agent's own health (asked
    // with the controller's client certificate, which the fleet CA issued).
    CHECK(controller.body(http::verb::get, "/v1/servers/ex03")["identityExpiresAt"].is_string());
    const TlsClientFiles as_controller{(dir / "pki" / "ca.pem").string(),
                                       (dir / "data" / "pki" / "controller.pem").string(),
                                       (dir / "data" / "pki" / "controller.key").string()};
    const auto health = json::parse(http_get(agent.address, "/agent/v1/health", as_controller).body());
    CHECK(health["identity"]["secondsLeft"].get<long>() > 29L * 24 * 3600);

    // Restarted, it keeps its identity: no token needed.
    agent.process->signal(SIGTERM);
    REQUIRE(agent.process->wait_for_exit(10s).has_value());
    auto again = start_agent(dir, "ex03", controller, dir / "join.token", token["caFingerprint"]);
    CHECK(again.process->stderr_text().find("enrolled with the controller") == std::string::npos);

    // The enrolment is in the audit log, with the server's name.
    const auto audit = controller.body(http::verb::get, "/v1/audit?server=ex03").dump();
    CHECK(audit.find("/enrol/v1/join") != std::string::npos);
}

TEST_CASE("an agent starts with its own certificate files or an identity from the controller, not both or neither") {
    TempDir dir;
    struct Case {
        std::vector<std::string> flags;
        std::string names;
    };
    const std::vector<Case> cases = {
        {{}, "\"controller\""},
        {{"--tls-cert", "a.pem", "--tls-key", "a.key", "--client-ca", "ca.pem", "--controller", "https://c:1"},
         "exclude each other"},
        {{"--controller", "https://127.0.0.1:1", "--join-token-file", "t"}, "\"advertiseUrl\""},
    };
    for (const auto& c : cases) {
        CAPTURE(c.flags);
        std::vector<std::string> args{"agent", "--listen", "127.0.0.1:0", "--store", (dir / "store").string()};
        args.insert(args.end(), c.flags.begin(), c.flags.end());
        auto result = run_certdeploy(args, dir.path());
        CHECK(result.status.code == 2);
        CHECK(result.err.find(c.names) != std::string::npos);
    }
}

TEST_CASE("a wrong CA fingerprint is refused by the agent before it sends its join token") {
    TempDir dir;
    Controller controller(dir);
    const DevPki other{dir / "other", {"unused"}};
    const auto token = controller.join_token({{"server", "ex03"}});
    write_file(dir / "join.token", token["token"].get<std::string>());
    // The other CA's fingerprint, as `openssl x509 -fingerprint -sha256` prints it.
    const auto out = dir / "fp.txt";
    REQUIRE(std::system(("openssl x509 -noout -fingerprint -sha256 -in '" + (dir / "other" / "ca.pem").string() +
                         "' | cut -d= -f2 > '" + out.string() + "'")
                            .c_str()) == 0);
    auto fingerprint = read_file(out);
    fingerprint.erase(fingerprint.find_last_not_of("\n") + 1);

    auto agent = start_agent(dir, "ex03", controller, dir / "join.token", fingerprint, false);
    CHECK(exit_code(agent) == 2);
    CHECK(agent.process->stderr_text().find("refusing to enrol") != std::string::npos);
    // Nothing was sent: the token is unused and still on disk, no server registered, no join request seen.
    CHECK(std::filesystem::exists(dir / "join.token"));
    CHECK(controller.body(http::verb::get, "/v1/join-tokens")["joinTokens"][0]["usesLeft"] == 1);
    CHECK(controller.call(http::verb::get, "/v1/servers/ex03").result() == http::status::not_found);
    CHECK(controller.process().process().stderr_text().find("/enrol/v1/join") == std::string::npos);
}

TEST_CASE("reused, expired, revoked, foreign and other servers' join tokens are refused, each with its own code") {
    TempDir dir;
    Controller controller(dir);
    const auto fingerprint = controller.join_token({{"server", "unused"}})["caFingerprint"].get<std::string>();
    auto refused = [&](const std::string& name, const std::string& secret) {
        const auto file = dir / (name + ".token");
        write_file(file, secret);
        auto agent = start_agent(dir, name, controller, file, fingerprint, false);
        CHECK(exit_code(agent) != 0);
        CHECK(controller.call(http::verb::get, "/v1/servers/" + name).result() == http::status::not_found);
        return agent.process->stderr_text();
    };

    // Used: one use, taken by ex04; ex05 is refused.
    const auto once = controller.join_token(json::object())["token"].get<std::string>();
    write_file(dir / "ex04.token", once);
    auto first = start_agent(dir, "ex04", controller, dir / "ex04.token", fingerprint);
    CHECK(refused("ex05", once).find("join-token-used") != std::string::npos);

    const auto brief = controller.join_token({{"expiresIn", "1s"}})["token"].get<std::string>();
    std::this_thread::sleep_for(1500ms);
    CHECK(refused("ex06", brief).find("join-token-expired") != std::string::npos);

    const auto withdrawn = controller.join_token(json::object());
    REQUIRE(controller.call(http::verb::delete_, "/v1/join-tokens/" + withdrawn["id"].get<std::string>()).result() ==
            http::status::no_content);
    CHECK(refused("ex07", withdrawn["token"]).find("join-token-revoked") != std::string::npos);

    CHECK(refused("ex08", "cdj_" + std::string(43, 'A')).find("join-token-invalid") != std::string::npos);

    const auto bound = controller.join_token({{"server", "ex10"}})["token"].get<std::string>();
    CHECK(refused("ex09", bound).find("join-token-mismatch") != std::string::npos);

    // Several uses when no server is named: two agents with one token.
    const auto twice = controller.join_token({{"uses", 2}})["token"].get<std::string>();
    write_file(dir / "ex11.token", twice);
    write_file(dir / "ex12.token", twice);
    auto a = start_agent(dir, "ex11", controller, dir / "ex11.token", fingerprint);
    auto b = start_agent(dir, "ex12", controller, dir / "ex12.token", fingerprint);
    CHECK(controller.call(http::verb::get, "/v1/servers/ex12").result() == http::status::ok);

    // A bound token is for one use; bad specs are refused.
    CHECK(controller.call(http::verb::post, "/v1/join-tokens", {{"server", "ex13"}, {"uses", 2}}).result() ==
          http::status::bad_request);
    CHECK(controller.call(http::verb::post, "/v1/join-tokens", {{"expiresIn", "soon"}}).result() ==
          http::status::bad_request);
}

TEST_CASE(
    "an enrolled agent's certificate renews itself during a deployment, and a removed server's renewal is refused") {
    TempDir dir;
    // Agents' certificates live 12 s, renewed at about 8 s; the controller's own client certificate lives 12 s
    // too, renewed with 4 s left: both rotate while jobs run all along.
    // One attempt per target: a connection dropped by a rotation would fail its job, not be retried away.
    Controller controller(dir, {"--agent-certificate-lifetime-seconds", "12", "--agent-client-cert-lifetime-seconds",
                                "12", "--max-attempts", "1"});
    const auto token = controller.join_token({{"server", "ex03"}});
    write_file(dir / "join.token", token["token"].get<std::string>());
    auto agent = start_agent(dir, "ex03", controller, dir / "join.token", token["caFingerprint"]);
    REQUIRE(wait_until([&] { return controller.body(http::verb::get, "/v1/servers/ex03")["reachable"] == true; }, 20s));
    const auto identity = dir / "ex03-identity" / "agent.pem";
    const auto first = read_file(identity);

    const auto until = std::chrono::steady_clock::now() + 15s;
    int jobs = 0;
    while (std::chrono::steady_clock::now() < until) {
        const auto job = wait_job(controller, import_to(controller, "ex03"));
        CHECK(job["state"] == "succeeded");
        ++jobs;
    }
    CHECK(jobs > 3);
    CHECK(read_file(identity) != first);
    const auto log = agent.process->stderr_text();
    CHECK(log.find("identity renewed") != std::string::npos);
    CHECK(log.find("TLS certificate reloaded") != std::string::npos);
    CHECK(log.find("TLS handshake refused") == std::string::npos);
    // The controller's client certificate was issued at start and again while the jobs ran.
    const auto controller_log = controller.process().process().stderr_text();
    const std::string issued = "controller client certificate issued by the fleet CA";
    CHECK(controller_log.find(issued, controller_log.find(issued) + 1) != std::string::npos);
    // Past the first certificate's end, the controller still reaches it (with the new one).
    CHECK(controller.body(http::verb::get, "/v1/servers/ex03")["reachable"] == true);

    // Removed: its identity is revoked. Registered again at its address by hand, while its certificate is
    // still within its dates, it is refused: the controller knows the certificate.
    REQUIRE(controller.call(http::verb::delete_, "/v1/servers/ex03").result() == http::status::no_content);
    REQUIRE(controller.call(http::verb::put, "/v1/servers/ex03", {{"agentUrl", "https://" + agent.address}}).result() ==
            http::status::created);
    const auto job = wait_job(controller, import_to(controller, "ex03"));
    CHECK(job["state"] == "failed");
    CHECK(job.dump().find("revoked identity") != std::string::npos);
    // And its next renewal is refused.
    CHECK(wait_until([&] { return agent.process->stderr_text().find("identity-revoked") != std::string::npos; }, 20s));
}

TEST_CASE("with manual approval an enrolled server waits, pending, and gets no job until an admin approves it") {
    TempDir dir;
    Controller controller(dir, {"--enrolment-approval", "manual"});
    const auto token = controller.join_token({{"server", "ex03"}});
    write_file(dir / "join.token", token["token"].get<std::string>());
    auto agent = start_agent(dir, "ex03", controller, dir / "join.token", token["caFingerprint"]);

    auto server = controller.body(http::verb::get, "/v1/servers/ex03");
    CHECK(server["pending"] == true);
    CHECK(server["identityExpiresAt"].is_string());
    // Named, it is refused; "*" passes it by (and there is nothing else).
    auto [named, boundary] = form_body({{"file", read_file(kCorpus / "modern.pfx"), "modern.pfx"},
                                        {"password", kPassword, ""},
                                        {"servers", "ex03", ""}});
    auto refused =
        controller.call(http::verb::post, "/v1/imports", nullptr, "multipart/form-data; boundary=" + boundary, named);
    CHECK(refused.result() == http::status::conflict);
    CHECK(json::parse(refused.body())["code"] == "server-pending");
    auto [every, every_boundary] = form_body(
        {{"file", read_file(kCorpus / "modern.pfx"), "modern.pfx"}, {"password", kPassword, ""}, {"servers", "*", ""}});
    auto none = controller.call(http::verb::post, "/v1/imports", nullptr,
                                "multipart/form-data; boundary=" + every_boundary, every);
    CHECK(json::parse(none.body())["code"] == "no-servers");

    // Approved: jobs reach it.
    auto approved = controller.call(http::verb::post, "/v1/servers/ex03/approve");
    REQUIRE(approved.result() == http::status::ok);
    CHECK(json::parse(approved.body())["pending"] == false);
    CHECK(controller.call(http::verb::post, "/v1/servers/ghost/approve").result() == http::status::not_found);
    REQUIRE(wait_until([&] { return controller.body(http::verb::get, "/v1/servers/ex03")["reachable"] == true; }, 20s));
    CHECK(wait_job(controller, import_to(controller, "ex03"))["state"] == "succeeded");
    // A server registered by hand has no identity from the fleet CA.
    REQUIRE(controller.call(http::verb::put, "/v1/servers/manual", {{"agentUrl", "https://127.0.0.1:9"}}).result() ==
            http::status::created);
    const auto manual = controller.body(http::verb::get, "/v1/servers/manual");
    CHECK(manual["identityExpiresAt"].is_null());
    CHECK(manual["pending"] == false);
}

TEST_CASE("an agent whose certificate expired says it needs a new join token, and enrols again with one") {
    TempDir dir;
    // The shortest lifetime: 10 s, of which 1 s is backdated.
    Controller controller(dir, {"--agent-certificate-lifetime-seconds", "10"});
    const auto token = controller.join_token({{"server", "ex03"}});
    write_file(dir / "join.token", token["token"].get<std::string>());
    {
        auto agent = start_agent(dir, "ex03", controller, dir / "join.token", token["caFingerprint"]);
        agent.process->signal(SIGTERM);
        REQUIRE(agent.process->wait_for_exit(10s).has_value());
    }
    std::this_thread::sleep_for(11s);  // stopped, it could not renew: its certificate ends meanwhile
    auto expired = start_agent(dir, "ex03", controller, dir / "join.token", token["caFingerprint"], false);
    CHECK(exit_code(expired) == 2);
    CHECK(expired.process->stderr_text().find("give it a new join token") != std::string::npos);

    const auto again = controller.join_token({{"server", "ex03"}});
    write_file(dir / "join.token", again["token"].get<std::string>());
    auto renewed = start_agent(dir, "ex03", controller, dir / "join.token", again["caFingerprint"]);
    CHECK(renewed.process->stderr_text().find("enrolled with the controller") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(dir / "join.token"));
}
