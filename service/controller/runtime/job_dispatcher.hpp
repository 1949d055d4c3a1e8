#pragma once
// Runs jobs' targets against the agents: every pending target, in parallel up to a cap, each attempt
// bounded by the agent client's deadlines. A transport failure (agent unreachable) is tried again after an
// exponential backoff with jitter, up to a number of attempts; an agent's refusal (wrong password, in use...)
// fails the target at once. A target waiting for its backoff holds no slot, so one dead agent never delays
// another. Every transition goes through JobService (persisted, with its event) before the next step.
//
// Everything here runs on `context` (one thread: the AgentLink's, where the agent API's coroutines run);
// store work goes to `pool`.

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <string>

#include "service/async/awaitable.hpp"
#include "service/controller/agent_api.hpp"
#include "service/controller/job_service.hpp"

namespace certdeploy::controller {

struct DispatchOptions {
    std::size_t maxParallel = 64;                // targets in flight at once
    int maxAttempts = 4;                         // per target, for transport failures
    std::chrono::milliseconds retryDelay{1000};  // first backoff; doubles each attempt
    std::chrono::milliseconds maxRetryDelay{60'000};
    std::chrono::milliseconds attemptTimeout{120'000};  // one attempt, install and enable together
};

class JobDispatcher final : public controller::JobQueue {
  public:
    JobDispatcher(asio::io_context& context, AgentApi& agents, JobService& jobs, asio::thread_pool& pool,
                  DispatchOptions options);
    JobDispatcher(const JobDispatcher&) = delete;
    JobDispatcher& operator=(const JobDispatcher&) = delete;

    // Queues `resumed` (the targets of unfinished jobs, as JobService::runnable(nullopt, orphans_and_own) gave
    // them before anything else could start a target), then waits for work. Runs until the link stops. While
    // it runs, it renews the leases of the targets it runs and, now and then, takes over the targets whose
    // lease ended (another controller on the same database died) and queues the jobs it was not told of.
    void start(std::vector<store::TargetRef> resumed);
    // Thread-safe: a job was created, replayed or retried; its pending targets are queued.
    void job_ready(const std::string& job_id) override;
    // Jobs whose work (and opened upload) is held in memory now: those with a target queued, waiting or running.
    std::size_t jobs_cached() const { return jobs_cached_.size(); }

  private:
    asio::awaitable<void> queue_job(std::string job_id);
    asio::awaitable<void> worker();
    asio::awaitable<void> sweep_uploads();
    asio::awaitable<void> keep_claims();  // renews this controller's leases, a third of a lease apart
    asio::awaitable<void> take_over();    // queues orphaned and unqueued targets, half a lease apart
    asio::awaitable<void> run_target(store::TargetRef target);
    // Queues `target` again after `delay`; until then it is not run, whoever queues it.
    void defer(store::TargetRef target, std::chrono::milliseconds delay);
    asio::awaitable<void> requeue_after(store::TargetRef target, std::chrono::milliseconds delay);
    bool deferred(const store::TargetRef& target) const;
    // What every target of a job needs: its work (kind, options, sealed upload) read from the store and its
    // upload decrypted once per job, not once per target. Dropped — the plaintext wiped — once none of the
    // job's targets is queued, waiting out a backoff or running here (forget_if_idle).
    struct JobCache {
        controller::JobWork work;
        std::optional<Result<controller::Upload>> upload;  // imports: the opened upload, or why it cannot be
    };
    std::shared_ptr<const JobCache> cache_job(controller::JobWork work, const std::string& job_id);
    void forget_if_idle(const std::string& job_id);
    // One attempt: the agent's answer, or a transport error (the only kind retried).
    asio::awaitable<Result<controller::TargetOutcome>> attempt(const JobCache& job, const store::TargetRef& target,
                                                               const std::string& agent_url);
    // Writes a transition, trying again every second while the store refuses (disk full, locked): a target
    // is never left half-recorded while the controller runs. False when it gave up (a restart resumes it).
    asio::awaitable<bool> persist(const store::TargetRef& target, const char* what,
                                  const std::function<Result<void>()>& write);
    void enqueue(store::TargetRef target);
    std::chrono::milliseconds backoff(int tries);  // controller::backoff_delay with a random draw

    asio::io_context& context_;  // one thread: the dispatcher's state needs no lock
    AgentApi& agents_;
    controller::JobService& jobs_;
    asio::thread_pool& pool_;
    DispatchOptions options_;
    std::deque<store::TargetRef> queue_;
    std::set<std::pair<std::string, std::string>> queued_;  // (job, server): no target twice in the queue
    // Targets waiting out a backoff (a count: two timers may overlap): not run before their timer ends.
    std::map<std::pair<std::string, std::string>, int> deferred_;
    // Targets this controller has started and not yet recorded: the leases keep_claims() renews. Shared with
    // the attempts' coroutines, which may be destroyed after the dispatcher (at shutdown) and still leave.
    std::shared_ptr<std::set<std::pair<std::string, std::string>>> running_ =
        std::make_shared<std::set<std::pair<std::string, std::string>>>();
    std::map<std::string, std::shared_ptr<const JobCache>> jobs_cached_;  // by job id
    asio::steady_timer wake_;  // workers sleep on it; cancelled when work arrives
    std::minstd_rand random_;
};

}  // namespace certdeploy::controller
