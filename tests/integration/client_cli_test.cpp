// The command-line client (certdeploy import, jobs, servers, certificates, enable, remove, retry, cancel)
// as the real executable, against a real controller and real agents over mutual TLS: what it prints, in
// tables and as JSON, and the exit status a pipeline gates on.

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "tests/support/fleet.hpp"
#include "tests/support/job_json.hpp"

using namespace certdeploy::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

const std::filesystem::path kCorpus = CERTDEPLOY_FIXTURES;
const std::string kPassword = "P@ssw0rd1";

std::string leaf_thumbprint() {
    auto text = read_file(kCorpus / "leaf.thumbprint");
    return text.substr(0, text.find('\n'));
}

// Runs `certdeploy ARGS --controller http://ADDRESS`, as an administrator would.
struct Client {
    Fleet& fleet;
    TempDir& dir;
    RunResult operator()(std::vector<std::string> args,
                         const std::map<std::string, std::optional<std::string>>& env = {}) const {
        args.push_back("--controller");
        args.push_back("http://" + fleet.address());
        args.push_back("--token-file");
        args.push_back(fleet.admin_token_file().string());
        return run_certdeploy(args, dir.path(), env, 60s);
    }
};

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("client: import --wait with an agent down exits 1 with each server's outcome and retry --wait exits 0") {
    Fleet fleet({server_names(3),
                 {},
                 json::object(),
                 (kCorpus / "root.pem").string(),
                 {"--max-attempts", "2", "--retry-delay-seconds", "0.1"}});
    fleet.stop_agent("ex03");
    TempDir dir;
    write_file(dir / "pw", kPassword + "\n");
    const Client client{fleet, dir};

    auto imported = client({"import", (kCorpus / "modern.pfx").string(), "--password-file", (dir / "pw").string(),
                            "--servers", "*", "--wait"});
    CHECK(imported.status.code == 1);
    // Progress as plain lines (stderr is not a terminal), one per event, then the job on stdout.
    CHECK(contains(imported.err, "ex01  running (attempt 1)"));
    CHECK(contains(imported.err, "ex01  succeeded: installed, status Valid"));
    CHECK(contains(imported.err, "ex03  failed: agent-unreachable"));
    CHECK(contains(imported.err, "job [3/3] partiallySucceeded: 2 succeeded, 1 failed"));
    CHECK(contains(imported.out, "partiallySucceeded  (2 succeeded, 1 failed)"));
    CHECK(contains(imported.out, "ex03    failed     2         agent-unreachable: "));
    CHECK(!contains(imported.out + imported.err, kPassword));

    auto listed = client({"jobs", "--output", "json"});
    REQUIRE(listed.status.code == 0);
    const auto jobs = json::parse(listed.out)["jobs"];
    REQUIRE(jobs.size() == 1);
    const std::string id = jobs[0]["id"];
    CHECK(jobs[0]["state"] == "partiallySucceeded");

    // Following a final job answers at once, with the exit status of its outcome.
    auto followed = client({"jobs", id, "--follow", "--output", "json"});
    CHECK(followed.status.code == 1);
    CHECK(json::parse(followed.out)["state"] == "partiallySucceeded");

    fleet.start_agent("ex03");
    auto retried = client({"retry", id, "--wait"});
    CHECK(retried.status.code == 0);
    CHECK(contains(retried.out, "succeeded  (3 succeeded)"));
    // Only what the retry did is shown: ex03 again, not the earlier run's events.
    CHECK(contains(retried.err, "ex03  succeeded: installed, status Valid"));
    CHECK(!contains(retried.err, "ex01"));
    CHECK(!contains(retried.err, "failed: agent-unreachable"));
    for (const auto& name : server_names(3)) {
        CHECK(fleet.installs(name) == 1);
    }

    // A final job cannot be cancelled: a refusal, exit 2, the problem as JSON on stdout.
    auto cancelled = client({"cancel", id, "--output", "json"});
    CHECK(cancelled.status.code == 2);
    CHECK(json::parse(cancelled.out)["code"] == "job-finished");
    CHECK(contains(cancelled.err, "HTTP 409 job-finished"));
}

