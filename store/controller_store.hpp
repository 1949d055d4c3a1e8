#pragma once
// The controller's persistent state, behind an interface: SQLite (one controller, the default) or PostgreSQL
// (several controllers side by side), with one SQL implementation (sql_controller_store.hpp). Rows are plain
// data; the service layer gives them meaning.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/store_error.hpp"

namespace certdeploy::store {

struct ServerRow {
    std::string name;
    std::string agentUrl;
    std::map<std::string, std::string> labels;
    std::string createdAt;
    std::string updatedAt;
    std::optional<std::string> lastContact;
    std::optional<bool> reachable;
    std::optional<std::string> agentVersion;
    bool pending = false;  // enrolled, waiting for an admin's approval (written on creation only)
    std::optional<std::string> identityNotAfter;  // an enrolled agent's newest live certificate ends then
};

// What a request job asks each agent to make (New-ExchangeCertificate -GenerateRequest), checked already.
struct RequestOptions {
    std::string subject;
    std::vector<std::string> domains;
    std::string keyAlgorithm;  // RSA | ECDSA
    int keySize = 0;
};

// How a job's certificate is installed and bound (import: the first three; enable: services; remove: none;
// request: exportable, friendly name and the request).
struct JobOptions {
    bool privateKeyExportable = false;
    std::string friendlyName;
    std::vector<std::string> services;
    std::optional<RequestOptions> request;
};

struct JobRow {
    std::int64_t seq = 0;  // creation order
    std::string id;
    std::string kind;
    std::string state;
    std::string createdAt;
    std::optional<std::string> finishedAt;
    std::string thumbprint;
    // The certificate's description as the PKI module or an agent gave it (openapi.yaml: Certificate), kept
    // as the document it is: the controller reads nothing from it but what it shows.
    std::string certificateJson = "{}";
    JobOptions options;
    bool cancelRequested = false;
    bool hasUpload = false;                   // the sealed upload is still kept
    std::map<std::string, int> targetCounts;  // target state -> how many
};

struct TargetRow {
    std::string server;
    std::string agentUrl;
    std::string state;
    int attempts = 0;
    std::optional<std::string> errorCode;
    std::optional<std::string> errorMessage;
    std::optional<std::string> startedAt;
    std::optional<std::string> finishedAt;
    std::optional<std::string> result;
    std::optional<std::string> certStatus;
    std::optional<std::string> claimedBy;   // the controller running it (running targets only)
    std::optional<std::string> leaseUntil;  // RFC 3339: until then nobody else takes it over
};

// What a job's progress reported, in order: a target as it was after a move (type target), or the job as it
// was after its state changed (job; done when that state is final).
struct EventRow {
    enum class Type { target, job, done };
    std::int64_t seq = 0;
    Type type = Type::job;
    std::string jobId;
    std::optional<TargetRow> target;  // type target
    std::optional<JobRow> job;        // type job or done: id, state, finishedAt and targetCounts
};

// What the domain decides inside the store's transactions, so that a transition, the job's new state and
// the events that report them commit together.
struct JobRules {
    // The job's state from its targets' counts (and whether a cancel was asked).
    std::function<std::string(const std::map<std::string, int>& counts, bool cancel_requested)> job_state;
    std::function<bool(const std::string& job_state)> is_final;
    // Whether a final job's upload may still be needed (a retry of failed targets).
    std::function<bool(const std::map<std::string, int>& counts)> keep_upload;
    // The names of the target states the store's own queries need (each spelled by the domain).
    std::string pending;
    std::string running;
    std::string cancelled;
};

struct NewJob {
    JobRow job;
    std::vector<TargetRow> targets;
    std::string sealedUpload;                                        // empty: none (enable, remove)
    std::optional<std::pair<std::string, std::string>> idempotency;  // key, fingerprint
};

struct CreateOutcome {
    enum class Kind { created, replayed, conflict } kind = Kind::created;
    std::string jobId;  // the new job, or the one the key first made
};

// One target's transition: applied only when the target is in one of `from`.
struct InventoryRow {
    std::string server;
    std::string thumbprint;
    std::string certificateJson;
    std::string status;
    std::string notAfter;
    std::string seenAt;
};

struct TargetChange {
    std::string jobId;
    std::string server;
    std::vector<std::string> from;
    std::string to;
    std::string at;
    bool startAttempt = false;  // attempts + 1, startedAt = at, error cleared
    // When the job's cancel was asked meanwhile, the target goes here instead (finished), e.g. a target
    // that was running when the cancel came and would otherwise wait for another attempt.
    std::optional<std::string> toWhenCancelled;
    bool finished = false;  // finishedAt = at
    std::optional<std::string> errorCode;
    std::optional<std::string> errorMessage;
    std::optional<std::string> result;
    std::optional<std::string> certStatus;
    // The controller making the change. A start (startAttempt) claims the target for it until leaseUntil; any
    // other change of a running target is applied only if the target is still its claim (another controller
    // may have taken it over after the lease ended). Empty: no claims (a store used without controllers).
    std::string owner;
    std::optional<std::string> leaseUntil;
    // The attempt this change reports (the target's attempts when it started): nothing changes if the target
    // has been started again since. Empty: any.
    std::optional<int> attempt;
    // What the agent now holds, written with the change when it applies (one commit, and so one fsync, per
    // finished target rather than two): its inventory row, or the thumbprint it no longer has.
    std::optional<InventoryRow> inventory;
    std::optional<std::string> dropInventory;
};

struct JobCount {
    std::string kind;
    std::string state;
    std::int64_t count = 0;
};

// A target to run: the dispatcher's unit of work. Which agent to call is asked at each attempt (the server's
// registration then), never kept from the job's creation: an agent may move between a failure and a retry.
struct TargetRef {
    std::string jobId;
    std::string server;
    int attempts = 0;  // recorded so far, over every run of the job
    int tries = 0;     // the dispatcher's count in this run (a retry or a restart starts a new budget)
};

struct JobFilter {
    std::optional<std::string> state;
    std::optional<std::string> server;
    std::optional<std::string> thumbprint;
    std::int64_t beforeSeq = 0;  // 0: from the newest
    std::size_t limit = 100;
};

struct InventoryFilter {
    std::optional<std::string> status;
    std::optional<std::string> server;
    std::optional<std::string> domain;
    std::optional<std::string> notAfterBefore;  // RFC 3339: expiring before
    std::optional<std::string> thumbprint;
    std::string afterThumbprint;
    std::size_t limit = 100;  // thumbprints
};

// An API token as stored: never its secret, only the secret's SHA-256.
struct TokenRow {
    std::string name;
    std::string secretHash;  // hex
    std::string role;
    std::map<std::string, std::string> scope;  // a label selector
    bool scoped = false;                       // false: every server
    std::string createdAt;
    std::optional<std::string> expiresAt;
    std::optional<std::string> lastUsedAt;
    std::optional<std::string> revokedAt;
};

// A join token as stored: its secret's SHA-256, never the secret.
struct JoinTokenRow {
    std::string id;                     // public handle
    std::string secretHash;             // hex
    std::optional<std::string> server;  // bound to this name; nothing: the agent's own name
    std::map<std::string, std::string> labels;
    int usesLeft = 1;
    std::string createdBy;
    std::string createdAt;
    std::string expiresAt;
    std::optional<std::string> revokedAt;
};

// A certificate the fleet CA issued to an agent.
struct AgentIdentityRow {
    std::string fingerprint;  // sha256:<hex>
    std::string server;
    std::string serial;
    std::string issuedAt;
    std::string notAfter;
    std::optional<std::string> revokedAt;
};

// One line of the audit log.
struct AuditRow {
    std::int64_t seq = 0;
    std::string at;
    std::optional<std::string> token;  // the token's name, when one was recognised
    std::string client;
    std::string method;
    std::string route;
    std::optional<std::string> server;
    std::optional<std::string> thumbprint;
    std::optional<std::string> job;
    int status = 0;
    std::optional<std::string> code;
};

struct AuditFilter {
    std::optional<std::string> since;  // RFC 3339, inclusive
    std::optional<std::string> until;  // exclusive
    std::optional<std::string> token;
    std::optional<std::string> server;
    std::optional<bool> refused;  // true: status >= 400; false: below
    std::int64_t beforeSeq = 0;   // 0: from the newest
    std::size_t limit = 100;
};

// Told when any controller on the same database makes or retries a job, so that its targets are picked up
// at once rather than at the next sweep. Stops when destroyed.
class JobWatch {
  public:
    virtual ~JobWatch() = default;
};

class ControllerStore {
  public:
    virtual ~ControllerStore() = default;

