#include "service/controller/runtime/job_dispatcher.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>

#include "service/async/run_blocking.hpp"
#include "service/controller/attempt_policy.hpp"
#include "service/log.hpp"
#include "service/metrics/metrics.hpp"
#include "service/scope_exit.hpp"
#include "service/time/rfc3339.hpp"

namespace certdeploy::controller {
namespace {

using controller::TargetOutcome;
using nlohmann::json;

// What the dispatcher counts for GET /metrics (docs/OPERATING.md lists them).
struct DispatchMetrics {
    metrics::Family<metrics::Counter>& finished = metrics::process_registry().counter(
        "certdeploy_targets_finished_total", "Targets that ended, by job kind and final state (succeeded or failed).",
        {"kind", "state"});
    metrics::Family<metrics::Counter>& retries = metrics::process_registry().counter(
        "certdeploy_target_retries_total", "Attempts that failed and will be tried again, by error code.", {"code"});
    metrics::Gauge& in_flight =
        metrics::process_registry().gauge("certdeploy_targets_in_flight", "Attempts running now.").with({});
    metrics::Family<metrics::Histogram>& attempt = metrics::process_registry().histogram(
        "certdeploy_target_attempt_duration_seconds", "One attempt on one server, in seconds.", {"kind"});
    // Measured at each target's end from its job's creation (no extra read): a deployment's duration as
    // each server sees it, queueing and retries included; the job's own is the largest.
    metrics::Family<metrics::Histogram>& completion = metrics::process_registry().histogram(
        "certdeploy_target_completion_seconds",
        "From a job's creation to one of its targets' final state, in seconds (the job's times are kept to the "
        "second).",
        {"kind"}, {0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600});
};

DispatchMetrics& dispatch_metrics() {
    static DispatchMetrics m;
    return m;
}

TargetOutcome refused(Error error) {
    TargetOutcome outcome;
    outcome.error = std::move(error);
    return outcome;
}

TargetOutcome succeeded(std::string result, std::optional<json> certificate) {
    TargetOutcome outcome;
    outcome.succeeded = true;
    outcome.result = std::move(result);
    outcome.certificate = std::move(certificate);
    return outcome;
}

// A job's options as it stored them; a missing or mistyped one is its default.
void log_failure(const char* what, const store::TargetRef& target, const Error& error) {
    log::error(what, {{"job", target.jobId}, {"server", target.server}, {"message", error.message}});
}

}  // namespace

JobDispatcher::JobDispatcher(asio::io_context& context, AgentApi& agents, JobService& jobs, asio::thread_pool& pool,
                             DispatchOptions options)
    : context_(context),
      agents_(agents),
      jobs_(jobs),
      pool_(pool),
      options_(options),
      wake_(context, asio::steady_timer::time_point::max()),
      random_(std::random_device{}()) {}

void JobDispatcher::start(std::vector<store::TargetRef> resumed) {
    if (!resumed.empty()) {
        log::info("resuming unfinished jobs", {{"targets", resumed.size()}});
    }
    for (auto& target : resumed) {
        enqueue(std::move(target));
    }
    for (std::size_t i = 0; i < options_.maxParallel; ++i) {
        asio::co_spawn(context_, worker(), asio::detached);
    }
    asio::co_spawn(context_, sweep_uploads(), asio::detached);
    asio::co_spawn(context_, keep_claims(), asio::detached);
    asio::co_spawn(context_, take_over(), asio::detached);
}

asio::awaitable<void> JobDispatcher::keep_claims() {
    asio::steady_timer timer(context_);
    for (;;) {
        timer.expires_after(std::chrono::duration_cast<std::chrono::milliseconds>(jobs_.lease()) / 3);
        co_await timer.async_wait(use_nothrow);
        const std::vector<std::pair<std::string, std::string>> running(running_->begin(), running_->end());
        auto renewed = co_await run_blocking(pool_, [&] { return jobs_.renew_leases(running); });
        if (!renewed) {
            // Not fatal yet: the lease lasts three times this long. Past it, another controller may take the
            // targets over, and this one's late answers are not recorded.
            log::warn("cannot renew this controller's leases", {{"message", renewed.error().message}});
        }
    }
}

asio::awaitable<void> JobDispatcher::take_over() {
    asio::steady_timer timer(context_);
    for (;;) {
        timer.expires_after(std::chrono::duration_cast<std::chrono::milliseconds>(jobs_.lease()) / 2);
        co_await timer.async_wait(use_nothrow);
        auto targets =
            co_await run_blocking(pool_, [this] { return jobs_.runnable(std::nullopt, JobService::Reclaim::orphans); });
        if (!targets) {
            log::warn("cannot look for targets to take over", {{"message", targets.error().message}});
            continue;
        }
        for (auto& target : *targets) {
            enqueue(std::move(target));
        }
    }
}

void JobDispatcher::job_ready(const std::string& job_id) {
    asio::co_spawn(context_, queue_job(job_id), asio::detached);
}

asio::awaitable<void> JobDispatcher::queue_job(std::string job_id) {
    auto targets = co_await run_blocking(pool_, [&] { return jobs_.runnable(job_id, JobService::Reclaim::none); });
    if (!targets) {
        log::error("cannot queue a job", {{"job", job_id}, {"message", targets.error().message}});
        co_return;
    }
    for (auto& target : *targets) {
        enqueue(std::move(target));
    }
}

void JobDispatcher::enqueue(store::TargetRef target) {
    if (deferred(target) || !queued_.emplace(target.jobId, target.server).second) {
        return;
    }
    queue_.push_back(std::move(target));
    wake_.cancel();  // every sleeping worker wakes; those that find the queue empty sleep again
}

asio::awaitable<void> JobDispatcher::worker() {
    for (;;) {
        while (queue_.empty()) {
            co_await wake_.async_wait(use_nothrow);
        }
        auto target = std::move(queue_.front());
        queue_.pop_front();
        queued_.erase({target.jobId, target.server});
        if (deferred(target)) {
            continue;  // queued before its backoff began: its timer queues it again
        }
        // A bug or an unexpected answer must not end this worker, nor leave the target running.
        bool failed = false;
        try {
            co_await run_target(target);
            forget_if_idle(target.jobId);
        } catch (const std::exception& e) {
            log::error("a target's attempt failed unexpectedly",
                       {{"job", target.jobId}, {"server", target.server}, {"detail", e.what()}});
            failed = true;
        }
        if (failed) {
            // Recorded as failed if it was running; queued again in case it was still pending (a start that
            // threw): run_target only takes a pending target, so this is harmless otherwise.
            TargetOutcome outcome;
            outcome.error = make_error(ErrorCode::internal, target.server + ": the controller failed on this target");
            try {
                co_await persist(target, "cannot record a target's outcome",
                                 [&] { return jobs_.finish_target(target, "", controller::JobKind::import, outcome); });
            } catch (const std::exception& e) {
                log::error("cannot record a failed target", {{"job", target.jobId}, {"detail", e.what()}});
            }
            defer(target, std::chrono::seconds(1));
            forget_if_idle(target.jobId);
        }
    }
}

std::shared_ptr<const JobDispatcher::JobCache> JobDispatcher::cache_job(controller::JobWork work,
                                                                        const std::string& job_id) {
    auto& slot = jobs_cached_[job_id];
    if (!slot) {  // (another worker may have cached it while this one waited for the store)
        auto made = std::make_shared<JobCache>();
        if (work.kind == controller::JobKind::import && work.sealedUpload) {
            made->upload.emplace(jobs_.open_upload(job_id, *work.sealedUpload));
        }
        made->work = std::move(work);
        slot = std::move(made);
    }
    return slot;
}

void JobDispatcher::forget_if_idle(const std::string& job_id) {
    const auto of_job = [&job_id](const auto& set) {
        auto first = set.lower_bound(std::make_pair(job_id, std::string()));
        return first != set.end() && first->first.first == job_id;
    };
    const auto in_set = [&job_id](const std::set<std::pair<std::string, std::string>>& set) {
        auto first = set.lower_bound(std::make_pair(job_id, std::string()));
        return first != set.end() && first->first == job_id;
    };
    if (!in_set(queued_) && !in_set(*running_) && !of_job(deferred_)) {
        jobs_cached_.erase(job_id);  // attempts still holding it keep it until they end
    }
}

asio::awaitable<void> JobDispatcher::sweep_uploads() {
    asio::steady_timer timer(context_);
    for (;;) {
        auto dropped = co_await run_blocking(pool_, [this] { return jobs_.drop_expired_uploads(); });
        if (dropped && *dropped > 0) {
            log::info("uploads of finished jobs deleted", {{"jobs", *dropped}});
        }
        timer.expires_after(std::chrono::minutes(10));
        co_await timer.async_wait(use_nothrow);
    }
}

std::chrono::milliseconds JobDispatcher::backoff(int tries) {
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    return controller::backoff_delay(tries, options_.retryDelay, options_.maxRetryDelay, unit(random_));
}

bool JobDispatcher::deferred(const store::TargetRef& target) const {
    return deferred_.count({target.jobId, target.server}) != 0;
}

void JobDispatcher::defer(store::TargetRef target, std::chrono::milliseconds delay) {
    ++deferred_[{target.jobId, target.server}];  // marked now, before the timer's coroutine even starts
    asio::co_spawn(context_, requeue_after(std::move(target), delay), asio::detached);
}

asio::awaitable<void> JobDispatcher::requeue_after(store::TargetRef target, std::chrono::milliseconds delay) {
    asio::steady_timer timer(context_);
    timer.expires_after(delay);
    co_await timer.async_wait(use_nothrow);
    const auto key = std::make_pair(target.jobId, target.server);
    if (--deferred_[key] == 0) {
        deferred_.erase(key);
    }
    enqueue(std::move(target));
}

asio::awaitable<bool> JobDispatcher::persist(const store::TargetRef& target, const char* what,
                                             const std::function<Result<void>()>& write) {
    constexpr int kTries = 30;
    asio::steady_timer timer(context_);
    for (int i = 1;; ++i) {
        auto written = co_await run_blocking(pool_, write);
        if (written) {
            co_return true;
        }
        log_failure(what, target, written.error());
        if (i == kTries) {
            // Its lease is no longer renewed: once it ends, take_over() (here or on another controller) runs
            // the target again, and the agent answers a repeated install with alreadyInstalled.
            log::error("giving up on recording a target; it runs again once its lease ends",
                       {{"job", target.jobId}, {"server", target.server}});
            co_return false;
        }
        timer.expires_after(std::chrono::seconds(1));
        co_await timer.async_wait(use_nothrow);
    }
}

asio::awaitable<void> JobDispatcher::run_target(store::TargetRef target) {
    // Started and (for a job's first target here) its job's work read in one trip to the store's threads
    // (each trip is two thread switches).
    std::shared_ptr<const JobCache> job;
    if (auto cached = jobs_cached_.find(target.jobId); cached != jobs_cached_.end()) {
        job = cached->second;
    }
    struct Begun {
        Result<std::optional<std::string>> started;
        std::optional<Result<JobWork>> work;
    };
    const bool read_work = !job;
    auto begun = co_await run_blocking(pool_, [&] {
        Begun out{jobs_.start_target(target), std::nullopt};
        if (read_work && out.started && *out.started) {
            out.work.emplace(jobs_.work(target.jobId));
        }
        return out;
    });
    auto& started = begun.started;
    if (!started) {
        log_failure("cannot start a target", target, started.error());
        defer(target, std::chrono::seconds(1));
        co_return;
    }
    if (!*started) {
        co_return;  // cancelled, already taken, or its server is gone (failed by start_target)
    }
    const std::string agent_url = std::move(**started);
    target.attempts += 1;
    target.tries += 1;
    // Its lease is renewed until this attempt is recorded or given up; then, if it was not recorded, the
    // lease ends and the target is taken over.
    running_->emplace(target.jobId, target.server);
    ScopeExit leave([running = running_, key = std::make_pair(target.jobId, target.server)] { running->erase(key); });
    // A job whose work cannot be read is not cached: the next target reads it again.
    std::optional<Error> unreadable;
    if (!job) {
        if (*begun.work) {
            job = cache_job(std::move(**begun.work), target.jobId);
        } else {
            unreadable = begun.work->error();
        }
    }
    auto& counted = dispatch_metrics();
    // (if/else, not ?: — GCC 12 destroys a conditional's temporaries twice inside coroutines.)
    Result<TargetOutcome> outcome = make_error(ErrorCode::internal, std::string());
    if (job) {
        counted.in_flight.add(1);
        const auto began = std::chrono::steady_clock::now();
        outcome = co_await attempt(*job, target, agent_url);
        counted.in_flight.add(-1);
        counted.attempt.with({std::string(controller::name(job->work.kind))})
            .observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count());
    } else {
        outcome = *unreadable;
    }
    if (!outcome && controller::should_retry(outcome.error().code, target.tries, options_.maxAttempts)) {
        counted.retries.with({std::string(code_string(outcome.error().code))}).inc();
        const auto delay = backoff(target.tries);
        log::info("agent unreachable, will try again", {{"job", target.jobId},
                                                        {"server", target.server},
                                                        {"attempts", target.attempts},
                                                        {"delayMs", delay.count()}});
        const Error error = outcome.error();
        if (co_await persist(target, "cannot defer a target", [&] { return jobs_.defer_target(target, error); })) {
            defer(target, delay);
        }
        co_return;
    }
    TargetOutcome final;
    if (outcome) {
        final = std::move(*outcome);
    } else {
        final = refused(outcome.error());
    }
    std::string thumbprint;
    auto kind = controller::JobKind::import;
    if (job) {
        thumbprint = job->work.thumbprint;
        kind = job->work.kind;
    }
    if (!co_await persist(target, "cannot record a target's outcome",
                          [&] { return jobs_.finish_target(target, thumbprint, kind, final); })) {
        co_return;
    }
    counted.finished.with({std::string(controller::name(kind)), final.succeeded ? "succeeded" : "failed"}).inc();
    if (auto created = job ? parse_rfc3339(job->work.createdAt) : std::nullopt) {
        counted.completion.with({std::string(controller::name(kind))})
            .observe(std::chrono::duration<double>(std::chrono::system_clock::now() - *created).count());
    }
    std::string code;
    if (final.error) {
        code = code_string(final.error->code);
    }
    log::info("target finished",
              {{"job", target.jobId}, {"server", target.server}, {"succeeded", final.succeeded}, {"code", code}});
}

