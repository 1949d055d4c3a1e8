// The controller's store, one suite on both engines (TEST_CASE_TEMPLATE over SQLite and a real PostgreSQL
// started for the test), plus each engine's migrations: applied once, in order, each with its record in one
// transaction, and on PostgreSQL once however many controllers start together.

#include "store/controller_store.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <thread>

#include "service/controller/job_service.hpp"
#include "store/sqlite_database.hpp"
#include "tests/support/postgresql_server.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/test_database.hpp"

using namespace certdeploy::store;
using certdeploy::test::PostgresqlEngine;
using certdeploy::test::SqliteEngine;
using certdeploy::test::TempDir;
using certdeploy::test::TestDatabase;

TYPE_TO_STRING(SqliteEngine);
TYPE_TO_STRING(PostgresqlEngine);

namespace {

const JobRules& rules() {
    return certdeploy::controller::JobService::rules();
}

ServerRow server_row(const std::string& name) {
    ServerRow row;
    row.name = name;
    row.agentUrl = "https://" + name + ":9001";
    row.updatedAt = "2026-01-01T00:00:00Z";
    return row;
}

// A live viewer token named `name` whose secret hashes to `hash`.
TokenRow viewer_token(const std::string& name, const std::string& hash) {
    TokenRow token;
    token.name = name;
    token.secretHash = hash;
    token.role = "viewer";
    token.createdAt = "2026-11-01T00:00:00Z";
    return token;
}

// An import job on `servers`, its targets pending, with a sealed upload.
NewJob import_job(const std::string& id, const std::vector<std::string>& servers, const std::string& at) {
    NewJob job;
    job.job.id = id;
    job.job.kind = "import";
    job.job.state = "queued";
    job.job.createdAt = at;
    job.job.thumbprint = "AB" + id;
    job.job.certificateJson = R"({"subject": "CN=mail.contoso.com"})";
    job.job.options.friendlyName = "Contoso";
    job.job.options.services = {"web"};
    job.sealedUpload = std::string{'\0', 's', 'e', 'a', 'l', '\xff', '\0', 'b', '\\', 'x'};  // any bytes
    for (const auto& server : servers) {
        TargetRow target;
        target.server = server;
        target.agentUrl = "https://" + server + ":9001";
        target.state = "pending";
        job.targets.push_back(target);
    }
    return job;
}

TargetChange move(const std::string& job, const std::string& server, std::vector<std::string> from,
                  const std::string& to, const std::string& at) {
    TargetChange change;
    change.jobId = job;
    change.server = server;
    change.from = std::move(from);
    change.to = to;
    change.at = at;
    change.startAttempt = to == "running";
    change.finished = to == "succeeded" || to == "failed" || to == "cancelled";
    return change;
}

// True when the store answered true; false for false and for an error.
bool yes(const StoreResult<bool>& answer) {
    return answer.has_value() && *answer;
}

}  // namespace

TEST_CASE("the controller's migrations apply once and leave the schema at the newest version") {
    TempDir dir;
    const auto& migrations = controller_migrations(Dialect::sqlite);
    REQUIRE_FALSE(migrations.empty());
    for (std::size_t i = 1; i < migrations.size(); ++i) {
        CHECK(migrations[i].version > migrations[i - 1].version);  // numbered, in order
    }
    {
        auto db = SqliteConnection::open(dir / "c.db", migrations);
        REQUIRE(db.has_value());
        CHECK((*db)->schema_version() == migrations.back().version);
    }
    auto again = SqliteConnection::open(dir / "c.db", migrations);  // nothing left to apply, nothing fails
    REQUIRE(again.has_value());
    CHECK((*again)->schema_version() == migrations.back().version);
    auto count = (*again)->prepare("SELECT COUNT(*) FROM schema_migrations");
    REQUIRE(count.has_value());
    REQUIRE(count->step().value());
    CHECK(count->integer(0) == static_cast<std::int64_t>(migrations.size()));
}

TEST_CASE("migration 7 counts the targets of jobs made before it, and the triggers keep the counts after") {
    TempDir dir;
    auto all = controller_migrations(Dialect::sqlite);
    REQUIRE(all.size() >= 7);
    const std::vector<Migration> before(all.begin(), all.begin() + 6);
    {
        auto db = SqliteConnection::open(dir / "c.db", before).value();
        REQUIRE(db->exec("INSERT INTO jobs (id, kind, state, created_at, thumbprint, certificate, options) VALUES "
                         "('old', 'import', 'running', 't', 'AB', '{}', '{}')")
                    .has_value());
        REQUIRE(db->exec("INSERT INTO targets (job_seq, server, agent_url, state) VALUES "
                         "(1, 'a', 'https://a:1', 'succeeded'), (1, 'b', 'https://b:1', 'pending'), "
                         "(1, 'c', 'https://c:1', 'pending')")
                    .has_value());
    }
    auto db = SqliteConnection::open(dir / "c.db", all).value();
    auto counts = [&db] {
        std::map<std::string, std::int64_t> out;
        auto s = db->prepare("SELECT state, n FROM job_target_counts WHERE job_seq = 1 AND n > 0").value();
        while (s.step().value()) {
            out[s.text(0)] = s.integer(1);
        }
        return out;
    };
    CHECK(counts() == std::map<std::string, std::int64_t>{{"pending", 2}, {"succeeded", 1}});
    REQUIRE(db->exec("UPDATE targets SET state = 'running' WHERE server = 'b'").has_value());
    REQUIRE(db->exec("UPDATE targets SET attempts = 2 WHERE server = 'c'").has_value());  // not a state change
    CHECK(counts() == std::map<std::string, std::int64_t>{{"pending", 1}, {"running", 1}, {"succeeded", 1}});
    REQUIRE(db->exec("DELETE FROM targets WHERE server = 'a'").has_value());
    CHECK(counts() == std::map<std::string, std::int64_t>{{"pending", 1}, {"running", 1}});
    REQUIRE(db->exec("DELETE FROM jobs WHERE id = 'old'").has_value());
    auto left = db->prepare("SELECT COUNT(*) FROM job_target_counts").value();
    REQUIRE(left.step().value());
    CHECK(left.integer(0) == 0);
}

