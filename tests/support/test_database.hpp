#pragma once
// A fresh, empty controller database on either engine, for the store tests that run on both (one suite,
// instantiated per engine with doctest's TEST_CASE_TEMPLATE over SqliteEngine and PostgresqlEngine).

#include <memory>
#include <string>

#include "store/controller_store.hpp"
#include "store/sql_connection.hpp"
#include "tests/support/temp_dir.hpp"

namespace certdeploy::test {

struct SqliteEngine {
    static constexpr store::Dialect dialect = store::Dialect::sqlite;
};
struct PostgresqlEngine {
    static constexpr store::Dialect dialect = store::Dialect::postgresql;
};

class TestDatabase {
  public:
    explicit TestDatabase(store::Dialect engine);
    // A store on this database: a second call opens another (as a restart, or a second controller, would).
    std::unique_ptr<store::ControllerStore> open() const;
    store::Dialect engine() const { return engine_; }
    const TempDir& dir() const { return dir_; }
    const std::string& conninfo() const { return conninfo_; }  // PostgreSQL only
    std::string password() const;                              // PostgreSQL only

  private:
    store::Dialect engine_;
    TempDir dir_;
    std::string conninfo_;
};

}  // namespace certdeploy::test
