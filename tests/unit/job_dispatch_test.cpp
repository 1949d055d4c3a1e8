// The controller's jobs without a socket: JobService and the JobDispatcher against the real SQLite store in
// a temporary directory and a scripted fake of controller::AgentApi, run on an io_context in this thread.
// Submit, idempotency replay and conflict, retry of failed targets only, cancel, resume after a restart,
// and each attempt calling the server's registration at that moment.

#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <deque>
#include <map>
#include <vector>

#include "service/controller/agent_api.hpp"
#include "service/controller/job_service.hpp"
#include "service/controller/runtime/job_dispatcher.hpp"
#include "service/controller/server_registry.hpp"
#include "service/json_result.hpp"
#include "tests/support/temp_dir.hpp"

using namespace certdeploy;
using namespace certdeploy::controller;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

// The job's target for `server`; fails the test when there is none.
const store::TargetRow& target(const JobView& job, const std::string& server) {
    for (const auto& t : job.targets) {
        if (t.server == server) {
            return t;
        }
    }
    FAIL("no target for " << server);
    static const store::TargetRow none;
    return none;
}

const std::string kThumbprint = "11F57ABCE8776AFFA6A5DCF805FD35107AEC91B9";

// What one call to an agent answers: success, a refusal with a code, or no answer at all.
enum class Answer { ok, unreachable, in_use };

// Answers each server's calls from a script (then ok), and records every call: server, URL, operation.
class ScriptedAgents final : public AgentApi {
  public:
    std::map<std::string, std::deque<Answer>> script;
    struct Call {
        std::string server;
        std::string url;
        std::string operation;
    };
    std::vector<Call> calls;
    std::vector<std::string> requestKeys;  // the idempotency key of each request made

    int count(const std::string& server) const {
        int n = 0;
        for (const auto& call : calls) {
            n += call.server == server ? 1 : 0;
        }
        return n;
    }

    asio::awaitable<Result<Health>> health(const Where& where) override {
        if (auto failed = next(where, "health")) {
            co_return *failed;
        }
        co_return Health{std::string("0.1.0")};
    }
    asio::awaitable<Result<json>> list(const Where& where, std::optional<pki::Status>) override {
        if (auto failed = next(where, "list")) {
            co_return *failed;
        }
        co_return json_result(json{{"certificates", json::array()}});
    }
    asio::awaitable<Result<json>> get(const Where& where, const std::string& thumbprint) override {
        if (auto failed = next(where, "get")) {
            co_return *failed;
        }
        co_return json_result(described(thumbprint));
    }
    asio::awaitable<Result<Installed>> install(const Where& where, const std::string& thumbprint, const Upload&, bool,
                                               const std::string&, Deadline) override {
        if (auto failed = next(where, "install")) {
            co_return *failed;
        }
        co_return Installed{"installed", described(thumbprint)};
    }
    asio::awaitable<Result<Installed>> request(const Where& where, const store::RequestOptions& request,
                                               const std::string&, bool, const std::string& key, Deadline) override {
        if (auto failed = next(where, "request")) {
            co_return *failed;
        }
        requestKeys.push_back(key);
        co_return Installed{"requested", json{{"thumbprint", std::string(40, 'A')},
                                              {"subject", request.subject},
                                              {"certificateDomains", request.domains},
                                              {"status", "PendingRequest"},
                                              {"publicKeySha256", std::string(64, 'B')},
                                              {"certificateRequest", "-----BEGIN CERTIFICATE REQUEST-----"}}};
    }
    asio::awaitable<Result<json>> enable(const Where& where, const std::string& thumbprint,
                                         const std::vector<std::string>& services, Deadline) override {
        if (auto failed = next(where, "enable")) {
            co_return *failed;
        }
        auto certificate = described(thumbprint);
        certificate["services"] = services;
        co_return json_result(std::move(certificate));
    }
    asio::awaitable<Result<std::string>> export_pkcs12(const Where& where, const std::string&, std::string) override {
        if (auto failed = next(where, "export")) {
            co_return *failed;
        }
        co_return std::string("pkcs12");
    }
    asio::awaitable<Result<void>> remove(const Where& where, const std::string&, Deadline) override {
        if (auto failed = next(where, "remove")) {
            co_return *failed;
        }
        co_return Result<void>();
    }

  private:
    static json described(const std::string& thumbprint) {
        return {{"thumbprint", thumbprint}, {"status", "Valid"}, {"notAfter", "2030-01-01T00:00:00Z"}};
    }
    std::optional<Error> next(const Where& where, const char* operation) {
        calls.push_back({where.server, where.url, operation});
        auto& queue = script[where.server];
        if (queue.empty()) {
            return std::nullopt;
        }
        const auto answer = queue.front();
        queue.pop_front();
        switch (answer) {
            case Answer::ok:
                return std::nullopt;
            case Answer::unreachable:
                return make_error(ErrorCode::agent_unreachable, where.server + ": unreachable");
            case Answer::in_use:
                return make_error(ErrorCode::certificate_in_use, where.server + ": in use");
        }
        return std::nullopt;
    }
};

