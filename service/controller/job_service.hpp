#pragma once
// Jobs: an import, enable or remove of one certificate on many servers, one target per server.
//
// The service reads an upload once (the PKI module refuses a wrong password or a damaged file before any
// server is touched), resolves the servers (names, "*" or a label selector), seals the upload, and writes
// the job and hands it to its JobQueue; the dispatcher (controller/runtime/job_dispatcher) then moves each target
// through pending -> running -> succeeded | failed (| cancelled), every transition persisted, with its event, before it
// is reported. All methods block on the store: call them off the I/O threads.

#include <chrono>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "service/controller/access/caller.hpp"
#include "service/controller/event_bell.hpp"
#include "service/controller/job_model.hpp"
#include "service/controller/job_queue.hpp"
#include "service/controller/upload_vault.hpp"
#include "service/error.hpp"
#include "service/pki/certificate_request.hpp"
#include "service/pki/pki_context.hpp"
#include "service/pki/trust.hpp"
#include "store/controller_store.hpp"

namespace certdeploy::controller {

// Which servers: names, ["*"] for every registered one, or a label selector.
struct ServerChoice {
    std::vector<std::string> names;
    std::map<std::string, std::string> selector;
    bool hasSelector = false;
    // A scoped token's reach: "*" and a selector choose within it; a name outside it is out-of-scope.
    std::optional<Caller> within;
};

struct ImportRequest {
    Upload upload;
    ServerChoice servers;
    bool privateKeyExportable = false;
    std::string friendlyName;
    std::vector<std::string> services;
};

// New-ExchangeCertificate -GenerateRequest on many servers: each makes its own key pair and request.
struct CertificateRequestJob {
    pki::RequestSpec spec;
    ServerChoice servers;
    bool privateKeyExportable = false;
    std::string friendlyName;
    std::string renews;  // the thumbprint a renewal replaces; empty for a new request
};

struct FleetRequest {
    JobKind kind = JobKind::enable;  // enable | remove
    std::string thumbprint;
    ServerChoice servers;
    std::vector<std::string> services;  // enable only
};

// A job with its targets, as stored; api/controller/job_views renders it.
struct JobView {
    store::JobRow job;
    std::vector<store::TargetRow> targets;
};

// A page of jobs, newest first; `next` continues it.
struct JobPage {
    std::vector<store::JobRow> jobs;
    std::optional<std::string> next;
};

// What an import would do: the certificate the upload holds, the servers it would reach, how.
struct ImportPlan {
    struct Server {
        std::string name;
        std::string agentUrl;
    };
    nlohmann::json certificate;  // the PKI module's description (openapi.yaml: Certificate)
    std::vector<Server> servers;
    store::JobOptions options;
};

struct Submitted {
    bool created = true;  // false: an Idempotency-Key replay of an earlier job
    JobView job;
};

// What the dispatcher needs to run a job's targets.
struct JobWork {
    JobKind kind = JobKind::import;
    std::string thumbprint;
    store::JobOptions options;
    std::optional<std::string> sealedUpload;  // imports only; still encrypted
    std::string createdAt;                    // RFC 3339: how long a server waited is measured from it
};

// An agent's answer for one target, as the dispatcher understood it.
struct TargetOutcome {
    bool succeeded = false;
    std::optional<Error> error;                 // when failed
    std::string result;                         // installed, alreadyInstalled, enabled, removed, alreadyRemoved
    std::optional<nlohmann::json> certificate;  // the agent's description, for status and the inventory
};

class JobService {
  public:
    JobService(std::shared_ptr<store::ControllerStore> store, UploadVault vault,
               std::shared_ptr<const pki::PkiContext> pki, std::shared_ptr<const pki::TrustStore> trust,
               std::chrono::hours upload_retention);

    // The runtime that runs jobs' targets (the dispatcher); none when the controller cannot reach agents.
    // Set before requests are served, cleared after they stop.
    void set_queue(JobQueue* queue) { queue_ = queue; }
    // This controller's claims on the targets it runs: its id (stable across its restarts) and how long a
    // running target stays its own without a renewal. Several controllers on one database take over each
    // other's targets once a lease has ended. Set before the dispatcher starts.
    void set_claims(std::string owner, std::chrono::seconds lease) {
        owner_ = std::move(owner);
        lease_ = lease;
    }
    std::chrono::seconds lease() const { return lease_; }
    // Rung after every change this service writes to a job; the events streams wait on it.
    EventBell& bell() { return bell_; }
    // agent-unreachable when there is no queue: no job is made that nothing would run.
    Result<void> check_dispatching() const;

