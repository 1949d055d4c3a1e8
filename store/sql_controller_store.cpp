// ControllerStore in SQL: servers. The SQL sits in named constants beside the code that runs it.

#include "store/sql_controller_store.hpp"

#include "service/try.hpp"
#include "store/postgresql_connection.hpp"
#include "store/reader_cache.hpp"
#include "store/row_codec.hpp"
#include "store/sqlite_database.hpp"

namespace certdeploy::store {
namespace {

constexpr std::string_view kUpsertServer = R"sql(
INSERT INTO servers (name, agent_url, labels, created_at, updated_at, pending) VALUES (?1, ?2, ?3, ?4, ?4, ?5)
ON CONFLICT (name) DO UPDATE SET agent_url = excluded.agent_url, labels = excluded.labels,
                                 updated_at = excluded.updated_at)sql";

constexpr std::string_view kServerExists = "SELECT 1 FROM servers WHERE name = ?1";

constexpr std::string_view kServerColumns =
    "name, agent_url, labels, created_at, updated_at, last_contact, reachable, agent_version, pending, "
    "(SELECT MAX(not_after) FROM agent_identities i WHERE i.server = servers.name AND i.revoked_at IS NULL)";

const std::string kGetServer = "SELECT " + std::string(kServerColumns) + " FROM servers WHERE name = ?1";

// Readers for the quick reads: one per I/O thread at a time, and a few for anyone else reading at once.
constexpr std::size_t kMaxReaders = 16;

constexpr std::string_view kDeleteServer = "DELETE FROM servers WHERE name = ?1";

constexpr std::string_view kRecordContact = R"sql(
UPDATE servers SET reachable = ?2, last_contact = CASE WHEN ?2 = 1 THEN ?4 ELSE last_contact END,
                   agent_version = COALESCE(?3, agent_version)
WHERE name = ?1)sql";

ServerRow read_server(const Statement& s) {
    ServerRow row;
    row.name = s.text(0);
    row.agentUrl = s.text(1);
    row.labels = decode_labels(s.text(2));
    row.createdAt = s.text(3);
    row.updatedAt = s.text(4);
    if (!s.is_null(5)) {
        row.lastContact = s.text(5);
    }
    if (!s.is_null(6)) {
        row.reachable = s.integer(6) != 0;
    }
    if (!s.is_null(7)) {
        row.agentVersion = s.text(7);
    }
    row.pending = s.integer(8) != 0;
    row.identityNotAfter = s.optional_text(9);
    return row;
}

}  // namespace

StoreResult<bool> SqlControllerStore::upsert_server(const ServerRow& row) {
    CERTDEPLOY_TRY_ASSIGN(auto db, pool_.acquire());
    Transaction tx(*db);  // the existence check and the write happen as one
    CERTDEPLOY_TRY(tx.begin());
    CERTDEPLOY_TRY_ASSIGN(auto exists, db->prepare(kServerExists));
    exists.bind(1, row.name);
    CERTDEPLOY_TRY_ASSIGN(auto found, exists.step());
    CERTDEPLOY_TRY(exists.run());
    CERTDEPLOY_TRY_ASSIGN(auto s, db->prepare(kUpsertServer));
    s.bind(1, row.name).bind(2, row.agentUrl).bind(3, encode_labels(row.labels)).bind(4, row.updatedAt);
    s.bind(5, static_cast<std::int64_t>(row.pending ? 1 : 0));
    CERTDEPLOY_TRY(s.run());
    CERTDEPLOY_TRY(tx.commit());
    return StoreResult<bool>(boost::system::in_place_value, !found);
}

StoreResult<bool> SqlControllerStore::approve_server(const std::string& name, const std::string& at) {
    CERTDEPLOY_TRY_ASSIGN(auto db, pool_.acquire());
    CERTDEPLOY_TRY_ASSIGN(auto s, db->prepare("UPDATE servers SET pending = 0, updated_at = ?2 WHERE name = ?1"));
    s.bind(1, name).bind(2, at);
    CERTDEPLOY_TRY(s.run());
    return StoreResult<bool>(boost::system::in_place_value, db->changes() > 0);
}

StoreResult<ConnectionPool::Lease> SqlControllerStore::reader() {
    return readers_ ? readers_->acquire() : pool_.acquire();
}

StoreResult<std::optional<ServerRow>> SqlControllerStore::get_server(const std::string& name) {
    CERTDEPLOY_TRY_ASSIGN(auto db, reader());
    return read_through_cache<ServerRow>(
        *db, [&](const ReaderCache& cache) { return cache.server(name); },
        [&]() -> StoreResult<std::optional<ServerRow>> {
            CERTDEPLOY_TRY_ASSIGN(auto s, db->prepare(kGetServer));
            s.bind(1, name);
            return first_row<ServerRow>(s, read_server);
        });
}

