#include "tests/support/test_database.hpp"

#include <stdexcept>

#include "tests/support/postgresql_server.hpp"

namespace certdeploy::test {

TestDatabase::TestDatabase(store::Dialect engine) : engine_(engine) {
    if (engine_ == store::Dialect::postgresql) {
        conninfo_ = fresh_postgresql_database();
    }
}

std::string TestDatabase::password() const {
    std::string text = read_file(shared_postgresql().password_file());
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) {
        text.pop_back();
    }
    return text;
}

std::unique_ptr<store::ControllerStore> TestDatabase::open() const {
    auto opened = engine_ == store::Dialect::postgresql
                      ? store::open_postgresql_controller_store(conninfo_, password(), 8)
                      : store::open_sqlite_controller_store(dir_.path());
    if (!opened) {
        throw std::runtime_error("cannot open the test database: " + opened.error().what);
    }
    return std::move(*opened);
}

}  // namespace certdeploy::test
