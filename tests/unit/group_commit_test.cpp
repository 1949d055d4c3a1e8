// Group commit (store/group_commit.hpp) on a real SQLite file: changes from many threads share
// transactions, a failing change is rolled back alone, and a caller returns only once its change is on disk
// (read back through a second connection of its own).

#include "store/group_commit.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

#include "store/sqlite_database.hpp"
#include "tests/support/temp_dir.hpp"

using namespace certdeploy::store;
using certdeploy::test::TempDir;

namespace {

std::unique_ptr<Connection> open_file(const std::filesystem::path& file) {
    auto db = SqliteConnection::open(file, {});
    REQUIRE(db.has_value());
    return std::unique_ptr<Connection>(std::move(*db));
}

std::int64_t count_rows(Connection& db, const std::string& where) {
    auto s = db.prepare("SELECT COUNT(*) FROM rows WHERE " + where).value();
    REQUIRE(s.step().value());
    return s.integer(0);
}

GroupCommit::Change insert(int value) {
    return [value](Connection& db) -> StoreResult<bool> {
        auto s = db.prepare("INSERT INTO rows (value) VALUES (?1)");
        if (!s) {
            return s.error();
        }
        s->bind(1, static_cast<std::int64_t>(value));
        if (auto ran = s->run(); !ran) {
            return ran.error();
        }
        return StoreResult<bool>(boost::system::in_place_value, true);
    };
}

// A SQLite file with a `rows` table (and `setup`'s SQL run before anything else), its one-connection pool
// and a group commit over it.
struct Database {
    explicit Database(const std::vector<std::string>& setup = {})
        : file(dir.path() / "g.db"),
          pool(
              first(setup), [f = file] { return reopen(f); }, 1, std::chrono::seconds(10)) {}

    static StoreResult<std::unique_ptr<Connection>> reopen(const std::filesystem::path& file) {
        return open_file(file);
    }
    std::unique_ptr<Connection> first(const std::vector<std::string>& setup) const {
        auto db = open_file(file);
        REQUIRE(db->exec("CREATE TABLE rows (value INTEGER NOT NULL UNIQUE)").has_value());
        for (const auto& sql : setup) {
            REQUIRE(db->exec(sql).has_value());
        }
        return db;
    }

    TempDir dir;
    std::filesystem::path file;
    ConnectionPool pool;
    GroupCommit commits{pool, 16};
};

}  // namespace

TEST_CASE("group commit: changes from many threads share transactions / a failed change is rolled back alone") {
    Database db;
    auto& commits = db.commits;
    const auto& file = db.file;
    auto reader = open_file(file);  // another connection: sees only what is committed

    std::atomic<int> succeeded{0};
    std::atomic<int> refused{0};
    std::atomic<int> unseen{0};
    std::vector<std::thread> workers;
    for (int w = 0; w < 8; ++w) {
        workers.emplace_back([&, w] {
            for (int i = 0; i < 50; ++i) {
                // Every tenth change of each thread inserts 0, which only one change can: the others fail, alone.
                const int value = i % 10 == 9 ? 0 : w * 1000 + i;
                const auto result = commits.run(insert(value));
                if (result && *result) {
                    ++succeeded;
                    // Returned: durable, so visible to any other connection now.
                    auto other = open_file(file);
                    if (count_rows(*other, "value = " + std::to_string(value)) != 1) {
                        ++unseen;
                    }
                } else if (!result) {
                    ++refused;
                }
            }
        });
    }
    for (auto& worker : workers) {
        worker.join();
    }
    // 0 is inserted by 41 changes (thread 0's first, and every thread's tenths): exactly one goes in.
    CHECK(unseen == 0);
    CHECK(succeeded + refused == 400);
    CHECK(refused == 40);
    CHECK(count_rows(*reader, "1 = 1") == succeeded);
    CHECK(count_rows(*reader, "value = 0") == 1);
}

TEST_CASE("group commit: a batch whose COMMIT fails reports every change as failed, and none is kept") {
    // A deferred foreign key is checked only at COMMIT: a change that breaks it makes the COMMIT fail.
    Database db({"PRAGMA foreign_keys=ON", "CREATE TABLE parents (id INTEGER PRIMARY KEY)",
                 "CREATE TABLE children (parent INTEGER REFERENCES parents(id) DEFERRABLE INITIALLY DEFERRED)"});
    auto& commits = db.commits;
    const auto& file = db.file;
    auto orphan = [](Connection& connection) -> StoreResult<bool> {
        if (auto ran = connection.exec("INSERT INTO children (parent) VALUES (42)"); !ran) {
            return ran.error();
        }
        return StoreResult<bool>(boost::system::in_place_value, true);
    };
    auto result = commits.run(orphan);
    CHECK_FALSE(result.has_value());
    auto reader = open_file(file);
    auto s = reader->prepare("SELECT COUNT(*) FROM children").value();
    REQUIRE(s.step().value());
    CHECK(s.integer(0) == 0);
    // The writer is free again afterwards.
    CHECK(commits.run(insert(7)).value());
}

TEST_CASE("group commit: a change that throws fails alone, and the writer is free for the next ones") {
    Database db;
    auto& commits = db.commits;
    const auto& file = db.file;
    std::atomic<int> thrown{0};
    std::vector<std::thread> workers;
    for (int w = 0; w < 4; ++w) {
        workers.emplace_back([&, w] {
            for (int i = 0; i < 20; ++i) {
                const int value = w * 100 + i;
                GroupCommit::Change change = insert(value);
                if (i % 5 == 0) {
                    change = [](Connection& connection) -> StoreResult<bool> {
                        (void)connection.exec("INSERT INTO rows (value) VALUES (-1)");
                        throw std::runtime_error("a bug in a change");
                    };
                }
                auto result = commits.run(change);
                if (!result) {
                    ++thrown;
                }
            }
        });
    }
    for (auto& worker : workers) {
        worker.join();  // none hangs
    }
    CHECK(thrown == 16);
    auto reader = open_file(file);
    CHECK(count_rows(*reader, "value = -1") == 0);  // what a throwing change wrote is rolled back with it
    CHECK(count_rows(*reader, "1 = 1") == 64);
}