TEST_CASE("client: refusals and bad usage exit 2 and create nothing, an unreachable controller exits 3") {
    Fleet fleet({server_names(1), {}, json::object(), (kCorpus / "root.pem").string(), {}});
    TempDir dir;
    write_file(dir / "wrong", "not-the-password\n");
    write_file(dir / "pw", kPassword);
    const Client client{fleet, dir};
    const std::string pfx = (kCorpus / "modern.pfx").string();

    auto wrong = client({"import", pfx, "--password-file", (dir / "wrong").string(), "--servers", "ex01"});
    CHECK(wrong.status.code == 2);
    CHECK(contains(wrong.err, "HTTP 422 wrong-password: the password does not open this file"));
    CHECK(!contains(wrong.err + wrong.out, "not-the-password"));

    auto wrong_json =
        client({"import", pfx, "--password-file", (dir / "wrong").string(), "--servers", "ex01", "--output", "json"});
    CHECK(wrong_json.status.code == 2);
    CHECK(json::parse(wrong_json.out)["code"] == "wrong-password");

    auto unknown = client({"import", pfx, "--password-file", (dir / "pw").string(), "--servers", "ex01,nope,gone"});
    CHECK(unknown.status.code == 2);
    CHECK(contains(unknown.err, "unknown-server"));
    CHECK(contains(unknown.err, "nope"));

    struct Usage {
        std::vector<std::string> args;
        std::string says;
    };
    const std::vector<Usage> usages = {
        {{"import", pfx, "--password-file", (dir / "pw").string()}, "name the servers (--servers)"},
        {{"import", pfx, "--servers", "*", "--selector", "role=x"}, "give --servers"},
        {{"import", pfx, "--password", kPassword, "--servers", "*"}, "unrecognised option '--password'"},
        {{"import", "--servers", "*"}, "no FILE given"},
        {{"import", (dir / "missing.pfx").string(), "--servers", "*"}, "missing.pfx"},
        {{"import", pfx, "--selector", "novalue"}, "expected KEY=VALUE"},
        {{"enable", "ABCD", "--servers", "*"}, "--services"},
        {{"jobs", "--follow"}, "--follow needs a job ID"},
        {{"servers", "--output", "yaml"}, "expected table or json"},
        {{"certificates", "--live"}, "--live needs --server"},
    };
    for (const auto& usage : usages) {
        CAPTURE(usage.args);
        auto result = client(usage.args);
        CHECK(result.status.code == 2);
        CHECK(contains(result.err, usage.says));
        CHECK(!contains(result.err, kPassword));
    }

    auto missing_job = client({"jobs", "0123456789abcdef01234567"});
    CHECK(missing_job.status.code == 2);
    CHECK(contains(missing_job.err, "job-not-found"));

    auto none = client({"jobs", "--output", "json"});
    REQUIRE(none.status.code == 0);
    CHECK(json::parse(none.out)["jobs"].empty());

    // Nothing listens on port 1: the client says where it could not go.
    auto down = run_certdeploy({"servers", "--controller", "http://127.0.0.1:1"}, dir.path());
    CHECK(down.status.code == 3);
    CHECK(contains(down.err, "the controller at http://127.0.0.1:1 could not be reached (connect"));
    auto bad_url = run_certdeploy({"servers", "--controller", "ftp://127.0.0.1:1"}, dir.path());
    CHECK(bad_url.status.code == 2);
}

