#include "store/postgresql_connection.hpp"

#include <openssl/crypto.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "service/try.hpp"
#include "store/libpq.hpp"

namespace certdeploy::store {
namespace {

// One key for "the schema is being migrated", taken by every controller before it looks at the schema.
constexpr std::int64_t kMigrationLock = 0x63657274'6465706cLL;  // "certdepl"

// SQLSTATE classes and codes as errno, so the service maps them as it maps SQLite's and the disk's.
int errno_for(const char* sqlstate) {
    if (sqlstate == nullptr) {
        return ECONNRESET;  // no answer from the server at all
    }
    const std::string_view state(sqlstate);
    if (state == "53100") {
        return ENOSPC;  // disk_full
    }
    if (state == "25006") {
        return EROFS;  // read_only_sql_transaction (a standby)
    }
    if (state == "42501" || state.substr(0, 2) == "28") {
        return EACCES;  // insufficient_privilege, invalid authorization
    }
    if (state == "40001" || state == "40P01" || state == "55P03") {
        return EBUSY;  // serialization failure, deadlock, lock not available
    }
    if (state.substr(0, 2) == "23") {
        return EEXIST;  // integrity constraint violation
    }
    if (state.substr(0, 2) == "22") {
        return EINVAL;  // data exception: a value PostgreSQL cannot hold (invalid UTF-8, out of range)
    }
    if (state.substr(0, 2) == "08" || state.substr(0, 2) == "57" || state.substr(0, 2) == "53") {
        return ECONNRESET;  // connection exception, operator intervention (shutdown), insufficient resources
    }
    return EIO;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

struct ResultDeleter {
    void operator()(PGresult* result) const { libpq().clear(result); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultDeleter>;

class PostgresqlStatement final : public StatementBackend {
  public:
    PostgresqlStatement(PostgresqlConnection& db, std::string sql) : db_(db), sql_(std::move(sql)) {}

    void bind_text(int index, std::string_view text) override { slot(index) = {std::string(text), 0}; }
    void bind_integer(int index, std::int64_t value) override { slot(index) = {std::to_string(value), 0}; }
    void bind_null(int index) override { slot(index) = {std::nullopt, 0}; }
    void bind_blob(int index, std::string_view bytes) override { slot(index) = {std::string(bytes), 1}; }

    StoreResult<bool> step() override {
        if (!result_) {
            CERTDEPLOY_TRY(execute());
        }
        ++row_;
        return StoreResult<bool>(boost::system::in_place_value, row_ < libpq().ntuples(result_.get()));
    }
    std::string text(int column) const override {
        return std::string(libpq().getvalue(result_.get(), row_, column),
                           static_cast<std::size_t>(libpq().getlength(result_.get(), row_, column)));
    }
    std::int64_t integer(int column) const override {
        const char* value = libpq().getvalue(result_.get(), row_, column);
        if (std::strcmp(value, "t") == 0) {
            return 1;  // a boolean, as the store reads SQLite's 0/1
        }
        if (std::strcmp(value, "f") == 0) {
            return 0;
        }
        return std::strtoll(value, nullptr, 10);
    }
    bool is_null(int column) const override { return libpq().getisnull(result_.get(), row_, column) != 0; }
    std::string blob(int column) const override {  // bytea in text form: \x and two hex digits a byte
        const std::string hex = text(column);
        std::string bytes;
        if (hex.size() < 2 || hex[0] != '\\' || hex[1] != 'x') {
            return bytes;
        }
        bytes.reserve((hex.size() - 2) / 2);
        for (std::size_t i = 2; i + 1 < hex.size(); i += 2) {
            bytes.push_back(static_cast<char>(hex_value(hex[i]) * 16 + hex_value(hex[i + 1])));
        }
        return bytes;
    }

  private:
    struct Parameter {
        std::optional<std::string> value;
        int format = 0;  // 0 text, 1 binary
    };

    Parameter& slot(int index) {
        if (static_cast<std::size_t>(index) > parameters_.size()) {
            parameters_.resize(static_cast<std::size_t>(index));
        }
        return parameters_[static_cast<std::size_t>(index) - 1];
    }

    StoreResult<void> execute() {
        std::vector<const char*> values;
        std::vector<int> lengths;
        std::vector<int> formats;
        for (const auto& p : parameters_) {
            values.push_back(p.value ? p.value->data() : nullptr);
            lengths.push_back(p.value ? static_cast<int>(p.value->size()) : 0);
            formats.push_back(p.format);
        }
        PGresult* raw = libpq().exec_params(db_.handle(), sql_.c_str(), static_cast<int>(parameters_.size()), nullptr,
                                            values.data(), lengths.data(), formats.data(), 0);
        const auto status = libpq().result_status(raw);
        if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
            return db_.error(raw, "statement failed");
        }
        result_.reset(raw);
        const char* tuples = libpq().cmd_tuples(raw);
        db_.set_changes(*tuples != '\0' ? std::strtoll(tuples, nullptr, 10) : 0);
        return {};
    }

    PostgresqlConnection& db_;
    std::string sql_;
    std::vector<Parameter> parameters_;
    ResultPtr result_;
    int row_ = -1;
};

}  // namespace

PostgresqlSettings::~PostgresqlSettings() {
    OPENSSL_cleanse(password.data(), password.size());
}

std::string postgresql_parameters(std::string_view sql) {
    std::string out;
    out.reserve(sql.size());
    bool quoted = false;
    for (std::size_t i = 0; i < sql.size(); ++i) {
        const char c = sql[i];
        if (c == '\'') {
            quoted = !quoted;  // '' inside a literal toggles twice: still inside
        }
        if (!quoted && c == '?' && i + 1 < sql.size() && sql[i + 1] >= '0' && sql[i + 1] <= '9') {
            out.push_back('$');
            continue;
        }
        out.push_back(c);
    }
    return out;
}

std::optional<std::string> postgresql_conninfo_problem(const std::string& conninfo) {
    if (auto loaded = load_libpq(); !loaded) {
        return loaded.error().what;
    }
    char* error = nullptr;
    PQconninfoOption* options = libpq().conninfo_parse(conninfo.c_str(), &error);
    if (options == nullptr) {
        libpq().freemem(error);  // its text may quote the string, which may hold a secret
        return std::string("libpq cannot read it as a connection string or postgresql:// URI");
    }
    std::optional<std::string> problem;
    for (PQconninfoOption* option = options; option->keyword != nullptr; ++option) {
        if (std::strcmp(option->keyword, "password") == 0 && option->val != nullptr && *option->val != '\0') {
            problem = "it holds a password: put the password in databasePasswordFile (0600) or libpq's PGPASSFILE";
        }
    }
    libpq().conninfo_free(options);
    return problem;
}

StoreResult<std::unique_ptr<PostgresqlConnection>> PostgresqlConnection::open(const PostgresqlSettings& settings) {
    // Keywords before dbname are defaults the connection string may override; the password after it wins.
    // TCP keepalives find a dead link (a listener's idle connection included) within about a minute.
    CERTDEPLOY_TRY(load_libpq());
    std::vector<const char*> keys = {"connect_timeout",     "fallback_application_name", "keepalives_idle",
                                     "keepalives_interval", "keepalives_count",          "dbname"};
    std::vector<const char*> values = {"5", "certdeploy", "30", "10", "3", settings.conninfo.c_str()};
    if (!settings.password.empty()) {
        keys.push_back("password");
        values.push_back(settings.password.c_str());
    }
    keys.push_back(nullptr);
    values.push_back(nullptr);
    PGconn* raw = libpq().connectdb_params(keys.data(), values.data(), 1);
    std::unique_ptr<PostgresqlConnection> db(new PostgresqlConnection(raw));
    if (raw == nullptr || libpq().status(raw) != CONNECTION_OK) {
        // libpq's message names the host and the reason, never the password.
        std::string why = raw != nullptr ? libpq().error_message(raw) : "out of memory";
        while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) {
            why.pop_back();
        }
        return StoreError{ECONNREFUSED, "cannot connect to PostgreSQL: " + why};
    }
    // Quiet notices ("relation already exists, skipping") stay out of the controller's output.
    libpq().set_notice_processor(
        raw, [](void*, const char*) {}, nullptr);
    // The store reads bytea in hex form whatever the server's or role's default.
    CERTDEPLOY_TRY(db->exec("SET client_min_messages = warning; SET TIME ZONE 'UTC'; SET bytea_output = 'hex'"));
    return db;
}

bool PostgresqlConnection::usable() const {
    return libpq().status(conn_) == CONNECTION_OK;
}

PostgresqlConnection::~PostgresqlConnection() {
    if (conn_ != nullptr) {
        libpq().finish(conn_);
    }
}

StoreResult<Statement> PostgresqlConnection::prepare(std::string_view sql) {
    if (!usable()) {
        return error(nullptr, "the database connection is lost");
    }
    return StoreResult<Statement>(boost::system::in_place_value,
                                  std::make_unique<PostgresqlStatement>(*this, postgresql_parameters(sql)));
}

StoreResult<void> PostgresqlConnection::exec(const std::string& sql) {
    PGresult* raw = libpq().exec(conn_, sql.c_str());
    const auto status = libpq().result_status(raw);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
        return error(raw, "cannot execute SQL");
    }
    libpq().clear(raw);
    return {};
}

StoreError PostgresqlConnection::error(PGresult* result, const std::string& what) const {
    ResultPtr owned(result);
    const char* sqlstate = result != nullptr ? libpq().result_error_field(result, PG_DIAG_SQLSTATE) : nullptr;
    int err = errno_for(sqlstate);
    if (libpq().status(conn_) != CONNECTION_OK) {
        err = ECONNRESET;
    }
    // The primary message only: DETAIL lines may quote a row's values.
    const char* primary = result != nullptr ? libpq().result_error_field(result, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
    std::string message = primary != nullptr ? primary : "";
    if (message.empty()) {
        message = libpq().error_message(conn_);
    }
    while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) {
        message.pop_back();
    }
    return StoreError{err, what + ": " + message};
}

StoreResult<void> PostgresqlConnection::migrate(const std::vector<Migration>& migrations) {
    // A session lock: another controller starting now waits here until this one has migrated, then finds
    // nothing left to do.
    CERTDEPLOY_TRY(exec("SELECT pg_advisory_lock(" + std::to_string(kMigrationLock) + ")"));
    auto migrated = [&]() -> StoreResult<void> {
        CERTDEPLOY_TRY(
            exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT "
                 "NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"));
        CERTDEPLOY_TRY_ASSIGN(auto current, prepare("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"));
        CERTDEPLOY_TRY(current.step());
        schema_version_ = static_cast<int>(current.integer(0));
        for (const auto& migration : migrations) {
            if (migration.version <= schema_version_) {
                continue;
            }
            // Each migration and its record commit together, or not at all.
            const std::string sql =
                "BEGIN;\n" + std::string(migration.sql) + "\nINSERT INTO schema_migrations(version, name) VALUES (" +
                std::to_string(migration.version) + ", '" + std::string(migration.name) + "');\nCOMMIT;";
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
    }();
    exec("SELECT pg_advisory_unlock(" + std::to_string(kMigrationLock) + ")");
    return migrated;
}

}  // namespace certdeploy::store
