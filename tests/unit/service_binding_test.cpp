// Service bindings with real files and real reload commands: one that succeeds, one that fails, one that
// hangs past its timeout. After a failure every file is back exactly as it was.

#include "service/agent/service_binding.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "service/fs/atomic_file.hpp"
#include "service/pki/reader.hpp"
#include "tests/support/temp_dir.hpp"

using namespace certdeploy;
using certdeploy::test::TempDir;

namespace {

const std::filesystem::path kCorpus = CERTDEPLOY_FIXTURES;

const pki::PkiContext& context() {
    static const auto ctx = pki::PkiContext::create().value();
    return *ctx;
}

pki::Bundle corpus_bundle(const std::string& file, bool with_password) {
    const Secret password("P@ssw0rd1");
    auto bytes = fs::read_file(kCorpus / file, 1 << 20).value();
    return pki::read_bundle(bytes, with_password ? &password : nullptr, context()).value();
}

agent::ServiceBinding binding(const nlohmann::json& spec) {
    auto parsed = agent::parse_services({{"svc", spec}});
    REQUIRE_MESSAGE(parsed.has_value(), (parsed ? "" : parsed.error().message));
    return parsed->at("svc");
}

std::string text(const std::filesystem::path& p) {
    return test::read_file(p);
}

unsigned mode_of(const std::filesystem::path& p) {
    struct stat st {};
    ::stat(p.c_str(), &st);
    return st.st_mode & 0777U;
}

}  // namespace

TEST_CASE("the services configuration is validated, each error naming the service and the key") {
    struct Case {
        nlohmann::json spec;
        std::string fragment;
    };
    const std::vector<Case> cases = {
        {{{"layout", "pem-combined"}}, "services.svc.certFile"},
        {{{"certFile", "relative.pem"}, {"layout", "pem-combined"}}, "services.svc.certFile: expected an absolute"},
        {{{"certFile", "/a"}, {"layout", "der"}}, "services.svc.layout"},
        // A layout of another type threw out of parse_services (tests/fuzz/config_fuzz.cpp reports it).
        {{{"certFile", "/a"}, {"layout", 5}}, "services.svc.layout"},
        {{{"certFile", "/a"}, {"layout", nullptr}}, "services.svc.layout"},
        {{{"certFile", "/a"}}, "services.svc.keyFile"},  // pem-fullchain by default needs a key file
        {{{"certFile", "/a"}, {"keyFile", "/b"}, {"layout", "pem-separate"}}, "services.svc.chainFile"},
        {{{"certFile", "/a"}, {"layout", "pkcs12"}}, "services.svc.passwordFile"},
        {{{"certFile", "/a"}, {"layout", "pem-combined"}, {"mode", "0999"}}, "services.svc.mode"},
        {{{"certFile", "/a"}, {"layout", "pem-combined"}, {"mode", 640}}, "services.svc.mode"},
        {{{"certFile", "/a"}, {"layout", "pem-combined"}, {"owner", "no-such-user-here"}}, "services.svc.owner"},
        {{{"certFile", "/a"}, {"layout", "pem-combined"}, {"reload", "systemctl reload nginx"}}, "services.svc.reload"},
        {{{"certFile", "/a"}, {"layout", "pem-combined"}, {"reloadTimeoutSeconds", -1}}, "reloadTimeoutSeconds"},
        {{{"certFile", "/a"}, {"layout", "pem-combined"}, {"relaod", nlohmann::json::array()}}, "services.svc.relaod"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.spec.dump());
        auto parsed = agent::parse_services({{"svc", c.spec}});
        REQUIRE_FALSE(parsed.has_value());
        CHECK(parsed.error().code == ErrorCode::invalid_config);
        CAPTURE(parsed.error().message);
        CHECK(parsed.error().message.find(c.fragment) != std::string::npos);
    }
}