    // Whether get_server and token_by_hash answer from a connection of their own that never waits for a
    // write in progress (SQLite in WAL mode: microseconds, no fsync), so that an I/O thread may call them
    // itself instead of handing them to the store's threads. False for PostgreSQL (a network round trip).
    virtual bool quick_reads() const { return false; }

    // Creates or updates name, agentUrl, labels and updatedAt (createdAt only on creation). True: created.
    virtual StoreResult<bool> upsert_server(const ServerRow& row) = 0;
    virtual StoreResult<std::optional<ServerRow>> get_server(const std::string& name) = 0;
    // Ordered by name, those after `after`, at most `limit`.
    virtual StoreResult<std::vector<ServerRow>> list_servers(const std::string& after, std::size_t limit) = 0;
    virtual StoreResult<bool> delete_server(const std::string& name) = 0;
    // False when no server has that name.
    virtual StoreResult<bool> approve_server(const std::string& name, const std::string& at) = 0;
    virtual StoreResult<void> record_contact(const std::string& name, bool reachable,
                                             const std::optional<std::string>& agent_version,
                                             const std::string& at) = 0;

    // Jobs. Every method that changes a job appends its events in the same transaction.
    virtual StoreResult<CreateOutcome> create_job(const NewJob& job) = 0;
    virtual StoreResult<std::optional<JobRow>> get_job(const std::string& id) = 0;
    virtual StoreResult<std::vector<TargetRow>> get_targets(const std::string& id) = 0;
    virtual StoreResult<std::vector<JobRow>> list_jobs(const JobFilter& filter) = 0;
    // How many jobs there are of each kind in each state (the metrics' certdeploy_jobs).
    virtual StoreResult<std::vector<JobCount>> count_jobs() = 0;
    virtual StoreResult<std::optional<std::string>> sealed_upload(const std::string& id) = 0;
    // False when the target was not in one of change.from (then nothing changed).
    virtual StoreResult<bool> change_target(const TargetChange& change, const JobRules& rules) = 0;
    // Moves every target of the job in `from` to `to` (cancel: pending -> cancelled; retry: failed ->
    // pending, error cleared). Returns how many moved.
    virtual StoreResult<int> change_job_targets(const std::string& id, const std::string& from, const std::string& to,
                                                bool request_cancel, const std::string& at, const JobRules& rules) = 0;
    // Targets of unfinished jobs to run, in creation order. With `reclaim`, `running` ones whose controller is
    // gone become `pending` first: those whose lease ended before `at`, those claimed by nobody, and those
    // claimed by `owner` (at a controller's start: its own, from before it died; empty at other times).
    virtual StoreResult<std::vector<TargetRef>> runnable_targets(const std::optional<std::string>& job_id, bool reclaim,
                                                                 const std::string& owner, const std::string& at,
                                                                 const JobRules& rules) = 0;
    // Calls `ready(job id)`, from a thread of its own, for every job made or retried on the database by any
    // controller, and `events(job id)` whenever a job's events were written (PostgreSQL's LISTEN/NOTIFY;
    // after a lost connection it listens again on a new one). Nothing (nullptr) when no other controller
    // can write to the database (SQLite).
    virtual std::unique_ptr<JobWatch> watch_jobs(std::function<void(const std::string& job_id)> ready,
                                                 std::function<void(const std::string& job_id)> events) = 0;
    // Extends to `until` the leases of `targets` (job id, server) that are running and claimed by `owner`:
    // the attempts it still has in flight, so that a claim it abandoned (a transition it gave up writing)
    // ends and is taken over. Returns how many.
    virtual StoreResult<int> renew_leases(const std::string& owner,
                                          const std::vector<std::pair<std::string, std::string>>& targets,
                                          const std::string& until, const JobRules& rules) = 0;
    // Deletes the sealed uploads of final jobs that finished before `finished_before`. Returns how many.
    virtual StoreResult<int> drop_uploads(const std::string& finished_before) = 0;
    virtual StoreResult<std::vector<EventRow>> events_after(const std::string& id, std::int64_t after_seq,
                                                            std::size_t limit) = 0;
    // Idempotency-Key records outside job creation (retry, cancel): the key's fingerprint and job, if known.
    virtual StoreResult<std::optional<std::pair<std::string, std::string>>> find_key(const std::string& key) = 0;
    virtual StoreResult<void> remember_key(const std::string& key, const std::string& fingerprint,
                                           const std::string& job_id, const std::string& at) = 0;