// A controller's domain and runtime on one io_context, driven from the test's thread.
struct Controller {
    test::TempDir dir;
    std::shared_ptr<store::ControllerStore> store;
    std::unique_ptr<ServerRegistry> servers;
    std::unique_ptr<JobService> jobs;
    ScriptedAgents agents;
    std::unique_ptr<boost::asio::io_context> context = std::make_unique<boost::asio::io_context>();
    std::unique_ptr<boost::asio::thread_pool> pool = std::make_unique<boost::asio::thread_pool>(1);
    std::unique_ptr<JobDispatcher> dispatcher;

    explicit Controller(int servers_count) {
        open();
        for (int i = 1; i <= servers_count; ++i) {
            register_server("ex0" + std::to_string(i), "https://10.0.0." + std::to_string(i) + ":9001");
        }
    }
    ~Controller() { stop(); }

    // As the server command stops: the context first (suspended coroutines are never resumed), the store's
    // work finished, then the dispatcher and the context destroyed.
    void stop() {
        if (jobs) {
            jobs->set_queue(nullptr);
        }
        context->stop();
        pool->join();
        dispatcher.reset();
        context = std::make_unique<boost::asio::io_context>();
        pool = std::make_unique<boost::asio::thread_pool>(1);
    }

    void open() {
        store = store::open_sqlite_controller_store(dir.path()).value();
        servers = std::make_unique<ServerRegistry>(store);
        auto pki = pki::PkiContext::create().value();
        jobs = std::make_unique<JobService>(store, UploadVault::open(dir.path()).value(), pki,
                                            pki::TrustStore::create(pki, {}).value(), std::chrono::hours(24));
    }

    // The dispatcher starts as the server command starts it: after resuming what a stop left running.
    void start_dispatcher() {
        dispatcher = std::make_unique<JobDispatcher>(*context, agents, *jobs, *pool,
                                                     DispatchOptions{4, 3, 1ms, 4ms, std::chrono::seconds(5)});
        dispatcher->start(jobs->runnable(std::nullopt, JobService::Reclaim::orphans_and_own).value());
        jobs->set_queue(dispatcher.get());
    }

    void register_server(const std::string& name, const std::string& url) {
        REQUIRE(servers->put(name, ServerSpec{url, {}}).has_value());
    }

    std::string submit(JobKind kind, std::vector<std::string> names = {"*"}, const std::string& key = {}) {
        FleetRequest request{kind, kThumbprint, ServerChoice{std::move(names), {}, false, std::nullopt}, {}};
        if (kind == JobKind::enable) {
            request.services = {"web"};
        }
        auto submitted = jobs->submit_fleet(request, key);
        REQUIRE(submitted.has_value());
        return submitted->job.job.id;
    }

    // Runs the io_context until the job is final (the store's pool finishes each transition meanwhile).
    JobView run_until_final(const std::string& id) {
        for (int i = 0; i < 500; ++i) {
            context->run_for(10ms);
            if (jobs->finished(id).value()) {
                context->run_for(10ms);  // the last worker leaves its target
                return jobs->get(id).value();
            }
        }
        FAIL("job " << id << " did not finish");
        return {};
    }
};

}  // namespace

TEST_CASE("jobs without a socket: refused at once, unreachable retried with backoff, the rest succeed") {
    Controller c(3);
    c.start_dispatcher();
    c.agents.script["ex02"] = {Answer::in_use};
    c.agents.script["ex03"] = {Answer::unreachable, Answer::unreachable};
    const auto id = c.submit(JobKind::enable);
    const auto job = c.run_until_final(id);
    CHECK(job.job.state == "partiallySucceeded");
    CHECK(target(job, "ex01").result == "enabled");
    CHECK(target(job, "ex01").attempts == 1);
    CHECK(target(job, "ex02").state == "failed");
    CHECK(target(job, "ex02").errorCode == "certificate-in-use");
    CHECK(target(job, "ex02").attempts == 1);  // a refusal is not tried again
    CHECK(target(job, "ex03").state == "succeeded");
    CHECK(target(job, "ex03").attempts == 3);
    CHECK(c.agents.count("ex03") == 3);
    CHECK(job.job.hasUpload == false);

    // Retry: the failed target only, at the server's registration now.
    c.register_server("ex02", "https://10.0.0.22:9443");
    REQUIRE(c.jobs->retry(id, "").has_value());
    const auto retried = c.run_until_final(id);
    CHECK(retried.job.state == "succeeded");
    CHECK(target(retried, "ex02").attempts == 2);
    CHECK(c.agents.count("ex01") == 1);
    CHECK(c.agents.calls.back().url == "https://10.0.0.22:9443");
    CHECK(c.jobs->retry(id, "").error().code == ErrorCode::job_not_retryable);
}

