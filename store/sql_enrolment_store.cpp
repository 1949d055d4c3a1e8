// Join tokens and agents' identities (store/migrations/*/004_enrolment.sql).

#include "service/try.hpp"
#include "store/row_codec.hpp"
#include "store/sql_controller_store.hpp"

namespace certdeploy::store {
namespace {

constexpr std::string_view kJoinColumns =
    "id, secret_hash, server, labels, uses_left, created_by, created_at, expires_at, revoked_at";

JoinTokenRow read_join_token(const Statement& s) {
    JoinTokenRow row;
    row.id = s.text(0);
    row.secretHash = s.text(1);
    row.server = s.optional_text(2);
    row.labels = decode_labels(s.text(3));
    row.usesLeft = static_cast<int>(s.integer(4));
    row.createdBy = s.text(5);
    row.createdAt = s.text(6);
    row.expiresAt = s.text(7);
    row.revokedAt = s.optional_text(8);
    return row;
}

constexpr std::string_view kIdentityColumns = "fingerprint, server, serial, issued_at, not_after, revoked_at";

AgentIdentityRow read_identity(const Statement& s) {
    AgentIdentityRow row;
    row.fingerprint = s.text(0);
    row.server = s.text(1);
    row.serial = s.text(2);
    row.issuedAt = s.text(3);
    row.notAfter = s.text(4);
    row.revokedAt = s.optional_text(5);
    return row;
}

StoreResult<bool> changed(const Connection& db) {
    return StoreResult<bool>(boost::system::in_place_value, db.changes() > 0);
}

}  // namespace

StoreResult<void> SqlControllerStore::create_join_token(const JoinTokenRow& row) {
    CERTDEPLOY_TRY_ASSIGN(auto db, pool_.acquire());
    CERTDEPLOY_TRY_ASSIGN(auto s, db->prepare("INSERT INTO join_tokens (" + std::string(kJoinColumns) +
                                              ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, NULL)"));
    s.bind(1, row.id).bind(2, row.secretHash).bind_optional(3, row.server).bind(4, encode_labels(row.labels));
    s.bind(5, static_cast<std::int64_t>(row.usesLeft)).bind(6, row.createdBy).bind(7, row.createdAt);
    s.bind(8, row.expiresAt);
    return s.run();
}

StoreResult<std::vector<JoinTokenRow>> SqlControllerStore::list_join_tokens() {
    CERTDEPLOY_TRY_ASSIGN(auto db, pool_.acquire());
    CERTDEPLOY_TRY_ASSIGN(
        auto s, db->prepare("SELECT " + std::string(kJoinColumns) + " FROM join_tokens ORDER BY created_at DESC, id"));
    return collect<JoinTokenRow>(s, read_join_token);
}

StoreResult<std::optional<JoinTokenRow>> SqlControllerStore::join_token_by_hash(const std::string& secret_hash) {
    CERTDEPLOY_TRY_ASSIGN(auto db, pool_.acquire());
    CERTDEPLOY_TRY_ASSIGN(
        auto s, db->prepare("SELECT " + std::string(kJoinColumns) + " FROM join_tokens WHERE secret_hash = ?1"));
    s.bind(1, secret_hash);
    return first_row<JoinTokenRow>(s, read_join_token);
}

StoreResult<bool> SqlControllerStore::revoke_join_token(const std::string& id, const std::string& at) {
    CERTDEPLOY_TRY_ASSIGN(auto db, pool_.acquire());
    CERTDEPLOY_TRY_ASSIGN(auto s,
                          db->prepare("UPDATE join_tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL"));
    s.bind(1, id).bind(2, at);
    CERTDEPLOY_TRY(s.run());
    return changed(*db);
}

StoreResult<bool> SqlControllerStore::take_join_token_use(const std::string& secret_hash, const std::string& at) {
    CERTDEPLOY_TRY_ASSIGN(auto db, pool_.acquire());
    // One statement: two agents presenting a single-use token at once cannot both get a use.
    CERTDEPLOY_TRY_ASSIGN(auto s, db->prepare("UPDATE join_tokens SET uses_left = uses_left - 1 WHERE secret_hash = ?1 "
                                              "AND uses_left > 0 AND revoked_at IS NULL AND expires_at > ?2"));
    s.bind(1, secret_hash).bind(2, at);
    CERTDEPLOY_TRY(s.run());
    return changed(*db);
}

StoreResult<void> SqlControllerStore::record_identity(const AgentIdentityRow& row) {
    CERTDEPLOY_TRY_ASSIGN(auto db, pool_.acquire());
    CERTDEPLOY_TRY_ASSIGN(auto s, db->prepare("INSERT INTO agent_identities (" + std::string(kIdentityColumns) +
                                              ") VALUES (?1, ?2, ?3, ?4, ?5, NULL)"));
    s.bind(1, row.fingerprint).bind(2, row.server).bind(3, row.serial).bind(4, row.issuedAt).bind(5, row.notAfter);
    return s.run();
}

StoreResult<std::optional<AgentIdentityRow>> SqlControllerStore::identity(const std::string& fingerprint) {
    CERTDEPLOY_TRY_ASSIGN(auto db, pool_.acquire());
    CERTDEPLOY_TRY_ASSIGN(auto s, db->prepare("SELECT " + std::string(kIdentityColumns) +
                                              " FROM agent_identities WHERE fingerprint = ?1"));
    s.bind(1, fingerprint);
    return first_row<AgentIdentityRow>(s, read_identity);
}

StoreResult<std::vector<AgentIdentityRow>> SqlControllerStore::identities_of(const std::string& server) {
    CERTDEPLOY_TRY_ASSIGN(auto db, pool_.acquire());
    CERTDEPLOY_TRY_ASSIGN(auto s, db->prepare("SELECT " + std::string(kIdentityColumns) +
                                              " FROM agent_identities WHERE server = ?1 ORDER BY issued_at"));
    s.bind(1, server);
    return collect<AgentIdentityRow>(s, read_identity);
}

StoreResult<std::vector<std::string>> SqlControllerStore::revoke_identities(const std::string& server,
                                                                            const std::string& at) {
    CERTDEPLOY_TRY_ASSIGN(auto db, pool_.acquire());
    // One statement: what it revoked is what it answers, even with another controller revoking at once.
    CERTDEPLOY_TRY_ASSIGN(auto s, db->prepare("UPDATE agent_identities SET revoked_at = ?2 WHERE server = ?1 AND "
                                              "revoked_at IS NULL RETURNING fingerprint"));
    s.bind(1, server).bind(2, at);
    return collect<std::string>(s, [](const Statement& row) { return row.text(0); });
}

StoreResult<std::vector<std::string>> SqlControllerStore::revoked_identities() {
    CERTDEPLOY_TRY_ASSIGN(auto db, pool_.acquire());
    CERTDEPLOY_TRY_ASSIGN(auto s, db->prepare("SELECT fingerprint FROM agent_identities WHERE revoked_at IS NOT NULL"));
    return collect<std::string>(s, [](const Statement& row) { return row.text(0); });
}

}  // namespace certdeploy::store
