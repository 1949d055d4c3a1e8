#include "store/sqlite_database.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <mutex>

#include "service/try.hpp"

namespace certdeploy::store {
namespace {

int errno_for(int sqlite_code) {
    switch (sqlite_code & 0xFF) {
        case SQLITE_FULL:
            return ENOSPC;
        case SQLITE_READONLY:
            return EROFS;
        case SQLITE_PERM:
        case SQLITE_AUTH:
        case SQLITE_CANTOPEN:
            return EACCES;
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
            return EBUSY;
        case SQLITE_CONSTRAINT:
            return EEXIST;
        default:
            return EIO;
    }
}

class SqliteStatement final : public StatementBackend {
  public:
    // `in_use`: the connection's cache entry this statement borrows (reset and given back when done), or
    // nothing when the statement is this object's own.
    SqliteStatement(const SqliteConnection& db, sqlite3_stmt* stmt, bool* in_use)
        : db_(db), stmt_(stmt), in_use_(in_use) {}
    SqliteStatement(const SqliteStatement&) = delete;
    SqliteStatement& operator=(const SqliteStatement&) = delete;
    ~SqliteStatement() override {
        if (in_use_ == nullptr) {
            sqlite3_finalize(stmt_);
            return;
        }
        sqlite3_reset(stmt_);
        sqlite3_clear_bindings(stmt_);  // the bound values (a sealed upload) are not kept until the next use
        *in_use_ = false;
    }

    void bind_text(int index, std::string_view text) override {
        sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
    }
    void bind_integer(int index, std::int64_t value) override { sqlite3_bind_int64(stmt_, index, value); }
    void bind_null(int index) override { sqlite3_bind_null(stmt_, index); }
    void bind_blob(int index, std::string_view bytes) override {
        sqlite3_bind_blob(stmt_, index, bytes.data(), static_cast<int>(bytes.size()), SQLITE_TRANSIENT);
    }
    StoreResult<bool> step() override {
        const int rc = sqlite3_step(stmt_);
        if (rc == SQLITE_ROW) {
            return StoreResult<bool>(boost::system::in_place_value, true);
        }
        if (rc == SQLITE_DONE) {
            return StoreResult<bool>(boost::system::in_place_value, false);
        }
        return db_.error("statement failed");
    }
    std::string text(int column) const override {
        const auto* data = sqlite3_column_text(stmt_, column);
        return data == nullptr ? std::string()
                               : std::string(reinterpret_cast<const char*>(data),
                                             static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column)));
    }
    std::int64_t integer(int column) const override { return sqlite3_column_int64(stmt_, column); }
    bool is_null(int column) const override { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }
    std::string blob(int column) const override {
        const auto* data = static_cast<const char*>(sqlite3_column_blob(stmt_, column));
        const int size = sqlite3_column_bytes(stmt_, column);
        return data != nullptr ? std::string(data, static_cast<std::size_t>(size)) : std::string();
    }

  private:
    const SqliteConnection& db_;
    sqlite3_stmt* stmt_;
    bool* in_use_;
};

// Before SQLite's first use in the process: no count of the memory it holds, which SQLite keeps under one
// process-wide mutex taken on every allocation — the I/O threads' quick reads contended for it. Nothing
// reads the count (sqlite3_memory_used).
void configure_sqlite_once() {
    static std::once_flag configured;
    std::call_once(configured, [] { sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); });
}

}  // namespace

