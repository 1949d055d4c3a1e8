#pragma once
// A real PostgreSQL for tests: Debian's server (/usr/lib/postgresql/<version>/bin), a cluster made by initdb
// in a temporary directory owned by the unprivileged `postgres` user (PostgreSQL refuses to run as root),
// listening on a free loopback port and a socket in that directory. Host connections need a password
// (scram-sha-256), kept in a 0600 file as the controller's configuration would name it. Stopped and removed
// with the object.

#include <filesystem>
#include <string>

namespace certdeploy::test {

class PostgresqlServer {
  public:
    // How a commit reaches the disk: the tests' server skips fsync (its data never outlives the machine's
    // uptime); a benchmark comparing it with SQLite (synchronous=FULL) asks for fsync as shipped.
    enum class Durability { no_fsync, fsync };
    // Throws std::runtime_error with the tools' output when the cluster cannot start.
    explicit PostgresqlServer(Durability durability = Durability::no_fsync);
    ~PostgresqlServer();
    PostgresqlServer(const PostgresqlServer&) = delete;
    PostgresqlServer& operator=(const PostgresqlServer&) = delete;

    int port() const { return port_; }
    // A libpq connection string for `database`, over TCP, without the password.
    std::string conninfo(const std::string& database) const;
    const std::filesystem::path& password_file() const { return password_file_; }
    // Creates an empty database (through the socket, as postgres).
    void create_database(const std::string& name) const;
    // Runs one SQL command as postgres in `database`; returns psql's output (unaligned, tuples only).
    std::string psql(const std::string& database, const std::string& sql) const;
    // Stops the server at once (-m immediate: connections cut, as a crash would), and starts it again.
    void stop();
    void start();

  private:
    std::filesystem::path root_;  // owned by postgres: data/, the socket, the log
    std::filesystem::path bin_;
    std::filesystem::path password_file_;
    int port_ = 0;
    Durability durability_;
};

// One server for the whole test process, started on first use; each call of fresh_database() makes a new
// empty database in it and returns its conninfo.
PostgresqlServer& shared_postgresql();
std::string fresh_postgresql_database();

}  // namespace certdeploy::test