TEST_CASE("a migration that fails is rolled back whole, and the schema stays at the previous version") {
    TempDir dir;
    const std::vector<Migration> good = {{1, "001_first", "CREATE TABLE a (x INTEGER);"}};
    const std::vector<Migration> broken = {{1, "001_first", "CREATE TABLE a (x INTEGER);"},
                                           {2, "002_broken", "CREATE TABLE b (y INTEGER); THIS IS NOT SQL;"}};
    REQUIRE(SqliteConnection::open(dir / "m.db", good).has_value());
    auto failed = SqliteConnection::open(dir / "m.db", broken);
    REQUIRE_FALSE(failed.has_value());
    CHECK(failed.error().what.find("migration 2 (002_broken)") != std::string::npos);

    auto db = SqliteConnection::open(dir / "m.db", good);
    REQUIRE(db.has_value());
    CHECK((*db)->schema_version() == 1);
    auto table_b = (*db)->prepare("SELECT COUNT(*) FROM sqlite_master WHERE name = 'b'");
    REQUIRE(table_b.has_value());
    REQUIRE(table_b->step().value());
    CHECK(table_b->integer(0) == 0);  // the half of 002 that did run is gone
}

TEST_CASE_TEMPLATE(
    "the inventory: filters by domain (exact or under a wildcard), status, server, expiry / no rows for unknown "
    "servers",
    Engine, SqliteEngine, PostgresqlEngine) {
    TestDatabase db(Engine::dialect);
    auto opened = db.open();
    auto& store = *opened;
    for (const std::string name : {"ex01", "ex02"}) {
        ServerRow row;
        row.name = name;
        row.agentUrl = "https://" + name + ":9001";
        row.updatedAt = "2026-01-01T00:00:00Z";
        REQUIRE(store.upsert_server(row).has_value());
    }
    const auto put = [&](const std::string& server, const std::string& thumbprint, const std::string& domains,
                         const std::string& status, const std::string& not_after) {
        REQUIRE(store
                    .put_inventory({server, thumbprint, "{\"certificateDomains\": " + domains + "}", status, not_after,
                                    "2026-11-24T00:00:00Z"})
                    .has_value());
    };
    put("ex01", "AAAA", R"(["*.contoso.com"])", "Valid", "2027-01-01T00:00:00Z");
    put("ex02", "AAAA", R"(["*.contoso.com"])", "Untrusted", "2027-01-01T00:00:00Z");
    put("ex01", "BBBB", R"(["mail.fabrikam.com", "a_b.example"])", "Valid", "2026-12-01T00:00:00Z");
    put("ghost", "CCCC", R"(["x.example"])", "Valid", "2026-12-01T00:00:00Z");  // not registered: ignored

    const auto thumbprints = [&](InventoryFilter filter) {
        auto rows = store.list_inventory(filter);
        REQUIRE(rows.has_value());
        std::vector<std::string> out;
        for (const auto& row : *rows) {
            out.push_back(row.thumbprint + "@" + row.server);
        }
        return out;
    };
    using V = std::vector<std::string>;
    CHECK(thumbprints({}) == V{"AAAA@ex01", "AAAA@ex02", "BBBB@ex01"});
    InventoryFilter f;
    f.domain = "mail.contoso.com";
    CHECK(thumbprints(f) == V{"AAAA@ex01", "AAAA@ex02"});
    f.domain = "a.contoso.com";  // a one-letter label is still a label
    CHECK(thumbprints(f) == V{"AAAA@ex01", "AAAA@ex02"});
    f.domain = "MAIL.Fabrikam.com";
    CHECK(thumbprints(f) == V{"BBBB@ex01"});
    for (const std::string no : {"a.b.contoso.com", ".contoso.com", "contoso.com", "axb.example", "xcontoso.com"}) {
        CAPTURE(no);
        f.domain = no;
        CHECK(thumbprints(f).empty());
    }
    f = {};
    f.status = "Untrusted";
    CHECK(thumbprints(f) == V{"AAAA@ex02"});
    f = {};
    f.server = "ex01";
    f.notAfterBefore = "2026-12-31T00:00:00Z";
    CHECK(thumbprints(f) == V{"BBBB@ex01"});
    f = {};
    f.limit = 1;
    CHECK(thumbprints(f) == V{"AAAA@ex01", "AAAA@ex02"});  // a page counts thumbprints, with all their servers
    f.afterThumbprint = "AAAA";
    CHECK(thumbprints(f) == V{"BBBB@ex01"});
    REQUIRE(store.delete_server("ex02").has_value());
    CHECK(thumbprints({}) == V{"AAAA@ex01", "BBBB@ex01"});
}

TEST_CASE_TEMPLATE(
    "the inventory: a pending request has no date and never expires / a list asked before a target finished "
    "does not undo its answer",
    Engine, SqliteEngine, PostgresqlEngine) {
    TestDatabase db(Engine::dialect);
    auto opened = db.open();
    auto& store = *opened;
    ServerRow server;
    server.name = "ex01";
    server.agentUrl = "https://ex01:9001";
    server.updatedAt = "2026-01-01T00:00:00Z";
    REQUIRE(store.upsert_server(server).has_value());
    REQUIRE(store.put_inventory({"ex01", "AAAA", "{}", "PendingRequest", "", "2026-11-24T00:00:00Z"}).has_value());
    InventoryFilter expiring;
    expiring.notAfterBefore = "2030-01-01T00:00:00Z";
    CHECK(store.list_inventory(expiring).value().empty());

    // A job whose target on ex01 finished at 10:00:05 (its answer went into the inventory then).
    NewJob job;
    job.job.id = "job1";
    job.job.kind = "remove";
    job.job.state = "queued";
    job.job.createdAt = "2026-11-24T10:00:00Z";
    job.job.thumbprint = "AAAA";
    TargetRow target;
    target.server = "ex01";
    target.agentUrl = server.agentUrl;
    target.state = "running";
    job.targets.push_back(target);
    REQUIRE(store.create_job(job).has_value());
    TargetChange finished;
    finished.jobId = "job1";
    finished.server = "ex01";
    finished.from = {"running"};
    finished.to = "succeeded";
    finished.at = "2026-11-24T10:00:05Z";
    finished.finished = true;
    REQUIRE(store.change_target(finished, rules()).value());
    REQUIRE(store.drop_inventory("ex01", "AAAA").has_value());
    const std::vector<InventoryRow> listed{{"ex01", "AAAA", "{}", "PendingRequest", "", "2026-11-24T10:00:04Z"}};
    // Asked before (or in the same second as) the target finished: stale, skipped.
    CHECK_FALSE(store.replace_inventory("ex01", listed, "2026-11-24T10:00:04Z").value());
    CHECK_FALSE(store.replace_inventory("ex01", listed, "2026-11-24T10:00:05Z").value());
    CHECK(store.list_inventory({}).value().empty());
    // Asked after: the agent's list is the truth.
    CHECK(store.replace_inventory("ex01", listed, "2026-11-24T10:00:06Z").value());
    CHECK(store.list_inventory({}).value().size() == 1);
}

