// Jobs, targets, their events and Idempotency-Keys on SQLite. Each change is one IMMEDIATE transaction:
// the transition, the job's recomputed state and the events reporting both commit together or not at all.

#include <algorithm>
#include <cerrno>

#include "service/try.hpp"
#include "store/postgresql_job_watch.hpp"
#include "store/row_codec.hpp"
#include "store/sql_controller_store.hpp"

namespace certdeploy::store {
namespace {

// What the store announces to the controllers on the same database (PostgreSQL's NOTIFY, sent when the
// transaction commits): a job with targets to run, and a job with new events.
constexpr std::string_view kJobsChannel = "certdeploy_jobs";
constexpr std::string_view kEventsChannel = "certdeploy_events";

constexpr std::string_view kJobColumns =
    "seq, id, kind, state, created_at, finished_at, thumbprint, certificate, options, cancel_requested, "
    "sealed_upload IS NOT NULL";

constexpr std::string_view kTargetColumns =
    "server, agent_url, state, attempts, error_code, error_message, started_at, finished_at, result, cert_status, "
    "claimed_by, lease_until";

JobRow read_job(const Statement& s) {
    JobRow job;
    job.seq = s.integer(0);
    job.id = s.text(1);
    job.kind = s.text(2);
    job.state = s.text(3);
    job.createdAt = s.text(4);
    job.finishedAt = s.optional_text(5);
    job.thumbprint = s.text(6);
    job.certificateJson = s.text(7);
    job.options = decode_options(s.text(8));
    job.cancelRequested = s.integer(9) != 0;
    job.hasUpload = s.integer(10) != 0;
    return job;
}

TargetRow read_target(const Statement& s) {
    TargetRow t;
    t.server = s.text(0);
    t.agentUrl = s.text(1);
    t.state = s.text(2);
    t.attempts = static_cast<int>(s.integer(3));
    t.errorCode = s.optional_text(4);
    t.errorMessage = s.optional_text(5);
    t.startedAt = s.optional_text(6);
    t.finishedAt = s.optional_text(7);
    t.result = s.optional_text(8);
    t.certStatus = s.optional_text(9);
    t.claimedBy = s.optional_text(10);
    t.leaseUntil = s.optional_text(11);
    return t;
}

// A value as a StoreResult (its error type converts from integers too, so spell the intent).
template <class T>
StoreResult<T> value(T v) {
    return StoreResult<T>(boost::system::in_place_value, std::move(v));
}

}  // namespace

StoreResult<std::optional<JobRow>> SqlControllerStore::load_job(Connection& db, const std::string& id, bool with_counts,
                                                                bool lock) {
    CERTDEPLOY_TRY_ASSIGN(auto s, db.prepare("SELECT " + std::string(kJobColumns) + " FROM jobs WHERE id = ?1" +
                                             std::string(lock ? db.for_update() : "")));
    s.bind(1, id);
    CERTDEPLOY_TRY_ASSIGN(auto step, s.step());
    if (!step) {
        return std::optional<JobRow>();
    }
    JobRow job = read_job(s);
    if (with_counts) {
        CERTDEPLOY_TRY(load_target_counts(db, job.seq, job.targetCounts));
    }
    return std::optional<JobRow>(std::move(job));
}

StoreResult<void> SqlControllerStore::load_target_counts(Connection& db, std::int64_t job_seq,
                                                         std::map<std::string, int>& counts) {
    CERTDEPLOY_TRY_ASSIGN(auto s, db.prepare("SELECT state, n FROM job_target_counts WHERE job_seq = ?1 AND n > 0"));
    s.bind(1, job_seq);
    for (;;) {
        CERTDEPLOY_TRY_ASSIGN(auto row, s.step());
        if (!row) {
            return {};
        }
        counts[s.text(0)] = static_cast<int>(s.integer(1));
    }
}

StoreResult<std::optional<SqlControllerStore::JobHead>> SqlControllerStore::lock_job_head(Connection& db,
                                                                                          const std::string& id) {
    CERTDEPLOY_TRY_ASSIGN(auto s, db.prepare("SELECT seq, state, cancel_requested FROM jobs WHERE id = ?1" +
                                             std::string(db.for_update())));
    s.bind(1, id);
    CERTDEPLOY_TRY_ASSIGN(auto step, s.step());
    if (!step) {
        return std::optional<JobHead>();
    }
    return std::optional<JobHead>(JobHead{s.integer(0), id, s.text(1), s.integer(2) != 0});
}

StoreResult<std::optional<TargetRow>> SqlControllerStore::load_target(Connection& db, std::int64_t job_seq,
                                                                      const std::string& server) {
    CERTDEPLOY_TRY_ASSIGN(auto s, db.prepare("SELECT " + std::string(kTargetColumns) +
                                             " FROM targets WHERE job_seq = ?1 AND server = ?2"));
    s.bind(1, job_seq).bind(2, server);
    return first_row<TargetRow>(s, read_target);
}

StoreResult<void> SqlControllerStore::append_event(Connection& db, std::int64_t job_seq, EventRow::Type type,
                                                   const std::string& data) {
    CERTDEPLOY_TRY_ASSIGN(
        auto s,
        db.prepare("INSERT INTO job_events (job_seq, seq, type, data) "
                   "VALUES (?1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM job_events WHERE job_seq = ?1), ?2, ?3)"));
    s.bind(1, job_seq).bind(2, event_type_name(type)).bind(3, data);
    return s.run();
}

StoreResult<void> SqlControllerStore::append_target_event(Connection& db, const JobHead& job,
                                                          const std::string& server) {
    CERTDEPLOY_TRY_ASSIGN(auto target, load_target(db, job.seq, server));
    if (!target) {
        return {};
    }
    return append_event(db, job.seq, EventRow::Type::target, encode_target_event(job.id, *target));
}

StoreResult<void> SqlControllerStore::settle_job(Connection& db, const JobHead& job, const std::string& at,
                                                 const JobRules& rules) {
    JobRow settled;  // what the job's event says of it
    settled.id = job.id;
    CERTDEPLOY_TRY(load_target_counts(db, job.seq, settled.targetCounts));
    const std::string state = rules.job_state(settled.targetCounts, job.cancelRequested);
    if (state == job.state) {
        return {};
    }
    const bool final = rules.is_final(state);
    const bool drop_upload = final && !rules.keep_upload(settled.targetCounts);
    CERTDEPLOY_TRY_ASSIGN(
        auto s, db.prepare("UPDATE jobs SET state = ?2, finished_at = ?3, "
                           "sealed_upload = CASE WHEN ?4 = 1 THEN NULL ELSE sealed_upload END WHERE seq = ?1"));
    s.bind(1, job.seq).bind(2, state).bind_optional(3, final ? std::optional<std::string>(at) : std::nullopt);
    s.bind(4, static_cast<std::int64_t>(drop_upload ? 1 : 0));
    CERTDEPLOY_TRY(s.run());
    settled.state = state;
    settled.finishedAt = final ? std::optional<std::string>(at) : std::nullopt;
    return append_event(db, job.seq, final ? EventRow::Type::done : EventRow::Type::job, encode_job_event(settled));
}

StoreResult<void> SqlControllerStore::announce(Connection& db, std::string_view channel, const std::string& id) {
    if (db.dialect() != Dialect::postgresql) {
        return {};  // one controller: it knows its own changes
    }
    CERTDEPLOY_TRY_ASSIGN(auto s, db.prepare("SELECT pg_notify(CAST(?1 AS TEXT), CAST(?2 AS TEXT))"));
    s.bind(1, channel).bind(2, id);
    return s.run();
}

StoreResult<CreateOutcome> SqlControllerStore::create_job(const NewJob& job) {
    CERTDEPLOY_TRY_ASSIGN(auto db, pool_.acquire());
    Transaction tx(*db);
    CERTDEPLOY_TRY(tx.begin());
    if (job.idempotency) {
        // The key first: of two requests with one key at once (two controllers), the second waits for the
        // first's commit here, then finds its job.
        CERTDEPLOY_TRY_ASSIGN(auto key,
                              db->prepare("INSERT INTO idempotency_keys (key, fingerprint, job_id, created_at)"
                                          " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (key) DO NOTHING"));
        key.bind(1, job.idempotency->first).bind(2, job.idempotency->second).bind(3, job.job.id);
        key.bind(4, job.job.createdAt);
        CERTDEPLOY_TRY(key.run());
        if (db->changes() == 0) {
            CERTDEPLOY_TRY_ASSIGN(auto known,
                                  db->prepare("SELECT fingerprint, job_id FROM idempotency_keys WHERE key = ?1"));
            known.bind(1, job.idempotency->first);
            CERTDEPLOY_TRY_ASSIGN(auto step, known.step());
            if (step) {
                const bool same = known.text(0) == job.idempotency->second;
                return CreateOutcome{same ? CreateOutcome::Kind::replayed : CreateOutcome::Kind::conflict,
                                     known.text(1)};
            }
        }
    }
    CERTDEPLOY_TRY_ASSIGN(
        auto insert,
        db->prepare("INSERT INTO jobs (id, kind, state, created_at, thumbprint, certificate, options, sealed_upload) "
                    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) RETURNING seq"));
    insert.bind(1, job.job.id).bind(2, job.job.kind).bind(3, job.job.state).bind(4, job.job.createdAt);
    insert.bind(5, job.job.thumbprint).bind(6, job.job.certificateJson).bind(7, encode_options(job.job.options));
    if (job.sealedUpload.empty()) {
        insert.bind_null(8);
    } else {
        insert.bind_blob(8, job.sealedUpload);
    }
    CERTDEPLOY_TRY_ASSIGN(auto inserted, insert.step());
    if (!inserted) {
        return StoreError{EIO, "the new job's row was not returned"};
    }
    const std::int64_t seq = insert.integer(0);
    CERTDEPLOY_TRY(insert.run());
    for (const auto& target : job.targets) {
        CERTDEPLOY_TRY_ASSIGN(
            auto t, db->prepare("INSERT INTO targets (job_seq, server, agent_url, state) VALUES (?1, ?2, ?3, ?4)"));
        t.bind(1, seq).bind(2, target.server).bind(3, target.agentUrl).bind(4, target.state);
        CERTDEPLOY_TRY(t.run());
    }
    CERTDEPLOY_TRY(announce(*db, kJobsChannel, job.job.id));
    CERTDEPLOY_TRY(announce(*db, kEventsChannel, job.job.id));
    CERTDEPLOY_TRY_ASSIGN(auto created, load_job(*db, job.job.id));
    CERTDEPLOY_TRY(append_event(*db, seq, EventRow::Type::job, encode_job_event(*created)));
    CERTDEPLOY_TRY(tx.commit());
    return CreateOutcome{CreateOutcome::Kind::created, job.job.id};
}

StoreResult<std::optional<JobRow>> SqlControllerStore::get_job(const std::string& id) {
    CERTDEPLOY_TRY_ASSIGN(auto db, pool_.acquire());
    return load_job(*db, id);
}

StoreResult<std::vector<TargetRow>> SqlControllerStore::get_targets(const std::string& id) {
    CERTDEPLOY_TRY_ASSIGN(auto db, pool_.acquire());
    CERTDEPLOY_TRY_ASSIGN(
        auto s, db->prepare("SELECT " + std::string(kTargetColumns) +
                            " FROM targets WHERE job_seq = (SELECT seq FROM jobs WHERE id = ?1) ORDER BY server"));
    s.bind(1, id);
    return collect<TargetRow>(s, read_target);
}

StoreResult<std::vector<JobRow>> SqlControllerStore::list_jobs(const JobFilter& filter) {
    CERTDEPLOY_TRY_ASSIGN(auto db, pool_.acquire());
    CERTDEPLOY_TRY_ASSIGN(
        auto s, db->prepare("SELECT " + std::string(kJobColumns) +
                            " FROM jobs j WHERE (CAST(?1 AS TEXT) IS NULL OR j.state = ?1)"
                            " AND (CAST(?2 AS TEXT) IS NULL OR EXISTS (SELECT 1 FROM targets t WHERE t.job_seq = j.seq"
                            " AND t.server = ?2))"
                            " AND (CAST(?3 AS TEXT) IS NULL OR j.thumbprint = ?3) AND (?4 = 0 OR j.seq < ?4)"
                            " ORDER BY j.seq DESC LIMIT ?5"));
    s.bind_optional(1, filter.state).bind_optional(2, filter.server).bind_optional(3, filter.thumbprint);
    s.bind(4, filter.beforeSeq).bind(5, static_cast<std::int64_t>(filter.limit));
    CERTDEPLOY_TRY_ASSIGN(auto jobs, collect<JobRow>(s, read_job));
    for (auto& job : jobs) {
        auto full = load_job(*db, job.id);  // with its target counts
        if (!full) {
            return full.error();
        }
        if (*full) {
            job = std::move(**full);
        }
    }
    return jobs;
}

StoreResult<std::vector<JobCount>> SqlControllerStore::count_jobs() {
    CERTDEPLOY_TRY_ASSIGN(auto db, pool_.acquire());
    CERTDEPLOY_TRY_ASSIGN(auto s, db->prepare("SELECT kind, state, COUNT(*) FROM jobs GROUP BY kind, state"));
    return collect<JobCount>(s, [](const Statement& row) {
        return JobCount{row.text(0), row.text(1), row.integer(2)};
    });
}

StoreResult<std::optional<std::string>> SqlControllerStore::sealed_upload(const std::string& id) {
    CERTDEPLOY_TRY_ASSIGN(auto db, pool_.acquire());
    CERTDEPLOY_TRY_ASSIGN(auto s,
                          db->prepare("SELECT sealed_upload FROM jobs WHERE id = ?1 AND sealed_upload IS NOT NULL"));
    s.bind(1, id);
    return first_row<std::string>(s, [](const Statement& row) { return row.blob(0); });
}

StoreResult<bool> SqlControllerStore::change_target(const TargetChange& change, const JobRules& rules) {
    if (commits_) {
        return commits_->run([&](Connection& db) { return apply_change(db, change, rules); });
    }
    CERTDEPLOY_TRY_ASSIGN(auto db, pool_.acquire());
    Transaction tx(*db);
    CERTDEPLOY_TRY(tx.begin());
    CERTDEPLOY_TRY_ASSIGN(auto changed, apply_change(*db, change, rules));
    if (changed) {
        CERTDEPLOY_TRY(tx.commit());
    }
    return value(changed);
}

StoreResult<bool> SqlControllerStore::apply_change(Connection& db_ref, const TargetChange& change,
                                                   const JobRules& rules) {
    Connection* db = &db_ref;
    CERTDEPLOY_TRY_ASSIGN(auto job, lock_job_head(*db, change.jobId));
    if (!job) {
        return value(false);
    }
    CERTDEPLOY_TRY_ASSIGN(auto target, load_target(*db, job->seq, change.server));
    if (!target || std::find(change.from.begin(), change.from.end(), target->state) == change.from.end()) {
        return value(false);
    }
    // A running target is changed only by the controller that claims it: one whose lease ended and whose
    // target another controller took over has lost it, and its late answer is not recorded.
    if (!change.startAttempt && !change.owner.empty() && target->state == rules.running &&
        target->claimedBy.value_or(change.owner) != change.owner) {
        return value(false);
    }
    // And only by the attempt that runs now: a stale one of the same controller (its target reclaimed and
    // started again meanwhile) is not recorded either.
    if (!change.startAttempt && change.attempt && target->attempts != *change.attempt) {
        return value(false);
    }
    const bool cancelled = job->cancelRequested && change.toWhenCancelled.has_value();
    const std::string& to = cancelled ? *change.toWhenCancelled : change.to;
    const bool finished = change.finished || cancelled;
    CERTDEPLOY_TRY_ASSIGN(auto s,
                          db->prepare("UPDATE targets SET state = ?3, attempts = attempts + ?4,"
                                      " started_at = CASE WHEN ?4 = 1 THEN ?5 ELSE started_at END, finished_at = ?6,"
                                      " error_code = ?7, error_message = ?8, result = ?9, cert_status = ?10,"
                                      " claimed_by = ?11, lease_until = ?12 WHERE job_seq = ?1 AND server = ?2"));
    s.bind(1, job->seq).bind(2, change.server).bind(3, to);
    s.bind(4, static_cast<std::int64_t>(change.startAttempt ? 1 : 0)).bind(5, change.at);
    s.bind_optional(6, finished ? std::optional<std::string>(change.at) : std::nullopt);
    // A target cancelled instead of waiting for another attempt keeps no error: it did not fail.
    s.bind_optional(7, cancelled ? std::nullopt : change.errorCode);
    s.bind_optional(8, cancelled ? std::nullopt : change.errorMessage);
    s.bind_optional(9, change.result).bind_optional(10, change.certStatus);
    // Running: claimed by whoever started it (and keeps its claim on other changes while still running).
    const bool claimed = to == rules.running;
    s.bind_optional(11, claimed ? (change.startAttempt ? std::optional<std::string>(change.owner) : target->claimedBy)
                                : std::nullopt);
    s.bind_optional(12, claimed ? (change.startAttempt ? change.leaseUntil : target->leaseUntil) : std::nullopt);
    CERTDEPLOY_TRY(s.run());
    CERTDEPLOY_TRY(append_target_event(*db, *job, change.server));
    CERTDEPLOY_TRY(settle_job(*db, *job, change.at, rules));
    CERTDEPLOY_TRY(announce(*db, kEventsChannel, change.jobId));
    if (change.inventory) {
        CERTDEPLOY_TRY(insert_inventory(*db, *change.inventory));
    }
    if (change.dropInventory) {
        CERTDEPLOY_TRY(delete_inventory(*db, change.server, *change.dropInventory));
    }
    return value(true);
}

StoreResult<int> SqlControllerStore::change_job_targets(const std::string& id, const std::string& from,
                                                        const std::string& to, bool request_cancel,
                                                        const std::string& at, const JobRules& rules) {
    CERTDEPLOY_TRY_ASSIGN(auto db, pool_.acquire());
    Transaction tx(*db);
    CERTDEPLOY_TRY(tx.begin());
    CERTDEPLOY_TRY_ASSIGN(auto job, lock_job_head(*db, id));
    if (!job) {
        return value(0);
    }
    // A cancel is remembered for targets that are running now; a retry starts the job afresh.
    CERTDEPLOY_TRY_ASSIGN(auto flag, db->prepare("UPDATE jobs SET cancel_requested = ?2 WHERE seq = ?1"));
    flag.bind(1, job->seq).bind(2, static_cast<std::int64_t>(request_cancel ? 1 : 0));
    CERTDEPLOY_TRY(flag.run());
    job->cancelRequested = request_cancel;
    CERTDEPLOY_TRY_ASSIGN(auto servers,
                          db->prepare("SELECT server FROM targets WHERE job_seq = ?1 AND state = ?2 ORDER BY rowid"));
    servers.bind(1, job->seq).bind(2, from);
    auto names = collect<std::string>(servers, [](const Statement& row) { return row.text(0); });
    if (!names) {
        return names.error();
    }
    // Cancelled targets are finished; targets sent again start over, with their attempts still counted.
    const bool finished = rules.is_final(to);
    for (const auto& server : *names) {
        CERTDEPLOY_TRY_ASSIGN(
            auto s,
            db->prepare("UPDATE targets SET state = ?3, finished_at = ?4, error_code = NULL, error_message = NULL,"
                        " claimed_by = NULL, lease_until = NULL,"
                        " result = NULL, cert_status = NULL WHERE job_seq = ?1 AND server = ?2"));
        s.bind(1, job->seq).bind(2, server).bind(3, to);
        s.bind_optional(4, finished ? std::optional<std::string>(at) : std::nullopt);
        CERTDEPLOY_TRY(s.run());
        CERTDEPLOY_TRY(append_target_event(*db, *job, server));
    }
    if (to == rules.pending && !names->empty()) {
        CERTDEPLOY_TRY(announce(*db, kJobsChannel, id));  // a retry: whichever controller is free runs it
    }
    CERTDEPLOY_TRY(announce(*db, kEventsChannel, id));
    CERTDEPLOY_TRY(settle_job(*db, *job, at, rules));
    CERTDEPLOY_TRY(tx.commit());
    return value(static_cast<int>(names->size()));
}

StoreResult<std::vector<TargetRef>> SqlControllerStore::runnable_targets(const std::optional<std::string>& job_id,
                                                                         bool reclaim, const std::string& owner,
                                                                         const std::string& at, const JobRules& rules) {
    CERTDEPLOY_TRY_ASSIGN(auto db, pool_.acquire());
    Transaction tx(*db);
    CERTDEPLOY_TRY(tx.begin());
    // Whose controller is gone: no claim, its own (at start), or a lease that ended; the owner and the time as
    // the parameters numbered `owner_param` and `at_param`.
    const auto orphaned = [](int owner_param, int at_param) {
        return " AND (t.claimed_by IS NULL OR t.claimed_by = ?" + std::to_string(owner_param) +
               " OR t.lease_until IS NULL OR t.lease_until < ?" + std::to_string(at_param) + ")";
    };
    if (reclaim) {
        // Whether the agent finished is unknown, so they are sent again; the agents answer a repeated install
        // with alreadyInstalled.
        CERTDEPLOY_TRY_ASSIGN(auto orphans,
                              db->prepare("SELECT j.id, t.server FROM targets t JOIN jobs j ON j.seq = t.job_seq"
                                          " WHERE t.state = ?1" +
                                          orphaned(2, 3) + " ORDER BY j.seq, t.server"));  // jobs locked in one order
        orphans.bind(1, rules.running).bind(2, owner).bind(3, at);
        auto pairs = collect<std::pair<std::string, std::string>>(
            orphans, [](const Statement& row) { return std::make_pair(row.text(0), row.text(1)); });
        if (!pairs) {
            return pairs.error();
        }
        for (const auto& [id, server] : *pairs) {
            CERTDEPLOY_TRY_ASSIGN(auto job, lock_job_head(*db, id));
            if (!job) {
                continue;  // (orphans come from a join with jobs: gone only if deleted meanwhile)
            }
            // Under the job's lock, only if it is still orphaned (its controller may have just finished it).
            // A cancel that came while it ran stands: it is cancelled, not sent again.
            CERTDEPLOY_TRY_ASSIGN(auto s,
                                  db->prepare("UPDATE targets AS t SET state = CASE WHEN ?5 = 1 THEN ?6 ELSE ?7 END,"
                                              " finished_at = CASE WHEN ?5 = 1 THEN ?4 ELSE t.finished_at END,"
                                              " claimed_by = NULL, lease_until = NULL"
                                              " WHERE t.job_seq = ?1 AND t.server = ?2 AND t.state = ?8" +
                                              orphaned(3, 4)));
            s.bind(1, job->seq).bind(2, server).bind(3, owner).bind(4, at);
            s.bind(5, static_cast<std::int64_t>(job->cancelRequested ? 1 : 0));
            s.bind(6, rules.cancelled).bind(7, rules.pending).bind(8, rules.running);
            CERTDEPLOY_TRY(s.run());
            if (db->changes() == 0) {
                continue;
            }
            CERTDEPLOY_TRY(append_target_event(*db, *job, server));
            CERTDEPLOY_TRY(settle_job(*db, *job, at, rules));
            CERTDEPLOY_TRY(announce(*db, kEventsChannel, id));
        }
    }
    CERTDEPLOY_TRY_ASSIGN(
        auto s, db->prepare("SELECT j.id, t.server, t.attempts FROM targets t JOIN jobs j ON j.seq = t.job_seq"
                            " WHERE t.state = ?2 AND (CAST(?1 AS TEXT) IS NULL OR j.id = ?1) ORDER BY j.seq, t.rowid"));
    s.bind_optional(1, job_id).bind(2, rules.pending);
    auto refs = collect<TargetRef>(s, [](const Statement& row) {
        return TargetRef{row.text(0), row.text(1), static_cast<int>(row.integer(2))};
    });
    if (!refs) {
        return refs.error();
    }
    CERTDEPLOY_TRY(tx.commit());
    return refs;
}

std::unique_ptr<JobWatch> SqlControllerStore::watch_jobs(std::function<void(const std::string& job_id)> ready,
                                                         std::function<void(const std::string& job_id)> events) {
    if (pool_.dialect() != Dialect::postgresql) {
        return nullptr;
    }
    return std::make_unique<PostgresqlJobWatch>([this] { return pool_.open_unpooled(); }, std::move(ready),
                                                std::move(events));
}

StoreResult<int> SqlControllerStore::renew_leases(const std::string& owner,
                                                  const std::vector<std::pair<std::string, std::string>>& targets,
                                                  const std::string& until, const JobRules& rules) {
    CERTDEPLOY_TRY_ASSIGN(auto db, pool_.acquire());
    Transaction tx(*db);
    CERTDEPLOY_TRY(tx.begin());
    int renewed = 0;
    for (const auto& [job_id, server] : targets) {
        CERTDEPLOY_TRY_ASSIGN(auto s,
                              db->prepare("UPDATE targets SET lease_until = ?3 WHERE job_seq = (SELECT seq FROM "
                                          "jobs WHERE id = ?1) AND server = ?2 AND claimed_by = ?4 AND state = ?5"));
        s.bind(1, job_id).bind(2, server).bind(3, until).bind(4, owner).bind(5, rules.running);
        CERTDEPLOY_TRY(s.run());
        renewed += static_cast<int>(db->changes());
    }
    CERTDEPLOY_TRY(tx.commit());
    return value(renewed);
}

StoreResult<int> SqlControllerStore::drop_uploads(const std::string& finished_before) {
    CERTDEPLOY_TRY_ASSIGN(auto db, pool_.acquire());
    CERTDEPLOY_TRY_ASSIGN(
        auto s,
        db->prepare("UPDATE jobs SET sealed_upload = NULL WHERE sealed_upload IS NOT NULL AND finished_at IS NOT NULL"
                    " AND finished_at < ?1"));
    s.bind(1, finished_before);
    CERTDEPLOY_TRY(s.run());
    return value(db->changes());
}

StoreResult<std::vector<EventRow>> SqlControllerStore::events_after(const std::string& id, std::int64_t after_seq,
                                                                    std::size_t limit) {
    CERTDEPLOY_TRY_ASSIGN(auto db, pool_.acquire());
    CERTDEPLOY_TRY_ASSIGN(
        auto s, db->prepare("SELECT e.seq, e.type, e.data, j.id FROM job_events e JOIN jobs j ON j.seq = e.job_seq"
                            " WHERE j.id = ?1 AND e.seq > ?2 ORDER BY e.seq LIMIT ?3"));
    s.bind(1, id).bind(2, after_seq).bind(3, static_cast<std::int64_t>(limit));
    return collect<EventRow>(
        s, [](const Statement& row) { return decode_event(row.integer(0), row.text(1), row.text(3), row.text(2)); });
}

StoreResult<std::optional<std::pair<std::string, std::string>>> SqlControllerStore::find_key(const std::string& key) {
    CERTDEPLOY_TRY_ASSIGN(auto db, pool_.acquire());
    CERTDEPLOY_TRY_ASSIGN(auto s, db->prepare("SELECT fingerprint, job_id FROM idempotency_keys WHERE key = ?1"));
    s.bind(1, key);
    return first_row<std::pair<std::string, std::string>>(
        s, [](const Statement& row) { return std::make_pair(row.text(0), row.text(1)); });
}

StoreResult<void> SqlControllerStore::remember_key(const std::string& key, const std::string& fingerprint,
                                                   const std::string& job_id, const std::string& at) {
    CERTDEPLOY_TRY_ASSIGN(auto db, pool_.acquire());
    CERTDEPLOY_TRY_ASSIGN(
        auto s,
        db->prepare("INSERT INTO idempotency_keys (key, fingerprint, job_id, created_at) VALUES (?1, ?2, ?3, ?4)"
                    " ON CONFLICT (key) DO NOTHING"));
    s.bind(1, key).bind(2, fingerprint).bind(3, job_id).bind(4, at);
    return s.run();
}

}  // namespace certdeploy::store
