#pragma once
// ControllerStore in SQL, the same for SQLite and PostgreSQL: each method takes a connection from the pool
// for its duration. Its methods are defined by topic in sql_controller_store.cpp (servers),
// sql_job_store.cpp (jobs), sql_inventory_store.cpp, sql_access_store.cpp (tokens and the audit log) and
// sql_enrolment_store.cpp (join tokens and agents' identities).

#include <optional>

#include "store/connection_pool.hpp"
#include "store/controller_store.hpp"
#include "store/group_commit.hpp"

namespace certdeploy::store {

class SqlControllerStore final : public ControllerStore {
  public:
    SqlControllerStore(std::unique_ptr<Connection> first, ConnectionPool::Open open, std::size_t max_connections,
                       std::chrono::milliseconds wait, bool group_commit = false)
        : pool_(std::move(first), std::move(open), max_connections, wait) {
        // SQLite writes one transaction at a time on one connection: transitions arriving together share
        // one. PostgreSQL runs them side by side on its own connections (and groups its own WAL flushes).
        if (group_commit && pool_.dialect() == Dialect::sqlite) {
            commits_.emplace(pool_, kMaxChangesPerCommit);
        }
    }

    // SQLite: the quick reads get connections of their own (`readers`), opened as needed; each I/O thread
    // holds at most one at a time, so `max_readers` is never waited for in practice.
    void set_readers(std::unique_ptr<Connection> first, ConnectionPool::Open open_reader, std::size_t max_readers) {
        readers_.emplace(std::move(first), std::move(open_reader), max_readers, std::chrono::seconds(5));
    }
    bool quick_reads() const override { return readers_.has_value(); }

    StoreResult<bool> upsert_server(const ServerRow& row) override;
    StoreResult<std::optional<ServerRow>> get_server(const std::string& name) override;
    StoreResult<std::vector<ServerRow>> list_servers(const std::string& after, std::size_t limit) override;
    StoreResult<bool> delete_server(const std::string& name) override;
    StoreResult<bool> approve_server(const std::string& name, const std::string& at) override;
    StoreResult<void> record_contact(const std::string& name, bool reachable,
                                     const std::optional<std::string>& agent_version, const std::string& at) override;

    StoreResult<CreateOutcome> create_job(const NewJob& job) override;
    StoreResult<std::optional<JobRow>> get_job(const std::string& id) override;
    StoreResult<std::vector<TargetRow>> get_targets(const std::string& id) override;
    StoreResult<std::vector<JobRow>> list_jobs(const JobFilter& filter) override;
    StoreResult<std::vector<JobCount>> count_jobs() override;
    StoreResult<std::optional<std::string>> sealed_upload(const std::string& id) override;
    StoreResult<bool> change_target(const TargetChange& change, const JobRules& rules) override;
    StoreResult<int> change_job_targets(const std::string& id, const std::string& from, const std::string& to,
                                        bool request_cancel, const std::string& at, const JobRules& rules) override;
    StoreResult<std::vector<TargetRef>> runnable_targets(const std::optional<std::string>& job_id, bool reclaim,
                                                         const std::string& owner, const std::string& at,
                                                         const JobRules& rules) override;
    StoreResult<int> renew_leases(const std::string& owner,
                                  const std::vector<std::pair<std::string, std::string>>& targets,
                                  const std::string& until, const JobRules& rules) override;
    std::unique_ptr<JobWatch> watch_jobs(std::function<void(const std::string& job_id)> ready,
                                         std::function<void(const std::string& job_id)> events) override;
    StoreResult<int> drop_uploads(const std::string& finished_before) override;
    StoreResult<std::vector<EventRow>> events_after(const std::string& id, std::int64_t after_seq,
                                                    std::size_t limit) override;
    StoreResult<std::optional<std::pair<std::string, std::string>>> find_key(const std::string& key) override;
    StoreResult<void> remember_key(const std::string& key, const std::string& fingerprint, const std::string& job_id,
                                   const std::string& at) override;