TEST_CASE("PostgreSQL: the same numbered migrations as SQLite, applied once when four controllers start together") {
    const auto& sqlite = controller_migrations(Dialect::sqlite);
    const auto& postgresql = controller_migrations(Dialect::postgresql);
    REQUIRE(sqlite.size() == postgresql.size());
    for (std::size_t i = 0; i < sqlite.size(); ++i) {
        CHECK(sqlite[i].version == postgresql[i].version);
        CHECK(sqlite[i].name == postgresql[i].name);
    }
    TestDatabase db(Dialect::postgresql);
    std::vector<std::thread> controllers;
    std::vector<std::string> errors(4);
    for (std::size_t i = 0; i < 4; ++i) {
        controllers.emplace_back([&, i] {
            auto opened = open_postgresql_controller_store(db.conninfo(), db.password(), 2);
            if (!opened) {
                errors[i] = opened.error().what;
            }
        });
    }
    for (auto& c : controllers) {
        c.join();
    }
    for (const auto& e : errors) {
        CHECK(e.empty());
    }
    auto& server = certdeploy::test::shared_postgresql();
    const std::string database = db.conninfo().substr(db.conninfo().rfind('=') + 1);
    CHECK(server.psql(database, "SELECT count(*), max(version) FROM schema_migrations") ==
          std::to_string(postgresql.size()) + "|" + std::to_string(postgresql.back().version) + "\n");
    // The audit log refuses changes there too.
    server.psql(database,
                "INSERT INTO audit_log (at, client, method, route, status) VALUES ('t', 'c', 'GET', '/', 200)");
    for (const std::string change :
         {"DELETE FROM audit_log", "UPDATE audit_log SET status = 201", "TRUNCATE audit_log"}) {
        CAPTURE(change);
        CHECK_THROWS_WITH_AS(server.psql(database, change), doctest::Contains("append-only"), std::runtime_error);
    }
}

TEST_CASE("PostgreSQL: a wrong password or an unreachable server is refused with ECONNREFUSED, naming no secret") {
    TestDatabase db(Dialect::postgresql);
    auto wrong = open_postgresql_controller_store(db.conninfo(), "not-the-password", 2);
    REQUIRE_FALSE(wrong.has_value());
    CHECK(wrong.error().err == ECONNREFUSED);
    CHECK(wrong.error().what.find("password authentication failed") != std::string::npos);
    CHECK(wrong.error().what.find("not-the-password") == std::string::npos);
    auto nowhere = open_postgresql_controller_store("host=127.0.0.1 port=1 dbname=x", db.password(), 2);
    REQUIRE_FALSE(nowhere.has_value());
    CHECK(nowhere.error().err == ECONNREFUSED);
    CHECK(nowhere.error().what.find(db.password()) == std::string::npos);
}

TEST_CASE("PostgreSQL: a database restart loses the connections, the store answers ECONNRESET once, then reconnects") {
    TestDatabase db(Dialect::postgresql);
    auto store = db.open();
    REQUIRE(store->upsert_server(server_row("ex01")).has_value());
    auto& server = certdeploy::test::shared_postgresql();
    server.stop();
    auto down = store->get_server("ex01");
    REQUIRE_FALSE(down.has_value());
    CHECK((down.error().err == ECONNRESET || down.error().err == ECONNREFUSED));
    server.start();
    // The lost connection was dropped by the pool: the next call opens a new one, no restart needed.
    std::optional<ServerRow> found;
    for (int i = 0; i < 3 && !found; ++i) {
        auto again = store->get_server("ex01");
        if (again) {
            found = *again;
        } else {
            MESSAGE("after the restart: " << again.error().what);
        }
    }
    REQUIRE(found.has_value());
    CHECK(found->name == "ex01");
}

