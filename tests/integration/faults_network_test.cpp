// Faults of the network and of the agents' hosts, with every agent on a host of its own (a network
// namespace with its own address, tests/support/host_network.hpp): a link cut and healed, loss and delay,
// an answer lost after the agent acted, an agent killed with -9 mid-install. Each ends with every target
// in a final state that tells the truth, nothing lost and nothing installed twice (docs/RELIABILITY.md).

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "tests/support/corpus.hpp"
#include "tests/support/fleet.hpp"
#include "tests/support/job_json.hpp"

using namespace certdeploy::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

bool is_final(const json& t) {
    return t["state"] == "succeeded" || t["state"] == "failed" || t["state"] == "canceled";
}

}  // namespace

TEST_CASE(
    "a link cut mid-deployment: healed within the attempts, the target succeeds / cut for longer, it fails "
    "agent-unreachable while the others finish, and a retry once healed succeeds") {
    // ex04 is reached through a proxy that holds every chunk 300 ms: its link is cut once the proxy has read
    // the install request (larger than the file it carries) and before it delivers it.
    Fleet fleet({server_names(4),
                 {},
                 json::object(),
                 (kCorpus / "root.pem").string(),
                 {"--max-attempts", "3", "--retry-delay-seconds", "0.5", "--attempt-timeout-seconds", "6"}},
                {true, {"ex04"}});
    fleet.proxy("ex04").set_delay(300ms);
    const auto file_size = read_file(kCorpus / "modern.pfx").size();
    auto cut_during_install = [&] {
        const auto before = fleet.proxy("ex04").client_bytes();
        const auto id = post_import(fleet, import_form("*"));
        const auto deadline = std::chrono::steady_clock::now() + 30s;
        while (fleet.proxy("ex04").client_bytes() - before < file_size && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(1ms);
        }
        REQUIRE(fleet.proxy("ex04").client_bytes() - before >= file_size);
        fleet.network().cut("ex04");
        return id;
    };

    SUBCASE("healed within the attempts") {
        const auto id = cut_during_install();
        fleet.wait_for_job(id, [](const json& job) { return target(job, "ex04")["attempts"].get<int>() >= 2; });
        fleet.network().heal("ex04");
        const auto job = fleet.wait_until_final(id);
        CHECK(job["state"] == "succeeded");
        CHECK(target(job, "ex04")["state"] == "succeeded");
        CHECK(target(job, "ex04")["attempts"].get<int>() >= 2);  // the first, cut, timed out
        for (const auto& name : server_names(4)) {
            CHECK(fleet.installs(name) == 1);
        }
        for (const auto& name : {"ex01", "ex02", "ex03"}) {
            CHECK(target(job, name)["attempts"] == 1);
        }
    }

    SUBCASE("cut for longer than every attempt, then healed and retried") {
        const auto id = cut_during_install();
        // The others finish while ex04 is still being tried: nobody waits for a dead link.
        const auto others_done = fleet.wait_for_job(id, [](const json& job) {
            return target(job, "ex01")["state"] == "succeeded" && target(job, "ex02")["state"] == "succeeded" &&
                   target(job, "ex03")["state"] == "succeeded";
        });
        CHECK_FALSE(is_final(target(others_done, "ex04")));

        auto job = fleet.wait_until_final(id);
        CHECK(job["state"] == "partiallySucceeded");
        const auto& cut = target(job, "ex04");
        CHECK(cut["state"] == "failed");
        CHECK(cut["attempts"] == 3);
        CHECK(cut["error"]["code"] == "agent-unreachable");
        CHECK(fleet.installs("ex04") <= 1);  // the first attempt's bytes may arrive once the link is back

        fleet.network().heal("ex04");
        auto retried = fleet.call(http::verb::post, "/v1/jobs/" + id + "/retry");
        REQUIRE(retried.result() == http::status::accepted);
        job = fleet.wait_until_final(id);
        CHECK(job["state"] == "succeeded");
        CHECK(target(job, "ex04")["attempts"] == 4);
        for (const auto& name : server_names(4)) {
            CHECK(fleet.installs(name) == 1);
        }
    }
}

