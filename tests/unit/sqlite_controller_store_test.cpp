// Numbered migrations: applied once, in order, each with its record in one transaction.

#include <doctest/doctest.h>

#include "service/controller/job_service.hpp"
#include "store/controller_store.hpp"
#include "store/sqlite_database.hpp"
#include "tests/support/temp_dir.hpp"

using namespace certdeploy::store;
using certdeploy::test::TempDir;

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

TEST_CASE(
    "the inventory: filters by domain (exact or under a wildcard), status, server, expiry / no rows for unknown "
    "servers") {
    TempDir dir;
    auto opened = open_sqlite_controller_store(dir.path());
    REQUIRE(opened.has_value());
    auto& store = **opened;
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

TEST_CASE(
    "the inventory: a pending request has no date and never expires / a list asked before a target finished "
    "does not undo its answer") {
    TempDir dir;
    auto opened = open_sqlite_controller_store(dir.path());
    REQUIRE(opened.has_value());
    auto& store = **opened;
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
    REQUIRE(store.change_target(finished, certdeploy::controller::JobService::rules()).value());
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
