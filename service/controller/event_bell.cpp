#include "service/controller/event_bell.hpp"

#include <boost/asio/post.hpp>

#include "service/metrics/metrics.hpp"

namespace certdeploy::controller {

std::shared_ptr<EventBell::Waiter> EventBell::listen(const std::string& job_id,
                                                     const boost::asio::any_io_executor& executor) {
    auto waiter = std::make_shared<Waiter>(executor);
    std::lock_guard lock(mutex_);
    waiters_.emplace(job_id, waiter);
    return waiter;
}

void EventBell::forget(const std::string& job_id, const std::shared_ptr<Waiter>& waiter) {
    std::lock_guard lock(mutex_);
    auto [begin, end] = waiters_.equal_range(job_id);
    for (auto it = begin; it != end; ++it) {
        if (it->second == waiter) {
            waiters_.erase(it);
            return;
        }
    }
}

void EventBell::ring(const std::string& job_id, Source source) {
    static auto& rings = metrics::process_registry().counter(
        "certdeploy_event_rings_total",
        "Events streams woken by a new event of their job, by where it was written (this controller, or another "
        "one on the same database).",
        {"source"});
    rings.with({source == Source::local ? "local" : "database"}).inc();
    std::lock_guard lock(mutex_);
    auto [begin, end] = waiters_.equal_range(job_id);
    for (auto it = begin; it != end; ++it) {
        it->second->rung = true;
        // On the stream's own executor; the waiter lives until the cancel has run.
        boost::asio::post(it->second->timer.get_executor(), [waiter = it->second] { waiter->timer.cancel(); });
    }
}

}  // namespace certdeploy::controller