TEST_CASE("30 % packet loss and 200 ms of delay each way to a quarter of the fleet: the deployment completes") {
    Fleet fleet({server_names(8),
                 {},
                 json::object(),
                 (kCorpus / "root.pem").string(),
                 {"--max-attempts", "6", "--retry-delay-seconds", "0.5", "--attempt-timeout-seconds", "20"}},
                {true, {"ex07", "ex08"}});
    for (const auto& name : {"ex07", "ex08"}) {
        fleet.proxy(name).set_delay(200ms);
        fleet.network().lose(name, 0.3);
    }
    const auto started = std::chrono::steady_clock::now();
    const auto id = post_import(fleet, import_form("*"));
    const auto job = fleet.wait_until_final(id, 200s);  // (below CTest's 300 s, so a failure says why)
    const auto took = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    MESSAGE("deployment to 8 servers, 2 of them lossy and slow: "
            << took << " s; attempts on ex07 " << target(job, "ex07")["attempts"] << ", ex08 "
            << target(job, "ex08")["attempts"] << "; packets dropped "
            << fleet.network().dropped("ex07") + fleet.network().dropped("ex08"));
    CHECK(job["state"] == "succeeded");
    CHECK(fleet.network().dropped("ex07") > 0);
    CHECK(fleet.network().dropped("ex08") > 0);
    for (const auto& name : server_names(8)) {
        CHECK(target(job, name)["state"] == "succeeded");
        CHECK(fleet.installs(name) == 1);
    }
}

TEST_CASE("an answer lost after the agent installed: the retry is answered alreadyInstalled, one install") {
    Fleet fleet({server_names(2),
                 {},
                 json::object(),
                 (kCorpus / "root.pem").string(),
                 {"--max-attempts", "3", "--retry-delay-seconds", "0.2", "--attempt-timeout-seconds", "8"}},
                {true, {"ex02"}});
    // The install request carries the file in base64: larger than the file, unlike any other request.
    fleet.proxy("ex02").lose_next_answer_to(read_file(kCorpus / "modern.pfx").size());
    const auto id = post_import(fleet, import_form("*"));
    const auto job = fleet.wait_until_final(id);
    CHECK(fleet.proxy("ex02").answers_lost() == 1);
    CHECK(job["state"] == "succeeded");
    const auto& lost = target(job, "ex02");
    CHECK(lost["state"] == "succeeded");
    CHECK(lost["attempts"] == 2);
    CHECK(lost["report"]["result"] == "alreadyInstalled");
    CHECK(target(job, "ex01")["report"]["result"] == "installed");
    CHECK(fleet.installs("ex01") == 1);
    CHECK(fleet.installs("ex02") == 1);
}

TEST_CASE(
    "an agent killed with -9 while it binds the certificate, then restarted: its store intact, the target "
    "retried and succeeding, one install") {
    TempDir files;
    const json services{{"web",
                         {{"certFile", (files / "%SERVER%-web.pem").string()},
                          {"layout", "pem-combined"},
                          {"reload", {"/bin/sh", "-c", "sleep 1"}}}}};
    Fleet fleet({server_names(2),
                 {},
                 services,
                 (kCorpus / "root.pem").string(),
                 {"--max-attempts", "5", "--retry-delay-seconds", "0.3", "--attempt-timeout-seconds", "10"}},
                {true, {}});
    auto form = import_form("*");
    form.push_back({"services", "web", ""});
    const auto id = post_import(fleet, form);

    // The service's file is written before its reload runs: the agent is between its store write and its answer.
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (!std::filesystem::exists(files / "ex01-web.pem") && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(2ms);
    }
    REQUIRE(std::filesystem::exists(files / "ex01-web.pem"));
    fleet.kill_agent("ex01");
    fleet.start_agent("ex01");

    const auto job = fleet.wait_until_final(id);
    CHECK(job["state"] == "succeeded");
    const auto& killed = target(job, "ex01");
    CHECK(killed["state"] == "succeeded");
    CHECK(killed["attempts"].get<int>() >= 2);
    CHECK(fleet.installs("ex01") == 1);
    CHECK(fleet.installs("ex02") == 1);

    // The restarted agent's store holds the certificate once, bound to the service.
    const auto thumbprint = job["certificate"]["thumbprint"].get<std::string>();
    auto listed = fleet.call(http::verb::get, "/v1/servers/ex01/certificates/" + thumbprint);
    INFO(listed.body());
    REQUIRE(listed.result() == http::status::ok);
    const auto entry = json::parse(listed.body());
    CHECK(entry["services"] == json::array({"web"}));
    CHECK(read_file(files / "ex01-web.pem").find("BEGIN CERTIFICATE") != std::string::npos);
}
