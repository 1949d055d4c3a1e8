// Numbered migrations: applied once, in order, each with its record in one transaction.

#include <doctest/doctest.h>

#include "store/controller_store.hpp"
#include "store/sqlite_database.hpp"
#include "tests/support/temp_dir.hpp"

using namespace certdeploy::store;
using certdeploy::test::TempDir;

TEST_CASE("the controller's migrations apply once and leave the schema at the newest version") {
    TempDir dir;
    const auto& migrations = controller_migrations();
    REQUIRE_FALSE(migrations.empty());
    for (std::size_t i = 1; i < migrations.size(); ++i) {
        CHECK(migrations[i].version > migrations[i - 1].version);  // numbered, in order
    }
    {
        auto db = SqliteDatabase::open(dir / "c.db", migrations);
        REQUIRE(db.has_value());
        CHECK((*db)->schema_version() == migrations.back().version);
    }
    auto again = SqliteDatabase::open(dir / "c.db", migrations);  // nothing left to apply, nothing fails
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
    REQUIRE(SqliteDatabase::open(dir / "m.db", good).has_value());
    auto failed = SqliteDatabase::open(dir / "m.db", broken);
    REQUIRE_FALSE(failed.has_value());
    CHECK(failed.error().what.find("migration 2 (002_broken)") != std::string::npos);

    auto db = SqliteDatabase::open(dir / "m.db", good);
    REQUIRE(db.has_value());
    CHECK((*db)->schema_version() == 1);
    auto table_b = (*db)->prepare("SELECT COUNT(*) FROM sqlite_master WHERE name = 'b'");
    REQUIRE(table_b.has_value());
    REQUIRE(table_b->step().value());
    CHECK(table_b->integer(0) == 0);  // the half of 002 that did run is gone
}