    // Inventory: what each agent holds, as last seen.
    // A server's whole list, as its agent answered a question asked at `asked_at` (RFC 3339). Skipped (false)
    // when a target of that server finished since: its answer, written by the job, is newer than the list.
    virtual StoreResult<bool> replace_inventory(const std::string& server, const std::vector<InventoryRow>& rows,
                                                const std::string& asked_at) = 0;
    virtual StoreResult<void> put_inventory(const InventoryRow& row) = 0;
    virtual StoreResult<void> drop_inventory(const std::string& server, const std::string& thumbprint) = 0;
    // Rows of at most filter.limit thumbprints, ordered by thumbprint then server.
    virtual StoreResult<std::vector<InventoryRow>> list_inventory(const InventoryFilter& filter) = 0;

    // Tokens. A new token takes the place of a revoked one of the same name; false when a token of that name
    // is live (not revoked).
    virtual StoreResult<bool> create_token(const TokenRow& row) = 0;
    virtual StoreResult<std::optional<TokenRow>> token_by_hash(const std::string& secret_hash) = 0;
    virtual StoreResult<std::vector<TokenRow>> list_tokens() = 0;  // by name, revoked ones too
    // False when no live token has that name.
    virtual StoreResult<bool> revoke_token(const std::string& name, const std::string& at) = 0;
    virtual StoreResult<void> touch_token(const std::string& name, const std::string& at) = 0;

