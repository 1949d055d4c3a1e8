#pragma once
// SQLite for the controller: one file in the data directory, WAL mode, foreign keys on, a busy timeout,
// and numbered schema migrations applied at open, each in its own transaction. SQLite's failures become
// StoreError with an errno-like code (ENOSPC for SQLITE_FULL, EROFS for SQLITE_READONLY...), so the
// service maps them as it maps the file store's.

#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/store_error.hpp"

namespace certdeploy::store {

struct Migration {
    int version;
    std::string_view name;
    std::string_view sql;
};

class SqliteDatabase;

// A prepared statement; bind parameters by 1-based index, then step.
class Statement {
  public:
    Statement(SqliteDatabase& db, sqlite3_stmt* stmt) : db_(&db), stmt_(stmt) {}
    Statement(Statement&& other) noexcept : db_(other.db_), stmt_(other.stmt_) { other.stmt_ = nullptr; }
    Statement& operator=(Statement&&) = delete;
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;
    ~Statement();

    Statement& bind(int index, std::string_view text);
    Statement& bind(int index, std::int64_t value);
    Statement& bind_null(int index);
    Statement& bind_optional(int index, const std::optional<std::string>& text);  // NULL when empty
    Statement& bind_blob(int index, std::string_view bytes);
    // True while a row is available; false once done. Errors become StoreError.
    StoreResult<bool> step();
    StoreResult<void> run();  // steps to the end

    std::string text(int column) const;
    std::int64_t integer(int column) const;
    bool is_null(int column) const;
    std::optional<std::string> optional_text(int column) const;
    std::string blob(int column) const;

  private:
    SqliteDatabase* db_;
    sqlite3_stmt* stmt_;
};

class SqliteDatabase {
  public:
    // Opens or creates `file` (mode 0600) and applies every migration newer than the file's schema.
    static StoreResult<std::unique_ptr<SqliteDatabase>> open(const std::filesystem::path& file,
                                                             const std::vector<Migration>& migrations);
    ~SqliteDatabase();
    SqliteDatabase(const SqliteDatabase&) = delete;
    SqliteDatabase& operator=(const SqliteDatabase&) = delete;

    StoreResult<Statement> prepare(std::string_view sql);
    StoreResult<void> exec(const std::string& sql);
    int schema_version() const { return schema_version_; }

    StoreError error(const std::string& what) const;  // the connection's last error
    sqlite3* handle() const { return db_; }

  private:
    explicit SqliteDatabase(sqlite3* db) : db_(db) {}
    StoreResult<void> migrate(const std::vector<Migration>& migrations);
    sqlite3* db_;
    int schema_version_ = 0;
};

// Steps `s` to the end, each row made by `read(s)`.
template <class Row, class Read>
StoreResult<std::vector<Row>> collect(Statement& s, Read read) {
    std::vector<Row> rows;
    for (;;) {
        auto step = s.step();
        if (!step) {
            return step.error();
        }
        if (!*step) {
            return rows;
        }
        rows.push_back(read(s));
    }
}

// The first row made by `read(s)`, or nothing when there is none.
template <class Row, class Read>
StoreResult<std::optional<Row>> first_row(Statement& s, Read read) {
    auto step = s.step();
    if (!step) {
        return step.error();
    }
    return *step ? std::optional<Row>(read(s)) : std::optional<Row>();
}

// BEGIN IMMEDIATE at construction; ROLLBACK at destruction unless commit() succeeded. IMMEDIATE takes the
// write lock at once, so a transaction never fails half-way for another writer.
class Transaction {
  public:
    explicit Transaction(SqliteDatabase& db) : db_(db) {}
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    ~Transaction();
    StoreResult<void> begin();
    StoreResult<void> commit();

  private:
    SqliteDatabase& db_;
    bool open_ = false;
    std::chrono::steady_clock::time_point begun_;
};

// The numbered migrations of the controller's schema (store/migrations/*.sql, embedded at build time).
const std::vector<Migration>& controller_migrations();

}  // namespace certdeploy::store
