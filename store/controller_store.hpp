#pragma once
// The controller's persistent state, behind an interface: SQLite now (one controller), PostgreSQL later
// (several controllers side by side). Rows are plain data; the service layer gives them meaning.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "store/certificate_directory_store.hpp"  // StoreError, StoreResult
#include "store/sqlite_database.hpp"

namespace certdeploy::store {

struct ServerRow {
    std::string name;
    std::string agentUrl;
    std::string labelsJson = "{}";
    std::string createdAt;
    std::string updatedAt;
    std::optional<std::string> lastContact;
    std::optional<bool> reachable;
    std::optional<std::string> agentVersion;
};

class ControllerStore {
  public:
    virtual ~ControllerStore() = default;

    // Creates or updates name, agentUrl, labels and updatedAt (createdAt only on creation). True: created.
    virtual StoreResult<bool> upsert_server(const ServerRow& row) = 0;
    virtual StoreResult<std::optional<ServerRow>> get_server(const std::string& name) = 0;
    // Ordered by name, those after `after`, at most `limit`.
    virtual StoreResult<std::vector<ServerRow>> list_servers(const std::string& after, std::size_t limit) = 0;
    virtual StoreResult<bool> delete_server(const std::string& name) = 0;
    virtual StoreResult<void> record_contact(const std::string& name, bool reachable,
                                             const std::optional<std::string>& agent_version,
                                             const std::string& at) = 0;
};

// Opens (creating and migrating) DATA_DIR/controller.db.
StoreResult<std::unique_ptr<ControllerStore>> open_sqlite_controller_store(const std::filesystem::path& data_dir);

}  // namespace certdeploy::store