TEST_CASE_TEMPLATE("servers: created once, updated, listed by name in pages, approved, contacted, deleted", Engine,
                   SqliteEngine, PostgresqlEngine) {
    TestDatabase db(Engine::dialect);
    auto store = db.open();
    CHECK(store->upsert_server(server_row("ex02")).value());
    auto pending = server_row("ex01");
    pending.pending = true;
    pending.labels = {{"role", "mail"}};
    CHECK(store->upsert_server(pending).value());
    auto moved = server_row("ex02");
    moved.agentUrl = "https://ex02.new:9001";
    moved.updatedAt = "2026-02-01T00:00:00Z";
    CHECK_FALSE(store->upsert_server(moved).value());  // updated, not created
    auto ex02 = store->get_server("ex02").value();
    REQUIRE(ex02.has_value());
    CHECK(ex02->agentUrl == "https://ex02.new:9001");
    CHECK(ex02->createdAt == "2026-01-01T00:00:00Z");
    CHECK(ex02->updatedAt == "2026-02-01T00:00:00Z");
    CHECK_FALSE(ex02->reachable.has_value());
    CHECK_FALSE(store->get_server("nope").value().has_value());

    auto page = store->list_servers("", 1).value();
    REQUIRE(page.size() == 1);
    CHECK(page[0].name == "ex01");
    CHECK(page[0].pending);
    CHECK(page[0].labels == std::map<std::string, std::string>{{"role", "mail"}});
    page = store->list_servers("ex01", 10).value();
    REQUIRE(page.size() == 1);
    CHECK(page[0].name == "ex02");

    CHECK(store->approve_server("ex01", "2026-03-01T00:00:00Z").value());
    CHECK_FALSE(store->approve_server("nope", "2026-03-01T00:00:00Z").value());
    CHECK_FALSE(store->get_server("ex01").value()->pending);

    REQUIRE(store->record_contact("ex01", true, std::string("1.2.3"), "2026-03-02T00:00:00Z").has_value());
    REQUIRE(store->record_contact("ex01", false, std::nullopt, "2026-03-03T00:00:00Z").has_value());
    auto ex01 = store->get_server("ex01").value();
    CHECK(ex01->reachable == std::optional<bool>(false));
    CHECK(ex01->lastContact == std::optional<std::string>("2026-03-02T00:00:00Z"));  // the last answer's time
    CHECK(ex01->agentVersion == std::optional<std::string>("1.2.3"));

    REQUIRE(store->record_identity({"sha256:aa", "ex01", "01", "2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z", {}})
                .has_value());
    REQUIRE(store->record_identity({"sha256:bb", "ex01", "02", "2026-03-15T00:00:00Z", "2026-05-01T00:00:00Z", {}})
                .has_value());
    CHECK(store->get_server("ex01").value()->identityNotAfter == std::optional<std::string>("2026-05-01T00:00:00Z"));

    REQUIRE(store->put_inventory({"ex01", "AAAA", "{}", "Valid", "2027-01-01T00:00:00Z", "2026-03-01T00:00:00Z"})
                .has_value());
    CHECK(store->delete_server("ex01").value());
    CHECK_FALSE(store->delete_server("ex01").value());
    CHECK(store->list_inventory({}).value().empty());  // its inventory went with it
    CHECK(store->list_servers("", 10).value().size() == 1);

    // Another store on the same database (a restart, or a second controller) sees the same rows.
    auto again = db.open();
    CHECK(again->get_server("ex02").value()->agentUrl == "https://ex02.new:9001");
}

TEST_CASE_TEMPLATE("jobs: created with their targets and events, replayed by key, moved, cancelled, retried", Engine,
                   SqliteEngine, PostgresqlEngine) {
    TestDatabase db(Engine::dialect);
    auto store = db.open();
    auto job = import_job("job1", {"ex03", "ex01", "ex02"}, "2026-11-24T10:00:00Z");
    job.idempotency = std::make_pair(std::string("key-1"), std::string("fingerprint-1"));
    auto created = store->create_job(job).value();
    CHECK(created.kind == CreateOutcome::Kind::created);
    CHECK(created.jobId == "job1");
    auto same = import_job("job1b", {"ex01"}, "2026-11-24T10:00:01Z");
    same.idempotency = std::make_pair(std::string("key-1"), std::string("fingerprint-1"));
    auto replayed = store->create_job(same).value();
    CHECK(replayed.kind == CreateOutcome::Kind::replayed);
    CHECK(replayed.jobId == "job1");
    same.idempotency->second = "another request";
    CHECK(store->create_job(same).value().kind == CreateOutcome::Kind::conflict);
    CHECK_FALSE(store->get_job("job1b").value().has_value());  // neither made a job

    auto row = store->get_job("job1").value();
    REQUIRE(row.has_value());
    CHECK(row->kind == "import");
    CHECK(row->state == "queued");
    CHECK(row->thumbprint == "ABjob1");
    CHECK(row->certificateJson == job.job.certificateJson);
    CHECK(row->options.friendlyName == "Contoso");
    CHECK(row->options.services == std::vector<std::string>{"web"});
    CHECK(row->hasUpload);
    CHECK(row->targetCounts == std::map<std::string, int>{{"pending", 3}});
    CHECK(store->sealed_upload("job1").value() == std::optional<std::string>(job.sealedUpload));  // byte for byte
    auto targets = store->get_targets("job1").value();
    REQUIRE(targets.size() == 3);
    CHECK(targets[0].server == "ex01");  // by name
    CHECK(targets[2].agentUrl == "https://ex03:9001");

    // Runnable in the order the targets were made.
    auto runnable = store->runnable_targets(std::string("job1"), false, "", "2026-11-24T10:00:02Z", rules()).value();
    REQUIRE(runnable.size() == 3);
    CHECK(runnable[0].server == "ex03");
    CHECK(runnable[1].server == "ex01");

    CHECK(store->change_target(move("job1", "ex01", {"pending"}, "running", "2026-11-24T10:00:03Z"), rules()).value());
    CHECK_FALSE(  // not pending any more: nothing changes
        store->change_target(move("job1", "ex01", {"pending"}, "running", "2026-11-24T10:00:03Z"), rules()).value());
    CHECK_FALSE(store->change_target(move("nope", "ex01", {"pending"}, "running", "x"), rules()).value());
    auto done = move("job1", "ex01", {"running"}, "succeeded", "2026-11-24T10:00:04Z");
    done.result = "installed";
    done.certStatus = "Valid";
    CHECK(store->change_target(done, rules()).value());
    CHECK(store->change_target(move("job1", "ex03", {"pending"}, "running", "2026-11-24T10:00:04Z"), rules()).value());
    auto failed = move("job1", "ex03", {"running"}, "failed", "2026-11-24T10:00:05Z");
    failed.errorCode = "agent-unreachable";
    failed.errorMessage = "ex03: unreachable";
    CHECK(store->change_target(failed, rules()).value());
    row = store->get_job("job1").value();
    CHECK(row->state == "running");
    CHECK(row->targetCounts == std::map<std::string, int>{{"failed", 1}, {"pending", 1}, {"succeeded", 1}});
    targets = store->get_targets("job1").value();
    CHECK(targets[0].attempts == 1);
    CHECK(targets[0].result == std::optional<std::string>("installed"));
    CHECK(targets[0].certStatus == std::optional<std::string>("Valid"));
    CHECK(targets[0].startedAt == std::optional<std::string>("2026-11-24T10:00:03Z"));
    CHECK(targets[0].finishedAt == std::optional<std::string>("2026-11-24T10:00:04Z"));
    CHECK(targets[2].errorCode == std::optional<std::string>("agent-unreachable"));

    // Cancel: the pending target is cancelled; the job is final and, with a failed target, keeps its upload.
    CHECK(store->change_job_targets("job1", "pending", "cancelled", true, "2026-11-24T10:00:06Z", rules()).value() ==
          1);
    row = store->get_job("job1").value();
    CHECK(rules().is_final(row->state));
    CHECK(row->finishedAt == std::optional<std::string>("2026-11-24T10:00:06Z"));
    CHECK(row->cancelRequested);
    // Retry of the failed one: pending again, the job running, its attempts still counted.
    CHECK(store->change_job_targets("job1", "failed", "pending", false, "2026-11-24T10:00:07Z", rules()).value() == 1);
    row = store->get_job("job1").value();
    CHECK_FALSE(rules().is_final(row->state));
    CHECK_FALSE(row->finishedAt.has_value());
    targets = store->get_targets("job1").value();
    CHECK(targets[2].state == "pending");
    CHECK(targets[2].attempts == 1);
    CHECK_FALSE(targets[2].errorCode.has_value());

    // A running target claimed by nobody (a store used without controllers) is an orphan: pending again.
    CHECK(store->change_target(move("job1", "ex03", {"pending"}, "running", "2026-11-24T10:00:08Z"), rules()).value());
    runnable = store->runnable_targets(std::nullopt, true, "", "2026-11-24T10:00:09Z", rules()).value();
    REQUIRE(runnable.size() == 1);
    CHECK(runnable[0].server == "ex03");
    CHECK(runnable[0].attempts == 2);
    auto last = move("job1", "ex03", {"pending"}, "succeeded", "2026-11-24T10:00:10Z");
    CHECK(store->change_target(last, rules()).value());
    row = store->get_job("job1").value();
    CHECK(rules().is_final(row->state));

    // The events, numbered from 1 without a gap, the last one `done`.
    auto events = store->events_after("job1", 0, 1000).value();
    REQUIRE(events.size() > 8);
    for (std::size_t i = 0; i < events.size(); ++i) {
        CHECK(events[i].seq == static_cast<std::int64_t>(i + 1));
    }
    CHECK(events.front().type == EventRow::Type::job);
    CHECK(events.back().type == EventRow::Type::done);
    CHECK(store->events_after("job1", 3, 2).value().front().seq == 4);
    CHECK(store->events_after("job1", 3, 2).value().size() == 2);
    const auto target_event = std::find_if(events.begin(), events.end(), [](const EventRow& e) {
        return e.type == EventRow::Type::target && e.target->state == "failed";
    });
    REQUIRE(target_event != events.end());
    CHECK(target_event->target->errorCode == std::optional<std::string>("agent-unreachable"));

    // Final with nothing failed: nothing could need the upload again, so it went with the last transition.
    CHECK_FALSE(store->get_job("job1").value()->hasUpload);
    CHECK_FALSE(store->sealed_upload("job1").value().has_value());
    // Final with a failed target: kept for a retry until it is old enough.
    REQUIRE(store->create_job(import_job("job2", {"ex01"}, "2026-11-24T11:00:00Z")).has_value());
    CHECK(store->change_target(move("job2", "ex01", {"pending"}, "failed", "2026-11-24T11:00:01Z"), rules()).value());
    CHECK(store->get_job("job2").value()->state == "failed");
    CHECK(store->sealed_upload("job2").value().has_value());
    CHECK(store->drop_uploads("2026-11-24T11:00:01Z").value() == 0);
    CHECK(store->drop_uploads("2026-11-25T00:00:00Z").value() == 1);
    CHECK_FALSE(store->sealed_upload("job2").value().has_value());
    CHECK_FALSE(store->get_job("job2").value()->hasUpload);

    // Keys remembered outside creation (a retry's).
    CHECK_FALSE(store->find_key("retry-1").value().has_value());
    REQUIRE(store->remember_key("retry-1", "fp", "job1", "2026-11-24T10:00:11Z").has_value());
    REQUIRE(store->remember_key("retry-1", "other", "job1", "2026-11-24T10:00:12Z").has_value());  // first stays
    CHECK(store->find_key("retry-1").value() == std::optional(std::make_pair(std::string("fp"), std::string("job1"))));
}

