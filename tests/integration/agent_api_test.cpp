// The agent as the controller meets it: a real `certdeploy agent` process on port 0, material from
// `certdeploy pki init`, every call over real mutual TLS.

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <csignal>
#include <functional>
#include <nlohmann/json.hpp>
#include <thread>

#include "service/codec/base64.hpp"
#include "tests/support/dev_pki.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

using namespace certdeploy::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

const std::filesystem::path kCorpus = CERTDEPLOY_FIXTURES;

std::string first_line(const std::string& name) {
    auto text = read_file(kCorpus / name);
    return text.substr(0, text.find('\n'));
}

std::string file_data(const std::string& name) {
    return certdeploy::codec::base64_encode(read_file(kCorpus / name));
}

int run_tool(const std::string& binary, const std::vector<std::string>& args, const std::filesystem::path& dir) {
    ChildProcess child(binary, args, dir);
    auto status = child.wait_for_exit(10s);
    return status ? status->code : -1;
}

class Agent {
  public:
    // `before_start` runs once the directories exist and before the process starts (e.g. to mount the store).
    explicit Agent(const json& services = json::object(),
                   const std::function<void(const std::filesystem::path& store)>& before_start = {},
                   std::vector<std::string> extra_args = {})
        : pki_(dir_ / "pki", {"ex01"}), extra_args_(std::move(extra_args)) {
        if (before_start) {
            std::filesystem::create_directories(dir_ / "store");
            before_start(dir_ / "store");
        }
        write_file(dir_ / "agent.json", json{{"name", "ex01"},
                                             {"store", (dir_ / "store").string()},
                                             {"caFile", (kCorpus / "root.pem").string()},
                                             {"services", services}}
                                            .dump(2));
        start();
    }

    void start() {
        const auto ready = dir_ / "agent.addr";
        std::filesystem::remove(ready);
        std::vector<std::string> args{"agent",       "--config",    (dir_ / "agent.json").string(),
                                      "--listen",    "127.0.0.1:0", "--ready-file",
                                      ready.string()};
        const auto flags = pki_.agent_flags("ex01");
        args.insert(args.end(), flags.begin(), flags.end());
        args.insert(args.end(), extra_args_.begin(), extra_args_.end());
        child_ = std::make_unique<ChildProcess>(certdeploy_binary(), args, dir_.path());
        address_ = wait_for_ready_file(ready, 20s);
        INFO(child_->stderr_text());
        REQUIRE_FALSE(address_.empty());
    }

    void stop() {
        child_->signal(SIGTERM);
        auto status = child_->wait_for_exit(10s);
        REQUIRE(status.has_value());
        CHECK(status->code == 0);
    }

    Response call(http::verb method, const std::string& target, const json& body = nullptr) {
        HttpClient client(address_, pki_.controller());
        return client.request(method, target, body.is_null() ? "" : body.dump(),
                              body.is_null() ? "" : "application/json");
    }

    json install(const std::string& file, const std::string& thumbprint_file, const json& extra = json::object()) {
        json body = {{"fileData", file_data(file)}};
        body.update(extra);
        auto res = call(http::verb::put, "/agent/v1/certificates/" + first_line(thumbprint_file), body);
        INFO(res.body());
        return json{{"status", res.result_int()}, {"body", json::parse(res.body())}};
    }

    std::size_t count() {
        return json::parse(call(http::verb::get, "/agent/v1/certificates").body())["certificates"].size();
    }

    const std::string& address() const { return address_; }
    const DevPki& pki() const { return pki_; }
    const TempDir& dir() const { return dir_; }
    std::string log() const { return child_->stderr_text(); }

  private:
    TempDir dir_;
    DevPki pki_;
    std::vector<std::string> extra_args_;
    std::unique_ptr<ChildProcess> child_;
    std::string address_;
};

}  // namespace

TEST_CASE("a new agent holds its self-signed default certificate and reports its health") {
    Agent agent;
    auto list = json::parse(agent.call(http::verb::get, "/agent/v1/certificates").body())["certificates"];
    REQUIRE(list.size() == 1);
    CHECK(list[0]["subject"] == "CN=ex01, O=certdeploy");
    CHECK(list[0]["isSelfSigned"] == true);
    CHECK(list[0]["hasPrivateKey"] == true);
    CHECK(list[0]["privateKeyExportable"] == false);
    auto health = json::parse(agent.call(http::verb::get, "/agent/v1/health").body());
    CHECK(health["name"] == "ex01");
    CHECK(health["certificates"] == 1);
    CHECK(health["soonestNotAfter"] == list[0]["notAfter"]);
}

