// Several controllers on one PostgreSQL (a real one, started by the test): real controller and agent
// processes, real mutual TLS, kill -9. The work is shared by claims on targets, a dead controller's targets
// are taken over once its lease ends, any controller answers for any job, and nothing is installed twice.

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "tests/support/controller_process.hpp"
#include "tests/support/fleet.hpp"
#include "tests/support/job_json.hpp"
#include "tests/support/postgresql_server.hpp"
#include "tests/support/test_database.hpp"

using namespace certdeploy::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

const std::filesystem::path kCorpus = CERTDEPLOY_FIXTURES;

// 32 random bytes, 0600: the upload key every controller of the test shares (uploadKeyFile).
std::filesystem::path write_upload_key(const TempDir& dir) {
    std::random_device random;
    std::string key;
    for (int i = 0; i < 32; ++i) {
        key.push_back(static_cast<char>(random() & 0xFF));
    }
    const auto path = dir / "upload.key";
    write_file(path, key);
    ::chmod(path.c_str(), 0600);
    return path;
}

// What a controller needs to share one PostgreSQL database with the others.
std::vector<std::string> shared_database_flags(const TestDatabase& db, const std::filesystem::path& upload_key) {
    return {"--database",
            db.conninfo(),
            "--database-password-file",
            shared_postgresql().password_file().string(),
            "--upload-key-file",
            upload_key.string(),
            "--lease-seconds",
            "2"};
}

Response call(const std::string& address, const std::string& bearer, http::verb method, const std::string& target) {
    HttpClient client(address);
    http::request<http::string_body> req{method, target, 11};
    req.set(http::field::authorization, bearer);
    return client.send(std::move(req), 30s);
}

json wait_until_final(const std::string& address, const std::string& bearer, const std::string& id,
                      std::chrono::seconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    json job;
    while (std::chrono::steady_clock::now() < deadline) {
        auto res = call(address, bearer, http::verb::get, "/v1/jobs/" + id);
        REQUIRE(res.result() == http::status::ok);
        job = json::parse(res.body());
        const std::string state = job["state"];
        if (state != "queued" && state != "running") {
            return job;
        }
        std::this_thread::sleep_for(50ms);
    }
    FAIL("the job did not finish: " << job.dump(2));
    return job;
}

int count(const std::string& text, const std::string& what) {
    int n = 0;
    for (auto pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + 1)) {
        ++n;
    }
    return n;
}

}  // namespace

