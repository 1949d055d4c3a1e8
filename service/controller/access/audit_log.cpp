#include "service/controller/access/audit_log.hpp"

#include <nlohmann/json.hpp>

#include "service/controller/store_errors.hpp"
#include "service/log.hpp"
#include "service/time/rfc3339.hpp"
#include "service/try.hpp"

namespace certdeploy::controller {
namespace {

nlohmann::json optional_json(const std::optional<std::string>& value) {
    return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

}  // namespace

AuditLog::AuditLog(std::shared_ptr<store::ControllerStore> store) : store_(std::move(store)) {}

void AuditLog::record(store::AuditRow entry) {
    entry.at = rfc3339_now();
    nlohmann::json fields{{"at", entry.at},
                          {"token", optional_json(entry.token)},
                          {"client", entry.client},
                          {"method", entry.method},
                          {"route", entry.route},
                          {"server", optional_json(entry.server)},
                          {"thumbprint", optional_json(entry.thumbprint)},
                          {"job", optional_json(entry.job)},
                          {"status", entry.status},
                          {"code", optional_json(entry.code)}};
    if (auto stored = store_->append_audit(entry); !stored) {
        fields["stored"] = false;
        fields["storeError"] = stored.error().what;
    }
    log::audit(entry.status >= 400 ? "refused" : "done", fields);
}

Result<AuditPage> AuditLog::list(const store::AuditFilter& filter) const {
    AuditPage page;
    CERTDEPLOY_TRY_ASSIGN_AS(page.entries, store_->list_audit(filter), from_store);
    if (page.entries.size() == filter.limit && !page.entries.empty()) {
        page.next = std::to_string(page.entries.back().seq);
    }
    return page;
}

}  // namespace certdeploy::controller