TEST_CASE_TEMPLATE("jobs: listed newest first, filtered by state, server and thumbprint, in pages, and counted", Engine,
                   SqliteEngine, PostgresqlEngine) {
    TestDatabase db(Engine::dialect);
    auto store = db.open();
    REQUIRE(store->create_job(import_job("j1", {"ex01"}, "2026-11-24T10:00:01Z")).has_value());
    REQUIRE(store->create_job(import_job("j2", {"ex02"}, "2026-11-24T10:00:02Z")).has_value());
    REQUIRE(store->create_job(import_job("j3", {"ex01", "ex02"}, "2026-11-24T10:00:03Z")).has_value());
    CHECK(store->change_target(move("j2", "ex02", {"pending"}, "succeeded", "2026-11-24T10:00:04Z"), rules()).value());
    const auto ids = [&](const JobFilter& filter) {
        std::vector<std::string> out;
        for (const auto& job : store->list_jobs(filter).value()) {
            out.push_back(job.id);
        }
        return out;
    };
    using V = std::vector<std::string>;
    CHECK(ids({}) == V{"j3", "j2", "j1"});
    JobFilter f;
    f.server = "ex01";
    CHECK(ids(f) == V{"j3", "j1"});
    f = {};
    f.state = "succeeded";
    CHECK(ids(f) == V{"j2"});
    f = {};
    f.thumbprint = "ABj1";
    CHECK(ids(f) == V{"j1"});
    f = {};
    f.limit = 2;
    auto first = store->list_jobs(f).value();
    CHECK(first.back().targetCounts == std::map<std::string, int>{{"succeeded", 1}});
    f.beforeSeq = first.back().seq;
    CHECK(ids(f) == V{"j1"});
    auto counts = store->count_jobs().value();
    std::map<std::string, std::int64_t> by_state;
    for (const auto& c : counts) {
        CHECK(c.kind == "import");
        by_state[c.state] = c.count;
    }
    CHECK(by_state == std::map<std::string, std::int64_t>{{"queued", 2}, {"succeeded", 1}});
}

