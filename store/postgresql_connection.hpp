#pragma once
// PostgreSQL for several controllers, through libpq: one connection per pool slot, the store's ?N parameters
// sent as $N with text values (bytea as binary), results read as text. The schema's numbered migrations are
// applied under an advisory lock, so that controllers starting together migrate once. A lost connection
// (the server restarted, the link cut) makes usable() false and its errors ECONNRESET; the pool then opens a
// new one.

#include <libpq-fe.h>

#include <memory>
#include <optional>
#include <string>

#include "store/sql_connection.hpp"

namespace certdeploy::store {

// Where the database is and how to prove who we are. The password (from a file the configuration names)
// is kept only here, and wiped when the settings go; libpq's own PGPASSFILE and ~/.pgpass work too.
struct PostgresqlSettings {
    std::string conninfo;  // a libpq connection string or postgresql:// URI
    std::string password;  // empty: none given (libpq looks further)
    PostgresqlSettings() = default;
    PostgresqlSettings(std::string info, std::string secret) : conninfo(std::move(info)), password(std::move(secret)) {}
    PostgresqlSettings(const PostgresqlSettings&) = default;
    PostgresqlSettings& operator=(const PostgresqlSettings&) = default;
    ~PostgresqlSettings();
};

class PostgresqlConnection final : public Connection {
  public:
    // Connects (never waiting more than a few seconds unless the conninfo says otherwise), loading libpq
    // the first time (store/libpq.hpp).
    static StoreResult<std::unique_ptr<PostgresqlConnection>> open(const PostgresqlSettings& settings);
    ~PostgresqlConnection() override;
    PostgresqlConnection(const PostgresqlConnection&) = delete;
    PostgresqlConnection& operator=(const PostgresqlConnection&) = delete;

    Dialect dialect() const override { return Dialect::postgresql; }
    StoreResult<Statement> prepare(std::string_view sql) override;
    StoreResult<void> exec(const std::string& sql) override;
    std::int64_t changes() const override { return changes_; }
    StoreResult<void> begin() override { return exec("BEGIN"); }
    bool usable() const override;

    // Applies every migration newer than the database's schema, holding the schema's advisory lock.
    StoreResult<void> migrate(const std::vector<Migration>& migrations);
    int schema_version() const { return schema_version_; }

    // A failed result (or the connection's state) as a StoreError; consumes `result`.
    StoreError error(PGresult* result, const std::string& what) const;
    PGconn* handle() const { return conn_; }
    void set_changes(std::int64_t changes) { changes_ = changes; }

  private:
    explicit PostgresqlConnection(PGconn* conn) : conn_(conn) {}
    PGconn* conn_;
    std::int64_t changes_ = 0;
    int schema_version_ = 0;
};

// The store's SQL with ?N parameters as PostgreSQL's $N (text in quotes left as it is).
std::string postgresql_parameters(std::string_view sql);

}  // namespace certdeploy::store
