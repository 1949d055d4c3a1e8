// The command line as an administrator meets it: subcommands, --help, version, and configuration errors
// that stop the process with one line naming the key.

#include <doctest/doctest.h>

#include <algorithm>

#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

using namespace certdeploy::test;

namespace {

std::size_t line_count(const std::string& text) {
    return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

}  // namespace

TEST_CASE("version and help") {
    TempDir dir;
    auto version = run_certdeploy({"version"}, dir.path());
    CHECK(version.status.code == 0);
    CHECK(version.out.rfind("certdeploy ", 0) == 0);

    for (const std::string command : {"server", "agent", "version"}) {
        CAPTURE(command);
        auto help = run_certdeploy({command, "--help"}, dir.path());
        CHECK(help.status.code == 0);
        CHECK(help.out.find("Usage: certdeploy " + command) != std::string::npos);
    }
    auto server_help = run_certdeploy({"server", "--help"}, dir.path());
    CHECK(server_help.out.find("--ready-file") != std::string::npos);
    CHECK(server_help.out.find("CERTDEPLOY_LISTEN") != std::string::npos);

    auto top = run_certdeploy({"--help"}, dir.path());
    CHECK(top.status.code == 0);
    CHECK(top.out.find("server") != std::string::npos);
    CHECK(top.out.find("  import        import a certificate file on many servers\n") != std::string::npos);
    for (const std::string command :
         {"import", "jobs", "servers", "certificates", "enable", "remove", "retry", "cancel"}) {
        CAPTURE(command);
        auto help = run_certdeploy({command, "--help"}, dir.path());
        CHECK(help.status.code == 0);
        CHECK(help.out.find("Usage: certdeploy " + command) != std::string::npos);
        CHECK(help.out.find("--controller URL") != std::string::npos);
    }

    auto none = run_certdeploy({}, dir.path());
    CHECK(none.status.code == 2);

    auto unknown = run_certdeploy({"deploy"}, dir.path());
    CHECK(unknown.status.code == 2);
    CHECK(unknown.err.find("unknown command 'deploy'") != std::string::npos);
}

TEST_CASE("a bad configuration value stops certdeploy with a non-zero status and one line naming the key") {
    TempDir dir;
    write_file(dir / "bad.json", R"({"listen": "127.0.0.1:8080", "threads": -2})");
    write_file(dir / "unknown.json", R"({"lsten": "127.0.0.1:8080"})");
    struct Case {
        std::vector<std::string> args;
        std::map<std::string, std::optional<std::string>> env;
        std::string key;
    };
    const std::vector<Case> cases = {
        {{"server", "--listen", "127.0.0.1:99999"}, {}, "\"listen\""},
        {{"agent", "--log-level", "verbose"}, {}, "\"logLevel\""},
        {{"server"}, {{"CERTDEPLOY_REQUEST_TIMEOUT_SECONDS", "never"}}, "\"requestTimeoutSeconds\""},
        {{"server", "--config", (dir / "bad.json").string()}, {}, "\"threads\""},
        {{"agent", "--config", (dir / "unknown.json").string()}, {}, "\"lsten\""},
        {{"server", "--listen"}, {}, "listen"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.args);
        auto result = run_certdeploy(c.args, dir.path(), c.env);
        CHECK(result.status.exited);
        CHECK(result.status.code == 2);
        CHECK(line_count(result.err) == 1);
        CHECK(result.err.find(c.key) != std::string::npos);
        CHECK(result.out.empty());
    }
}
