// certdeploy inspect and certdeploy pki init, run as an administrator runs them.

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

using namespace certdeploy::test;

namespace {

const std::filesystem::path kCorpus = CERTDEPLOY_FIXTURES;

std::string corpus(const std::string& name) {
    return (kCorpus / name).string();
}

std::string first_line(const std::string& name) {
    auto text = read_file(kCorpus / name);
    return text.substr(0, text.find('\n'));
}

unsigned mode_of(const std::filesystem::path& path) {
    struct stat st {};
    ::stat(path.c_str(), &st);
    return st.st_mode & 0777U;
}

}  // namespace

TEST_CASE("inspect prints the summary, and --ca-file turns Untrusted into Valid") {
    TempDir dir;
    auto untrusted = run_certdeploy(
        {"inspect", corpus("modern.pfx"), "--password-file", corpus("password.txt"), "--no-system-trust"}, dir.path());
    REQUIRE(untrusted.status.code == 0);
    auto summary = nlohmann::json::parse(untrusted.out);
    CHECK(summary["thumbprint"] == first_line("leaf.thumbprint"));
    CHECK(summary["hasPrivateKey"] == true);
    CHECK(summary["chain"].size() == 3);
    CHECK(summary["status"] == "Untrusted");

    auto valid = run_certdeploy(
        {"inspect", corpus("modern.pfx"), "--password-file", corpus("password.txt"), "--ca-file", corpus("root.pem")},
        dir.path());
    REQUIRE(valid.status.code == 0);
    CHECK(nlohmann::json::parse(valid.out)["status"] == "Valid");

    auto expired = run_certdeploy({"inspect", corpus("expired.pem"), "--ca-file", corpus("root.pem")}, dir.path());
    REQUIRE(expired.status.code == 0);
    CHECK(nlohmann::json::parse(expired.out)["status"] == "DateInvalid");
}

TEST_CASE("inspect takes the password from a file or standard input, never from an argument") {
    TempDir dir;
    ChildProcess child(certdeploy_binary(), {"inspect", corpus("legacy-rc2.pfx"), "--password-stdin"}, dir.path(), {},
                       corpus("password-newline.txt"));
    auto status = child.wait_for_exit(std::chrono::seconds(20));
    REQUIRE(status.has_value());
    CHECK(status->code == 0);
    CHECK(nlohmann::json::parse(child.stdout_text())["thumbprint"] == first_line("leaf.thumbprint"));

    auto refused = run_certdeploy({"inspect", corpus("modern.pfx"), "--password", "P@ssw0rd1"}, dir.path());
    CHECK(refused.status.code == 2);
    CHECK(refused.err.find("P@ssw0rd1") == std::string::npos);  // the error does not echo what it refused
}

TEST_CASE("inspect failures: exit 1 with code, title and detail on stdout / no secret in any output") {
    TempDir dir;
    struct Case {
        std::string file;
        std::vector<std::string> extra;
        std::string code;
    };
    const std::vector<Case> cases = {
        {"modern.pfx", {"--password-file", corpus("wrong-password.txt")}, "wrong-password"},
        {"modern.pfx", {}, "password-required"},
        {"truncated.pfx", {"--password-file", corpus("password.txt")}, "unreadable-certificate"},
        {"random.bin", {}, "unreadable-certificate"},
        {"empty.bin", {}, "unreadable-certificate"},
        {"key-mismatch.pem", {}, "key-mismatch"},
        {"too-large.bin", {}, "too-large"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.file);
        std::vector<std::string> args{"inspect", corpus(c.file), "--log-level", "debug"};
        args.insert(args.end(), c.extra.begin(), c.extra.end());
        auto result = run_certdeploy(args, dir.path());
        CHECK(result.status.code == 1);
        auto problem = nlohmann::json::parse(result.out);
        CHECK(problem["code"] == c.code);
        CHECK(problem["title"].is_string());
        CHECK(problem["detail"].is_string());
        CHECK(result.out.find("P@ssw0rd1") == std::string::npos);
        CHECK(result.err.find("P@ssw0rd1") == std::string::npos);
    }
    auto missing = run_certdeploy({"inspect"}, dir.path());
    CHECK(missing.status.code == 2);
}