TEST_CASE("enabling writes the layout's files with their mode and runs the reload command") {
    TempDir dir;
    const auto bundle = corpus_bundle("modern.pfx", true);
    const auto marker = dir / "reloaded";
    auto web = binding({{"certFile", (dir / "site.crt").string()},
                        {"keyFile", (dir / "site.key").string()},
                        {"layout", "pem-fullchain"},
                        {"mode", "0640"},
                        {"reload", {"/bin/sh", "-c", "echo reloaded > " + marker.string()}}});
    REQUIRE(agent::apply_binding(web, bundle, context()).has_value());
    CHECK(text(marker) == "reloaded\n");
    const auto fullchain = text(dir / "site.crt");
    CHECK(fullchain.rfind(bundle.leaf.to_pem(), 0) == 0);  // the leaf first
    CHECK(fullchain.find(bundle.chain[0].to_pem()) != std::string::npos);
    CHECK(text(dir / "site.key").find("BEGIN PRIVATE KEY") != std::string::npos);
    CHECK(mode_of(dir / "site.crt") == 0640U);
    CHECK(mode_of(dir / "site.key") == 0640U);

    auto combined = binding({{"certFile", (dir / "haproxy.pem").string()}, {"layout", "pem-combined"}});
    REQUIRE(agent::apply_binding(combined, bundle, context()).has_value());
    CHECK(text(dir / "haproxy.pem").rfind("-----BEGIN PRIVATE KEY-----", 0) == 0);
    CHECK(mode_of(dir / "haproxy.pem") == 0600U);  // the default mode

    auto separate = binding({{"certFile", (dir / "c.pem").string()},
                             {"keyFile", (dir / "k.pem").string()},
                             {"chainFile", (dir / "chain.pem").string()},
                             {"layout", "pem-separate"}});
    REQUIRE(agent::apply_binding(separate, bundle, context()).has_value());
    CHECK(text(dir / "c.pem") == bundle.leaf.to_pem());
    CHECK(text(dir / "chain.pem") == bundle.chain[0].to_pem() + bundle.chain[1].to_pem());

    test::write_file(dir / "keystore.pass", "changeit\n");
    auto java = binding({{"certFile", (dir / "keystore.p12").string()},
                         {"layout", "pkcs12"},
                         {"passwordFile", (dir / "keystore.pass").string()}});
    REQUIRE(agent::apply_binding(java, bundle, context()).has_value());
    const Secret changeit("changeit");
    auto keystore = pki::read_bundle(text(dir / "keystore.p12"), &changeit, context());
    REQUIRE(keystore.has_value());
    CHECK(keystore->leaf.thumbprint() == bundle.leaf.thumbprint());
    CHECK(keystore->key != nullptr);
}

TEST_CASE("a reload that fails or hangs puts every previous file back, reloads again, and says why") {
    TempDir dir;
    const auto old_bundle = corpus_bundle("ec.pem.bundle", false);
    const auto new_bundle = corpus_bundle("modern.pfx", true);
    const auto log = dir / "reloads.log";
    auto make = [&](const std::string& script, double timeout) {
        return binding({{"certFile", (dir / "site.crt").string()},
                        {"keyFile", (dir / "site.key").string()},
                        {"layout", "pem-fullchain"},
                        {"reload", {"/bin/sh", "-c", script}},
                        {"reloadTimeoutSeconds", timeout}});
    };
    REQUIRE(agent::apply_binding(make("echo ok >> " + log.string(), 5), old_bundle, context()).has_value());
    const auto before_cert = text(dir / "site.crt");
    const auto before_key = text(dir / "site.key");

    SUBCASE("the command fails") {
        // Fails while the new certificate is in place, succeeds once the old one is back.
        const std::string script = "echo attempt >> " + log.string() + "; grep -qF " +
                                   new_bundle.leaf.to_pem().substr(100, 30) + " " + (dir / "site.crt").string() +
                                   " && { echo 'nginx: [emerg] bad certificate' >&2; exit 3; }; exit 0";
        auto result = agent::apply_binding(make(script, 5), new_bundle, context());
        REQUIRE_FALSE(result.has_value());
        CHECK(result.error().code == ErrorCode::reload_failed);
        CHECK(result.error().message.find("exit status 3") != std::string::npos);
        CHECK(result.error().message.find("put back and reloaded") != std::string::npos);
        CHECK(result.error().detail.find("nginx: [emerg] bad certificate") != std::string::npos);
    }
    SUBCASE("the command hangs past its timeout") {
        const auto started = std::chrono::steady_clock::now();
        auto result =
            agent::apply_binding(make("echo attempt >> " + log.string() + "; sleep 30", 0.5), new_bundle, context());
        REQUIRE_FALSE(result.has_value());
        CHECK(result.error().code == ErrorCode::reload_failed);
        CHECK(result.error().message.find("timed out") != std::string::npos);
        CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(10));  // not the 30 s of sleep
    }
    CHECK(text(dir / "site.crt") == before_cert);
    CHECK(text(dir / "site.key") == before_key);
    // The first enable, then the failed attempt, then the reload onto the restored files.
    CHECK(text(log) == "ok\nattempt\nattempt\n");
}

