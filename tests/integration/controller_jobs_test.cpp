// The controller's jobs end to end: real agent processes over real mutual TLS, the real HTTP API, the
// real SQLite file, and kill -9.

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "service/codec/base64.hpp"
#include "tests/support/corpus.hpp"
#include "tests/support/fleet.hpp"
#include "tests/support/job_json.hpp"

using namespace certdeploy::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

std::string first_line(const std::string& name) {
    auto text = read_file(kCorpus / name);
    return text.substr(0, text.find('\n'));
}

}  // namespace

TEST_CASE("import on three servers: refused before dispatch when wrong, then deployed, followed live, listed Valid") {
    Fleet fleet({server_names(3),
                 {{"ex01", {{"role", "mailbox"}}}, {"ex02", {{"role", "mailbox"}}}},
                 json::object(),
                 (kCorpus / "root.pem").string(),
                 {}});
    const std::string leaf = first_line("leaf.thumbprint");

    // A wrong password, a damaged file, unknown servers: refused with the PKI module's code, nothing dispatched.
    auto wrong = fleet.post_form("/v1/imports", import_form("ex01,ex02,ex03", "not the password"));
    CHECK(wrong.result() == http::status::unprocessable_entity);
    CHECK(json::parse(wrong.body())["code"] == "wrong-password");
    CHECK(wrong.body().find("not the password") == std::string::npos);
    auto damaged = fleet.post_form("/v1/imports", import_form("ex01", kPassword, "truncated.pfx"));
    CHECK(damaged.result() == http::status::unprocessable_entity);
    CHECK(json::parse(damaged.body())["code"] == "unreadable-certificate");
    auto unknown = fleet.post_form("/v1/imports", import_form("ex01,ex08,ex09"));
    CHECK(unknown.result() == http::status::unprocessable_entity);
    CHECK(json::parse(unknown.body())["code"] == "unknown-server");
    CHECK(json::parse(unknown.body())["detail"].get<std::string>().find("ex08, ex09") != std::string::npos);

    // The dry run answers the summary and the servers the selector resolves to, and dispatches nothing.
    auto plan = fleet.post_form("/v1/imports?dryRun=true", {{"file", read_file(kCorpus / "modern.pfx"), "modern.pfx"},
                                                            {"password", kPassword, ""},
                                                            {"selector", "role=mailbox", ""}});
    REQUIRE(plan.result() == http::status::ok);
    auto planned = json::parse(plan.body());
    CHECK(planned["certificate"]["thumbprint"] == leaf);
    CHECK(planned["servers"].size() == 2);
    CHECK(json::parse(fleet.call(http::verb::get, "/v1/jobs").body())["jobs"].empty());
    for (const auto& name : server_names(3)) {
        CHECK(fleet.installs(name) == 0);
    }

    // The import, with an Idempotency-Key.
    auto accepted = fleet.post_form("/v1/imports", import_form("ex01,ex02,ex03"), {{"Idempotency-Key", "deploy-1"}});
    REQUIRE(accepted.result() == http::status::accepted);
    auto job = json::parse(accepted.body());
    const std::string id = job["id"];
    CHECK(accepted[http::field::location] == "/v1/jobs/" + id);
    CHECK(job["kind"] == "import");
    CHECK(job["certificate"]["thumbprint"] == leaf);

    // Followed live: the stream ends once the job is final, having told every transition in order.
    HttpClient events_client(fleet.address());
    http::request<http::string_body> follow{http::verb::get, "/v1/jobs/" + id + "/events", 11};
    follow.set(http::field::authorization, fleet.bearer());
    auto stream = events_client.send(follow, 60s);
    CHECK(stream[http::field::content_type] == "text/event-stream");
    auto events = parse_events(stream.body());
    REQUIRE_FALSE(events.empty());
    CHECK(events.back().type == "done");
    CHECK(events.back().data["state"] == "succeeded");
    std::map<std::string, std::vector<std::string>> transitions;
    long last_id = 0;
    for (const auto& event : events) {
        CHECK(event.id == last_id + 1);
        last_id = event.id;
        if (event.type == "target") {
            transitions[event.data["server"]].push_back(event.data["state"]);
        }
    }
    for (const auto& name : server_names(3)) {
        CHECK(transitions[name] == std::vector<std::string>{"running", "succeeded"});
    }
    // A reconnecting client (Last-Event-ID) gets only what it missed.
    HttpClient again(fleet.address());
    http::request<http::string_body> resume{http::verb::get, "/v1/jobs/" + id + "/events", 11};
    resume.set(http::field::authorization, fleet.bearer());
    resume.set("Last-Event-ID", std::to_string(last_id - 1));
    CHECK(parse_events(again.send(resume, 10s).body()).size() == 1);
    // After `done`, nothing more will come: 204, which stops an EventSource from reconnecting.
    HttpClient after_done(fleet.address());
    resume.set("Last-Event-ID", std::to_string(last_id));
    CHECK(after_done.send(resume, 10s).result() == http::status::no_content);

    job = json::parse(fleet.call(http::verb::get, "/v1/jobs/" + id).body());
    CHECK(job["state"] == "succeeded");
    CHECK(job["finishedAt"].is_string());
    CHECK(job["uploadKept"] == false);  // final with nothing to retry: the upload is deleted
    for (const auto& name : server_names(3)) {
        const auto& t = target(job, name);
        CHECK(t["state"] == "succeeded");
        CHECK(t["attempts"] == 1);
        CHECK(t["report"]["result"] == "installed");
        CHECK(t["report"]["status"] == "Valid");
        CHECK(fleet.installs(name) == 1);
        // How do you know this worked? Each server's agent, asked now.
        auto valid =
            json::parse(fleet.call(http::verb::get, "/v1/servers/" + name + "/certificates?status=Valid").body());
        CHECK(valid["server"] == name);
        REQUIRE(valid["certificates"].size() == 1);
        CHECK(valid["certificates"][0]["thumbprint"] == leaf);
    }

    // The same key and request: the same job, nothing done again; the same key for another request: 409.
    auto replay = fleet.post_form("/v1/imports", import_form("ex01,ex02,ex03"), {{"Idempotency-Key", "deploy-1"}});
    CHECK(replay.result() == http::status::accepted);
    CHECK(json::parse(replay.body())["id"] == id);
    CHECK(replay["Idempotent-Replayed"] == "true");
    auto conflict = fleet.post_form("/v1/imports", import_form("ex01"), {{"Idempotency-Key", "deploy-1"}});
    CHECK(conflict.result() == http::status::conflict);
    CHECK(json::parse(conflict.body())["code"] == "idempotency-conflict");

    // The inventory knows where it is; the job list finds the job by server and thumbprint.
    auto inventory = json::parse(fleet.call(http::verb::get, "/v1/certificates?domain=mail.fabrikam.com").body());
    REQUIRE(inventory["certificates"].size() == 1);
    CHECK(inventory["certificates"][0]["thumbprint"] == leaf);
    CHECK(inventory["certificates"][0]["servers"].size() == 3);
    auto listed = json::parse(fleet.call(http::verb::get, "/v1/jobs?server=ex02&thumbprint=" + leaf).body());
    REQUIRE(listed["jobs"].size() == 1);
    CHECK(listed["jobs"][0]["id"] == id);
    CHECK(json::parse(fleet.call(http::verb::get, "/v1/jobs?state=failed").body())["jobs"].empty());

    // The password never reached the log, the database or a response in clear text.
    fleet.stop_controller();
    CHECK(fleet.controller_log().find(kPassword) == std::string::npos);
    for (const auto& file : std::filesystem::directory_iterator(fleet.data_dir())) {
        CAPTURE(file.path());
        CHECK(read_file(file.path()).find(kPassword) == std::string::npos);
    }
    struct stat st {};
    REQUIRE(::stat((fleet.data_dir() / "upload.key").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
}

TEST_CASE("one agent down: its target fails after its retries, the others succeed / a retry once it is back succeeds") {
    Fleet fleet({server_names(3),
                 {},
                 json::object(),
                 (kCorpus / "root.pem").string(),
                 {"--max-attempts", "3", "--retry-delay-seconds", "0.1"}});
    fleet.stop_agent("ex03");

    auto accepted = fleet.post_form("/v1/imports", import_form("*"));
    REQUIRE(accepted.result() == http::status::accepted);
    const std::string id = json::parse(accepted.body())["id"];
    auto job = fleet.wait_until_final(id);
    CHECK(job["state"] == "partiallySucceeded");
    CHECK(target(job, "ex01")["state"] == "succeeded");
    CHECK(target(job, "ex02")["state"] == "succeeded");
    const auto& down = target(job, "ex03");
    CHECK(down["state"] == "failed");
    CHECK(down["attempts"] == 3);
    CHECK(down["error"]["code"] == "agent-unreachable");
    CHECK(job["uploadKept"] == true);  // kept for the retry

    auto early = fleet.call(http::verb::post, "/v1/jobs/nonexistent/retry");
    CHECK(early.result() == http::status::not_found);
    CHECK(json::parse(early.body())["code"] == "job-not-found");

    fleet.start_agent("ex03");
    auto retried = fleet.call(http::verb::post, "/v1/jobs/" + id + "/retry");
    REQUIRE(retried.result() == http::status::accepted);
    CHECK(retried[http::field::location] == "/v1/jobs/" + id);
    job = fleet.wait_until_final(id);
    CHECK(job["state"] == "succeeded");
    CHECK(target(job, "ex01")["attempts"] == 1);  // the retry ran the failed target and nothing else
    CHECK(target(job, "ex02")["attempts"] == 1);
    CHECK(target(job, "ex03")["attempts"] == 4);
    CHECK(target(job, "ex03")["report"]["result"] == "installed");
    CHECK(job["uploadKept"] == false);
    for (const auto& name : server_names(3)) {
        CHECK(fleet.installs(name) == 1);
    }
    auto nothing = fleet.call(http::verb::post, "/v1/jobs/" + id + "/retry");
    CHECK(nothing.result() == http::status::conflict);
    CHECK(json::parse(nothing.body())["code"] == "job-not-retryable");
}

TEST_CASE("enable and remove as jobs: a bound certificate fails with certificate-in-use where bound only") {
    TempDir files;
    const json services{{"web",
                         {{"certFile", (files / "web.crt").string()},
                          {"keyFile", (files / "web.key").string()},
                          {"layout", "pem-fullchain"},
                          {"reload", {"/bin/true"}}}}};
    Fleet fleet({server_names(2), {}, services, (kCorpus / "root.pem").string(), {}});
    const std::string leaf = first_line("leaf.thumbprint");
    auto imported = fleet.post_form("/v1/imports", import_form("ex01,ex02"));
    REQUIRE(imported.result() == http::status::accepted);
    CHECK(fleet.wait_until_final(json::parse(imported.body())["id"])["state"] == "succeeded");

    auto enable = fleet.call(http::verb::post, "/v1/certificates/" + leaf + "/enable",
                             {{"servers", {"ex01"}}, {"services", {"web"}}});
    REQUIRE(enable.result() == http::status::accepted);
    auto enabled = fleet.wait_until_final(json::parse(enable.body())["id"]);
    CHECK(enabled["kind"] == "enable");
    CHECK(enabled["state"] == "succeeded");
    CHECK(target(enabled, "ex01")["report"]["result"] == "enabled");
    CHECK(enabled["certificate"]["subject"].get<std::string>().find("mail.fabrikam.com") != std::string::npos);
    CHECK(read_file(files / "web.crt").find("BEGIN CERTIFICATE") != std::string::npos);

    // Export through the controller: the agent's refusal passes through with its code.
    auto export_refused = fleet.call(http::verb::post, "/v1/servers/ex01/certificates/" + leaf + "/export",
                                     {{"password", "Export-Pass1"}});
    CHECK(export_refused.result() == http::status::conflict);
    CHECK(json::parse(export_refused.body())["code"] == "not-exportable");

    auto remove = fleet.call(http::verb::post, "/v1/certificates/" + leaf + "/remove", {{"servers", {"*"}}});
    REQUIRE(remove.result() == http::status::accepted);
    auto removed = fleet.wait_until_final(json::parse(remove.body())["id"]);
    CHECK(removed["state"] == "partiallySucceeded");
    CHECK(target(removed, "ex01")["state"] == "failed");
    CHECK(target(removed, "ex01")["error"]["code"] == "certificate-in-use");
    CHECK(target(removed, "ex02")["report"]["result"] == "removed");
    auto gone = fleet.call(http::verb::get, "/v1/servers/ex02/certificates/" + leaf);
    CHECK(gone.result() == http::status::not_found);
    CHECK(json::parse(gone.body())["code"] == "certificate-not-found");
    CHECK(fleet.call(http::verb::get, "/v1/servers/ex01/certificates/" + leaf).result() == http::status::ok);
    auto inventory = json::parse(fleet.call(http::verb::get, "/v1/certificates?server=ex02").body());
    for (const auto& cert : inventory["certificates"]) {
        CHECK(cert["thumbprint"] != leaf);
    }
}

TEST_CASE("cancel stops the targets not yet started / those running finish") {
    TempDir files;
    const json services{{"web",
                         {{"certFile", (files / "web.crt").string()},
                          {"layout", "pem-combined"},
                          {"reload", {"/bin/sh", "-c", "sleep 0.5"}}}}};
    Fleet fleet({server_names(4), {}, services, (kCorpus / "root.pem").string(), {"--max-parallel-targets", "1"}});
    auto form = import_form("*");
    form.push_back({"services", "web", ""});
    auto accepted = fleet.post_form("/v1/imports", form);
    REQUIRE(accepted.result() == http::status::accepted);
    const std::string id = json::parse(accepted.body())["id"];
    fleet.wait_for_job(id, [](const json& job) { return job["targetCounts"]["running"] == 1; });
    auto cancel = fleet.call(http::verb::post, "/v1/jobs/" + id + "/cancel");
    REQUIRE(cancel.result() == http::status::ok);
    auto job = fleet.wait_until_final(id);
    CHECK(job["state"] == "cancelled");
    CHECK(job["targetCounts"]["cancelled"].get<int>() >= 2);
    int installed = 0;
    for (const auto& name : server_names(4)) {
        const auto& t = target(job, name);
        CHECK((t["state"] == "succeeded" || t["state"] == "cancelled"));
        installed += fleet.installs(name);
        if (t["state"] == "cancelled") {
            CHECK(fleet.installs(name) == 0);
        }
    }
    CHECK(installed == job["targetCounts"]["succeeded"].get<int>());
    auto late = fleet.call(http::verb::post, "/v1/jobs/" + id + "/cancel");
    CHECK(late.result() == http::status::conflict);
    CHECK(json::parse(late.body())["code"] == "job-finished");
}

TEST_CASE("a controller killed with -9 mid-deployment to 20 agents finishes after a restart, each installed once") {
    TempDir files;
    // A reload that takes a while keeps the deployment going long enough to be killed in the middle; each
    // agent writes its own file (%SERVER% is the agent's name).
    const json services{{"web",
                         {{"certFile", (files / "web-%SERVER%.pem").string()},
                          {"layout", "pem-combined"},
                          {"reload", {"/bin/sh", "-c", "sleep 0.3"}}}}};
    Fleet fleet({server_names(20), {}, services, (kCorpus / "root.pem").string(), {"--max-parallel-targets", "4"}});
    auto form = import_form("*");
    form.push_back({"services", "web", ""});
    auto accepted = fleet.post_form("/v1/imports", form);
    REQUIRE(accepted.result() == http::status::accepted);
    const std::string id = json::parse(accepted.body())["id"];
    auto before = fleet.wait_for_job(id, [](const json& job) {
        const auto& counts = job["targetCounts"];
        return counts["succeeded"].get<int>() >= 3 && counts["running"].get<int>() >= 1;
    });
    fleet.kill_controller();
    CHECK(before["targetCounts"]["pending"].get<int>() > 0);

    fleet.start_controller();
    auto job = fleet.wait_until_final(id, 120s);
    CHECK(job["state"] == "succeeded");
    CHECK(job["targetCounts"]["succeeded"] == 20);
    for (const auto& name : server_names(20)) {
        CAPTURE(name);
        CHECK(target(job, name)["state"] == "succeeded");
        CHECK(fleet.installs(name) == 1);  // sent again if it was running: the agent answered alreadyInstalled
    }
    // The history survived the kill: one event stream, ids without gaps.
    HttpClient client(fleet.address());
    http::request<http::string_body> follow{http::verb::get, "/v1/jobs/" + id + "/events", 11};
    follow.set(http::field::authorization, fleet.bearer());
    auto events = parse_events(client.send(follow, 30s).body());
    REQUIRE_FALSE(events.empty());
    CHECK(events.back().type == "done");
    for (std::size_t i = 0; i < events.size(); ++i) {
        CHECK(events[i].id == static_cast<long>(i + 1));
    }
}

TEST_CASE("imports: bad requests are refused with a stable code and create nothing") {
    Fleet fleet({server_names(1), {}, json::object(), "", {}});
    struct Case {
        std::string content_type;
        std::string body;
        http::status status;
        std::string code;
    };
    const auto pfx = read_file(kCorpus / "modern.pfx");
    const std::vector<Case> cases = {
        {"text/plain", "hello", http::status::unsupported_media_type, "unsupported-media-type"},
        {"application/json", "{\"servers\": [\"ex01\"]}", http::status::bad_request, "invalid-request"},
        {"application/json", "{\"fileData\": \"@@@\", \"servers\": [\"ex01\"]}", http::status::bad_request,
         "invalid-request"},
        // Naming no server, a file is a CA's answer to route: read first, and this one is no certificate.
        {"application/json", "{\"fileData\": \"AAAA\"}", http::status::unprocessable_entity, "unreadable-certificate"},
        {"application/json", "{\"fileData\": \"AAAA\", \"servers\": [\"*\", \"ex01\"]}", http::status::bad_request,
         "invalid-request"},
        {"application/json", "{\"fileData\": \"AAAA\", \"servers\": [\"ex01\"], \"selector\": {\"a\": \"b\"}}",
         http::status::bad_request, "invalid-request"},
        {"application/json", "{\"fileData\": \"AAAA\", \"servers\": [\"ex01\"], \"bogus\": 1}",
         http::status::bad_request, "invalid-request"},
        {"multipart/form-data; boundary=xyz", "no parts here", http::status::bad_request, "invalid-request"},
        {"multipart/form-data; boundary=xyz",
         "--xyz\r\nContent-Disposition: form-data; name=\"friendlyName\"\r\n\r\n\xff\xfe\r\n--xyz--\r\n",
         http::status::bad_request, "invalid-request"},
        {"application/json", "{\"fileData\": \"AAAA\", \"selector\": {\"role\": \"none\"}}",
         http::status::unprocessable_entity, "unreadable-certificate"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.body);
        HttpClient client(fleet.address());
        http::request<http::string_body> req{http::verb::post, "/v1/imports", 11};
        req.set(http::field::authorization, fleet.bearer());
        req.set(http::field::content_type, c.content_type);
        req.body() = c.body;
        auto res = client.send(req);
        CHECK(res.result() == c.status);
        CHECK(json::parse(res.body())["code"] == c.code);
    }
    // JSON with fileData works like the form; a selector that matches nothing is no-servers.
    auto none = fleet.call(
        http::verb::post, "/v1/imports",
        {{"fileData", certdeploy::codec::base64_encode(pfx)}, {"password", kPassword}, {"selector", {{"role", "x"}}}});
    CHECK(none.result() == http::status::unprocessable_entity);
    CHECK(json::parse(none.body())["code"] == "no-servers");
    CHECK(json::parse(fleet.call(http::verb::get, "/v1/jobs").body())["jobs"].empty());
    CHECK(fleet.call(http::verb::get, "/v1/jobs/0123").result() == http::status::not_found);
    CHECK(fleet.call(http::verb::get, "/v1/jobs?state=bogus").result() == http::status::bad_request);
}

TEST_CASE("an attempt longer than attemptTimeoutSeconds is cut off and retried like an unreachable agent") {
    TempDir files;
    const json services{{"web",
                         {{"certFile", (files / "web.pem").string()},
                          {"layout", "pem-combined"},
                          {"reload", {"/bin/sh", "-c", "sleep 3"}}}}};
    Fleet fleet({server_names(1),
                 {},
                 services,
                 (kCorpus / "root.pem").string(),
                 {"--attempt-timeout-seconds", "0.5", "--max-attempts", "2", "--retry-delay-seconds", "0.1"}});
    auto form = import_form("ex01");
    form.push_back({"services", "web", ""});
    auto accepted = fleet.post_form("/v1/imports", form);
    REQUIRE(accepted.result() == http::status::accepted);
    auto job = fleet.wait_until_final(json::parse(accepted.body())["id"]);
    CHECK(job["state"] == "failed");
    const auto& t = target(job, "ex01");
    CHECK(t["attempts"] == 2);
    CHECK(t["error"]["code"] == "agent-unreachable");
    CHECK(t["error"]["message"].get<std::string>().find("did not answer in time") != std::string::npos);
    CHECK(fleet.installs("ex01") == 1);  // the second attempt found it installed
}

TEST_CASE("each attempt calls the server's current registration: a moved agent is reached, a deleted server fails") {
    Fleet fleet({server_names(3),
                 {},
                 json::object(),
                 (kCorpus / "root.pem").string(),
                 {"--max-attempts", "2", "--retry-delay-seconds", "0.1"}});
    fleet.stop_agent("ex02");
    fleet.stop_agent("ex03");
    auto accepted = fleet.post_form("/v1/imports", import_form("*"));
    REQUIRE(accepted.result() == http::status::accepted);
    const std::string id = json::parse(accepted.body())["id"];
    auto job = fleet.wait_until_final(id);
    CHECK(job["state"] == "partiallySucceeded");
    CHECK(target(job, "ex02")["error"]["code"] == "agent-unreachable");

    // ex02 comes back on another port and is registered there; ex03 is decommissioned.
    const auto old_address = fleet.agent_address("ex02");
    fleet.start_agent_elsewhere("ex02");
    REQUIRE(fleet.agent_address("ex02") != old_address);
    auto moved =
        fleet.call(http::verb::put, "/v1/servers/ex02", {{"agentUrl", "https://" + fleet.agent_address("ex02")}});
    REQUIRE(moved.result() == http::status::ok);
    REQUIRE(fleet.call(http::verb::delete_, "/v1/servers/ex03").result() == http::status::no_content);

    auto retried = fleet.call(http::verb::post, "/v1/jobs/" + id + "/retry");
    REQUIRE(retried.result() == http::status::accepted);
    job = fleet.wait_until_final(id);
    CHECK(job["state"] == "partiallySucceeded");
    CHECK(target(job, "ex01")["attempts"] == 1);
    CHECK(target(job, "ex02")["state"] == "succeeded");
    CHECK(target(job, "ex02")["report"]["result"] == "installed");
    CHECK(target(job, "ex03")["state"] == "failed");
    CHECK(target(job, "ex03")["error"]["code"] == "server-not-found");
    CHECK(target(job, "ex03")["attempts"] == 2);  // no attempt was made: there is nowhere to send it
    CHECK(fleet.installs("ex02") == 1);
}