TEST_CASE(
    "pki init makes a CA, a controller, its API certificate and agents / a rerun keeps them and adds new agents") {
    TempDir dir;
    const auto pki = dir / "pki";
    auto first = run_certdeploy({"pki", "init", pki.string(), "--agents", "ex01,ex02"}, dir.path());
    REQUIRE_MESSAGE(first.status.code == 0, first.err);
    CHECK(nlohmann::json::parse(first.out)["created"].size() == 5);
    for (const auto* key : {"ca.key", "controller.key", "server.key", "agents/ex01.key", "agents/ex02.key"}) {
        CAPTURE(key);
        CHECK(mode_of(pki / key) == 0600U);
    }
    CHECK(mode_of(pki) == 0700U);
    const auto ca_before = read_file(pki / "ca.pem");

    // The agent's certificate is trusted under the CA and names the agent, localhost and 127.0.0.1.
    auto agent = run_certdeploy(
        {"inspect", (pki / "agents/ex01.pem").string(), "--ca-file", (pki / "ca.pem").string(), "--no-system-trust"},
        dir.path());
    REQUIRE(agent.status.code == 0);
    auto summary = nlohmann::json::parse(agent.out);
    CHECK(summary["status"] == "Valid");
    CHECK(summary["certificateDomains"] == nlohmann::json::array({"ex01", "localhost"}));
    ChildProcess openssl("/usr/bin/openssl",
                         {"x509", "-in", (pki / "agents/ex01.pem").string(), "-noout", "-ext", "subjectAltName"},
                         dir.path());
    REQUIRE(openssl.wait_for_exit(std::chrono::seconds(20)).has_value());
    CHECK(openssl.stdout_text().find("IP Address:127.0.0.1") != std::string::npos);

    auto second = run_certdeploy({"pki", "init", pki.string(), "--agents", "ex02", "--agents", "ex03"}, dir.path());
    REQUIRE(second.status.code == 0);
    auto report = nlohmann::json::parse(second.out);
    CHECK(report["created"] == nlohmann::json::array({(pki / "agents/ex03.pem").string()}));
    CHECK(report["kept"].size() == 4);  // ca, controller, server, ex02
    CHECK(read_file(pki / "ca.pem") == ca_before);

    auto bad_name = run_certdeploy({"pki", "init", pki.string(), "--agents", "../escape"}, dir.path());
    CHECK(bad_name.status.code == 1);
    CHECK_FALSE(std::filesystem::exists(dir / "escape.pem"));
}

TEST_CASE("inspect trusts the system's roots: a root in the hashed system directory makes the chain Valid") {
    TempDir dir;
    const auto roots = dir / "roots";
    std::filesystem::create_directories(roots);
    std::filesystem::copy_file(kCorpus / "root.pem", roots / "fabrikam-root.pem");
    ChildProcess rehash("/usr/bin/openssl", {"rehash", roots.string()}, dir.path());
    REQUIRE(rehash.wait_for_exit(std::chrono::seconds(20)).has_value());

    auto with_root = run_certdeploy({"inspect", corpus("chain.p7c")}, dir.path(), {{"SSL_CERT_DIR", roots.string()}});
    REQUIRE(with_root.status.code == 0);
    CHECK(nlohmann::json::parse(with_root.out)["status"] == "Valid");

    auto refused = run_certdeploy({"inspect", corpus("chain.p7c"), "--no-system-trust"}, dir.path(),
                                  {{"SSL_CERT_DIR", roots.string()}});
    REQUIRE(refused.status.code == 0);
    CHECK(nlohmann::json::parse(refused.out)["status"] == "Untrusted");
}