TEST_CASE("a file that did not exist before is removed again when the reload fails / no key, no binding") {
    TempDir dir;
    auto failing =
        binding({{"certFile", (dir / "new.pem").string()}, {"layout", "pem-combined"}, {"reload", {"/bin/false"}}});
    auto result = agent::apply_binding(failing, corpus_bundle("modern.pfx", true), context());
    REQUIRE_FALSE(result.has_value());
    CHECK_FALSE(std::filesystem::exists(dir / "new.pem"));

    auto no_key = agent::apply_binding(failing, corpus_bundle("chain.p7b", false), context());
    REQUIRE_FALSE(no_key.has_value());
    CHECK(no_key.error().code == ErrorCode::no_private_key);
    CHECK_FALSE(std::filesystem::exists(dir / "new.pem"));
}

TEST_CASE("a symbolic link planted at a service file is refused, and what it points to is untouched") {
    TempDir dir;
    test::write_file(dir / "victim", "precious\n");
    std::filesystem::create_symlink(dir / "victim", dir / "site.crt");
    auto web = binding({{"certFile", (dir / "site.crt").string()},
                        {"keyFile", (dir / "site.key").string()},
                        {"layout", "pem-fullchain"}});
    auto result = agent::apply_binding(web, corpus_bundle("modern.pfx", true), context());
    REQUIRE_FALSE(result.has_value());
    CHECK(result.error().message.find("symbolic link") != std::string::npos);
    CHECK(text(dir / "victim") == "precious\n");
    CHECK(std::filesystem::is_symlink(dir / "site.crt"));
    CHECK_FALSE(std::filesystem::exists(dir / "site.key"));
}

TEST_CASE("the reload command inherits no descriptor but its standard ones, and a daemon it starts does not hang it") {
    TempDir dir;
    // A descriptor open in this process without close-on-exec, as Asio's sockets are.
    const int leaked = ::open((dir / "leak").c_str(), O_WRONLY | O_CREAT, 0600);
    REQUIRE(leaked > 2);
    const auto fds = dir / "fds";
    auto listing = binding({{"certFile", (dir / "c.pem").string()},
                            {"layout", "pem-combined"},
                            {"reload", {"/bin/sh", "-c", "ls /proc/self/fd > " + fds.string()}}});
    REQUIRE(agent::apply_binding(listing, corpus_bundle("modern.pfx", true), context()).has_value());
    ::close(leaked);
    // ls sees 0, 1, 2 and the directory it is reading; not the leaked descriptor.
    CHECK(text(fds).find(std::to_string(leaked) + "\n") == std::string::npos);

    // A reload that starts a daemon holding its output open succeeds when the command itself exits 0.
    auto daemonizing = binding({{"certFile", (dir / "d.pem").string()},
                                {"layout", "pem-combined"},
                                {"reload", {"/bin/sh", "-c", "sleep 20 & echo started"}},
                                {"reloadTimeoutSeconds", 10}});
    const auto started = std::chrono::steady_clock::now();
    auto result = agent::apply_binding(daemonizing, corpus_bundle("modern.pfx", true), context());
    CHECK_MESSAGE(result.has_value(), (result ? "" : result.error().message));
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(8));
}
