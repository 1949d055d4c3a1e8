#pragma once
// Jobs as the store benchmarks write them (store_bench, fill_jobs): an import job with a sealed upload of
// a real one's size and its targets pending, and a target's move as the dispatcher makes it.

#include <cstdio>
#include <string>
#include <vector>

#include "store/controller_store.hpp"

namespace certdeploy::bench {

// printf-style name with one number: "s%05d" → s00042. (snprintf, not "s" + std::to_string: GCC 12 warns
// falsely about the latter at -O2.)
inline std::string numbered(const char* format, int i) {
    char text[32];
    std::snprintf(text, sizeof text, format, i);
    return text;
}

inline store::NewJob import_job(const std::string& id, const std::vector<std::string>& servers, const std::string& at) {
    store::NewJob job;
    job.job.id = id;
    job.job.kind = "import";
    job.job.state = "queued";
    job.job.createdAt = at;
    job.job.thumbprint = "E1D6C16E1DA6AFFA75C5EF8BF64C972D44C14662";
    job.job.certificateJson =
        R"({"subject": "CN=mail.fabrikam.com", "issuer": "CN=Fabrikam CA", "notAfter": "2027-12-03T00:00:00Z"})";
    job.sealedUpload = std::string(3000, 's');  // about the size of a sealed PKCS #12
    for (const auto& server : servers) {
        store::TargetRow target;
        target.server = server;
        target.agentUrl = "https://" + server + ":9001";
        target.state = "pending";
        job.targets.push_back(target);
    }
    return job;
}

// pending → running starts an attempt; → succeeded finishes the target with `result`.
inline store::TargetChange move(const std::string& job, const std::string& server, const std::string& from,
                                const std::string& to, const std::string& at, const std::string& result) {
    store::TargetChange change;
    change.jobId = job;
    change.server = server;
    change.from = {from};
    change.to = to;
    change.at = at;
    change.owner = "bench";
    change.startAttempt = to == "running";
    change.finished = to == "succeeded";
    if (change.finished) {
        change.result = result;
    }
    return change;
}

}  // namespace certdeploy::bench
