#pragma once
// The audit log: who changed what, who exported a key, who was refused. Each record goes to the database
// (an append-only table) and to the log as a line with "component": "audit". It names a token, never a
// secret; it holds no password, key or file bytes.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "service/error.hpp"
#include "store/controller_store.hpp"

namespace certdeploy::controller {

struct AuditPage {
    std::vector<store::AuditRow> entries;  // newest first
    std::optional<std::string> next;       // continues the page
};

class AuditLog {
  public:
    explicit AuditLog(std::shared_ptr<store::ControllerStore> store);

    // Sets the time and writes the entry; a record the database refuses is still logged, and the error
    // logged with it (the request it describes has happened).
    void record(store::AuditRow entry);
    Result<AuditPage> list(const store::AuditFilter& filter) const;

    static constexpr std::size_t kDefaultPageSize = 100;
    static constexpr std::size_t kMaxPageSize = 1000;

  private:
    std::shared_ptr<store::ControllerStore> store_;
};

}  // namespace certdeploy::controller