TEST_CASE(
    "three controllers on one PostgreSQL share a deployment to 20 agents, one killed with -9 mid-way: every "
    "target succeeds, each agent installs once, any controller follows the job live") {
    TestDatabase db(certdeploy::store::Dialect::postgresql);
    TempDir files;
    const auto upload_key = write_upload_key(files);
    // A reload that takes a while keeps the deployment going long enough to kill a controller in the middle.
    const json services{{"web",
                         {{"certFile", (files / "web-%SERVER%.pem").string()},
                          {"layout", "pem-combined"},
                          {"reload", {"/bin/sh", "-c", "sleep 0.3"}}}}};
    auto flags = shared_database_flags(db, upload_key);
    flags.insert(flags.end(), {"--max-parallel-targets", "2"});
    Fleet fleet({server_names(20), {}, services, (kCorpus / "root.pem").string(), flags});  // controller A
    // B and C: data directories of their own; the same database, agents' CA, client certificate and key.
    std::filesystem::create_directories(files / "b");
    std::filesystem::create_directories(files / "c");
    ControllerProcess b(files / "b", fleet.controller_args());
    ControllerProcess c(files / "c", fleet.controller_args());
    CHECK(b.admin_token().empty());  // the first controller made the admin token; the others share it
    const std::string bearer = fleet.bearer();

    // The import goes to B; C follows its events from the start; A takes part too.
    auto form = std::vector<FormField>{{"file", read_file(kCorpus / "modern.pfx"), "modern.pfx"},
                                       {"password", "P@ssw0rd1", ""},
                                       {"servers", "*", ""},
                                       {"services", "web", ""}};
    auto [body, boundary] = form_body(form);
    http::request<http::string_body> post{http::verb::post, "/v1/imports", 11};
    post.set(http::field::authorization, bearer);
    post.set(http::field::content_type, "multipart/form-data; boundary=" + boundary);
    post.body() = body;
    auto accepted = HttpClient(b.address()).send(std::move(post), 30s);
    REQUIRE(accepted.result() == http::status::accepted);
    const std::string id = json::parse(accepted.body())["id"];
    auto followed = std::async(std::launch::async, [&] {
        HttpClient client(c.address());
        http::request<http::string_body> follow{http::verb::get, "/v1/jobs/" + id + "/events", 11};
        follow.set(http::field::authorization, bearer);
        return client.send(follow, 120s).body();
    });

    // Every controller answers for the job. A is killed while the database says it runs a target (its claim),
    // having finished one already.
    auto a_id = read_file(fleet.data_dir() / "controller.id");
    a_id = a_id.substr(0, a_id.find('\n'));
    const std::string database = db.conninfo().substr(db.conninfo().rfind('=') + 1);
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    json before;
    auto holds_claim = [&] {
        const auto claimed = shared_postgresql().psql(
            database, "SELECT count(*) FROM targets WHERE state = 'running' AND claimed_by = '" + a_id + "'");
        return claimed != "0\n" && count(fleet.controller_log(), "\"target finished\"") >= 1;
    };
    while (std::chrono::steady_clock::now() < deadline) {
        if (holds_claim()) {
            // Asked again with A frozen, so that the claim seen is still held when A dies. (Nothing else is
            // asked meanwhile: frozen, A may hold the job's row lock, and the others wait for it.)
            fleet.pause_controller(true);
            if (holds_claim()) {
                break;
            }
            fleet.pause_controller(false);
        }
        std::this_thread::sleep_for(5ms);
    }
    fleet.kill_controller();
    // Its claims outlive it (until their lease ends): the job shows them running.
    before = json::parse(call(b.address(), bearer, http::verb::get, "/v1/jobs/" + id).body());
    CHECK(json::parse(call(c.address(), bearer, http::verb::get, "/v1/jobs/" + id).body())["id"] == id);
    CHECK(before["targetCounts"]["running"].get<int>() >= 1);

    auto job = wait_until_final(b.address(), bearer, id, 120s);
    CHECK(job["state"] == "succeeded");
    CHECK(job["targetCounts"]["succeeded"] == 20);
    for (const auto& name : server_names(20)) {
        CAPTURE(name);
        CHECK(target(job, name)["state"] == "succeeded");
        CHECK(fleet.installs(name) == 1);  // a target taken over is sent again: the agent says alreadyInstalled
    }
    // The work was shared: each controller finished targets of the job.
    const int by_a = count(fleet.controller_log(), "\"target finished\"");
    const int by_b = count(b.process().stderr_text(), "\"target finished\"");
    const int by_c = count(c.process().stderr_text(), "\"target finished\"");
    MESSAGE("targets finished by A (killed) " << by_a << ", B " << by_b << ", C " << by_c);
    CHECK(by_a >= 1);
    CHECK(by_b >= 1);
    CHECK(by_c >= 1);
    // A logs a target after persisting it: a target it finished just before the kill may have no line.
    // At most those it was running then.
    CHECK(by_a + by_b + by_c + before["targetCounts"]["running"].get<int>() >= 20);

    // C's stream, opened before any target ran, followed the job to its end: ids without a gap, each
    // server's last event succeeded.
    REQUIRE(followed.wait_for(30s) == std::future_status::ready);
    auto events = parse_events(followed.get());
    REQUIRE_FALSE(events.empty());
    CHECK(events.back().type == "done");
    std::map<std::string, std::string> last_state;
    int taken_over = 0;  // running -> pending with no error: A's claims, taken over once their lease ended
    for (std::size_t i = 0; i < events.size(); ++i) {
        CHECK(events[i].id == static_cast<long>(i + 1));
        if (events[i].type == "target") {
            const std::string server = events[i].data["server"];
            const std::string state = events[i].data["state"];
            if (last_state[server] == "running" && state == "pending" && events[i].data["error"].is_null()) {
                ++taken_over;
            }
            last_state[server] = state;
        }
    }
    MESSAGE("targets taken over from A: " << taken_over);
    CHECK(taken_over >= 1);
    // C's stream was woken by the database's notifications of events other controllers wrote.
    const auto metrics = call(c.address(), bearer, http::verb::get, "/metrics").body();
    const std::string rings = "certdeploy_event_rings_total{source=\"database\"} ";
    const auto at = metrics.find(rings);
    REQUIRE(at != std::string::npos);
    CHECK(std::stod(metrics.substr(at + rings.size())) > 0);
    CHECK(last_state.size() == 20);
    for (const auto& [server, state] : last_state) {
        CAPTURE(server);
        CHECK(state == "succeeded");
    }
}

