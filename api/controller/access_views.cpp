#include "api/controller/access_views.hpp"

namespace certdeploy::api {
namespace {

using nlohmann::json;

json optional_json(const std::optional<std::string>& value) {
    return value ? json(*value) : json(nullptr);
}

}  // namespace

json token_json(const store::TokenRow& row) {
    return {{"name", row.name},
            {"role", row.role},
            {"scope", row.scoped ? json(row.scope) : json(nullptr)},
            {"createdAt", row.createdAt},
            {"expiresAt", optional_json(row.expiresAt)},
            {"lastUsedAt", optional_json(row.lastUsedAt)},
            {"revokedAt", optional_json(row.revokedAt)}};
}

json audit_page_json(const controller::AuditPage& page) {
    json entries = json::array();
    for (const auto& row : page.entries) {
        entries.push_back({{"id", row.seq},
                           {"at", row.at},
                           {"token", optional_json(row.token)},
                           {"client", row.client},
                           {"method", row.method},
                           {"route", row.route},
                           {"server", optional_json(row.server)},
                           {"thumbprint", optional_json(row.thumbprint)},
                           {"job", optional_json(row.job)},
                           {"status", row.status},
                           {"code", optional_json(row.code)}});
    }
    return {{"entries", std::move(entries)}, {"next", optional_json(page.next)}};
}

}  // namespace certdeploy::api