TEST_CASE(
    "every readable kind of file installs with the right thumbprint, key and status / again is alreadyInstalled") {
    Agent agent;
    struct Case {
        std::string file;
        bool password;
        std::string thumbprint_file;
        bool has_key;
        std::string status;
    };
    const std::vector<Case> cases = {
        {"modern.pfx", true, "leaf.thumbprint", true, "Valid"},
        {"keytool.p12", true, "keytool.thumbprint", true, "Untrusted"},
        {"ec.pem.bundle", false, "ec.thumbprint", true, "Untrusted"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.file);
        auto first =
            agent.install(c.file, c.thumbprint_file, c.password ? json{{"password", "P@ssw0rd1"}} : json::object());
        CHECK(first["status"] == 201);
        CHECK(first["body"]["result"] == "installed");
        CHECK(first["body"]["certificate"]["thumbprint"] == first_line(c.thumbprint_file));
        CHECK(first["body"]["certificate"]["hasPrivateKey"] == c.has_key);
        CHECK(first["body"]["certificate"]["status"] == c.status);
        auto again =
            agent.install(c.file, c.thumbprint_file, c.password ? json{{"password", "P@ssw0rd1"}} : json::object());
        CHECK(again["status"] == 200);
        CHECK(again["body"]["result"] == "alreadyInstalled");
    }
    // The other kinds of the corpus hold the same leaf: each is recognised as that certificate.
    for (const std::string file : {"legacy-rc2.pfx", "legacy-3des.pfx", "nomac.pfx", "leaf.cer", "chain.p7b",
                                   "chain.p7c", "crlf-bom.pem", "encrypted-key.pem", "exchange-export.cer"}) {
        CAPTURE(file);
        auto res = agent.install(file, "leaf.thumbprint", json{{"password", "P@ssw0rd1"}});
        CHECK(res["status"] == 200);
        CHECK(res["body"]["result"] == "alreadyInstalled");
    }
    CHECK(agent.count() == 4);  // the default certificate and three installed

    // A certificate without a key installs as such (fresh agent state for the .p7b chain's root).
    auto root = agent.install("root.pem", "root.thumbprint");
    CHECK(root["status"] == 201);
    CHECK(root["body"]["certificate"]["hasPrivateKey"] == false);

    auto valid = json::parse(agent.call(http::verb::get, "/agent/v1/certificates?status=Valid").body())["certificates"];
    CHECK(valid.size() == 2);  // the Fabrikam leaf and root, under the root given as caFile
    for (const auto& cert : valid) {
        CHECK(cert["status"] == "Valid");
    }
    auto bad_filter = agent.call(http::verb::get, "/agent/v1/certificates?status=Fine");
    CHECK(bad_filter.result() == http::status::bad_request);
}

