// The controller's store alone: how many target transitions per second it persists. A job of TARGETS
// targets is created, then each target is moved pending → running → succeeded (the two transitions every
// deployed target makes, each a committed, fsynced transaction with its event) from THREADS threads at
// once, for each THREADS given. SQLite in a fresh data directory each time, with the controller's own
// settings (WAL, synchronous=FULL), with and without group commit; then PostgreSQL, a local server started
// for the run (Debian's, fsync on as shipped, tests/support/postgresql_server), a fresh database each time
// and as many connections as threads (it groups its own WAL flushes). The figure is the store's ceiling for
// the dispatcher.
//
//   store_bench [TARGETS] [THREADS...]      e.g. store_bench 2000 1 8 64
// With STORE_BENCH_SQLITE_ONLY=1, no PostgreSQL.

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_jobs.hpp"
#include "service/controller/job_service.hpp"
#include "store/controller_store.hpp"
#include "tests/support/postgresql_server.hpp"
#include "tests/support/temp_dir.hpp"

using namespace certdeploy::store;

namespace {

std::string server_name(int i) {
    return certdeploy::bench::numbered("s%05d", i);
}

NewJob job_of(int targets) {
    std::vector<std::string> servers;
    for (int i = 0; i < targets; ++i) {
        servers.push_back(server_name(i));
    }
    return certdeploy::bench::import_job("bench", servers, "2026-12-03T00:00:00Z");
}

TargetChange change(const std::string& server, const std::string& from, const std::string& to) {
    return certdeploy::bench::move("bench", server, from, to, "2026-12-03T00:00:01Z", "alreadyInstalled");
}

// Moves every target of a fresh store's job twice from `threads` threads; prints the rate. False on a failure.
bool measure(const std::string& what, int targets, int threads,
             const std::function<StoreResult<std::unique_ptr<ControllerStore>>()>& open) {
    const auto& rules = certdeploy::controller::JobService::rules();
    auto store = open();
    if (!store) {
        std::fprintf(stderr, "store_bench: cannot open the store (%s): %s\n", what.c_str(), store.error().what.c_str());
        return false;
    }
    if (!(*store)->create_job(job_of(targets))) {
        std::fprintf(stderr, "store_bench: cannot create the job (%s)\n", what.c_str());
        return false;
    }
    std::vector<std::thread> workers;
    std::vector<int> failures(static_cast<std::size_t>(threads));
    const auto began = std::chrono::steady_clock::now();
    for (int w = 0; w < threads; ++w) {
        workers.emplace_back([&, w] {
            for (int i = w; i < targets; i += threads) {
                const std::string server = server_name(i);
                auto started = (*store)->change_target(change(server, "pending", "running"), rules);
                auto finished = (*store)->change_target(change(server, "running", "succeeded"), rules);
                if (!started || !*started || !finished || !*finished) {
                    ++failures[static_cast<std::size_t>(w)];
                }
            }
        });
    }
    for (auto& worker : workers) {
        worker.join();
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
    int failed = 0;
    for (const int f : failures) {
        failed += f;
    }
    auto job = (*store)->get_job("bench");
    const bool done = job && *job && (*job)->state == "succeeded";
    std::printf("%s, %d targets, %d thread%s: %d transitions in %.3f s, %.0f transitions/s, %.3f ms each%s\n",
                what.c_str(), targets, threads, threads == 1 ? "" : "s", 2 * targets, seconds, 2 * targets / seconds,
                seconds * 1000 / (2 * targets), failed == 0 && done ? "" : " (FAILED: not every move applied)");
    std::fflush(stdout);
    return failed == 0 && done;
}

}  // namespace

int main(int argc, char** argv) {
    const int targets = argc > 1 ? std::atoi(argv[1]) : 2000;
    std::vector<int> thread_counts;
    for (int i = 2; i < argc; ++i) {
        thread_counts.push_back(std::atoi(argv[i]));
    }
    if (thread_counts.empty()) {
        thread_counts = {1, 8, 64};
    }
    for (const bool group_commit : {false, true}) {
        for (const int threads : thread_counts) {
            certdeploy::test::TempDir dir;
            const std::string what = std::string("SQLite, group commit ") + (group_commit ? "on " : "off");
            if (!measure(what, targets, threads,
                         [&] { return open_sqlite_controller_store(dir.path(), group_commit); })) {
                return 1;
            }
        }
    }
    if (const char* only = std::getenv("STORE_BENCH_SQLITE_ONLY"); only != nullptr && std::string(only) == "1") {
        return 0;
    }
    certdeploy::test::PostgresqlServer server(certdeploy::test::PostgresqlServer::Durability::fsync);
    std::ifstream file(server.password_file());
    std::string password((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    while (!password.empty() && (password.back() == '\n' || password.back() == '\r')) {
        password.pop_back();
    }
    int database = 0;
    for (const int threads : thread_counts) {
        const std::string name = "bench" + std::to_string(++database);
        server.create_database(name);
        const std::string what = "PostgreSQL, fsync on, " + std::to_string(threads) + " connections";
        if (!measure(what, targets, threads, [&] {
                return open_postgresql_controller_store(server.conninfo(name), password,
                                                        static_cast<std::size_t>(threads));
            })) {
            return 1;
        }
    }
    return 0;
}
