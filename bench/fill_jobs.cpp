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

#include "service/controller/job_service.hpp"
#include "service/time/rfc3339.hpp"
#include "store/controller_store.hpp"

using namespace certdeploy::store;

namespace {

// (snprintf, not "s" + std::to_string: GCC 12 warns falsely about the latter at -O2.)
std::string numbered(const char* format, int i) {
    char text[32];
    std::snprintf(text, sizeof text, format, i);
    return text;
}

NewJob job_of(int n, const std::string& server, const std::string& at) {
    NewJob job;
    job.job.id = numbered("fill-%07d", n);
    job.job.kind = "import";
    job.job.state = "queued";
    job.job.createdAt = at;
    job.job.thumbprint = "E1D6C16E1DA6AFFA75C5EF8BF64C972D44C14662";
    job.job.certificateJson =
        R"({"subject": "CN=mail.fabrikam.com", "issuer": "CN=Fabrikam CA", "notAfter": "2027-12-03T00:00:00Z"})";
    job.sealedUpload = std::string(3000, 's');  // about the size of a sealed PKCS #12
    TargetRow target;
    target.server = server;
    target.agentUrl = "https://" + server + ":9001";
    target.state = "pending";
    job.targets.push_back(target);
    return job;
}

TargetChange change(const std::string& job, const std::string& server, const std::string& from, const std::string& to,
                    const std::string& at) {
    TargetChange c;
    c.jobId = job;
    c.server = server;
    c.from = {from};
    c.to = to;
    c.at = at;
    c.owner = "fill";
    c.startAttempt = to == "running";
    c.finished = to == "succeeded";
    if (c.finished) {
        c.result = "installed";
    }
    return c;
}

}  // namespace

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
                auto job = job_of(n, server, at);
                auto moved = [&](const char* from, const char* to) {
                    auto applied = (*store)->change_target(change(job.job.id, server, from, to, at), rules);
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
