// Faults of the controller's own machine, with the agents on hosts of their own (network namespaces): its
// data directory full, its clock stepped, and kill -9 at random points fifty times over. Each ends with
// every job final and telling the truth, nothing lost, nothing installed twice (docs/RELIABILITY.md).

#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <cmath>
#include <ctime>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "tests/support/corpus.hpp"
#include "tests/support/fleet.hpp"
#include "tests/support/job_json.hpp"

using namespace certdeploy::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

// The job's events, read to the end: the stream's ids must run 1, 2, 3... and end with `done`.
void check_history(Fleet& fleet, const std::string& id) {
    HttpClient client(fleet.address());
    http::request<http::string_body> follow{http::verb::get, "/v1/jobs/" + id + "/events", 11};
    follow.set(http::field::authorization, fleet.bearer());
    const auto events = parse_events(client.send(follow, 30s).body());
    CAPTURE(id);
    REQUIRE_FALSE(events.empty());
    CHECK(events.back().type == "done");
    for (std::size_t i = 0; i < events.size(); ++i) {
        CHECK(events[i].id == static_cast<long>(i + 1));
    }
}

// The job succeeded on each of the fleet's `servers` servers, each agent having installed the certificate once.
void check_succeeded_once_everywhere(const Fleet& fleet, const json& job, int servers) {
    CHECK(job["state"] == "succeeded");
    for (const auto& name : server_names(servers)) {
        CAPTURE(name);
        CHECK(target(job, name)["state"] == "succeeded");
        CHECK(fleet.installs(name) == 1);
    }
}

// Seconds since the epoch of an RFC 3339 UTC time as the API writes it (2026-12-03T10:48:56Z).
std::time_t unix_time(const json& text) {
    std::tm tm{};
    std::istringstream in(text.get<std::string>());
    in >> std::get_time(&tm, "%Y-%m-%dT%H:%M:%S");
    REQUIRE_FALSE(in.fail());
    return ::timegm(&tm);
}

// A tmpfs of `megabytes` over `dir` for the test's duration. Detached lazily: the controller may still
// hold it open when the test ends.
class Tmpfs {
  public:
    Tmpfs(const std::filesystem::path& dir, int megabytes) : dir_(dir) {
        std::filesystem::create_directories(dir);
        const auto command =
            "mount -t tmpfs -o size=" + std::to_string(megabytes) + "m,mode=0700 tmpfs '" + dir.string() + "'";
        REQUIRE(std::system(command.c_str()) == 0);
    }
    ~Tmpfs() { std::system(("umount -l '" + dir_.string() + "'").c_str()); }
    Tmpfs(const Tmpfs&) = delete;
    Tmpfs& operator=(const Tmpfs&) = delete;

  private:
    std::filesystem::path dir_;
};

// Writes zeros to `path` until the file system refuses (ENOSPC); returns the bytes written.
std::size_t fill(const std::filesystem::path& path) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    REQUIRE(fd >= 0);
    const std::string zeros(64 * 1024, '\0');
    std::size_t total = 0;
    for (;;) {
        const auto n = ::write(fd, zeros.data(), zeros.size());
        if (n <= 0) {
            break;
        }
        total += static_cast<std::size_t>(n);
    }
    ::close(fd);
    return total;
}

}  // namespace