TEST_CASE("a byte-identical re-install is known by its digest / other passwords, bytes and files are read again") {
    Agent agent(json::object(), {}, {"--log-level", "debug"});
    const std::string digest_line = "install answered from the file's digest";
    auto known_by_digest = [&] {
        const auto log = agent.log();
        std::size_t count = 0;
        for (auto at = log.find(digest_line); at != std::string::npos; at = log.find(digest_line, at + 1)) {
            ++count;
        }
        return count;
    };
    const json password = {{"password", "P@ssw0rd1"}};
    CHECK(agent.install("modern.pfx", "leaf.thumbprint", password)["body"]["result"] == "installed");
    auto again = agent.install("modern.pfx", "leaf.thumbprint", password);
    CHECK(again["status"] == 200);
    CHECK(again["body"]["result"] == "alreadyInstalled");
    CHECK(again["body"]["certificate"]["thumbprint"] == first_line("leaf.thumbprint"));
    CHECK(again["body"]["certificate"]["hasPrivateKey"] == true);
    CHECK(known_by_digest() == 1);

    // The password is part of what is recognised: the same bytes with another password, or none, are read
    // and refused as before.
    CHECK(agent.install("modern.pfx", "leaf.thumbprint", json{{"password", "wrong"}})["body"]["code"] ==
          "wrong-password");
    CHECK(agent.install("modern.pfx", "leaf.thumbprint")["body"]["code"] == "password-required");
    // One byte changed near the end (inside the MAC): read, and refused.
    auto damaged = read_file(kCorpus / "modern.pfx");
    damaged[damaged.size() - 5] = static_cast<char>(damaged[damaged.size() - 5] ^ 0x01);
    auto res = agent.call(http::verb::put, "/agent/v1/certificates/" + first_line("leaf.thumbprint"),
                          json{{"fileData", certdeploy::codec::base64_encode(damaged)}, {"password", "P@ssw0rd1"}});
    CHECK(res.result_int() == 422);
    CHECK(known_by_digest() == 1);

    // Another file of the same certificate is decrypted and compared once, then known too.
    CHECK(agent.install("legacy-3des.pfx", "leaf.thumbprint", password)["body"]["result"] == "alreadyInstalled");
    CHECK(known_by_digest() == 1);
    CHECK(agent.install("legacy-3des.pfx", "leaf.thumbprint", password)["body"]["result"] == "alreadyInstalled");
    CHECK(known_by_digest() == 2);

    // Removed, the certificate's digests go with it: the same file installs anew.
    CHECK(agent.call(http::verb::delete_, "/agent/v1/certificates/" + first_line("leaf.thumbprint")).result_int() ==
          204);
    CHECK(agent.install("modern.pfx", "leaf.thumbprint", password)["body"]["result"] == "installed");
    CHECK(known_by_digest() == 2);

    // Digests live in memory only: after a restart the first re-install is read, the next one known.
    agent.stop();
    agent.start();
    CHECK(known_by_digest() == 0);
    CHECK(agent.install("modern.pfx", "leaf.thumbprint", password)["body"]["result"] == "alreadyInstalled");
    CHECK(known_by_digest() == 0);
    CHECK(agent.install("modern.pfx", "leaf.thumbprint", password)["body"]["result"] == "alreadyInstalled");
    CHECK(known_by_digest() == 1);
    CHECK(agent.log().find("P@ssw0rd1") == std::string::npos);
    for (const auto& entry : std::filesystem::recursive_directory_iterator(agent.dir() / "store")) {
        if (entry.is_regular_file()) {
            CHECK(read_file(entry.path()).find("P@ssw0rd1") == std::string::npos);
        }
    }
}

TEST_CASE("refusals: wrong password, damaged file, thumbprint mismatch, bad JSON / the store is unchanged") {
    Agent agent;
    const auto before = agent.count();
    struct Case {
        json body;
        std::string thumbprint;
        unsigned status;
        std::string code;
    };
    const std::string leaf = first_line("leaf.thumbprint");
    const std::vector<Case> cases = {
        {{{"fileData", file_data("modern.pfx")}, {"password", "wrong"}}, leaf, 422, "wrong-password"},
        {{{"fileData", file_data("modern.pfx")}}, leaf, 422, "password-required"},
        {{{"fileData", file_data("truncated.pfx")}, {"password", "P@ssw0rd1"}}, leaf, 422, "unreadable-certificate"},
        {{{"fileData", file_data("key-mismatch.pem")}}, leaf, 422, "key-mismatch"},
        {{{"fileData", file_data("modern.pfx")}, {"password", "P@ssw0rd1"}},
         first_line("root.thumbprint"),
         422,
         "thumbprint-mismatch"},
        {{{"fileData", "***not base64***"}}, leaf, 400, "invalid-request"},
        {{{"password", "P@ssw0rd1"}}, leaf, 400, "invalid-request"},
        {{{"fileData", file_data("modern.pfx")}, {"privateKeyExportable", "yes"}}, leaf, 400, "invalid-request"},
        {{{"fileData", file_data("modern.pfx")}}, "not-a-thumbprint", 400, "invalid-thumbprint"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.code);
        auto res = agent.call(http::verb::put, "/agent/v1/certificates/" + c.thumbprint, c.body);
        CHECK(res.result_int() == c.status);
        CHECK(res[http::field::content_type] == "application/problem+json");
        CHECK(json::parse(res.body())["code"] == c.code);
        CHECK(res.body().find("P@ssw0rd1") == std::string::npos);
    }
    HttpClient client(agent.address(), agent.pki().controller());
    auto not_json = client.request(http::verb::put, "/agent/v1/certificates/" + leaf, "{\"password\": \"P@ssw0rd1\"",
                                   "application/json");
    CHECK(not_json.result() == http::status::bad_request);
    CHECK(not_json.body().find("P@ssw0rd1") == std::string::npos);
    CHECK(agent.count() == before);
    CHECK(agent.log().find("P@ssw0rd1") == std::string::npos);  // nor in any log line
}