    // The dry run: the certificate's summary and the resolved servers, nothing written.
    Result<ImportPlan> plan_import(const ImportRequest& request);
    // `idempotency_key` empty: none. Errors: the PKI module's codes, unknown-server, no-servers,
    // idempotency-conflict, agent-unreachable (no queue). The job, made or replayed, is handed to the queue;
    // so is a retried one.
    Result<Submitted> submit_import(const ImportRequest& request, const std::string& idempotency_key);
    Result<Submitted> submit_fleet(const FleetRequest& request, const std::string& idempotency_key);
    Result<Submitted> submit_request(const CertificateRequestJob& request, const std::string& idempotency_key);
    // Exchange's Renew: a request with the certificate's subject, domains and key parameters on each server
    // that holds it (those `within` reaches); certificate-not-found when no server does.
    Result<CertificateRequestJob> renewal(const std::string& thumbprint, const std::optional<Caller>& within);
    // CA answers imported without naming servers: each file (a certificate without a private key) goes to the
    // servers whose pending request has its public key. Every file is checked before any job is made:
    // no-matching-request names the first that fits no request. One job per file, in the files' order.
    Result<std::vector<Submitted>> submit_answers(std::vector<ImportRequest> answers,
                                                  const std::string& idempotency_key);
    // The servers with a pending request for this public key (publicKeySha256), among those `within` reaches.
    Result<std::vector<std::string>> requesting_servers(const std::string& public_key_sha256,
                                                        const std::optional<Caller>& within);

    Result<JobView> get(const std::string& id);
    // Newest first; targets summarised as counts.
    Result<JobPage> list(const store::JobFilter& filter);
    Result<Submitted> cancel(const std::string& id, const std::string& idempotency_key);
    Result<Submitted> retry(const std::string& id, const std::string& idempotency_key);
    // Whether the job is final (succeeded, failed, partiallySucceeded or cancelled).
    Result<bool> finished(const std::string& id);
    Result<std::vector<store::EventRow>> events_after(const std::string& id, std::int64_t after, std::size_t limit);

    // For the dispatcher.
    // Which running targets become pending again before the runnable ones are listed: none; orphans (whose
    // lease ended, or that nobody claims); or, at this controller's start, its own as well (from before it
    // stopped).
    enum class Reclaim { none, orphans, orphans_and_own };
    Result<std::vector<store::TargetRef>> runnable(const std::optional<std::string>& job_id, Reclaim reclaim);
    // Extends the leases of `running` (job id, server), the attempts this controller has in flight. Returns
    // how many.
    Result<int> renew_leases(const std::vector<std::pair<std::string, std::string>>& running);
    Result<JobWork> work(const std::string& id);
    Result<Upload> open_upload(const std::string& id, const std::string& sealed) const;
    // pending -> running (one more attempt), answering the agent URL the server is registered with now;
    // nothing when there is nothing to run: the target is no longer pending (cancelled), or its server was
    // deleted since the job was made (then the target fails with server-not-found).
    Result<std::optional<std::string>> start_target(const store::TargetRef& target);
    // running -> succeeded | failed, and the inventory updated from the agent's answer.
    Result<void> finish_target(const store::TargetRef& target, const std::string& thumbprint, JobKind kind,
                               const TargetOutcome& outcome);
    // running -> pending: a transport failure, to be tried again after a backoff.
    Result<void> defer_target(const store::TargetRef& target, const Error& error);
    // Drops the uploads of jobs final for longer than the retention. Returns how many.
    Result<int> drop_expired_uploads();

    static const store::JobRules& rules();
    static constexpr std::size_t kDefaultPageSize = 50;
    static constexpr std::size_t kMaxPageSize = 500;

  private:
    std::string lease_end() const;
    Result<std::vector<ImportPlan::Server>> resolve(const ServerChoice& choice);
    Result<nlohmann::json> read_certificate(const Upload& upload) const;
    Result<Submitted> persist(store::NewJob job, const std::string& idempotency_key);
    // What an Idempotency-Key of an import stands for: its servers as named, the file, password and options.
    std::string import_fingerprint(const ImportRequest& request) const;
    Result<Submitted> submit_import(const ImportRequest& request, const std::string& idempotency_key,
                                    const std::string& fingerprint);
    Result<Submitted> retry_or_cancel(const std::string& id, const std::string& idempotency_key, bool cancel);
    Result<JobView> view(const std::string& id);
    Result<void> drop_completed_request(const std::string& server, const nlohmann::json& certificate);
    // The job, or job-not-found.
    Result<store::JobRow> find_job(const std::string& id);

    std::shared_ptr<store::ControllerStore> store_;
    UploadVault vault_;
    std::shared_ptr<const pki::PkiContext> pki_;
    std::shared_ptr<const pki::TrustStore> trust_;
    std::chrono::hours upload_retention_;
    std::string owner_;
    std::chrono::seconds lease_{30};
    EventBell bell_;
    JobQueue* queue_ = nullptr;
};

// succeeded, failed, partiallySucceeded or cancelled: nothing more will happen unless it is retried.
bool is_final_state(const std::string& state);

}  // namespace certdeploy::controller
