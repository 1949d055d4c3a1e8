#pragma once
// One connection to the controller's database, whichever engine is behind it (SQLite, the embedded
// default, or PostgreSQL for several controllers), so that the store's SQL and logic are written once.
//
// The SQL the store writes is the common part of both engines: parameters as ?1, ?2... (the PostgreSQL
// connection renumbers them $1, $2...), types spelled with CAST where PostgreSQL could not infer them, and
// the few places the engines differ asked of Connection::dialect(). Failures are StoreError with an
// errno-like code (ENOSPC, EROFS, EACCES, EBUSY, EEXIST; ECONNREFUSED when a database server cannot be
// reached), which the service maps to its own codes.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/store_error.hpp"

namespace certdeploy::store {

enum class Dialect { sqlite, postgresql };

class ReaderCache;

// One numbered step of a schema, applied once, in its own transaction.
struct Migration {
    int version;
    std::string_view name;
    std::string_view sql;
};

// What an engine's prepared statement does; Statement is the handle the store uses.
class StatementBackend {
  public:
    virtual ~StatementBackend() = default;
    virtual void bind_text(int index, std::string_view text) = 0;
    virtual void bind_integer(int index, std::int64_t value) = 0;
    virtual void bind_null(int index) = 0;
    virtual void bind_blob(int index, std::string_view bytes) = 0;
    // True while a row is available; false once done.
    virtual StoreResult<bool> step() = 0;
    virtual std::string text(int column) const = 0;
    virtual std::int64_t integer(int column) const = 0;  // a boolean column reads as 1 or 0
    virtual bool is_null(int column) const = 0;
    virtual std::string blob(int column) const = 0;
};

// A prepared statement: bind parameters by 1-based index, then step.
class Statement {
  public:
    explicit Statement(std::unique_ptr<StatementBackend> backend) : backend_(std::move(backend)) {}

    Statement& bind(int index, std::string_view text) {
        backend_->bind_text(index, text);
        return *this;
    }
    Statement& bind(int index, std::int64_t value) {
        backend_->bind_integer(index, value);
        return *this;
    }
    Statement& bind_null(int index) {
        backend_->bind_null(index);
        return *this;
    }
    Statement& bind_optional(int index, const std::optional<std::string>& text) {  // NULL when empty
        return text ? bind(index, std::string_view(*text)) : bind_null(index);
    }
    Statement& bind_blob(int index, std::string_view bytes) {
        backend_->bind_blob(index, bytes);
        return *this;
    }
    StoreResult<bool> step() { return backend_->step(); }
    StoreResult<void> run();  // steps to the end

    std::string text(int column) const { return backend_->text(column); }
    std::int64_t integer(int column) const { return backend_->integer(column); }
    bool is_null(int column) const { return backend_->is_null(column); }
    std::optional<std::string> optional_text(int column) const {
        return is_null(column) ? std::nullopt : std::optional<std::string>(text(column));
    }
    std::string blob(int column) const { return backend_->blob(column); }

  private:
    std::unique_ptr<StatementBackend> backend_;
};

class Connection {
  public:
    virtual ~Connection() = default;
    virtual Dialect dialect() const = 0;
    virtual StoreResult<Statement> prepare(std::string_view sql) = 0;
    virtual StoreResult<void> exec(const std::string& sql) = 0;  // one or more statements, no parameters
    // Rows changed by the last statement run to its end on this connection.
    virtual std::int64_t changes() const = 0;
    // Starts a transaction that holds the write lock from its start where the engine has one (SQLite's
    // IMMEDIATE), so that it never fails half-way for another writer.
    virtual StoreResult<void> begin() = 0;
    // False once the connection is lost (a database server restarted, a network cut): the pool replaces it.
    virtual bool usable() const = 0;
    // The rows this connection remembers (reader_cache.hpp): SQLite's reader connections only.
    virtual ReaderCache* reader_cache() { return nullptr; }
    // " FOR UPDATE" where the engine locks rows (PostgreSQL); SQLite's transactions already hold the lock.
    std::string_view for_update() const { return dialect() == Dialect::postgresql ? " FOR UPDATE" : ""; }
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

// A transaction: begun by begin(); rolled back at destruction unless commit() succeeded.
class Transaction {
  public:
    explicit Transaction(Connection& db) : db_(db) {}
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    ~Transaction();
    StoreResult<void> begin();
    StoreResult<void> commit();

  private:
    Connection& db_;
    bool open_ = false;
    std::chrono::steady_clock::time_point begun_;
};

// The numbered migrations of the controller's schema for each engine (store/migrations/<engine>/*.sql,
// embedded at build time). Both engines' lists carry the same versions and names.
const std::vector<Migration>& controller_migrations(Dialect dialect);

}  // namespace certdeploy::store
