#include "cli/controller_database.hpp"

#include <sys/stat.h>

#include <fstream>
#include <iterator>
#include <string_view>

#include "service/secret.hpp"

namespace certdeploy::cli {
namespace {

std::optional<DatabaseFailure> read_password(const std::filesystem::path& file, Secret& password) {
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0) {
        return DatabaseFailure{2, "databasePasswordFile " + file.string() + " cannot be read"};
    }
    if ((st.st_mode & 077) != 0) {
        return DatabaseFailure{
            2, "databasePasswordFile " + file.string() + " may be read by others than its owner: chmod 600 it"};
    }
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        return DatabaseFailure{2, "databasePasswordFile " + file.string() + " cannot be read"};
    }
    Secret text;
    {
        std::string raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        const std::size_t end = raw.find_first_of("\r\n");  // the first line: an editor's newline is not part of it
        text.assign(std::string_view(raw).substr(0, end));
        wipe(raw);
    }
    if (text.empty()) {
        return DatabaseFailure{2, "databasePasswordFile " + file.string() + " is empty"};
    }
    password = std::move(text);
    return std::nullopt;
}

}  // namespace

std::string database_engine(const DatabaseChoice& choice) {
    return choice.database ? "postgresql" : "sqlite";
}

OpenedDatabase open_controller_database(const DatabaseChoice& choice) {
    if (!choice.database) {
        auto opened = store::open_sqlite_controller_store(choice.dataDir);
        if (!opened) {
            return {nullptr, DatabaseFailure{1, "cannot open the database in " + choice.dataDir.string() + ": " +
                                                    opened.error().what}};
        }
        return {std::shared_ptr<store::ControllerStore>(std::move(*opened)), std::nullopt};
    }
    if (auto problem = store::postgresql_conninfo_problem(*choice.database)) {
        return {nullptr, DatabaseFailure{2, "database: " + *problem}};
    }
    // The data directory still holds this controller's own files (its id, the fleet CA, the upload key).
    std::error_code ec;
    std::filesystem::create_directories(choice.dataDir, ec);
    std::filesystem::permissions(choice.dataDir, std::filesystem::perms::owner_all, ec);
    if (ec) {
        return {nullptr, DatabaseFailure{
                             1, "cannot create the data directory " + choice.dataDir.string() + ": " + ec.message()}};
    }
    Secret password;
    if (choice.passwordFile) {
        if (auto failure = read_password(*choice.passwordFile, password)) {
            return {nullptr, failure};
        }
    }
    auto opened = store::open_postgresql_controller_store(*choice.database, password.reveal(), choice.maxConnections);
    if (!opened) {
        return {nullptr, DatabaseFailure{1, "cannot open the PostgreSQL database: " + opened.error().what}};
    }
    return {std::shared_ptr<store::ControllerStore>(std::move(*opened)), std::nullopt};
}

}  // namespace certdeploy::cli