TEST_CASE("get accepts any case and separators / unknown is certificate-not-found") {
    Agent agent;
    REQUIRE(agent.install("modern.pfx", "leaf.thumbprint", {{"password", "P@ssw0rd1"}})["status"] == 201);
    std::string spaced;
    const auto leaf = first_line("leaf.thumbprint");
    for (std::size_t i = 0; i < leaf.size(); i += 2) {
        spaced += (i == 0 ? "" : ":") + leaf.substr(i, 2);
    }
    for (auto& ch : spaced) {
        ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    }
    auto found = agent.call(http::verb::get, "/agent/v1/certificates/" + spaced);
    CHECK(found.result() == http::status::ok);
    CHECK(json::parse(found.body())["thumbprint"] == leaf);
    auto missing = agent.call(http::verb::get, "/agent/v1/certificates/" + std::string(40, 'A'));
    CHECK(missing.result() == http::status::not_found);
    CHECK(json::parse(missing.body())["code"] == "certificate-not-found");
}

TEST_CASE(
    "enable runs the real reload / export obeys privateKeyExportable / delete refuses a bound certificate / "
    "bindings survive a restart") {
    TempDir files;
    const auto marker = files / "reloads";
    Agent agent(json{{"web",
                      {{"certFile", (files / "site.crt").string()},
                       {"keyFile", (files / "site.key").string()},
                       {"layout", "pem-fullchain"},
                       {"mode", "0640"},
                       {"reload", {"/bin/sh", "-c", "echo reload >> " + marker.string()}}}},
                     {"broken",
                      {{"certFile", (files / "broken.pem").string()},
                       {"layout", "pem-combined"},
                       {"reload", {"/bin/sh", "-c", "echo 'config test failed' >&2; exit 1"}}}}});
    const auto leaf = first_line("leaf.thumbprint");
    const auto keytool = first_line("keytool.thumbprint");
    REQUIRE(agent.install("modern.pfx", "leaf.thumbprint",
                          {{"password", "P@ssw0rd1"}, {"privateKeyExportable", true}})["status"] == 201);
    REQUIRE(agent.install("keytool.p12", "keytool.thumbprint", {{"password", "P@ssw0rd1"}})["status"] == 201);
    REQUIRE(agent.install("chain.p7b", "leaf.thumbprint")["status"] == 200);

    auto enabled = agent.call(http::verb::post, "/agent/v1/certificates/" + leaf + "/enable", {{"services", {"web"}}});
    REQUIRE(enabled.result() == http::status::ok);
    CHECK(json::parse(enabled.body())["services"] == json::array({"web"}));
    CHECK(read_file(marker) == "reload\n");
    CHECK(read_file(files / "site.crt").find("BEGIN CERTIFICATE") != std::string::npos);
    struct stat st {};
    ::stat((files / "site.key").c_str(), &st);
    CHECK((st.st_mode & 0777) == 0640);

    auto unknown = agent.call(http::verb::post, "/agent/v1/certificates/" + leaf + "/enable",
                              {{"services", {"web", "imap", "pop"}}});
    CHECK(unknown.result() == http::status::unprocessable_entity);
    CHECK(json::parse(unknown.body())["code"] == "unknown-service");
    CHECK(json::parse(unknown.body())["detail"].get<std::string>().find("imap, pop") != std::string::npos);

    const auto site_before = read_file(files / "site.crt");
    auto broken =
        agent.call(http::verb::post, "/agent/v1/certificates/" + keytool + "/enable", {{"services", {"broken"}}});
    CHECK(broken.result() == http::status::bad_gateway);
    CHECK(json::parse(broken.body())["code"] == "reload-failed");
    CHECK_FALSE(std::filesystem::exists(files / "broken.pem"));
    CHECK(read_file(files / "site.crt") == site_before);

    auto exported = agent.call(http::verb::post, "/agent/v1/certificates/" + leaf + "/export",
                               {{"password", "export-pw"}, {"profile", "legacy"}});
    REQUIRE(exported.result() == http::status::ok);
    CHECK(exported[http::field::content_type] == "application/x-pkcs12");
    write_file(files / "exported.pfx", exported.body());
    write_file(files / "exported.pass", "export-pw");
    auto inspected = run_certdeploy(
        {"inspect", (files / "exported.pfx").string(), "--password-file", (files / "exported.pass").string()},
        files.path());
    REQUIRE(inspected.status.code == 0);
    CHECK(json::parse(inspected.out)["thumbprint"] == leaf);
    CHECK(json::parse(inspected.out)["hasPrivateKey"] == true);

    auto refused = agent.call(http::verb::post, "/agent/v1/certificates/" + keytool + "/export", {{"password", "x"}});
    CHECK(refused.result() == http::status::conflict);
    CHECK(json::parse(refused.body())["code"] == "not-exportable");

    auto in_use = agent.call(http::verb::delete_, "/agent/v1/certificates/" + leaf);
    CHECK(in_use.result() == http::status::conflict);
    CHECK(json::parse(in_use.body())["code"] == "certificate-in-use");
    auto deleted = agent.call(http::verb::delete_, "/agent/v1/certificates/" + keytool);
    CHECK(deleted.result() == http::status::no_content);
    CHECK(agent.call(http::verb::get, "/agent/v1/certificates/" + keytool).result() == http::status::not_found);

    agent.stop();
    agent.start();
    auto after = json::parse(agent.call(http::verb::get, "/agent/v1/certificates/" + leaf).body());
    CHECK(after["services"] == json::array({"web"}));
    CHECK(after["privateKeyExportable"] == true);
    CHECK(agent.count() == 2);  // the default certificate and the leaf
}