TEST_CASE_TEMPLATE("jobs: many targets of one job moved at once from many threads number their events without a gap",
                   Engine, SqliteEngine, PostgresqlEngine) {
    TestDatabase db(Engine::dialect);
    auto store = db.open();
    std::vector<std::string> servers;
    for (int i = 0; i < 24; ++i) {
        servers.push_back("ex" + std::to_string(100 + i));
    }
    REQUIRE(store->create_job(import_job("wide", servers, "2026-11-24T10:00:00Z")).has_value());
    std::atomic<int> failures{0};
    std::vector<std::thread> workers;
    for (int w = 0; w < 6; ++w) {
        workers.emplace_back([&, w] {
            for (std::size_t i = static_cast<std::size_t>(w); i < servers.size(); i += 6) {
                const bool ran =
                    yes(store->change_target(move("wide", servers[i], {"pending"}, "running", "t1"), rules())) &&
                    yes(store->change_target(move("wide", servers[i], {"running"}, "succeeded", "t2"), rules()));
                if (!ran) {
                    ++failures;
                }
            }
        });
    }
    for (auto& w : workers) {
        w.join();
    }
    CHECK(failures == 0);
    auto job = store->get_job("wide").value();
    CHECK(job->state == "succeeded");
    CHECK(job->targetCounts == std::map<std::string, int>{{"succeeded", 24}});
    auto events = store->events_after("wide", 0, 1000).value();
    for (std::size_t i = 0; i < events.size(); ++i) {
        CHECK(events[i].seq == static_cast<std::int64_t>(i + 1));
    }
    CHECK(events.back().type == EventRow::Type::done);
    CHECK(std::count_if(events.begin(), events.end(),
                        [](const EventRow& e) { return e.type == EventRow::Type::done; }) == 1);
}