asio::awaitable<Result<TargetOutcome>> JobDispatcher::attempt(const JobCache& job, const store::TargetRef& target,
                                                              const std::string& agent_url) {
    AgentApi& agents = agents_;
    const controller::JobWork& work = job.work;
    const AgentApi::Where where{target.server, agent_url};
    // One deadline for the whole attempt: a hung agent (a reload that never returns) costs at most this.
    const auto deadline = std::chrono::steady_clock::now() + options_.attemptTimeout;
    const auto& services = work.options.services;
    // An error goes back as it is: run_target retries a transport failure and records any other as final.

    if (work.kind == controller::JobKind::remove) {
        auto removed = co_await agents.remove(where, work.thumbprint, deadline);
        if (removed) {
            co_return succeeded(std::string("removed"), std::nullopt);
        }
        if (controller::already_removed(removed.error().code)) {
            co_return succeeded(std::string("alreadyRemoved"), std::nullopt);
        }
        co_return removed.error();
    }

    if (work.kind == controller::JobKind::request) {
        if (!work.options.request) {
            co_return refused(make_error(ErrorCode::internal, std::string("the job holds no request")));
        }
        // The job and server as the agent's idempotency key: a retry after a lost answer gets the same request,
        // not a second key pair.
        auto made =
            co_await agents.request(where, *work.options.request, work.options.friendlyName,
                                    work.options.privateKeyExportable, target.jobId + "/" + target.server, deadline);
        if (!made) {
            co_return made.error();
        }
        co_return succeeded(made->result, made->certificate);
    }

    std::string result("enabled");
    std::optional<json> certificate;
    if (work.kind == controller::JobKind::import) {
        if (!job.upload) {
            co_return refused(make_error(ErrorCode::upload_expired, std::string("the upload is no longer kept")));
        }
        const auto& upload = *job.upload;
        if (!upload) {
            co_return refused(upload.error());
        }
        auto installed = co_await agents.install(where, work.thumbprint, *upload, work.options.privateKeyExportable,
                                                 work.options.friendlyName, deadline);
        if (!installed) {
            co_return installed.error();
        }
        result = installed->result;
        certificate = std::move(installed->certificate);
    }
    if (work.kind == controller::JobKind::enable || !services.empty()) {
        auto enabled = co_await agents.enable(where, work.thumbprint, services, deadline);
        if (!enabled) {
            co_return enabled.error();
        }
        certificate = std::move(*enabled);
    }
    co_return succeeded(result, certificate);
}

}  // namespace certdeploy::controller