TEST_CASE("jobs without a socket: the attempts run out, a deleted server fails, remove's not-found is done") {
    Controller c(2);
    c.start_dispatcher();
    c.agents.script["ex01"] = {Answer::unreachable, Answer::unreachable, Answer::unreachable, Answer::unreachable};
    const auto id = c.submit(JobKind::remove);
    const auto job = c.run_until_final(id);
    CHECK(job.job.state == "partiallySucceeded");
    CHECK(target(job, "ex01").errorCode == "agent-unreachable");
    CHECK(target(job, "ex01").attempts == 3);  // maxAttempts
    CHECK(target(job, "ex02").result == "removed");

    REQUIRE(c.servers->remove("ex01").has_value());
    REQUIRE(c.jobs->retry(id, "").has_value());
    const auto retried = c.run_until_final(id);
    CHECK(target(retried, "ex01").errorCode == "server-not-found");
    CHECK(target(retried, "ex01").attempts == 3);  // nothing was sent
    CHECK(c.agents.count("ex01") == 3);
}

TEST_CASE("jobs without a socket: Idempotency-Key replays the job or conflicts, and no queue makes no job") {
    Controller c(2);
    {
        FleetRequest request{JobKind::enable, kThumbprint, ServerChoice{{"*"}, {}, false, std::nullopt}, {"web"}};
        CHECK(c.jobs->submit_fleet(request, "").error().code == ErrorCode::agent_unreachable);  // no dispatcher
    }
    c.start_dispatcher();
    const auto first = c.submit(JobKind::enable, {"*"}, "key-1");
    FleetRequest same{JobKind::enable, kThumbprint, ServerChoice{{"*"}, {}, false, std::nullopt}, {"web"}};
    auto replay = c.jobs->submit_fleet(same, "key-1");
    REQUIRE(replay.has_value());
    CHECK_FALSE(replay->created);
    CHECK(replay->job.job.id == first);
    FleetRequest other{JobKind::remove, kThumbprint, ServerChoice{{"ex01"}, {}, false, std::nullopt}, {}};
    CHECK(c.jobs->submit_fleet(other, "key-1").error().code == ErrorCode::idempotency_conflict);
    c.run_until_final(first);
    CHECK(c.agents.calls.size() == 2);  // the replay ran nothing twice
}

TEST_CASE("jobs without a socket: a cancel skips pending targets, a restart resumes running ones once") {
    Controller c(3);
    c.start_dispatcher();
    // Made, but the context has not run: every target is still pending when the cancel comes.
    const auto cancelled = c.submit(JobKind::enable);
    REQUIRE(c.jobs->cancel(cancelled, "").has_value());
    const auto job = c.run_until_final(cancelled);
    CHECK(job.job.state == "cancelled");
    CHECK(job.job.targetCounts.at("cancelled") == 3);
    CHECK(c.agents.calls.empty());

    // A target left running by a controller that stopped: the next start sends it again, once.
    const auto id = c.submit(JobKind::enable, {"ex01"});
    store::TargetRef ref{id, "ex01", 0};
    REQUIRE(c.jobs->start_target(ref).value().has_value());  // pending -> running, then the stop
    c.stop();
    c.start_dispatcher();  // runnable(reset_running): running -> pending, queued
    const auto resumed = c.run_until_final(id);
    CHECK(resumed.job.state == "succeeded");
    CHECK(target(resumed, "ex01").attempts == 2);
    CHECK(c.agents.count("ex01") == 1);
}

TEST_CASE("jobs without a socket: a job's work is held once while its targets run, and let go when they end") {
    Controller c(3);
    c.start_dispatcher();
    c.agents.script["ex03"] = {Answer::unreachable, Answer::unreachable};  // two backoffs: held meanwhile
    const auto id = c.submit(JobKind::enable);
    std::size_t most = 0;
    for (int i = 0; i < 500 && !c.jobs->finished(id).value(); ++i) {
        c.context->run_for(1ms);
        most = std::max(most, c.dispatcher->jobs_cached());
    }
    c.context->run_for(10ms);  // the last worker leaves its target
    CHECK(most == 1);
    CHECK(c.dispatcher->jobs_cached() == 0);  // nothing of the finished job is kept
    const auto job = c.jobs->get(id).value();
    CHECK(job.job.state == "succeeded");
    CHECK(target(job, "ex03").attempts == 3);
    for (const auto& call : c.agents.calls) {
        CHECK(call.operation == "enable");  // every target ran the job's own work
    }

    // Two jobs at once: each held apart, both let go.
    const auto second = c.submit(JobKind::enable, {"ex01"});
    const auto third = c.submit(JobKind::remove, {"ex02"});
    CHECK(c.run_until_final(second).job.state == "succeeded");
    CHECK(c.run_until_final(third).job.state == "succeeded");
    CHECK(c.agents.calls.back().operation == "remove");
    CHECK(c.dispatcher->jobs_cached() == 0);
}