TEST_CASE("SQLite: quick reads do not wait for a write in progress, and see each commit at once") {
    TempDir dir;
    auto opened = open_sqlite_controller_store(dir.path());
    REQUIRE(opened.has_value());
    auto& store = *opened;
    CHECK(store->quick_reads());
    REQUIRE(store->upsert_server(server_row("mail01")).has_value());
    REQUIRE(store->create_token(viewer_token("ops", "11")).value());

    // Another process (certdeploy token revoke, say) holds the database's write lock in an open transaction:
    // the store's writer, taking its one connection, waits for it in SQLite's busy handler (5 s).
    auto other = SqliteConnection::open(dir / "controller.db", {});
    REQUIRE(other.has_value());
    REQUIRE((*other)->exec("BEGIN IMMEDIATE").has_value());
    REQUIRE((*other)->exec("UPDATE tokens SET revoked_at = '2026-11-03T00:00:00Z' WHERE name = 'ops'").has_value());
    std::atomic<bool> written{false};
    std::thread writer([&] {
        CHECK(store->upsert_server(server_row("mail02")).has_value());
        written = true;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the writer is in the busy handler by now

    // The quick reads answer while the writer still waits (on the writer's connection they would wait for
    // it), from the last commit: the revocation is not committed yet.
    auto server = store->get_server("mail01");
    auto found = store->token_by_hash("11");
    CHECK_FALSE(written.load());
    REQUIRE(server.has_value());
    CHECK(server->has_value());
    REQUIRE(found.has_value());
    REQUIRE(found->has_value());
    CHECK_FALSE((*found)->revokedAt.has_value());

    // Committed: the very next read sees it.
    REQUIRE((*other)->exec("COMMIT").has_value());
    CHECK(store->token_by_hash("11").value()->revokedAt == std::optional<std::string>("2026-11-03T00:00:00Z"));
    writer.join();
    CHECK(written.load());
    CHECK(store->get_server("mail02").value().has_value());
}

TEST_CASE("SQLite: the readers' remembered rows give way to any commit, from this store or another process") {
    TempDir dir;
    auto opened = open_sqlite_controller_store(dir.path());
    REQUIRE(opened.has_value());
    auto& store = *opened;
    REQUIRE(store->upsert_server(server_row("mail01")).has_value());
    REQUIRE(store->create_token(viewer_token("ops", "22")).value());
    // Read twice: the second answer is the reader's remembered row, and the same.
    CHECK(store->get_server("mail01").value()->agentUrl == "https://mail01:9001");
    CHECK(store->get_server("mail01").value()->agentUrl == "https://mail01:9001");
    CHECK(store->token_by_hash("22").value()->role == "viewer");
    CHECK(store->token_by_hash("22").value()->role == "viewer");

    // Another process edits both rows behind the store's back: the next reads see the commit.
    auto other = SqliteConnection::open(dir / "controller.db", {});
    REQUIRE(other.has_value());
    REQUIRE((*other)->exec("UPDATE servers SET agent_url = 'https://moved:9001' WHERE name = 'mail01'").has_value());
    REQUIRE((*other)->exec("UPDATE tokens SET role = 'operator' WHERE name = 'ops'").has_value());
    CHECK(store->get_server("mail01").value()->agentUrl == "https://moved:9001");
    CHECK(store->token_by_hash("22").value()->role == "operator");

    // The store's own writes, on its writer connection, as well.
    auto relabelled = server_row("mail01");
    relabelled.labels = {{"team", "mail"}};
    REQUIRE(store->upsert_server(relabelled).has_value());
    CHECK(store->get_server("mail01").value()->labels == std::map<std::string, std::string>{{"team", "mail"}});
    REQUIRE(store->revoke_token("ops", "2026-11-03T00:00:00Z").value());
    CHECK(store->token_by_hash("22").value()->revokedAt == std::optional<std::string>("2026-11-03T00:00:00Z"));

    // A deleted row is not answered from memory; an unknown one is not remembered as missing.
    REQUIRE((*other)->exec("DELETE FROM tokens WHERE name = 'ops'").has_value());
    CHECK_FALSE(store->token_by_hash("22").value().has_value());
    CHECK_FALSE(store->get_server("mail99").value().has_value());
    REQUIRE(store->upsert_server(server_row("mail99")).has_value());
    CHECK(store->get_server("mail99").value().has_value());

    // More servers read than a reader keeps: every answer is still the row's own.
    for (std::size_t i = 0; i < ReaderCache::kMaxRows + 10; ++i) {
        REQUIRE(store->upsert_server(server_row("bulk" + std::to_string(i))).has_value());
    }
    for (int round = 0; round < 2; ++round) {
        for (std::size_t i = 0; i < ReaderCache::kMaxRows + 10; ++i) {
            const auto name = "bulk" + std::to_string(i);
            REQUIRE(store->get_server(name).value()->agentUrl == "https://" + name + ":9001");
        }
    }
}

TEST_CASE_TEMPLATE("tokens and the audit log: one live token per name, revoked kept, audit filtered newest first",
                   Engine, SqliteEngine, PostgresqlEngine) {
    TestDatabase db(Engine::dialect);
    auto store = db.open();
    CHECK(store->quick_reads() == (Engine::dialect == Dialect::sqlite));  // PostgreSQL: a round trip each
    TokenRow ops;
    ops.name = "ops";
    ops.secretHash = "11";
    ops.role = "operator";
    ops.scoped = true;
    ops.scope = {{"site", "paris"}};
    ops.createdAt = "2026-11-01T00:00:00Z";
    ops.expiresAt = "2027-11-01T00:00:00Z";
    CHECK(store->create_token(ops).value());
    auto twin = ops;
    twin.secretHash = "22";
    CHECK_FALSE(store->create_token(twin).value());  // the name is taken by a live token
    auto found = store->token_by_hash("11").value();
    REQUIRE(found.has_value());
    CHECK(found->scoped);
    CHECK(found->scope == std::map<std::string, std::string>{{"site", "paris"}});
    CHECK(found->expiresAt == std::optional<std::string>("2027-11-01T00:00:00Z"));
    REQUIRE(store->touch_token("ops", "2026-11-02T00:00:00Z").has_value());
    CHECK(store->token_by_hash("11").value()->lastUsedAt == std::optional<std::string>("2026-11-02T00:00:00Z"));
    CHECK(store->revoke_token("ops", "2026-11-03T00:00:00Z").value());
    CHECK_FALSE(store->revoke_token("ops", "2026-11-03T00:00:00Z").value());
    CHECK(store->create_token(twin).value());  // takes the revoked one's place
    CHECK_FALSE(store->token_by_hash("11").value().has_value());
    auto tokens = store->list_tokens().value();
    REQUIRE(tokens.size() == 1);
    CHECK(tokens[0].secretHash == "22");
    CHECK_FALSE(tokens[0].revokedAt.has_value());

    for (int i = 0; i < 5; ++i) {
        AuditRow row;
        row.at = "2026-11-0" + std::to_string(i + 1) + "T00:00:00Z";
        row.token = i % 2 == 0 ? std::optional<std::string>("ops") : std::nullopt;
        row.client = "127.0.0.1";
        row.method = "POST";
        row.route = "/v1/imports";
        row.server = i == 4 ? std::optional<std::string>("ex01") : std::nullopt;
        row.status = i == 1 ? 401 : 202;
        row.code = i == 1 ? std::optional<std::string>("unauthenticated") : std::nullopt;
        REQUIRE(store->append_audit(row).has_value());
    }
    const auto ats = [&](const AuditFilter& filter) {
        std::vector<std::string> out;
        for (const auto& row : store->list_audit(filter).value()) {
            out.push_back(row.at.substr(8, 2));
        }
        return out;
    };
    using V = std::vector<std::string>;
    CHECK(ats({}) == V{"05", "04", "03", "02", "01"});
    AuditFilter f;
    f.refused = true;
    CHECK(ats(f) == V{"02"});
    f.refused = false;
    CHECK(ats(f) == V{"05", "04", "03", "01"});
    f = {};
    f.token = "ops";
    CHECK(ats(f) == V{"05", "03", "01"});
    f = {};
    f.since = "2026-11-02T00:00:00Z";
    f.until = "2026-11-04T00:00:00Z";
    CHECK(ats(f) == V{"03", "02"});
    f = {};
    f.server = "ex01";
    CHECK(ats(f) == V{"05"});
    f = {};
    f.limit = 2;
    auto page = store->list_audit(f).value();
    CHECK(page.back().code == std::nullopt);
    f.beforeSeq = page.back().seq;
    CHECK(ats(f) == V{"03", "02"});
    CHECK(store->list_audit(f).value()[1].code == std::optional<std::string>("unauthenticated"));
}

TEST_CASE_TEMPLATE("join tokens and agents' identities: uses taken one at a time, expiry, revocation", Engine,
                   SqliteEngine, PostgresqlEngine) {
    TestDatabase db(Engine::dialect);
    auto store = db.open();
    JoinTokenRow join;
    join.id = "jt1";
    join.secretHash = "aa";
    join.server = "ex01";
    join.labels = {{"site", "paris"}};
    join.usesLeft = 2;
    join.createdBy = "admin";
    join.createdAt = "2026-11-01T00:00:00Z";
    join.expiresAt = "2026-11-02T00:00:00Z";
    REQUIRE(store->create_join_token(join).has_value());
    auto other = join;
    other.id = "jt2";
    other.secretHash = "bb";
    other.server.reset();
    other.createdAt = "2026-11-01T01:00:00Z";
    REQUIRE(store->create_join_token(other).has_value());
    auto listed = store->list_join_tokens().value();
    REQUIRE(listed.size() == 2);
    CHECK(listed[0].id == "jt2");  // newest first
    CHECK_FALSE(listed[0].server.has_value());
    CHECK(store->join_token_by_hash("aa").value()->labels == join.labels);

    CHECK(store->take_join_token_use("aa", "2026-11-01T12:00:00Z").value());
    CHECK(store->take_join_token_use("aa", "2026-11-01T12:00:00Z").value());
    CHECK_FALSE(store->take_join_token_use("aa", "2026-11-01T12:00:00Z").value());  // spent
    CHECK(store->join_token_by_hash("aa").value()->usesLeft == 0);
    CHECK_FALSE(store->take_join_token_use("bb", "2026-11-02T00:00:00Z").value());  // expired
    CHECK(store->revoke_join_token("jt2", "2026-11-01T13:00:00Z").value());
    CHECK_FALSE(store->revoke_join_token("jt2", "2026-11-01T13:00:00Z").value());
    CHECK_FALSE(store->take_join_token_use("bb", "2026-11-01T14:00:00Z").value());  // revoked

    // Two agents presenting a single-use token at once: one gets it.
    auto once = join;
    once.id = "jt3";
    once.secretHash = "cc";
    once.usesLeft = 1;
    REQUIRE(store->create_join_token(once).has_value());
    std::atomic<int> taken{0};
    std::vector<std::thread> agents;
    for (int i = 0; i < 8; ++i) {
        agents.emplace_back([&] {
            if (yes(store->take_join_token_use("cc", "2026-11-01T12:00:00Z"))) {
                ++taken;
            }
        });
    }
    for (auto& a : agents) {
        a.join();
    }
    CHECK(taken == 1);

    REQUIRE(store->record_identity({"sha256:aa", "ex01", "01", "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z", {}})
                .has_value());
    REQUIRE(store->record_identity({"sha256:bb", "ex01", "02", "2026-11-05T00:00:00Z", "2026-12-05T00:00:00Z", {}})
                .has_value());
    REQUIRE(store->record_identity({"sha256:cc", "ex02", "03", "2026-11-05T00:00:00Z", "2026-12-05T00:00:00Z", {}})
                .has_value());
    CHECK(store->identity("sha256:bb").value()->serial == "02");
    CHECK(store->identities_of("ex01").value().size() == 2);
    auto revoked = store->revoke_identities("ex01", "2026-11-06T00:00:00Z").value();
    std::sort(revoked.begin(), revoked.end());
    CHECK(revoked == std::vector<std::string>{"sha256:aa", "sha256:bb"});
    CHECK(store->revoke_identities("ex01", "2026-11-07T00:00:00Z").value().empty());
    auto all_revoked = store->revoked_identities().value();
    std::sort(all_revoked.begin(), all_revoked.end());
    CHECK(all_revoked == revoked);
    CHECK(store->identity("sha256:aa").value()->revokedAt == std::optional<std::string>("2026-11-06T00:00:00Z"));
    CHECK_FALSE(store->identity("sha256:cc").value()->revokedAt.has_value());
}

TEST_CASE_TEMPLATE("claims: a running target is its controller's until its lease ends, then another takes it over",
                   Engine, SqliteEngine, PostgresqlEngine) {
    TestDatabase db(Engine::dialect);
    auto store = db.open();
    REQUIRE(store->create_job(import_job("job1", {"ex01", "ex02"}, "2026-11-24T10:00:00Z")).has_value());
    const auto start = [&](const std::string& server, const std::string& owner, const std::string& lease_until) {
        auto change = move("job1", server, {"pending"}, "running", "2026-11-24T10:00:01Z");
        change.owner = owner;
        change.leaseUntil = lease_until;
        return store->change_target(change, rules()).value();
    };
    CHECK(start("ex01", "controller-a", "2026-11-24T10:00:31Z"));
    CHECK_FALSE(start("ex01", "controller-b", "2026-11-24T10:00:31Z"));  // claimed: B cannot start it too
    CHECK(start("ex02", "controller-b", "2026-11-24T10:00:31Z"));
    auto targets = store->get_targets("job1").value();
    CHECK(targets[0].claimedBy == std::optional<std::string>("controller-a"));
    CHECK(targets[0].leaseUntil == std::optional<std::string>("2026-11-24T10:00:31Z"));

    // Both renew; B, sweeping before A's lease ends, takes nothing over.
    using Running = std::vector<std::pair<std::string, std::string>>;
    CHECK(store->renew_leases("controller-a", Running{{"job1", "ex01"}}, "2026-11-24T10:01:00Z", rules()).value() == 1);
    CHECK(store->renew_leases("controller-b", Running{{"job1", "ex02"}}, "2026-11-24T10:02:00Z", rules()).value() == 1);
    // Only one's own claims are renewed.
    CHECK(store->renew_leases("controller-b", Running{{"job1", "ex01"}}, "2026-11-24T11:00:00Z", rules()).value() == 0);
    CHECK(store->runnable_targets(std::nullopt, true, "", "2026-11-24T10:00:50Z", rules()).value().empty());
    CHECK(store->get_targets("job1").value()[0].state == "running");

    // A dies; once its lease has ended, B's sweep makes its target pending again and B runs it.
    auto orphans = store->runnable_targets(std::nullopt, true, "", "2026-11-24T10:01:01Z", rules()).value();
    REQUIRE(orphans.size() == 1);
    CHECK(orphans[0].server == "ex01");
    CHECK(store->get_targets("job1").value()[1].state == "running");  // B's, still leased
    CHECK(start("ex01", "controller-b", "2026-11-24T10:01:31Z"));
    // A's late answer is not recorded: the target is B's now.
    auto late = move("job1", "ex01", {"running"}, "succeeded", "2026-11-24T10:01:02Z");
    late.owner = "controller-a";
    CHECK_FALSE(store->change_target(late, rules()).value());
    // Nor is B's own stale attempt (the first, if B had run it then): only the attempt running now counts.
    auto stale = move("job1", "ex01", {"running"}, "succeeded", "2026-11-24T10:01:02Z");
    stale.owner = "controller-b";
    stale.attempt = 1;
    CHECK_FALSE(store->change_target(stale, rules()).value());
    auto done = move("job1", "ex01", {"running"}, "succeeded", "2026-11-24T10:01:03Z");
    done.owner = "controller-b";
    done.attempt = 2;
    CHECK(store->change_target(done, rules()).value());
    targets = store->get_targets("job1").value();
    CHECK(targets[0].state == "succeeded");
    CHECK_FALSE(targets[0].claimedBy.has_value());  // a finished target is nobody's

    // B restarts: at its start it takes back what it was running, at once, lease or not.
    CHECK(store->runnable_targets(std::nullopt, true, "", "2026-11-24T10:01:04Z", rules()).value().empty());
    auto resumed = store->runnable_targets(std::nullopt, true, "controller-b", "2026-11-24T10:01:04Z", rules()).value();
    REQUIRE(resumed.size() == 1);
    CHECK(resumed[0].server == "ex02");
    CHECK(resumed[0].attempts == 1);
}