    // Join tokens.
    virtual StoreResult<void> create_join_token(const JoinTokenRow& row) = 0;
    virtual StoreResult<std::vector<JoinTokenRow>> list_join_tokens() = 0;  // newest first, spent ones too
    virtual StoreResult<std::optional<JoinTokenRow>> join_token_by_hash(const std::string& secret_hash) = 0;
    // False when no live token has that id.
    virtual StoreResult<bool> revoke_join_token(const std::string& id, const std::string& at) = 0;
    // Takes one use of the token with this hash, when it is live (uses left, not expired at `at`, not
    // revoked), in one statement; false otherwise (nothing changed).
    virtual StoreResult<bool> take_join_token_use(const std::string& secret_hash, const std::string& at) = 0;

    // Agents' identities.
    virtual StoreResult<void> record_identity(const AgentIdentityRow& row) = 0;
    virtual StoreResult<std::optional<AgentIdentityRow>> identity(const std::string& fingerprint) = 0;
    virtual StoreResult<std::vector<AgentIdentityRow>> identities_of(const std::string& server) = 0;
    // Revokes every live identity of the server; returns their fingerprints.
    virtual StoreResult<std::vector<std::string>> revoke_identities(const std::string& server,
                                                                    const std::string& at) = 0;
    // The fingerprints of every revoked identity.
    virtual StoreResult<std::vector<std::string>> revoked_identities() = 0;

    // The audit log: appended to, never changed.
    virtual StoreResult<void> append_audit(const AuditRow& row) = 0;
    // Newest first.
    virtual StoreResult<std::vector<AuditRow>> list_audit(const AuditFilter& filter) = 0;
};

// Opens (creating and migrating) DATA_DIR/controller.db. `group_commit`: target changes that arrive together
// share one transaction (store/group_commit.hpp); off only to measure what it saves (bench/store_bench).
StoreResult<std::unique_ptr<ControllerStore>> open_sqlite_controller_store(const std::filesystem::path& data_dir,
                                                                           bool group_commit = true);

// Opens the PostgreSQL database at `conninfo` (a libpq connection string or postgresql:// URI), migrating it
// under an advisory lock, with at most `max_connections` connections at once. `password` (empty: libpq's
// PGPASSFILE or ~/.pgpass) is copied into the store, which wipes it when it closes.
StoreResult<std::unique_ptr<ControllerStore>> open_postgresql_controller_store(const std::string& conninfo,
                                                                               std::string_view password,
                                                                               std::size_t max_connections);

// Why `conninfo` cannot be used (libpq cannot parse it, or it holds a password, which belongs in a file),
// or nothing when it can. Says nothing of the string's values.
std::optional<std::string> postgresql_conninfo_problem(const std::string& conninfo);

}  // namespace certdeploy::store
