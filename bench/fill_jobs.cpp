// Fills a controller's data directory with finished jobs, through the store as the controller writes them:
// JOBS import jobs of one target each (server names s00000.. over SERVERS), each created with its sealed
// upload, moved pending → running → succeeded (its events written), its upload then dropped as the
// controller drops uploads of finished jobs. For bench/jobs_bench.sh, which starts a controller on the
// result and measures its memory with that history in the store.
//
//   fill_jobs DATA_DIR JOBS SERVERS

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_jobs.hpp"
#include "service/controller/job_service.hpp"
#include "service/time/rfc3339.hpp"
#include "store/controller_store.hpp"

using namespace certdeploy::store;
using certdeploy::bench::numbered;

int main(int argc, char** argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: fill_jobs DATA_DIR JOBS SERVERS\n");
        return 2;
    }
    const int jobs = std::atoi(argv[2]);
    const int servers = std::max(1, std::atoi(argv[3]));
    // Group commit: the moves from many threads share transactions, as the dispatcher's do.
    auto store = open_sqlite_controller_store(argv[1], true);
    if (!store) {
        std::fprintf(stderr, "fill_jobs: cannot open the store: %s\n", store.error().what.c_str());
        return 1;
    }
    const auto& rules = certdeploy::controller::JobService::rules();
    const auto start = std::chrono::system_clock::now() - std::chrono::hours(24 * 30);
    std::atomic<int> next{0};
    std::atomic<int> failures{0};
    std::vector<std::thread> workers;
    const auto began = std::chrono::steady_clock::now();
    for (int w = 0; w < 32; ++w) {
        workers.emplace_back([&] {
            for (int n = next++; n < jobs; n = next++) {
                const std::string at = certdeploy::rfc3339(start + std::chrono::seconds(n));
                const std::string server = numbered("s%05d", n % servers);
                auto job = certdeploy::bench::import_job(numbered("fill-%07d", n), {server}, at);
                auto moved = [&](const char* from, const char* to) {
                    auto applied = (*store)->change_target(
                        certdeploy::bench::move(job.job.id, server, from, to, at, "installed"), rules);
                    return applied && *applied;
                };
                const bool done = (*store)->create_job(job).has_value() && moved("pending", "running") &&
                                  moved("running", "succeeded");
                if (!done) {
                    ++failures;
                }
            }
        });
    }
    for (auto& worker : workers) {
        worker.join();
    }
    auto dropped = (*store)->drop_uploads(certdeploy::rfc3339(std::chrono::system_clock::now()));
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
    std::fprintf(stderr, "fill_jobs: %d jobs finished in %.1f s, %d uploads dropped, %d failed\n", jobs, seconds,
                 dropped ? *dropped : -1, failures.load());
    return failures == 0 && dropped ? 0 : 1;
}