StoreResult<std::vector<ServerRow>> SqlControllerStore::list_servers(const std::string& after, std::size_t limit) {
    CERTDEPLOY_TRY_ASSIGN(auto db, pool_.acquire());
    auto s =
        db->prepare("SELECT " + std::string(kServerColumns) + " FROM servers WHERE name > ?1 ORDER BY name LIMIT ?2");
    if (!s) {
        return s.error();
    }
    s->bind(1, after).bind(2, static_cast<std::int64_t>(limit));
    return collect<ServerRow>(*s, read_server);
}

StoreResult<bool> SqlControllerStore::delete_server(const std::string& name) {
    CERTDEPLOY_TRY_ASSIGN(auto db, pool_.acquire());
    Transaction tx(*db);
    CERTDEPLOY_TRY(tx.begin());
    CERTDEPLOY_TRY_ASSIGN(auto s, db->prepare(kDeleteServer));
    s.bind(1, name);
    CERTDEPLOY_TRY(s.run());
    const bool deleted = db->changes() > 0;
    // What the inventory said of it goes with it; its jobs' targets stay, as history.
    CERTDEPLOY_TRY_ASSIGN(auto inventory, db->prepare("DELETE FROM inventory WHERE server = ?1"));
    inventory.bind(1, name);
    CERTDEPLOY_TRY(inventory.run());
    CERTDEPLOY_TRY(tx.commit());
    return StoreResult<bool>(boost::system::in_place_value, deleted);
}

StoreResult<void> SqlControllerStore::record_contact(const std::string& name, bool reachable,
                                                     const std::optional<std::string>& agent_version,
                                                     const std::string& at) {
    CERTDEPLOY_TRY_ASSIGN(auto db, pool_.acquire());
    CERTDEPLOY_TRY_ASSIGN(auto s, db->prepare(kRecordContact));
    s.bind(1, name).bind(2, static_cast<std::int64_t>(reachable ? 1 : 0)).bind(4, at);
    if (agent_version) {
        s.bind(3, *agent_version);
    } else {
        s.bind_null(3);
    }
    return s.run();
}

StoreResult<std::unique_ptr<ControllerStore>> open_sqlite_controller_store(const std::filesystem::path& data_dir,
                                                                           bool group_commit) {
    std::error_code ec;
    std::filesystem::create_directories(data_dir, ec);
    if (ec) {
        return StoreError{ec.value(), "cannot create the data directory " + data_dir.string() + ": " + ec.message()};
    }
    std::filesystem::permissions(data_dir, std::filesystem::perms::owner_all, ec);
    const auto file = data_dir / "controller.db";
    CERTDEPLOY_TRY_ASSIGN(auto db, SqliteConnection::open(file, controller_migrations(Dialect::sqlite)));
    // One connection: SQLite writes one transaction at a time anyway. A caller waits for it as long as the
    // longest transaction could take, not forever.
    auto reopen = [file]() -> StoreResult<std::unique_ptr<Connection>> {
        CERTDEPLOY_TRY_ASSIGN(auto again, SqliteConnection::open(file, controller_migrations(Dialect::sqlite)));
        return std::unique_ptr<Connection>(std::move(again));
    };
    auto store = std::make_unique<SqlControllerStore>(std::move(db), std::move(reopen), 1, std::chrono::seconds(60),
                                                      group_commit);
    auto open_reader = [file]() -> StoreResult<std::unique_ptr<Connection>> {
        CERTDEPLOY_TRY_ASSIGN(auto reader, SqliteConnection::open_reader(file));
        return std::unique_ptr<Connection>(std::move(reader));
    };
    CERTDEPLOY_TRY_ASSIGN(auto first_reader, open_reader());
    store->set_readers(std::move(first_reader), std::move(open_reader), kMaxReaders);
    return std::unique_ptr<ControllerStore>(std::move(store));
}

StoreResult<std::unique_ptr<ControllerStore>> open_postgresql_controller_store(const std::string& conninfo,
                                                                               std::string_view password,
                                                                               std::size_t max_connections) {
    auto settings = std::make_shared<const PostgresqlSettings>(conninfo, std::string(password));
    CERTDEPLOY_TRY_ASSIGN(auto db, PostgresqlConnection::open(*settings));
    CERTDEPLOY_TRY(db->migrate(controller_migrations(Dialect::postgresql)));
    auto connect = [settings]() -> StoreResult<std::unique_ptr<Connection>> {
        CERTDEPLOY_TRY_ASSIGN(auto again, PostgresqlConnection::open(*settings));
        return std::unique_ptr<Connection>(std::move(again));
    };
    // A caller waits a few seconds for a free connection; longer means the database is the bottleneck, and
    // the API says so (503) rather than queueing without end.
    return std::unique_ptr<ControllerStore>(std::make_unique<SqlControllerStore>(
        std::move(db), std::move(connect), max_connections, std::chrono::seconds(10)));
}

}  // namespace certdeploy::store
