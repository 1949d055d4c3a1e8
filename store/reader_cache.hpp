#pragma once
// Rows the API reads again and again — the caller's token by its hash on every request, a server by name —
// kept with the SQLite reader connection that read them, and trusted only while that connection's
// PRAGMA data_version is the one they were read at. SQLite changes data_version whenever another
// connection, in this process or any other (`certdeploy token revoke` on the controller's machine),
// commits; the store reads it in the same read transaction as the row it then looks up or reads, so a
// revoked token, an edited server or a new identity is never answered from memory after its commit.
// What it saves: a lookup is a read of one number instead of a B-tree walk and a row decoded and copied
// out of SQLite (the read transaction itself is paid either way).
//
// One per reader connection, used only by the thread holding that connection: no lock. Only rows found
// are kept (an unknown token sprayed at the API is not remembered), at most kMaxRows of each kind.

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>

#include "service/try.hpp"
#include "store/controller_store.hpp"
#include "store/sql_connection.hpp"

namespace certdeploy::store {

class ReaderCache {
  public:
    static constexpr std::size_t kMaxRows = 1024;

    // Empties the cache unless its rows were read at `data_version`.
    void at_version(std::int64_t data_version);

    const TokenRow* token(const std::string& secret_hash) const;
    void keep(const TokenRow& row);  // under row.secretHash
    const ServerRow* server(const std::string& name) const;
    void keep(const ServerRow& row);  // under row.name

  private:
    std::optional<std::int64_t> version_;
    std::unordered_map<std::string, TokenRow> tokens_;
    std::unordered_map<std::string, ServerRow> servers_;
};

// Reads PRAGMA data_version on `db` (the cache emptied if it moved) and returns its statement still
// stepping: while it lives, `db`'s read transaction stays open, so a row read meanwhile is of the snapshot
// the version names.
StoreResult<Statement> pin_snapshot(Connection& db, ReaderCache& cache);

// A row through `db`'s cache when it has one: `find(cache)` answers from memory, else `select()` reads it in
// the same read transaction as the version and the cache keeps it. Without a cache, `select()` alone.
template <class Row, class Find, class Select>
StoreResult<std::optional<Row>> read_through_cache(Connection& db, Find find, Select select) {
    ReaderCache* cache = db.reader_cache();
    if (cache == nullptr) {
        return select();
    }
    CERTDEPLOY_TRY_ASSIGN(auto snapshot, pin_snapshot(db, *cache));
    if (const Row* row = find(*cache)) {
        return std::optional<Row>(*row);
    }
    CERTDEPLOY_TRY_ASSIGN(auto found, select());
    if (found) {
        cache->keep(*found);
    }
    return found;
}

}  // namespace certdeploy::store
