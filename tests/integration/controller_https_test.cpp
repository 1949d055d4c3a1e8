// The controller's API over HTTPS: served with `pki init`'s server certificate, plain HTTP only when asked
// for and only on loopback, and the certificate rotated by SIGHUP without dropping an open connection.

#include <doctest/doctest.h>

#include <csignal>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/support/controller_process.hpp"
#include "tests/support/dev_pki.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

using namespace certdeploy::test;
using namespace std::chrono_literals;

namespace {

std::string read_text(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

// The DER of the first certificate of a PEM file, through the openssl command.
std::string first_certificate_der(const std::filesystem::path& pem, const TempDir& dir) {
    const auto der = dir / "first.der";
    const auto command = "openssl x509 -in '" + pem.string() + "' -outform DER -out '" + der.string() + "'";
    REQUIRE(std::system(command.c_str()) == 0);
    return read_text(der);
}

// GET with the controller's admin token.
Response get(HttpClient& client, const std::string& target, const ControllerProcess& controller) {
    http::request<http::string_body> req{http::verb::get, target, 11};
    req.set(http::field::authorization, controller.bearer());
    return client.send(std::move(req));
}

}  // namespace

TEST_CASE("the controller serves its API over HTTPS with pki init's server certificate") {
    TempDir dir;
    auto made = run_certdeploy(
        {"pki", "init", (dir / "pki").string(), "--agents", "ex01", "--server-names", "controller.example,10.1.2.3"},
        dir.path());
    REQUIRE(made.status.code == 0);
    const DevPki pki{dir / "pki", {"ex01"}};  // kept: pki init adds nothing the second time

    // SANs: the loopback names and addresses, this host, and the names given.
    const auto san_file = dir / "san.txt";
    const auto command = "openssl x509 -noout -ext subjectAltName -in '" + (dir / "pki" / "server.pem").string() +
                         "' > '" + san_file.string() + "'";
    REQUIRE(std::system(command.c_str()) == 0);
    const auto san = read_text(san_file);
    for (const char* name : {"DNS:localhost", "IP Address:127.0.0.1", "IP Address:0:0:0:0:0:0:0:1",
                             "DNS:controller.example", "IP Address:10.1.2.3"}) {
        CAPTURE(name);
        CHECK(san.find(name) != std::string::npos);
    }

    ControllerProcess controller(dir.path(), pki.api_flags());
    HttpClient client(controller.address(), pki.anonymous());
    CHECK(get(client, "/healthz", controller).result() == http::status::ok);
    CHECK(get(client, "/v1/servers", controller).result() == http::status::ok);
    CHECK(client.peer_certificate_der() == first_certificate_der(dir / "pki" / "server.pem", dir));

    // Plain HTTP to the HTTPS port gets no HTTP answer: the handshake fails first.
    HttpClient plain(controller.address());
    plain.send_raw("GET /v1/servers HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(plain.closed_by_peer(5s));
}

TEST_CASE("plain HTTP only when asked for and only on a loopback address, TLS keys together") {
    TempDir dir;
    const DevPki pki{dir / "pki", {"ex01"}};
    struct Case {
        std::vector<std::string> flags;
        std::string names;  // what the one-line error must name
    };
    const std::string cert = (dir / "pki" / "server.pem").string();
    const std::string key = (dir / "pki" / "server.key").string();
    const std::vector<Case> cases = {
        {{}, "\"tlsCert\""},
        {{"--insecure-http", "--listen", "0.0.0.0:0"}, "\"insecureHttp\""},
        {{"--insecure-http", "--listen", "[::]:0"}, "\"insecureHttp\""},
        {{"--tls-cert", cert}, "\"tlsKey\""},
        {{"--tls-cert", cert, "--tls-key", key, "--insecure-http"}, "\"insecureHttp\""},
        {{"--tls-cert", cert, "--tls-key", cert}, "tlsKey"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.flags);
        std::vector<std::string> args{"server", "--data-dir", (dir / "data").string()};
        args.insert(args.end(), c.flags.begin(), c.flags.end());
        auto result = run_certdeploy(args, dir.path());
        CHECK(result.status.code == 2);
        CHECK(result.err.find(c.names) != std::string::npos);
        CHECK(std::count(result.err.begin(), result.err.end(), '\n') == 1);
    }
    // On loopback, when asked for, plain HTTP it is.
    ControllerProcess controller(dir.path());
    CHECK(controller.call(http::verb::get, "/v1/servers").result() == http::status::ok);
}

TEST_CASE("SIGHUP rotates the API certificate: new connections get the new one, an open one goes on") {
    TempDir dir;
    const DevPki first{dir / "first", {"ex01"}};
    const DevPki second{dir / "second", {"ex01"}};
    // The files the controller is configured with; the client trusts both CAs.
    std::filesystem::create_directories(dir / "live");
    std::filesystem::copy_file(dir / "first" / "server.pem", dir / "live" / "server.pem");
    std::filesystem::copy_file(dir / "first" / "server.key", dir / "live" / "server.key");
    {
        std::ofstream both(dir / "both-cas.pem", std::ios::binary);
        both << read_text(dir / "first" / "ca.pem") << read_text(dir / "second" / "ca.pem");
    }
    const TlsClientFiles trust{(dir / "both-cas.pem").string(), {}, {}};
    ControllerProcess controller(dir.path(), {"--tls-cert", (dir / "live" / "server.pem").string(), "--tls-key",
                                              (dir / "live" / "server.key").string()});

    HttpClient open(controller.address(), trust);
    CHECK(get(open, "/v1/servers", controller).result() == http::status::ok);
    const auto first_der = first_certificate_der(dir / "first" / "server.pem", dir);
    CHECK(open.peer_certificate_der() == first_der);

    // A broken file is refused and the current certificate stays.
    {
        std::ofstream broken(dir / "live" / "server.pem", std::ios::binary | std::ios::trunc);
        broken << "not a certificate\n";
    }
    controller.process().signal(SIGHUP);
    for (int i = 0; i < 100 && controller.process().stderr_text().find("TLS reload failed") == std::string::npos; ++i) {
        std::this_thread::sleep_for(50ms);
    }
    CHECK(controller.process().stderr_text().find("TLS reload failed") != std::string::npos);
    CHECK(HttpClient(controller.address(), trust).peer_certificate_der() == first_der);

    std::filesystem::copy_file(dir / "second" / "server.pem", dir / "live" / "server.pem",
                               std::filesystem::copy_options::overwrite_existing);
    std::filesystem::copy_file(dir / "second" / "server.key", dir / "live" / "server.key",
                               std::filesystem::copy_options::overwrite_existing);
    controller.process().signal(SIGHUP);
    for (int i = 0; i < 100 && controller.process().stderr_text().find("TLS certificate reloaded") == std::string::npos;
         ++i) {
        std::this_thread::sleep_for(50ms);
    }
    REQUIRE(controller.process().stderr_text().find("TLS certificate reloaded") != std::string::npos);

    HttpClient fresh(controller.address(), trust);
    CHECK(get(fresh, "/v1/servers", controller).result() == http::status::ok);
    CHECK(fresh.peer_certificate_der() == first_certificate_der(dir / "second" / "server.pem", dir));
    // The connection opened before the rotation still answers, on the same TLS session.
    CHECK(get(open, "/v1/servers", controller).result() == http::status::ok);
    CHECK(open.peer_certificate_der() == first_der);
    CHECK(controller.process().wait_for_exit(0ms) == std::nullopt);
}
