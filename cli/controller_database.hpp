#pragma once
// Opens the controller's store as its configuration says: SQLite in DATA_DIR/controller.db (the default), or
// PostgreSQL (`database`) with the password read from `databasePasswordFile` (0600, wiped once the store
// has its copy). The server and the token command share it.

#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "store/controller_store.hpp"

namespace certdeploy::cli {

struct DatabaseChoice {
    std::filesystem::path dataDir;
    std::optional<std::string> database;
    std::optional<std::filesystem::path> passwordFile;
    std::size_t maxConnections = 8;
};

struct DatabaseFailure {
    int exitCode = 1;     // 2: the configuration is wrong; 1: the database could not be opened
    std::string message;  // one line, no secret
};

struct OpenedDatabase {
    std::shared_ptr<store::ControllerStore> store;
    std::optional<DatabaseFailure> failure;
};

OpenedDatabase open_controller_database(const DatabaseChoice& choice);

// "sqlite" or "postgresql", for the log.
std::string database_engine(const DatabaseChoice& choice);

}  // namespace certdeploy::cli
