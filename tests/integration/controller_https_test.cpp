// The controller's API over HTTPS: served with `pki init`'s server certificate, plain HTTP only when asked
// for and only on loopback, and the certificate rotated by SIGHUP without dropping an open connection.

#include <doctest/doctest.h>

#include <csignal>
#include <fstream>
#include <nlohmann/json.hpp>
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
        // /metrics without a token: only where no one else can connect.
        {{"--tls-cert", cert, "--tls-key", key, "--metrics-listen", "0.0.0.0:0"}, "\"metricsListen\""},
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

namespace {

// A client certificate (clientAuth) for `name`, issued by the CA of `pki_dir`.
TlsClientFiles issue_client_certificate(const std::filesystem::path& pki_dir, const std::string& name,
                                        const std::filesystem::path& dir) {
    return issue_with_openssl(pki_dir / "ca.pem", pki_dir / "ca.key", name, "clientAuth", "", dir);
}

// One request with the headers given, on a new connection presenting `tls`'s certificate; nullopt when the
// TLS handshake (or, under TLS 1.3, the first read after it) is refused.
std::optional<Response> call_as(const std::string& address, const TlsClientFiles& tls, http::verb method,
                                const std::string& target, const std::string& authorization = {}) {
    try {
        HttpClient client(address, tls);
        http::request<http::string_body> req{method, target, 11};
        if (!authorization.empty()) {
            req.set(http::field::authorization, authorization);
        }
        return client.send(std::move(req));
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

std::string code_of(const Response& res) {
    const auto body = nlohmann::json::parse(res.body(), nullptr, false);
    return body.is_object() && body.contains("code") ? body["code"].get<std::string>() : std::string();
}

}  // namespace

TEST_CASE("API clients by certificate: clientCa issues them, clientCertificates gives each name a role and scope") {
    TempDir dir;
    const DevPki pki{dir / "pki", {"ex01"}};
    const DevPki other{dir / "other", {"ex01"}};
    const auto viewer = issue_client_certificate(dir / "pki", "dashboard", dir.path());
    const auto mail_ci = issue_client_certificate(dir / "pki", "mail-ci", dir.path());
    const auto stranger = issue_client_certificate(dir / "pki", "stranger", dir.path());
    const auto foreign = issue_client_certificate(dir / "other", "mail-ci", dir / "other");
    {
        std::ofstream config(dir / "server.json");
        config << nlohmann::json{{"clientCa", (dir / "pki" / "ca.pem").string()},
                                 {"clientCertificates",
                                  {{"dashboard", {{"role", "viewer"}}},
                                   {"mail-ci", {{"role", "operator"}, {"scope", {{"team", "mail"}}}}}}}};
    }
    auto flags = pki.api_flags();
    flags.insert(flags.end(), {"--config", (dir / "server.json").string()});
    ControllerProcess controller(dir.path(), flags);
    const TlsClientFiles admin{(dir / "pki" / "ca.pem").string(), {}, {}};
    for (const auto& [name, team] : {std::pair{"ex01", "mail"}, std::pair{"ex02", "web"}}) {
        http::request<http::string_body> put{http::verb::put, std::string("/v1/servers/") + name, 11};
        put.set(http::field::authorization, controller.bearer());
        put.set(http::field::content_type, "application/json");
        put.body() = nlohmann::json{{"agentUrl", "https://127.0.0.1:9"}, {"labels", {{"team", team}}}}.dump();
        HttpClient client(controller.address(), admin);
        REQUIRE(client.send(std::move(put)).result() == http::status::created);
    }

    // A mapped certificate needs no token: the viewer reads, and cannot make a token.
    auto read = call_as(controller.address(), viewer, http::verb::get, "/v1/servers");
    REQUIRE(read);
    CHECK(read->result() == http::status::ok);
    CHECK(nlohmann::json::parse(read->body())["servers"].size() == 2);
    auto write = call_as(controller.address(), viewer, http::verb::post, "/v1/tokens");
    REQUIRE(write);
    CHECK(write->result() == http::status::forbidden);
    CHECK(code_of(*write) == "forbidden");

    // The scoped operator sees its team's server only, and is refused another's by scope.
    auto mine = call_as(controller.address(), mail_ci, http::verb::get, "/v1/servers");
    REQUIRE(mine);
    REQUIRE(mine->result() == http::status::ok);
    const auto servers = nlohmann::json::parse(mine->body())["servers"];
    REQUIRE(servers.size() == 1);
    CHECK(servers[0]["name"] == "ex01");
    auto theirs = call_as(controller.address(), mail_ci, http::verb::get, "/v1/servers/ex02");
    REQUIRE(theirs);
    CHECK(code_of(*theirs) == "out-of-scope");

    // Issued by clientCa but not mapped: 401, as an unknown token is.
    auto unmapped = call_as(controller.address(), stranger, http::verb::get, "/v1/servers");
    REQUIRE(unmapped);
    CHECK(unmapped->result() == http::status::unauthorized);
    CHECK(code_of(*unmapped) == "unauthenticated");
    CHECK(unmapped->body().find("stranger") != std::string::npos);

    // The same name from another CA never gets past the handshake.
    CHECK_FALSE(call_as(controller.address(),
                        TlsClientFiles{(dir / "pki" / "ca.pem").string(), foreign.cert, foreign.key}, http::verb::get,
                        "/v1/servers")
                    .has_value());

    // A token, when one is sent, decides: the viewer's certificate with the admin token is the admin.
    auto both = call_as(controller.address(), viewer, http::verb::get, "/v1/audit", controller.bearer());
    REQUIRE(both);
    REQUIRE(both->result() == http::status::ok);
    // The audit log names certificate callers "cert:<name>": the refusals above are there.
    const auto audit = nlohmann::json::parse(both->body()).dump();
    CHECK(audit.find("cert:dashboard") != std::string::npos);
    CHECK(audit.find("cert:mail-ci") != std::string::npos);
}

TEST_CASE("clientCa and clientCertificates are checked at start") {
    TempDir dir;
    const DevPki pki{dir / "pki", {"ex01"}};
    const std::string ca = (dir / "pki" / "ca.pem").string();
    struct Case {
        nlohmann::json config;
        std::vector<std::string> flags;
        std::string names;
    };
    const auto https = pki.api_flags();
    const std::vector<Case> cases = {
        {{{"clientCa", ca}}, {"--insecure-http"}, "\"clientCa\""},
        {{{"clientCertificates", {{"x", {{"role", "viewer"}}}}}}, https, "\"clientCertificates\" needs \"clientCa\""},
        {{{"clientCa", ca}, {"clientCertificates", {{"x", {{"role", "root"}}}}}}, https, "\"role\""},
        {{{"clientCa", ca}, {"clientCertificates", {{"x", {{"role", "admin"}, {"scope", {{"team", "mail"}}}}}}}},
         https,
         "scoped"},
        {{{"clientCa", (dir / "missing.pem").string()}}, https, "missing.pem"},
    };
    int n = 0;
    for (const auto& c : cases) {
        CAPTURE(c.config.dump());
        const auto file = dir / ("config-" + std::to_string(n++) + ".json");
        std::ofstream(file) << c.config.dump();
        std::vector<std::string> args{"server",   "--data-dir", (dir / "data").string(), "--listen", "127.0.0.1:0",
                                      "--config", file.string()};
        args.insert(args.end(), c.flags.begin(), c.flags.end());
        auto result = run_certdeploy(args, dir.path());
        CHECK(result.status.code == 2);
        CHECK(result.err.find(c.names) != std::string::npos);
    }
}
