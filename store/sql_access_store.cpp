// Tokens and the audit log (store/migrations/*/003_access.sql).

#include "service/try.hpp"
#include "store/reader_cache.hpp"
#include "store/row_codec.hpp"
#include "store/sql_controller_store.hpp"

namespace certdeploy::store {
namespace {

constexpr std::string_view kTokenColumns =
    "name, secret_hash, role, scope, created_at, expires_at, last_used_at, revoked_at";

const std::string kTokenByHash = "SELECT " + std::string(kTokenColumns) + " FROM tokens WHERE secret_hash = ?1";

TokenRow read_token(const Statement& s) {
    TokenRow row;
    row.name = s.text(0);
    row.secretHash = s.text(1);
    row.role = s.text(2);
    if (!s.is_null(3)) {
        row.scoped = true;
        row.scope = decode_labels(s.text(3));
    }
    row.createdAt = s.text(4);
    row.expiresAt = s.optional_text(5);
    row.lastUsedAt = s.optional_text(6);
    row.revokedAt = s.optional_text(7);
    return row;
}

// Only a revoked token of the same name gives way; a live one stays and the insert changes nothing.
constexpr std::string_view kCreateToken = R"sql(
INSERT INTO tokens (name, secret_hash, role, scope, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
ON CONFLICT (name) DO UPDATE SET secret_hash = excluded.secret_hash, role = excluded.role, scope = excluded.scope,
    created_at = excluded.created_at, expires_at = excluded.expires_at, last_used_at = NULL, revoked_at = NULL
WHERE tokens.revoked_at IS NOT NULL)sql";

constexpr std::string_view kAuditColumns =
    "seq, at, token, client, method, route, server, thumbprint, job, status, code";

AuditRow read_audit(const Statement& s) {
    AuditRow row;
    row.seq = s.integer(0);
    row.at = s.text(1);
    row.token = s.optional_text(2);
    row.client = s.text(3);
    row.method = s.text(4);
    row.route = s.text(5);
    row.server = s.optional_text(6);
    row.thumbprint = s.optional_text(7);
    row.job = s.optional_text(8);
    row.status = static_cast<int>(s.integer(9));
    row.code = s.optional_text(10);
    return row;
}

}  // namespace

StoreResult<bool> SqlControllerStore::create_token(const TokenRow& row) {
    CERTDEPLOY_TRY_ASSIGN(auto db, pool_.acquire());
    CERTDEPLOY_TRY_ASSIGN(auto s, db->prepare(kCreateToken));
    s.bind(1, row.name).bind(2, row.secretHash).bind(3, row.role);
    s.bind_optional(4, row.scoped ? std::optional<std::string>(encode_labels(row.scope)) : std::nullopt);
    s.bind(5, row.createdAt).bind_optional(6, row.expiresAt);
    CERTDEPLOY_TRY(s.run());
    return StoreResult<bool>(boost::system::in_place_value, db->changes() > 0);
}

StoreResult<std::optional<TokenRow>> SqlControllerStore::token_by_hash(const std::string& secret_hash) {
    CERTDEPLOY_TRY_ASSIGN(auto db, reader());
    return read_through_cache<TokenRow>(
        *db, [&](const ReaderCache& cache) { return cache.token(secret_hash); },
        [&]() -> StoreResult<std::optional<TokenRow>> {
            CERTDEPLOY_TRY_ASSIGN(auto s, db->prepare(kTokenByHash));
            s.bind(1, secret_hash);
            return first_row<TokenRow>(s, read_token);
        });
}

StoreResult<std::vector<TokenRow>> SqlControllerStore::list_tokens() {
    CERTDEPLOY_TRY_ASSIGN(auto db, pool_.acquire());
    CERTDEPLOY_TRY_ASSIGN(auto s, db->prepare("SELECT " + std::string(kTokenColumns) + " FROM tokens ORDER BY name"));
    return collect<TokenRow>(s, read_token);
}

StoreResult<bool> SqlControllerStore::revoke_token(const std::string& name, const std::string& at) {
    CERTDEPLOY_TRY_ASSIGN(auto db, pool_.acquire());
    CERTDEPLOY_TRY_ASSIGN(auto s,
                          db->prepare("UPDATE tokens SET revoked_at = ?2 WHERE name = ?1 AND revoked_at IS NULL"));
    s.bind(1, name).bind(2, at);
    CERTDEPLOY_TRY(s.run());
    return StoreResult<bool>(boost::system::in_place_value, db->changes() > 0);
}

StoreResult<void> SqlControllerStore::touch_token(const std::string& name, const std::string& at) {
    CERTDEPLOY_TRY_ASSIGN(auto db, pool_.acquire());
    CERTDEPLOY_TRY_ASSIGN(auto s, db->prepare("UPDATE tokens SET last_used_at = ?2 WHERE name = ?1"));
    s.bind(1, name).bind(2, at);
    return s.run();
}

StoreResult<void> SqlControllerStore::append_audit(const AuditRow& row) {
    CERTDEPLOY_TRY_ASSIGN(auto db, pool_.acquire());
    CERTDEPLOY_TRY_ASSIGN(
        auto s, db->prepare("INSERT INTO audit_log (at, token, client, method, route, server, thumbprint, job, "
                            "status, code) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"));
    s.bind(1, row.at).bind_optional(2, row.token).bind(3, row.client).bind(4, row.method).bind(5, row.route);
    s.bind_optional(6, row.server).bind_optional(7, row.thumbprint).bind_optional(8, row.job);
    s.bind(9, static_cast<std::int64_t>(row.status)).bind_optional(10, row.code);
    return s.run();
}

StoreResult<std::vector<AuditRow>> SqlControllerStore::list_audit(const AuditFilter& filter) {
    CERTDEPLOY_TRY_ASSIGN(auto db, pool_.acquire());
    CERTDEPLOY_TRY_ASSIGN(
        auto s, db->prepare("SELECT " + std::string(kAuditColumns) +
                            " FROM audit_log WHERE (CAST(?1 AS TEXT) IS NULL OR at >= ?1)"
                            " AND (CAST(?2 AS TEXT) IS NULL OR at < ?2) AND (CAST(?3 AS TEXT) IS NULL OR token = ?3)"
                            " AND (CAST(?4 AS TEXT) IS NULL OR server = ?4)"
                            " AND (CAST(?5 AS INTEGER) IS NULL OR (?5 = 1) = (status >= 400))"
                            " AND (?6 = 0 OR seq < ?6) ORDER BY seq DESC LIMIT ?7"));
    s.bind_optional(1, filter.since).bind_optional(2, filter.until).bind_optional(3, filter.token);
    s.bind_optional(4, filter.server);
    if (filter.refused) {
        s.bind(5, static_cast<std::int64_t>(*filter.refused ? 1 : 0));
    } else {
        s.bind_null(5);
    }
    s.bind(6, filter.beforeSeq).bind(7, static_cast<std::int64_t>(filter.limit));
    return collect<AuditRow>(s, read_audit);
}

}  // namespace certdeploy::store
