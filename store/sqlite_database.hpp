#pragma once
// SQLite for the controller: one file in the data directory, WAL mode, foreign keys on, a busy timeout,
// and numbered schema migrations applied at open, each in its own transaction. SQLite's failures become
// StoreError with an errno-like code (ENOSPC for SQLITE_FULL, EROFS for SQLITE_READONLY...), so the
// service maps them as it maps the file store's.

#include <sqlite3.h>

#include <filesystem>
#include <map>
#include <memory>

#include "store/reader_cache.hpp"
#include "store/sql_connection.hpp"

namespace certdeploy::store {

class SqliteConnection final : public Connection {
  public:
    // Opens or creates `file` (mode 0600) and applies every migration newer than the file's schema.
    static StoreResult<std::unique_ptr<SqliteConnection>> open(const std::filesystem::path& file,
                                                               const std::vector<Migration>& migrations);
    // Another connection to an existing `file` that only reads (PRAGMA query_only): in WAL mode each of its
    // reads sees the last commit without waiting for a write in progress on another connection.
    static StoreResult<std::unique_ptr<SqliteConnection>> open_reader(const std::filesystem::path& file);
    ~SqliteConnection() override;
    SqliteConnection(const SqliteConnection&) = delete;
    SqliteConnection& operator=(const SqliteConnection&) = delete;

    Dialect dialect() const override { return Dialect::sqlite; }
    StoreResult<Statement> prepare(std::string_view sql) override;
    StoreResult<void> exec(const std::string& sql) override;
    std::int64_t changes() const override { return sqlite3_changes64(db_); }
    StoreResult<void> begin() override { return exec("BEGIN IMMEDIATE"); }
    bool usable() const override { return true; }  // a file: nothing to lose but the disk
    ReaderCache* reader_cache() override { return reader_cache_.get(); }
    int schema_version() const { return schema_version_; }

    StoreError error(const std::string& what) const;  // the connection's last error

  private:
    explicit SqliteConnection(sqlite3* db) : db_(db) {}
    StoreResult<void> migrate(const std::vector<Migration>& migrations);

    // Compiled statements by their text; a statement lent out is `in_use` until its Statement ends. A map
    // (not unordered): entries never move, so the flag's address stays valid while lent.
    struct Cached {
        sqlite3_stmt* stmt;
        bool in_use;
    };
    static constexpr std::size_t kCachedStatements = 256;  // the store's texts number a few dozen
    sqlite3* db_;
    int schema_version_ = 0;
    std::map<std::string, Cached, std::less<>> cache_;
    std::unique_ptr<ReaderCache> reader_cache_;  // a reader's (open_reader)
};

}  // namespace certdeploy::store