TEST_CASE("client: servers, dry run, import from stdin, inventory, live view, enable, remove") {
    TempDir files;
    const json services{{"web",
                         {{"certFile", (files / "web.crt").string()},
                          {"keyFile", (files / "web.key").string()},
                          {"layout", "pem-fullchain"},
                          {"reload", {"/bin/true"}}}}};
    Fleet fleet({server_names(2),
                 {{"ex01", {{"role", "mailbox"}}}, {"ex02", {{"role", "edge"}}}},
                 services,
                 (kCorpus / "root.pem").string(),
                 {}});
    TempDir dir;
    write_file(dir / "pw", kPassword + "\n");
    const Client client{fleet, dir};
    const std::string pfx = (kCorpus / "modern.pfx").string();
    const std::string leaf = leaf_thumbprint();

    auto servers = client({"servers", "--output", "json"});
    REQUIRE(servers.status.code == 0);
    CHECK(json::parse(servers.out)["servers"].size() == 2);
    auto table = client({"servers"});
    CHECK(contains(table.out, "NAME  AGENT"));
    CHECK(contains(table.out, "role=edge"));
    auto one = client({"servers", "ex02", "--output", "json"});
    CHECK(json::parse(one.out)["labels"]["role"] == "edge");

    auto plan = client({"import", pfx, "--password-file", (dir / "pw").string(), "--selector", "role=edge", "--dry-run",
                        "--output", "json"});
    REQUIRE(plan.status.code == 0);
    const auto planned = json::parse(plan.out);
    REQUIRE(planned["servers"].size() == 1);
    CHECK(planned["servers"][0]["name"] == "ex02");
    auto plan_table = client({"import", pfx, "--password-file", (dir / "pw").string(), "--servers", "*", "--dry-run"});
    CHECK(contains(plan_table.out, "dry run: nothing was sent"));
    CHECK(contains(plan_table.out, "on ex01, ex02"));
    CHECK(json::parse(client({"jobs", "--output", "json"}).out)["jobs"].empty());  // a dry run makes no job

    // The password from standard input; the settings from the environment instead of flags.
    ChildProcess stdin_import(
        certdeploy_binary(), {"import", pfx, "--password-stdin", "--servers", "*", "--exportable", "--wait"},
        dir.path(), {{"CERTDEPLOY_CONTROLLER", "http://" + fleet.address()}, {"CERTDEPLOY_TOKEN", fleet.admin_token()}},
        dir / "pw");
    auto status = stdin_import.wait_for_exit(60s);
    REQUIRE(status);
    CHECK(status->code == 0);
    CHECK(contains(stdin_import.stdout_text(), "ex02    succeeded  1         installed, status Valid"));

    // The inventory: from what the agents last said; --live asks the agent now.
    auto inventory = client({"certificates", "--domain", "mail.fabrikam.com", "--output", "json"});
    REQUIRE(inventory.status.code == 0);
    const auto page = json::parse(inventory.out);
    REQUIRE(page["certificates"].size() == 1);
    CHECK(page["certificates"][0]["thumbprint"] == leaf);
    CHECK(page["certificates"][0]["servers"].size() == 2);
    CHECK(!contains(client({"certificates", "--expiring-within", "0", "--domain", "mail.fabrikam.com"}).out, leaf));
    auto live = client({"certificates", "--server", "ex01", "--live", "--status", "Valid"});
    CHECK(live.status.code == 0);
    CHECK(contains(live.out, leaf));
    auto no_server = client({"certificates", "--server", "nope", "--live"});
    CHECK(no_server.status.code == 2);
    CHECK(contains(no_server.err, "server-not-found"));

    auto enabled = client({"enable", leaf, "--services", "web", "--servers", "ex01", "--wait"});
    CHECK(enabled.status.code == 0);
    CHECK(contains(enabled.out, "ex01    succeeded  1         enabled, status Valid"));
    CHECK(contains(read_file(files / "web.crt"), "BEGIN CERTIFICATE"));

    auto removed = client({"remove", leaf, "--servers", "*", "--wait", "--output", "json"});
    CHECK(removed.status.code == 1);  // ex01 still uses it for web
    const auto job = json::parse(removed.out);
    CHECK(job["state"] == "partiallySucceeded");
    CHECK(target(job, "ex01")["error"]["code"] == "certificate-in-use");
    CHECK(target(job, "ex02")["report"]["result"] == "removed");

    // Without --wait: the job as accepted, exit 0, and jobs lists everything done here.
    auto queued = client({"enable", leaf, "--services", "web", "--selector", "role=mailbox", "--output", "json"});
    CHECK(queued.status.code == 0);
    CHECK(json::parse(queued.out)["kind"] == "enable");
    auto listed = client({"jobs"});
    CHECK(contains(listed.out, "ID "));
    CHECK(contains(listed.out, "remove  partiallySucceeded"));

    // A client configuration file, and one with a key it does not know.
    write_file(dir / "client.json", json{{"controller", "http://" + fleet.address()},
                                         {"tokenFile", fleet.admin_token_file().string()},
                                         {"output", "json"}}
                                        .dump());
    auto configured = run_certdeploy({"servers", "--client-config", (dir / "client.json").string()}, dir.path());
    CHECK(configured.status.code == 0);
    CHECK(json::parse(configured.out)["servers"].size() == 2);
    write_file(dir / "bad.json", R"({"controler": "http://127.0.0.1:1"})");
    auto bad = run_certdeploy({"servers"}, dir.path(), {{"CERTDEPLOY_CLIENT_CONFIG", (dir / "bad.json").string()}});
    CHECK(bad.status.code == 2);
    CHECK(contains(bad.err, "unknown key \"controler\""));
}

TEST_CASE("client: on a terminal, --wait rewrites one status line and keeps a line per finished server") {
    Fleet fleet({server_names(2), {}, json::object(), (kCorpus / "root.pem").string(), {}});
    TempDir dir;
    write_file(dir / "pw", kPassword);
    // util-linux's script(1) gives the client a real pseudo-terminal, as an administrator's shell would.
    const std::string command = certdeploy_binary().string() + " import " + (kCorpus / "modern.pfx").string() +
                                " --password-file " + (dir / "pw").string() +
                                " --servers '*' --wait --controller http://" + fleet.address() + " --token-file " +
                                fleet.admin_token_file().string();
    ChildProcess on_terminal("/usr/bin/script", {"-qec", command, "/dev/null"}, dir.path());
    auto status = on_terminal.wait_for_exit(60s);
    REQUIRE(status);
    CHECK(status->code == 0);
    const auto screen = on_terminal.stdout_text();
    CHECK(contains(screen, "\r\033[K[0/2] "));                                        // the status line, redrawn
    CHECK(contains(screen, "\r\033[Kex01  succeeded: installed, status Valid\r\n"));  // a line that stays
    CHECK(contains(screen, "\r\033[K[2/2] succeeded: 2 succeeded"));
    CHECK(contains(screen, "ex02    succeeded  1         installed, status Valid"));
}

TEST_CASE("client: request on two servers, requests --save, the CA's answers imported without servers, renew") {
    TempDir ca;
    const auto openssl = [&](const std::string& args) {
        const std::string command = "cd '" + ca.path().string() + "' && openssl " + args + " 2>>openssl.log";
        INFO(command);
        REQUIRE(std::system(command.c_str()) == 0);
    };
    openssl("req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 30 -subj '/CN=Client Test CA'");
    Fleet fleet({server_names(2), {}, json::object(), (ca / "ca.pem").string(), {}});
    TempDir dir;
    const Client client{fleet, dir};

    auto refused = client({"request", "--domains", "not a name", "--servers", "*"});
    CHECK(refused.status.code == 2);
    CHECK(contains(refused.err, "invalid-domain"));
    CHECK(client({"request", "--servers", "*"}).status.code == 2);  // neither subject nor domains

    auto made = client({"request", "--subject", "CN=owa.contoso.com, O=Contoso", "--domains", "owa.contoso.com",
                        "--key-algorithm", "ECDSA", "--key-size", "384", "--exportable", "--servers", "*", "--wait"});
    CAPTURE(made.err);
    REQUIRE(made.status.code == 0);
    CHECK(contains(made.out, "requested, status PendingRequest"));
    auto listed = client({"requests"});
    CHECK(contains(listed.out, "SERVER"));
    CHECK(contains(listed.out, "EC 384"));
    auto saved = client({"requests", "--save", (ca / "csr").string()});
    REQUIRE(saved.status.code == 0);
    std::vector<std::string> answers;
    for (const auto& entry : std::filesystem::directory_iterator(ca / "csr")) {
        const auto stem = entry.path().stem().string();
        openssl("x509 -req -in 'csr/" + entry.path().filename().string() +
                "' -CA ca.pem -CAkey ca.key -CAcreateserial " + "-days 20 -copy_extensions copy -out '" + stem +
                ".crt'");
        answers.push_back((ca / (stem + ".crt")).string());
        CHECK(contains(saved.out, entry.path().string()));
    }
    REQUIRE(answers.size() == 2);

    std::vector<std::string> args{"import"};
    args.insert(args.end(), answers.begin(), answers.end());
    args.push_back("--wait");
    auto imported = client(args);
    CAPTURE(imported.err);
    CHECK(imported.status.code == 0);
    CHECK(contains(imported.out, "ex01"));
    CHECK(contains(imported.out, "ex02"));
    CHECK(contains(imported.out, "completed, status Valid"));
    CHECK(json::parse(client({"requests", "--output", "json"}).out)["requests"].empty());
    // Completed already: no request is left to match, refused with exit status 2.
    auto again = client({"import", answers.front()});
    CHECK(again.status.code == 2);
    CHECK(contains(again.err, "no-matching-request"));

    // Renew what ex01 now holds: a new request there with the same names and key parameters.
    auto inventory = json::parse(
        client({"certificates", "--server", "ex01", "--domain", "owa.contoso.com", "--output", "json"}).out);
    REQUIRE(inventory["certificates"].size() == 1);
    auto renewed = client({"renew", inventory["certificates"][0]["thumbprint"], "--wait"});
    CAPTURE(renewed.err);
    CHECK(renewed.status.code == 0);
    auto pending = json::parse(client({"requests", "--server", "ex01", "--output", "json"}).out)["requests"];
    REQUIRE(pending.size() == 1);
    CHECK(pending[0]["subject"] == "CN=owa.contoso.com, O=Contoso");
    CHECK(pending[0]["keyAlgorithm"] == "EC");
    CHECK(pending[0]["publicKeySize"] == 384);
}