TEST_CASE(
    "the controller's data directory full mid-deployment: 507 disk-full, nothing lost, and the deployment "
    "finishes once there is room, without a restart") {
    Fleet fleet({server_names(4),
                 {},
                 json::object(),
                 (kCorpus / "root.pem").string(),
                 {"--max-attempts", "4", "--retry-delay-seconds", "0.2"}},
                {true, server_names(4)});
    // The controller again, on a fresh data directory that is a small tmpfs.
    fleet.stop_controller();
    Tmpfs tmpfs(fleet.data_dir(), 16);
    fleet.start_controller();
    for (const auto& name : server_names(4)) {
        fleet.proxy(name).set_delay(400ms);  // each target takes a few seconds: the disk fills in the middle
    }

    const auto id = post_import(fleet, import_form("*"));
    // Filled once the targets are running (their start written): their outcomes meet the full disk.
    fleet.wait_for_job(id, [](const json& job) { return job["targetCounts"]["running"].get<int>() == 4; });
    const auto filler = fleet.data_dir() / "filler";
    REQUIRE(fill(filler) > 0);

    // Writes are refused with a code that says why, and create nothing.
    auto refused = fleet.post_form("/v1/imports", import_form("*", kPassword, "keytool.p12"));
    INFO(refused.body());
    CHECK(refused.result() == http::status::insufficient_storage);
    CHECK(json::parse(refused.body())["code"] == "disk-full");
    // Reads are answered.
    std::this_thread::sleep_for(3s);
    auto during = fleet.call(http::verb::get, "/v1/jobs/" + id);
    REQUIRE(during.result() == http::status::ok);
    MESSAGE("while full: " << json::parse(during.body())["targetCounts"].dump());

    std::filesystem::remove(filler);
    const auto job = fleet.wait_until_final(id);
    check_succeeded_once_everywhere(fleet, job, 4);
    check_history(fleet, id);
    const auto jobs = json::parse(fleet.call(http::verb::get, "/v1/jobs").body())["jobs"];
    CHECK(jobs.size() == 1);  // the refused import left nothing behind
    // The fault reached this deployment's own writes, which were tried again until they went through.
    const auto log = fleet.controller_log();
    INFO(log.substr(log.size() > 6000 ? log.size() - 6000 : 0));
    CHECK(log.find(R"("msg":"cannot record a target's outcome","job":")" + id) != std::string::npos);
}

TEST_CASE(
    "the controller's clock stepped 2 h forward and back during a deployment: no target stuck, retries "
    "bounded, each installed once") {
    // libfaketime (Debian's libfaketime) moves the controller's wall clock only: CLOCK_MONOTONIC stays
    // true, as when an administrator or NTP steps the clock. The offset is read from a file at every call.
    // The agents on loopback: `pki init`'s certificates are valid from a day back, so the step back does not
    // make them look not yet valid (it would with ones issued this minute, and then TLS would be the test).
    TempDir clock;
    const auto offset = clock / "offset";
    write_file(offset, "+0\n");
    Fleet fleet({server_names(4),
                 {},
                 json::object(),
                 (kCorpus / "root.pem").string(),
                 {"--max-attempts", "8", "--retry-delay-seconds", "0.5", "--attempt-timeout-seconds", "10"}},
                {false, {"ex01", "ex02"}});
    fleet.stop_controller();
    fleet.set_controller_environment({{"LD_PRELOAD", "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"},
                                      {"FAKETIME_TIMESTAMP_FILE", offset.string()},
                                      {"FAKETIME_NO_CACHE", "1"},
                                      {"FAKETIME_DONT_FAKE_MONOTONIC", "1"},
                                      // ASan wants to come first among preloads; the clock library must.
                                      {"ASAN_OPTIONS", "verify_asan_link_order=0"}});
    fleet.start_controller();
    for (const auto& name : {"ex01", "ex02"}) {
        fleet.proxy(name).set_delay(300ms);  // in flight while the clock moves
    }
    fleet.stop_agent("ex04");  // retried with backoff while the clock moves

    // The probes (every second) stamp each server's lastContact with the controller's clock: proof of where
    // that clock was.
    auto contact_offset_hours = [&] {
        const auto page = json::parse(fleet.call(http::verb::get, "/v1/servers").body());
        const auto now = std::time(nullptr);
        double furthest = 0;
        for (const auto& server : page["servers"]) {
            if (server["lastContact"].is_string()) {
                const double hours = static_cast<double>(unix_time(server["lastContact"]) - now) / 3600.0;
                furthest = std::abs(hours) > std::abs(furthest) ? hours : furthest;
            }
        }
        return furthest;
    };
    const auto id = post_import(fleet, import_form("*"));
    std::this_thread::sleep_for(300ms);
    write_file(offset, "+2h\n");
    std::this_thread::sleep_for(2500ms);
    const double ahead = contact_offset_hours();
    write_file(offset, "-2h\n");
    std::this_thread::sleep_for(2500ms);
    const double behind = contact_offset_hours();
    write_file(offset, "+0\n");
    fleet.start_agent("ex04");
    CHECK(ahead > 1.5);
    CHECK(behind < -1.5);

    const auto job = fleet.wait_until_final(id);
    check_succeeded_once_everywhere(fleet, job, 4);
    // Backoff ran on the monotonic clock: ex04, down for about 5.3 s with a first delay of 0.5 s doubling,
    // needed a handful of attempts, not all eight (a backoff fooled by 2 h would have run them out, or hung).
    CHECK(target(job, "ex04")["attempts"].get<int>() < 8);
    check_history(fleet, id);
}

TEST_CASE(
    "the controller killed with -9 at random points, 50 times, while jobs run: the database opens every "
    "time and every job ends final, each certificate installed once") {
    Fleet fleet(
        {server_names(6), {}, json::object(), (kCorpus / "root.pem").string(), {"--retry-delay-seconds", "0.1"}},
        {true, {}});
    std::mt19937 random(20261203);  // the same points on every run
    std::uniform_int_distribution<int> pause_ms(0, 150);
    const std::vector<std::string> files{"modern.pfx", "keytool.p12"};
    std::set<std::string> ids;
    int interrupted = 0;  // rounds whose job was still running when the controller was killed
    for (int round = 0; round < 50; ++round) {
        const auto id =
            post_import(fleet, import_form("*", kPassword, files[static_cast<std::size_t>(round) % files.size()]));
        ids.insert(id);
        std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms(random)));
        fleet.kill_controller();
        fleet.start_controller();  // fails the test if the controller cannot open its database
        const auto state = json::parse(fleet.call(http::verb::get, "/v1/jobs/" + id).body())["state"];
        interrupted += state == "running" || state == "queued" ? 1 : 0;
    }
    MESSAGE(interrupted << " of 50 kills landed while their round's job was running");
    CHECK(interrupted > 0);
    for (const auto& id : ids) {
        const auto job = fleet.wait_until_final(id, 120s);
        CAPTURE(id);
        CHECK(job["state"] == "succeeded");
    }
    const auto listed = json::parse(fleet.call(http::verb::get, "/v1/jobs?limit=100").body())["jobs"];
    CHECK(listed.size() == ids.size());  // nothing lost, nothing made twice
    // Targets whose start was written and whose outcome was not when the controller died are sent again
    // after the restart, so they show more than one attempt: proof that kills landed inside deployments.
    int sent_again = 0;
    for (const auto& id : ids) {
        const auto job = json::parse(fleet.call(http::verb::get, "/v1/jobs/" + id).body());
        for (const auto& t : job["targets"]) {
            sent_again += t["attempts"].get<int>() > 1 ? 1 : 0;
        }
    }
    MESSAGE(sent_again << " targets were running when a kill came and were sent again after the restart");
    CHECK(sent_again > 0);
    for (const auto& name : server_names(6)) {
        CAPTURE(name);
        CHECK(fleet.installs(name) == 2);  // two certificates, each installed once; the rest alreadyInstalled
    }
    for (const auto& id : ids) {
        check_history(fleet, id);
    }
}