TEST_CASE("clients without a certificate, or with one from another CA, are refused at the handshake") {
    Agent agent;
    CHECK_THROWS(HttpClient(agent.address(), agent.pki().anonymous()).request(http::verb::get, "/agent/v1/health"));
    DevPki stranger(agent.dir() / "other-pki", {"x"});
    TlsClientFiles foreign = stranger.controller();
    foreign.ca = (agent.pki().dir / "ca.pem").string();  // trusts the agent, but holds a foreign certificate
    CHECK_THROWS(HttpClient(agent.address(), foreign).request(http::verb::get, "/agent/v1/health"));
    // Plain HTTP is not served at all.
    CHECK_THROWS(HttpClient(agent.address()).request(http::verb::get, "/agent/v1/health"));
    CHECK(agent.call(http::verb::get, "/agent/v1/health").result() == http::status::ok);
}

TEST_CASE("a full disk and a read-only store each get their own code, and nothing changes") {
    TempDir tools;  // where mount and dd write their output
    std::filesystem::path mounted;
    Agent agent(json::object(), [&](const std::filesystem::path& store) {
        REQUIRE(run_tool("/bin/mount", {"-t", "tmpfs", "-o", "size=256k", "tmpfs", store.string()}, tools.path()) == 0);
        mounted = store;
    });
    // Unmounted before the agent's directory is removed (declared after the agent).
    struct Unmount {
        std::filesystem::path* path;
        const TempDir* tools;
        ~Unmount() {
            if (!path->empty()) {
                run_tool("/bin/umount", {"-l", path->string()}, tools->path());
            }
        }
    } unmount{&mounted, &tools};
    // Fill the store's file system to the last byte.
    run_tool("/bin/dd", {"if=/dev/zero", "of=" + (mounted / ".filler").string(), "bs=4k"}, tools.path());
    const auto before = agent.count();
    auto full = agent.install("modern.pfx", "leaf.thumbprint", {{"password", "P@ssw0rd1"}});
    CHECK(full["status"] == 507);
    CHECK(full["body"]["code"] == "disk-full");
    CHECK(agent.count() == before);

    std::filesystem::remove(mounted / ".filler");
    REQUIRE(run_tool("/bin/mount", {"-o", "remount,ro", mounted.string()}, tools.path()) == 0);
    auto read_only = agent.install("modern.pfx", "leaf.thumbprint", {{"password", "P@ssw0rd1"}});
    CHECK(read_only["status"] == 503);
    CHECK(read_only["body"]["code"] == "read-only-storage");
    CHECK(agent.count() == before);
}