StoreResult<std::unique_ptr<SqliteConnection>> SqliteConnection::open(const std::filesystem::path& file,
                                                                      const std::vector<Migration>& migrations) {
    configure_sqlite_once();
    sqlite3* raw = nullptr;
    const int rc = sqlite3_open_v2(file.c_str(), &raw,
                                   SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
    std::unique_ptr<SqliteConnection> db(new SqliteConnection(raw));
    if (rc != SQLITE_OK) {
        return db->error("cannot open the database " + file.string());
    }
    ::chmod(file.c_str(), 0600);
    sqlite3_busy_timeout(raw, 5000);
    sqlite3_extended_result_codes(raw, 1);
    // WAL: readers never wait for the writer; synchronous=FULL: a committed transition survives a power cut.
    // secure_delete: a deleted row (a sealed upload once its job is final) is overwritten, not left in free pages.
    for (const char* pragma :
         {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", "PRAGMA foreign_keys=ON", "PRAGMA secure_delete=ON"}) {
        CERTDEPLOY_TRY(db->exec(pragma));
    }
    CERTDEPLOY_TRY(db->migrate(migrations));
    return db;
}

StoreResult<std::unique_ptr<SqliteConnection>> SqliteConnection::open_reader(const std::filesystem::path& file) {
    configure_sqlite_once();
    sqlite3* raw = nullptr;
    // Read-write without create: a reader takes its snapshot through the WAL index (-shm), which it writes.
    const int rc = sqlite3_open_v2(file.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, nullptr);
    std::unique_ptr<SqliteConnection> db(new SqliteConnection(raw));
    if (rc != SQLITE_OK) {
        return db->error("cannot open the database " + file.string());
    }
    sqlite3_busy_timeout(raw, 5000);
    sqlite3_extended_result_codes(raw, 1);
    CERTDEPLOY_TRY(db->exec("PRAGMA query_only=ON"));
    db->reader_cache_ = std::make_unique<ReaderCache>();
    return db;
}

SqliteConnection::~SqliteConnection() {
    for (auto& [sql, cached] : cache_) {
        sqlite3_finalize(cached.stmt);
    }
    sqlite3_close_v2(db_);
}

StoreResult<Statement> SqliteConnection::prepare(std::string_view sql) {
    // Compiling a statement costs more than running most of them: each text is compiled once per connection
    // and its statement reused (SQLite recompiles it by itself if the schema changes).
    auto found = cache_.find(sql);
    if (found != cache_.end() && !found->second.in_use) {
        found->second.in_use = true;
        return StoreResult<Statement>(
            boost::system::in_place_value,
            std::make_unique<SqliteStatement>(*this, found->second.stmt, &found->second.in_use));
    }
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr) != SQLITE_OK) {
        return error("cannot prepare a statement");
    }
    if (found == cache_.end() && cache_.size() < kCachedStatements) {
        auto& cached = cache_.emplace(std::string(sql), Cached{stmt, true}).first->second;
        return StoreResult<Statement>(boost::system::in_place_value,
                                      std::make_unique<SqliteStatement>(*this, stmt, &cached.in_use));
    }
    // The same text already running (a statement prepared again while its twin steps), or a full cache.
    return StoreResult<Statement>(boost::system::in_place_value,
                                  std::make_unique<SqliteStatement>(*this, stmt, nullptr));
}

StoreResult<void> SqliteConnection::exec(const std::string& sql) {
    char* message = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
        sqlite3_free(message);
        return error("cannot execute SQL");
    }
    return {};
}

StoreError SqliteConnection::error(const std::string& what) const {
    const int code = db_ != nullptr ? sqlite3_extended_errcode(db_) : SQLITE_CANTOPEN;
    return StoreError{errno_for(code), what + ": " + (db_ != nullptr ? sqlite3_errmsg(db_) : "out of memory")};
}

StoreResult<void> SqliteConnection::migrate(const std::vector<Migration>& migrations) {
    if (auto made = exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT "
                         "NULL, applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')))");
        !made) {
        return made.error();
    }
    CERTDEPLOY_TRY_ASSIGN(auto current, prepare("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"));
    CERTDEPLOY_TRY(current.step());
    schema_version_ = static_cast<int>(current.integer(0));
    for (const auto& migration : migrations) {
        if (migration.version <= schema_version_) {
            continue;
        }
        // Each migration and its record commit together, or not at all.
        const std::string sql = "BEGIN IMMEDIATE;\n" + std::string(migration.sql) +
                                "\nINSERT INTO schema_migrations(version, name) VALUES (" +
                                std::to_string(migration.version) + ", '" + std::string(migration.name) +
                                "');\nCOMMIT;";
        if (auto applied = exec(sql); !applied) {
            exec("ROLLBACK");
            auto error = applied.error();
            error.what = "migration " + std::to_string(migration.version) + " (" + std::string(migration.name) +
                         ") failed: " + error.what;
            return error;
        }
        schema_version_ = migration.version;
    }
    return {};
}

}  // namespace certdeploy::store