TEST_CASE("two controllers starting together on an empty PostgreSQL database: one schema, one admin token") {
    TestDatabase db(certdeploy::store::Dialect::postgresql);
    TempDir files;
    const auto upload_key = write_upload_key(files);
    const auto flags = shared_database_flags(db, upload_key);
    std::filesystem::create_directories(files / "a");
    std::filesystem::create_directories(files / "b");
    std::unique_ptr<ControllerProcess> a;
    std::unique_ptr<ControllerProcess> b;
    std::thread start_b([&] { b = std::make_unique<ControllerProcess>(files / "b", flags); });
    a = std::make_unique<ControllerProcess>(files / "a", flags);
    start_b.join();
    REQUIRE(a);
    REQUIRE(b);
    // Exactly one of them made the admin token, and it works on both.
    const bool a_made = !a->admin_token().empty();
    const bool b_made = !b->admin_token().empty();
    CHECK(a_made != b_made);
    const std::string bearer = a_made ? a->bearer() : b->bearer();
    CHECK(maps_file(a->process().pid(), "libpq.so.5"));  // loaded when the store opened (store/libpq.hpp)
    for (const auto* controller : {a.get(), b.get()}) {
        auto whoami = call(controller->address(), bearer, http::verb::get, "/v1/whoami");
        CHECK(whoami.result() == http::status::ok);
        CHECK(json::parse(whoami.body())["role"] == "admin");
    }
    const std::string database = db.conninfo().substr(db.conninfo().rfind('=') + 1);
    CHECK(shared_postgresql().psql(database, "SELECT count(*) FROM tokens") == "1\n");
    CHECK(shared_postgresql().psql(database, "SELECT count(*) = max(version) FROM schema_migrations") == "t\n");
}

TEST_CASE(
    "a controller on PostgreSQL refuses a password in its connection string, a password file others read, "
    "or no shared upload key") {
    TestDatabase db(certdeploy::store::Dialect::postgresql);
    TempDir dir;
    const auto key = write_upload_key(dir);
    const std::vector<std::string> base{"server",
                                        "--listen",
                                        "127.0.0.1:0",
                                        "--insecure-http",
                                        "--data-dir",
                                        (dir / "data").string(),
                                        "--upload-key-file",
                                        key.string()};
    const auto with = [&](std::vector<std::string> more) {
        auto args = base;
        args.insert(args.end(), more.begin(), more.end());
        return run_certdeploy(args, dir.path());
    };
    auto with_password = with({"--database", db.conninfo() + " password=hunter2"});
    CHECK(with_password.status.code == 2);
    CHECK(with_password.err.find("databasePasswordFile") != std::string::npos);
    CHECK(with_password.err.find("hunter2") == std::string::npos);

    const auto loose = dir / "loose.password";
    write_file(loose, "whatever\n");
    ::chmod(loose.c_str(), 0644);
    auto readable = with({"--database", db.conninfo(), "--database-password-file", loose.string()});
    CHECK(readable.status.code == 2);
    CHECK(readable.err.find("chmod 600") != std::string::npos);

    // Each controller with a key of its own could not open the others' uploads: refused at start.
    auto keyless = run_certdeploy(
        {"server", "--listen", "127.0.0.1:0", "--insecure-http", "--data-dir", (dir / "data").string(), "--database",
         db.conninfo(), "--database-password-file", shared_postgresql().password_file().string()},
        dir.path());
    CHECK(keyless.status.code == 2);
    CHECK(keyless.err.find("uploadKeyFile") != std::string::npos);

    // The database down: a clear error naming PostgreSQL, exit status 1, no password in it.
    auto nowhere = with({"--database", "host=127.0.0.1 port=1 dbname=x", "--database-password-file",
                         shared_postgresql().password_file().string()});
    CHECK(nowhere.status.code == 1);
    CHECK(nowhere.err.find("cannot connect to PostgreSQL") != std::string::npos);
    CHECK(nowhere.err.find(db.password()) == std::string::npos);
}

TEST_CASE("the database lost: the API answers 503 store-unavailable with Retry-After, and recovers without a restart") {
    TestDatabase db(certdeploy::store::Dialect::postgresql);
    TempDir files;
    const auto upload_key = write_upload_key(files);
    std::filesystem::create_directories(files / "a");
    ControllerProcess controller(files / "a", shared_database_flags(db, upload_key));
    CHECK(call(controller.address(), controller.bearer(), http::verb::get, "/v1/servers").result() == http::status::ok);

    shared_postgresql().stop();
    auto down = call(controller.address(), controller.bearer(), http::verb::get, "/v1/servers");
    CHECK(down.result() == http::status::service_unavailable);
    CHECK(down[http::field::content_type] == "application/problem+json");
    CHECK(down[http::field::retry_after] == "1");
    const auto problem = json::parse(down.body());
    CHECK(problem["code"] == "store-unavailable");
    CHECK(problem["detail"].get<std::string>().find("127.0.0.1") == std::string::npos);  // no address, no secret
    // A well-formed token that could not be checked is not called unknown: the database could not say.
    auto other = controller.admin_token();
    other.back() = other.back() == 'a' ? 'b' : 'a';
    CHECK(call(controller.address(), "Bearer " + other, http::verb::get, "/v1/servers").result() ==
          http::status::service_unavailable);

    shared_postgresql().start();
    std::optional<http::status> status;
    for (int i = 0; i < 20 && status != http::status::ok; ++i) {  // the first call may find a dead connection
        status = call(controller.address(), controller.bearer(), http::verb::get, "/v1/servers").result();
    }
    CHECK(status == http::status::ok);
    CHECK(controller.process().wait_for_exit(std::chrono::milliseconds(0)) == std::nullopt);  // never restarted
}