TEST_CASE("reads are answered while a slow reload command runs") {
    TempDir files;
    Agent agent(json{{"slow",
                      {{"certFile", (files / "slow.pem").string()},
                       {"layout", "pem-combined"},
                       {"reload", {"/bin/sh", "-c", "sleep 3"}}}}});
    const auto leaf = first_line("leaf.thumbprint");
    REQUIRE(agent.install("modern.pfx", "leaf.thumbprint", {{"password", "P@ssw0rd1"}})["status"] == 201);
    std::thread enabling([&] {
        auto res = agent.call(http::verb::post, "/agent/v1/certificates/" + leaf + "/enable", {{"services", {"slow"}}});
        CHECK(res.result() == http::status::ok);
    });
    std::this_thread::sleep_for(500ms);  // the reload is now running
    const auto asked = std::chrono::steady_clock::now();
    CHECK(agent.call(http::verb::get, "/agent/v1/health").result() == http::status::ok);
    CHECK(agent.call(http::verb::get, "/agent/v1/certificates/" + leaf).result() == http::status::ok);
    CHECK(std::chrono::steady_clock::now() - asked < 2s);  // well before the 3 s reload ends
    enabling.join();
}

TEST_CASE("requests on the agent: refused field by field, made once per idempotency key, listed, survive a restart") {
    Agent agent;
    for (const auto& [body, code] : std::vector<std::pair<json, std::string>>{
             {{{"subject", "CN=x.contoso.com, C=France"}}, "invalid-subject"},
             {{{"domains", {"under_score.contoso.com"}}}, "invalid-domain"},
             {{{"domains", {"mail.contoso.com"}}, {"keyAlgorithm", "ECDSA"}, {"keySize", 2048}},
              "invalid-key-parameters"},
             {{{"domains", "mail.contoso.com"}}, "invalid-request"}}) {
        CAPTURE(body.dump());
        auto refused = agent.call(http::verb::post, "/agent/v1/requests", body);
        CHECK(json::parse(refused.body())["code"] == code);
    }
    const json asked{{"domains", {"mail.contoso.com"}}, {"keyAlgorithm", "ECDSA"}, {"idempotencyKey", "job1/ex01"}};
    auto made = agent.call(http::verb::post, "/agent/v1/requests", asked);
    REQUIRE(made.result() == http::status::created);
    const auto request = json::parse(made.body());
    CHECK(request["result"] == "requested");
    const std::string id = request["certificate"]["thumbprint"];
    CHECK(made[http::field::location] == "/agent/v1/certificates/" + id);
    auto again = agent.call(http::verb::post, "/agent/v1/requests", asked);
    CHECK(again.result() == http::status::ok);
    CHECK(json::parse(again.body())["result"] == "alreadyRequested");
    CHECK(json::parse(again.body())["certificate"]["thumbprint"] == id);
    auto pending = json::parse(agent.call(http::verb::get, "/agent/v1/certificates?status=PendingRequest").body());
    REQUIRE(pending["certificates"].size() == 1);
    CHECK(pending["certificates"][0]["certificateRequest"] == request["certificate"]["certificateRequest"]);
    CHECK(
        json::parse(agent.call(http::verb::get, "/agent/v1/certificates?status=Valid").body())["certificates"].size() ==
        0);
    struct stat st {};
    REQUIRE(::stat((agent.dir() / "store" / id / "key.pem").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    // Enable and export need a certificate: a pending request is not one yet.
    CHECK(agent.call(http::verb::post, "/agent/v1/certificates/" + id + "/enable", {{"services", {"web"}}}).result() ==
          http::status::not_found);
    agent.stop();
    agent.start();
    auto after = json::parse(agent.call(http::verb::get, "/agent/v1/certificates/" + id).body());
    CHECK(after["status"] == "PendingRequest");
    CHECK(after["certificateRequest"] == request["certificate"]["certificateRequest"]);
}