    StoreResult<bool> replace_inventory(const std::string& server, const std::vector<InventoryRow>& rows,
                                        const std::string& asked_at) override;
    StoreResult<void> put_inventory(const InventoryRow& row) override;
    StoreResult<void> drop_inventory(const std::string& server, const std::string& thumbprint) override;
    StoreResult<std::vector<InventoryRow>> list_inventory(const InventoryFilter& filter) override;

    StoreResult<bool> create_token(const TokenRow& row) override;
    StoreResult<std::optional<TokenRow>> token_by_hash(const std::string& secret_hash) override;
    StoreResult<std::vector<TokenRow>> list_tokens() override;
    StoreResult<bool> revoke_token(const std::string& name, const std::string& at) override;
    StoreResult<void> touch_token(const std::string& name, const std::string& at) override;
    StoreResult<void> append_audit(const AuditRow& row) override;
    StoreResult<std::vector<AuditRow>> list_audit(const AuditFilter& filter) override;
    StoreResult<void> create_join_token(const JoinTokenRow& row) override;
    StoreResult<std::vector<JoinTokenRow>> list_join_tokens() override;
    StoreResult<std::optional<JoinTokenRow>> join_token_by_hash(const std::string& secret_hash) override;
    StoreResult<bool> revoke_join_token(const std::string& id, const std::string& at) override;
    StoreResult<bool> take_join_token_use(const std::string& secret_hash, const std::string& at) override;
    StoreResult<void> record_identity(const AgentIdentityRow& row) override;
    StoreResult<std::optional<AgentIdentityRow>> identity(const std::string& fingerprint) override;
    StoreResult<std::vector<AgentIdentityRow>> identities_of(const std::string& server) override;
    StoreResult<std::vector<std::string>> revoke_identities(const std::string& server, const std::string& at) override;
    StoreResult<std::vector<std::string>> revoked_identities() override;

  private:
    // Helpers of the job methods, on the caller's connection inside its open transaction.
    // `with_counts`: also count its targets by state (what the job's state and events need). `lock`: hold the
    // job's row until the transaction ends, so that two controllers' changes to one job (and the numbers of
    // its events) come one after the other.
    StoreResult<std::optional<JobRow>> load_job(Connection& db, const std::string& id, bool with_counts = true,
                                                bool lock = false);
    // What a transition needs of its job — not its certificate or options, which every target's two
    // transitions would otherwise read and decode twice each — with the job's row locked as `lock` above.
    struct JobHead {
        std::int64_t seq = 0;
        std::string id;
        std::string state;
        bool cancelRequested = false;
    };
    StoreResult<std::optional<JobHead>> lock_job_head(Connection& db, const std::string& id);
    StoreResult<void> load_target_counts(Connection& db, std::int64_t job_seq, std::map<std::string, int>& counts);
    StoreResult<std::optional<TargetRow>> load_target(Connection& db, std::int64_t job_seq, const std::string& server);
    StoreResult<void> append_event(Connection& db, std::int64_t job_seq, EventRow::Type type, const std::string& data);
    // The target's event, as it is now.
    StoreResult<void> append_target_event(Connection& db, const JobHead& job, const std::string& server);
    // Recomputes the job's state from its targets; on a change writes it (finishedAt, upload) and its event.
    // Tells the controllers watching (watch_jobs) that the job has targets to run or new events, on `channel`,
    // when the transaction commits (PostgreSQL; nothing on SQLite).
    StoreResult<void> announce(Connection& db, std::string_view channel, const std::string& id);
    StoreResult<void> settle_job(Connection& db, const JobHead& job, const std::string& at, const JobRules& rules);
    static StoreResult<void> insert_inventory(Connection& db, const InventoryRow& row);
    static StoreResult<void> delete_inventory(Connection& db, const std::string& server, const std::string& thumbprint);
    // change_target's work, inside the caller's transaction.
    StoreResult<bool> apply_change(Connection& db, const TargetChange& change, const JobRules& rules);

    static constexpr std::size_t kMaxChangesPerCommit = 128;
    // A connection for a quick read: a reader's, else the pool's.
    StoreResult<ConnectionPool::Lease> reader();

    ConnectionPool pool_;
    std::optional<ConnectionPool> readers_;  // SQLite only
    std::optional<GroupCommit> commits_;     // SQLite only
};

}  // namespace certdeploy::store
