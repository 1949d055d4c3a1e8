#include "tests/support/postgresql_server.hpp"

#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <memory>
#include <random>
#include <stdexcept>
#include <vector>

namespace certdeploy::test {
namespace {

// Runs `argv` as the postgres user; returns its output, or throws with it when it fails.
std::string run_as_postgres(const std::vector<std::string>& argv) {
    std::string command = "runuser -u postgres --";
    for (const auto& arg : argv) {
        std::string quoted;
        for (char c : arg) {
            quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
        }
        command += " '" + quoted + "'";
    }
    command += " 2>&1";
    std::unique_ptr<FILE, decltype(&pclose)> pipe(popen(command.c_str(), "r"), &pclose);
    if (!pipe) {
        throw std::runtime_error("cannot run " + command);
    }
    std::string output;
    std::array<char, 4096> buffer{};
    while (auto n = fread(buffer.data(), 1, buffer.size(), pipe.get())) {
        output.append(buffer.data(), n);
    }
    const int status = pclose(pipe.release());
    if (status != 0) {
        throw std::runtime_error(command + " failed:\n" + output);
    }
    return output;
}

int free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    ::close(fd);
    return ntohs(address.sin_port);
}

std::filesystem::path server_binaries() {
    std::filesystem::path best;
    for (const auto& entry : std::filesystem::directory_iterator("/usr/lib/postgresql")) {
        if (std::filesystem::exists(entry.path() / "bin" / "initdb") && entry.path() > best) {
            best = entry.path();
        }
    }
    if (best.empty()) {
        throw std::runtime_error("no PostgreSQL server under /usr/lib/postgresql (Debian's postgresql package)");
    }
    return best / "bin";
}

}  // namespace

PostgresqlServer::PostgresqlServer(Durability durability) : bin_(server_binaries()), durability_(durability) {
    std::string pattern = (std::filesystem::temp_directory_path() / "certdeploy-pg-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
        throw std::runtime_error("mkdtemp failed");
    }
    root_ = pattern;
    const passwd* postgres = ::getpwnam("postgres");
    if (postgres == nullptr) {
        throw std::runtime_error("no postgres user (Debian's postgresql package makes it)");
    }
    std::random_device random;
    std::string password;
    for (int i = 0; i < 24; ++i) {
        password += "abcdefghijklmnopqrstuvwxyz0123456789"[random() % 36];
    }
    password_file_ = root_ / "password";
    std::ofstream(password_file_) << password << '\n';
    std::filesystem::permissions(password_file_,
                                 std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    if (::chown(root_.c_str(), postgres->pw_uid, postgres->pw_gid) != 0 ||
        ::chown(password_file_.c_str(), postgres->pw_uid, postgres->pw_gid) != 0) {
        throw std::runtime_error("cannot give " + root_.string() + " to postgres");
    }
    run_as_postgres({(bin_ / "initdb").string(), "-D", (root_ / "data").string(), "-U", "postgres",
                     "--pwfile=" + password_file_.string(), "--auth-local=trust", "--auth-host=scram-sha-256", "-E",
                     "UTF8", "--locale=C", "--no-sync"});
    start();
}

PostgresqlServer::~PostgresqlServer() {
    try {
        run_as_postgres({(bin_ / "pg_ctl").string(), "-D", (root_ / "data").string(), "-m", "immediate", "-w", "stop"});
    } catch (const std::exception&) {
        // already stopped
    }
    std::error_code ignored;
    std::filesystem::remove_all(root_, ignored);
}

void PostgresqlServer::start() {
    // A port that was free a moment ago may be taken by the time the server binds it: try a few.
    std::string last_error;
    for (int attempt = 0; attempt < 5; ++attempt) {
        const int port = port_ != 0 && attempt == 0 ? port_ : free_port();
        // fsync off for tests: they kill controllers and stop this server (immediate: its processes die, its
        // WAL stays in the kernel's cache), never the machine. Commits stay synchronous, so a stop loses nothing.
        const std::string options =
            "-p " + std::to_string(port) + " -k " + root_.string() +
            " -c listen_addresses=127.0.0.1 -c max_connections=200" +
            (durability_ == Durability::no_fsync ? " -c fsync=off -c full_page_writes=off" : "");
        try {
            run_as_postgres({(bin_ / "pg_ctl").string(), "-D", (root_ / "data").string(), "-l",
                             (root_ / "log").string(), "-o", options, "-w", "-t", "30", "start"});
            port_ = port;
            return;
        } catch (const std::exception& e) {
            last_error = e.what();
        }
    }
    throw std::runtime_error("PostgreSQL did not start: " + last_error);
}

void PostgresqlServer::stop() {
    run_as_postgres({(bin_ / "pg_ctl").string(), "-D", (root_ / "data").string(), "-m", "immediate", "-w", "stop"});
}

std::string PostgresqlServer::conninfo(const std::string& database) const {
    return "host=127.0.0.1 port=" + std::to_string(port_) + " user=postgres dbname=" + database;
}

std::string PostgresqlServer::psql(const std::string& database, const std::string& sql) const {
    return run_as_postgres({(bin_ / "psql").string(), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h",
                            root_.string(), "-p", std::to_string(port_), "-d", database, "-c", sql});
}

void PostgresqlServer::create_database(const std::string& name) const {
    psql("postgres", "CREATE DATABASE " + name);
}

PostgresqlServer& shared_postgresql() {
    static PostgresqlServer server;
    return server;
}

std::string fresh_postgresql_database() {
    static std::atomic<int> next{0};
    const std::string name = "certdeploy_" + std::to_string(::getpid()) + "_" + std::to_string(++next);
    shared_postgresql().create_database(name);
    return shared_postgresql().conninfo(name);
}

}  // namespace certdeploy::test
