// The fleet CA the controller keeps in DATA_DIR/pki: made on the first start and kept, its key 0600; the
// controller's client certificate to the agents issued by it and renewed, while agents are being reached,
// before it expires.

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "tests/support/controller_process.hpp"
#include "tests/support/dev_pki.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

using namespace certdeploy::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

unsigned mode_of(const std::filesystem::path& path) {
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    return st.st_mode & 0777;
}

// The serial number of a PEM certificate, through the openssl command.
std::string serial_of(const std::filesystem::path& pem, const TempDir& dir) {
    const auto out = dir / "serial.txt";
    const auto command = "openssl x509 -noout -serial -in '" + pem.string() + "' > '" + out.string() + "'";
    REQUIRE(std::system(command.c_str()) == 0);
    return read_file(out);
}

json server_view(const ControllerProcess& controller, const std::string& name) {
    return controller.body(http::verb::get, "/v1/servers/" + name);
}

}  // namespace

TEST_CASE("the controller makes its fleet CA on the first start and keeps it across restarts") {
    TempDir dir;
    const auto pki = dir / "data" / "pki";
    std::string ca_pem;
    std::string client_pem;
    {
        ControllerProcess controller(dir.path());
        REQUIRE(std::filesystem::exists(pki / "ca.pem"));
        CHECK(mode_of(pki) == 0700);
        CHECK(mode_of(pki / "ca.key") == 0600);
        CHECK(mode_of(pki / "controller.key") == 0600);
        ca_pem = read_file(pki / "ca.pem");
        client_pem = read_file(pki / "controller.pem");
        // The controller's client certificate is issued by the fleet CA, for clientAuth.
        const auto verify = "openssl verify -purpose sslclient -CAfile '" + (pki / "ca.pem").string() + "' '" +
                            (pki / "controller.pem").string() + "' > /dev/null";
        CHECK(std::system(verify.c_str()) == 0);
        CHECK(controller.process().stderr_text().find("sha256:") != std::string::npos);
    }
    ControllerProcess again(dir.path());
    CHECK(read_file(pki / "ca.pem") == ca_pem);
    CHECK(read_file(pki / "controller.pem") == client_pem);
    // The CA's key is in no log line.
    const auto key = read_file(pki / "ca.key");
    const auto body = key.substr(key.find('\n') + 1, 40);
    CHECK(again.process().stderr_text().find(body) == std::string::npos);
}

TEST_CASE("the controller's client certificate renews itself while it reaches an agent") {
    TempDir dir;
    // A lifetime of 12 s: renewed with 4 s left, checked every 1.2 s.
    ControllerProcess controller(dir.path(),
                                 {"--agent-client-cert-lifetime-seconds", "12", "--probe-interval-seconds", "0.5"});
    const auto pki = dir / "data" / "pki";
    std::filesystem::create_directories(dir / "agent");
    const auto agent_tls = issue_with_openssl(pki / "ca.pem", pki / "ca.key", "ex01", "serverAuth",
                                              "DNS:localhost,IP:127.0.0.1", dir / "agent");
    // Idle connections close after 0.5 s, so every probe makes a new TLS connection with the current
    // client certificate.
    ChildProcess agent(
        certdeploy_binary(),
        {"agent", "--name", "ex01", "--listen", "127.0.0.1:0", "--ready-file", (dir / "agent.addr").string(), "--store",
         (dir / "store").string(), "--tls-cert", agent_tls.cert, "--tls-key", agent_tls.key, "--client-ca",
         (pki / "ca.pem").string(), "--idle-timeout-seconds", "0.5"},
        dir.path());
    const auto address = wait_for_ready_file(dir / "agent.addr", 20s);
    REQUIRE_FALSE(address.empty());
    REQUIRE(controller.call(http::verb::put, "/v1/servers/ex01", json{{"agentUrl", "https://" + address}}).result() ==
            http::status::created);

    auto reachable_since = [&](const std::string& after) {
        for (int i = 0; i < 100; ++i) {
            const auto view = server_view(controller, "ex01");
            if (view["reachable"] == true && view["lastContact"].is_string() &&
                view["lastContact"].get<std::string>() > after) {
                return view["lastContact"].get<std::string>();
            }
            std::this_thread::sleep_for(100ms);
        }
        return std::string();
    };
    const auto first_contact = reachable_since("");
    REQUIRE_FALSE(first_contact.empty());
    const auto first_serial = serial_of(pki / "controller.pem", dir);

    // Within 10 s the certificate is renewed; after the first one has expired (12 s and its 1.2 s of
    // backdating), the agent is still reached: new connections present the new certificate.
    std::this_thread::sleep_for(15s);
    CHECK(serial_of(pki / "controller.pem", dir) != first_serial);
    CHECK(controller.process().stderr_text().find("controller client certificate issued by the fleet CA") !=
          std::string::npos);
    const auto now = server_view(controller, "ex01")["lastContact"].get<std::string>();
    CHECK_FALSE(reachable_since(now).empty());
    CHECK(agent.stderr_text().find("TLS handshake refused") == std::string::npos);
}
