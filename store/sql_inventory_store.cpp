// The fleet's inventory: per server and thumbprint, the agent's last description of it.

#include "service/try.hpp"
#include "store/sql_controller_store.hpp"

namespace certdeploy::store {
namespace {

// Only for a registered server: a probe or a target finishing as the server is deleted leaves no ghost rows.
constexpr std::string_view kInsert = R"sql(
INSERT INTO inventory (server, thumbprint, certificate, status, not_after, seen_at)
SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE EXISTS (SELECT 1 FROM servers WHERE name = ?1)
ON CONFLICT (thumbprint, server) DO UPDATE SET certificate = excluded.certificate, status = excluded.status,
    not_after = excluded.not_after, seen_at = excluded.seen_at)sql";

// The filters, written once and used for the page of thumbprints and for their rows. ?1 status, ?2 server,
// ?3 domain (exact, or under a wildcard such as *.contoso.com), ?4 expiring before (a pending request, with
// no date, never is), ?7 thumbprint. The domain test reads the certificate's JSON, which each engine does in
// its own words; the rest is common.
constexpr std::string_view kFilter = R"sql(
(CAST(?1 AS TEXT) IS NULL OR status = ?1) AND (CAST(?2 AS TEXT) IS NULL OR server = ?2) AND (CAST(?4 AS TEXT) IS NULL OR (not_after <> '' AND not_after < ?4))
AND (CAST(?7 AS TEXT) IS NULL OR thumbprint = ?7) AND (CAST(?3 AS TEXT) IS NULL OR EXISTS )sql";

constexpr std::string_view kDomainMatchSqlite = R"sql(
(SELECT 1 FROM json_each(certificate, '$.certificateDomains') d
     WHERE lower(d.value) = lower(?3)
        OR (substr(d.value, 1, 2) = '*.' AND length(?3) >= length(d.value)
            AND lower(substr(?3, -(length(d.value) - 1))) = lower(substr(d.value, 2))
            AND instr(substr(?3, 1, length(?3) - length(d.value) + 1), '.') = 0))))sql";

constexpr std::string_view kDomainMatchPostgresql = R"sql(
(SELECT 1 FROM jsonb_array_elements_text(CASE WHEN jsonb_typeof(certificate::jsonb -> 'certificateDomains') = 'array'
                                              THEN certificate::jsonb -> 'certificateDomains' ELSE '[]' END) d (value)
     WHERE lower(d.value) = lower(?3)
        OR (left(d.value, 2) = '*.' AND length(?3) >= length(d.value)
            AND lower(right(?3, length(d.value) - 1)) = lower(substr(d.value, 2))
            AND strpos(left(?3, length(?3) - length(d.value) + 1), '.') = 0))))sql";

std::string filter_for(const Connection& db) {
    return std::string(kFilter) +
           std::string(db.dialect() == Dialect::postgresql ? kDomainMatchPostgresql : kDomainMatchSqlite);
}

}  // namespace

StoreResult<void> SqlControllerStore::insert_inventory(Connection& db, const InventoryRow& row) {
    CERTDEPLOY_TRY_ASSIGN(auto s, db.prepare(kInsert));
    s.bind(1, row.server).bind(2, row.thumbprint).bind(3, row.certificateJson).bind(4, row.status);
    s.bind(5, row.notAfter).bind(6, row.seenAt);
    return s.run();
}

StoreResult<void> SqlControllerStore::delete_inventory(Connection& db, const std::string& server,
                                                       const std::string& thumbprint) {
    CERTDEPLOY_TRY_ASSIGN(auto s, db.prepare("DELETE FROM inventory WHERE server = ?1 AND thumbprint = ?2"));
    s.bind(1, server).bind(2, thumbprint);
    return s.run();
}

StoreResult<bool> SqlControllerStore::replace_inventory(const std::string& server,
                                                        const std::vector<InventoryRow>& rows,
                                                        const std::string& asked_at) {
    CERTDEPLOY_TRY_ASSIGN(auto db, pool_.acquire());
    Transaction tx(*db);
    CERTDEPLOY_TRY(tx.begin());
    // Times are kept to the second: a target that finished in the second the list was asked for counts as
    // newer, so a list never undoes a job's answer (the next probe refreshes the server anyway).
    CERTDEPLOY_TRY_ASSIGN(auto newer, db->prepare("SELECT EXISTS (SELECT 1 FROM targets WHERE server = ?1 AND "
                                                  "finished_at >= ?2)"));
    newer.bind(1, server).bind(2, asked_at);
    CERTDEPLOY_TRY_ASSIGN(auto stale, newer.step());
    if (stale && newer.integer(0) != 0) {
        return StoreResult<bool>(boost::system::in_place_value, false);  // rolled back: nothing written
    }
    CERTDEPLOY_TRY_ASSIGN(auto clear, db->prepare("DELETE FROM inventory WHERE server = ?1"));
    clear.bind(1, server);
    CERTDEPLOY_TRY(clear.run());
    for (const auto& row : rows) {
        CERTDEPLOY_TRY(insert_inventory(*db, row));
    }
    CERTDEPLOY_TRY(tx.commit());
    return StoreResult<bool>(boost::system::in_place_value, true);
}

StoreResult<void> SqlControllerStore::put_inventory(const InventoryRow& row) {
    CERTDEPLOY_TRY_ASSIGN(auto db, pool_.acquire());
    return insert_inventory(*db, row);
}

StoreResult<void> SqlControllerStore::drop_inventory(const std::string& server, const std::string& thumbprint) {
    CERTDEPLOY_TRY_ASSIGN(auto db, pool_.acquire());
    return delete_inventory(*db, server, thumbprint);
}

StoreResult<std::vector<InventoryRow>> SqlControllerStore::list_inventory(const InventoryFilter& filter) {
    CERTDEPLOY_TRY_ASSIGN(auto db, pool_.acquire());
    const std::string where = filter_for(*db);
    CERTDEPLOY_TRY_ASSIGN(
        auto s, db->prepare("SELECT server, thumbprint, certificate, status, not_after, seen_at FROM inventory WHERE " +
                            where + " AND thumbprint IN (SELECT DISTINCT thumbprint FROM inventory WHERE " + where +
                            " AND thumbprint > ?5 ORDER BY thumbprint LIMIT ?6) ORDER BY thumbprint, server"));
    s.bind_optional(1, filter.status).bind_optional(2, filter.server).bind_optional(3, filter.domain);
    s.bind_optional(4, filter.notAfterBefore).bind(5, filter.afterThumbprint);
    s.bind(6, static_cast<std::int64_t>(filter.limit)).bind_optional(7, filter.thumbprint);
    return collect<InventoryRow>(s, [](const Statement& row) {
        return InventoryRow{row.text(0), row.text(1), row.text(2), row.text(3), row.text(4), row.text(5)};
    });
}

}  // namespace certdeploy::store
