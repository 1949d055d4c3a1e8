// The real executable on port 0: ready file, /healthz over a real socket, and a clean stop on a signal
// while clients hold connections open.

#include <doctest/doctest.h>

#include <csignal>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/support/dev_pki.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

using namespace certdeploy::test;
using namespace std::chrono_literals;

namespace {

struct Running {
    TempDir dir;
    std::unique_ptr<ChildProcess> child;
    std::string address;
    std::optional<DevPki> pki;          // the agent serves HTTPS only
    std::optional<TlsClientFiles> tls;  // what a client of this process presents

    explicit Running(const std::string& role, const std::string& grace_seconds = "10",
                     const std::string& listen = "127.0.0.1:0") {
        start(role, grace_seconds, listen);
    }

    // The grace period defaults to 10 s, far above the 2 s the tests allow, so that a server which waited
    // for idle connections instead of closing them at once would fail.
    void start(const std::string& role, const std::string& grace_seconds, const std::string& listen) {
        const auto ready = dir / (role + ".addr");
        std::filesystem::remove(ready);
        std::vector<std::string> args{role,           "--listen",    listen,  "--ready-file",
                                      ready.string(), "--log-level", "debug", "--shutdown-grace-seconds",
                                      grace_seconds};
        if (role == "server") {
            args.insert(args.end(), {"--data-dir", (dir / "data").string(), "--insecure-http"});
        }
        if (role == "agent") {
            if (!pki) {
                pki.emplace(dir / "pki", std::vector<std::string>{"ex01"});
                tls = pki->controller();
            }
            const auto flags = pki->agent_flags("ex01");
            args.insert(args.end(), flags.begin(), flags.end());
            args.insert(args.end(), {"--name", "ex01", "--store", (dir / "store").string()});
        }
        child = std::make_unique<ChildProcess>(certdeploy_binary(), args, dir.path());
        address = wait_for_ready_file(ready, 10s);
        INFO("stderr: " << child->stderr_text());
        REQUIRE_FALSE(address.empty());
    }

    std::uint16_t port() const { return static_cast<std::uint16_t>(std::stoi(address.substr(address.rfind(':') + 1))); }
};

}  // namespace

TEST_CASE("server and agent write the ready file, answer /healthz, and stop within 2 s on SIGTERM") {
    for (const std::string role : {"server", "agent"}) {
        CAPTURE(role);
        Running proc(role);
        CHECK(proc.address.rfind("127.0.0.1:", 0) == 0);
        CHECK(proc.port() != 0);

        auto res = http_get(proc.address, "/healthz", proc.tls);
        CHECK(res.result() == http::status::ok);
        CHECK(res[http::field::content_type] == "application/json");
        auto body = nlohmann::json::parse(res.body());
        CHECK(body["status"] == "ok");
        CHECK(body["role"] == role);
        CHECK(body["version"].is_string());
        // libpq (and Kerberos, LDAP, GnuTLS behind it) is loaded only by a controller on PostgreSQL
        // (store/libpq.hpp): neither an agent nor a controller on SQLite maps it, nor any of those.
        for (const std::string library : {"libpq.so", "libkrb5.so", "libldap", "libgnutls.so"}) {
            CAPTURE(library);
            CHECK_FALSE(maps_file(proc.child->pid(), library));
        }
        CHECK(maps_file(proc.child->pid(), "libssl.so"));  // the check reads the maps it means to

        // A keep-alive client that has finished a request and holds the connection open.
        HttpClient idle(proc.address, proc.tls);
        CHECK(idle.request(http::verb::get, "/healthz").keep_alive());

        const auto signalled = std::chrono::steady_clock::now();
        proc.child->signal(SIGTERM);
        auto status = proc.child->wait_for_exit(2s);
        INFO("stderr: " << proc.child->stderr_text());
        REQUIRE(status.has_value());
        CHECK(std::chrono::steady_clock::now() - signalled < 2s);
        CHECK(status->exited);
        CHECK(status->code == 0);
        CHECK(idle.closed_by_peer(1s));
        CHECK_FALSE(std::filesystem::exists(proc.dir / (role + ".addr")));  // removed at exit

        // The port is free again: a new process binds the very same one.
        const auto port = proc.port();
        proc.start(role, "10", "127.0.0.1:" + std::to_string(port));
        CHECK(proc.port() == port);
        CHECK(http_get(proc.address, "/healthz", proc.tls).result() == http::status::ok);
        proc.child->signal(SIGINT);
        auto second = proc.child->wait_for_exit(2s);
        REQUIRE(second.has_value());
        CHECK(second->code == 0);
    }
}

TEST_CASE("a request begun before SIGTERM is answered, with Connection: close") {
    Running proc("server");
    HttpClient client(proc.address);
    // Half a request: the headers are not finished.
    client.send_raw("GET /healthz HTTP/1.1\r\nHost: test\r\n");
    std::this_thread::sleep_for(100ms);  // let the server read the first bytes
    proc.child->signal(SIGTERM);
    std::this_thread::sleep_for(200ms);
    CHECK_FALSE(proc.child->wait_for_exit(0ms).has_value());  // still serving the request in flight
    client.send_raw("\r\n");
    auto res = client.read_response(2s);
    CHECK(res.result() == http::status::ok);
    CHECK_FALSE(res.keep_alive());
    auto status = proc.child->wait_for_exit(2s);
    REQUIRE(status.has_value());
    CHECK(status->code == 0);
}

TEST_CASE("a request that never completes is cut off when the grace period ends") {
    Running proc("server", "1");
    HttpClient client(proc.address);
    client.send_raw("GET /healthz HTTP/1.1\r\nHost: test\r\n");  // and nothing more, ever
    std::this_thread::sleep_for(100ms);
    const auto signalled = std::chrono::steady_clock::now();
    proc.child->signal(SIGTERM);
    auto status = proc.child->wait_for_exit(10s);
    REQUIRE(status.has_value());
    CHECK(status->code == 0);
    CHECK(std::chrono::steady_clock::now() - signalled >= 900ms);  // it did wait for the request (1 s grace)
    CHECK(client.closed_by_peer(1s));
}

TEST_CASE("a port already in use stops the process with status 1 and says why") {
    Running first("server");
    TempDir dir;
    auto result = run_certdeploy(
        {"server", "--listen", first.address, "--insecure-http", "--data-dir", (dir / "data").string()}, dir.path());
    CHECK(result.status.exited);
    CHECK(result.status.code == 1);
    CHECK(result.err.find("cannot listen on " + first.address) != std::string::npos);
    CHECK(result.err.find("in use") != std::string::npos);
}
