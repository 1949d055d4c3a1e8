#pragma once
// Where the domain hands work to the controller's runtime: JobService calls job_ready when a job was made,
// replayed (a job made but never queued is queued by the replay) or retried; the runtime (the dispatcher)
// queues the job's pending targets, none twice. Thread-safe and non-blocking.

#include <string>

#include "service/error.hpp"

namespace certdeploy::controller {

class JobQueue {
  public:
    virtual ~JobQueue() = default;
    virtual void job_ready(const std::string& job_id) = 0;
};

// The controller was started without agentCa, agentClientCert and agentClientKey: it cannot reach agents,
// so it makes no job (rather than leave one queued forever) and asks no agent: agent-unreachable.
inline Error no_agent_tls() {
    return make_error(ErrorCode::agent_unreachable,
                      "the controller has no agentCa, agentClientCert and agentClientKey: it cannot reach agents");
}

}  // namespace certdeploy::controller
