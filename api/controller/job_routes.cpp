// POST /v1/imports, the fleet operations as jobs, and /v1/jobs: decoding (job_requests.cpp), then JobService.

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <charconv>

#include "api/controller/controller_routes.hpp"
#include "api/controller/job_requests.hpp"
#include "api/controller/job_views.hpp"
#include "api/http/json_body.hpp"
#include "api/http/problem.hpp"
#include "api/http/query.hpp"
#include "service/async/run_blocking.hpp"
#include "service/controller/job_queue.hpp"
#include "service/pki/thumbprint.hpp"
#include "service/scope_exit.hpp"

namespace certdeploy::api {
namespace {

using Awaitable = asio::awaitable<Result<Response>>;
using nlohmann::json;

// 202 Accepted with the job, for a job made or replayed (JobService has handed it to the dispatcher).
Response accepted(const Request& req, const controller::Submitted& submitted, http::status status) {
    auto res = json_reply(req, status, job_json(submitted.job));
    res.set(http::field::location, "/v1/jobs/" + submitted.job.job.id);
    if (!submitted.created) {
        res.set("Idempotent-Replayed", "true");
    }
    return res;
}

// Follows a job's persisted events: those after `after`, then new ones as they are written, until the job
// is final and every event is sent, the client goes away, or the server shuts down.
asio::awaitable<void> follow_events(controller::JobService& jobs, asio::thread_pool& pool, std::string id,
                                    std::int64_t after, BodyWriter& out) {
    using namespace std::chrono_literals;
    // Woken as soon as an event of this job is written, here or on another controller of the database.
    auto waiter = jobs.bell().listen(id, co_await asio::this_coro::executor);
    ScopeExit forget([&jobs, &id, &waiter] { jobs.bell().forget(id, waiter); });
    std::string retry = "retry: 2000\n\n";  // (not a temporary inside co_await: GCC 12)
    if (!co_await out.write(std::move(retry))) {
        co_return;
    }
    auto quiet_since = std::chrono::steady_clock::now();
    bool was_final = false;
    for (;;) {
        auto events = co_await run_blocking(pool, [&] { return jobs.events_after(id, after, 500); });
        if (!events) {
            co_return;
        }
        for (const auto& event : *events) {
            if (!co_await out.write(sse_event(event))) {
                co_return;
            }
            after = event.seq;
        }
        if (!events->empty()) {
            quiet_since = std::chrono::steady_clock::now();
            if (events->size() < 500 && events->back().type == store::EventRow::Type::done) {
                co_return;  // the job is final and everything was said
            }
            continue;
        }
        // Nothing new. A job already final before this read has said everything (its `done` may have gone
        // out before a reconnect); one found final only now gets one more read, for the events its last
        // transition wrote together with it.
        if (was_final || out.closing()) {
            co_return;
        }
        auto finished = co_await run_blocking(pool, [&] { return jobs.finished(id); });
        if (!finished) {
            co_return;
        }
        if (*finished) {
            was_final = true;
            continue;
        }
        if (std::chrono::steady_clock::now() - quiet_since > 15s) {
            std::string comment = ": keep-alive\n\n";  // proxies and clients see a live stream
            if (!co_await out.write(std::move(comment))) {
                co_return;
            }
            quiet_since = std::chrono::steady_clock::now();
        }
        if (!waiter->rung.exchange(false)) {
            // The persisted log is the truth: read it again in a second even if no ring comes.
            waiter->timer.expires_after(1s);
            co_await waiter->timer.async_wait(use_nothrow);
            waiter->rung = false;
        }
    }
}

// Whether `caller` reaches every server of job `id`: out-of-scope, naming those it does not, otherwise.
asio::awaitable<Result<void>> check_reach(controller::JobService& jobs, controller::ServerRegistry& servers,
                                          asio::thread_pool& pool, std::string id, const controller::Caller& caller) {
    if (!caller.scoped) {
        co_return Result<void>();
    }
    auto outside = co_await run_blocking(pool, [&]() -> Result<std::vector<std::string>> {
        auto job = jobs.get(id);
        if (!job) {
            return job.error();
        }
        auto reach = servers.reach(caller);
        if (!reach) {
            return reach.error();
        }
        std::vector<std::string> names;
        for (const auto& target : job->targets) {
            if ((*reach)->count(target.server) == 0) {
                names.push_back(target.server);
            }
        }
        return names;
    });
    if (!outside) {
        co_return outside.error();
    }
    if (!outside->empty()) {
        co_return controller::out_of_scope(caller, *outside);
    }
    co_return Result<void>();
}

}  // namespace

void add_job_routes(Router& router, Access& access, controller::JobService& jobs, controller::ServerRegistry& servers,
                    asio::thread_pool& pool) {
    // Import-ExchangeCertificate, on many servers at once.
    add_v1(router, access, http::verb::post, "/v1/imports", controller::Role::operator_,
           [&](Request& req, const controller::Caller& caller) -> Awaitable {
               auto key = idempotency_key(req);
               if (!key) {
                   co_return key.error();
               }
               auto in = import_input(req);
               if (!in) {
                   co_return in.error();
               }
               if (caller.scoped) {
                   in->request.servers.within = caller;
               }
               if (in->dryRun) {
                   auto plan = co_await run_blocking(pool, [&] { return jobs.plan_import(in->request); });
                   if (!plan) {
                       co_return plan.error();
                   }
                   co_return json_reply(req, http::status::ok, import_plan_json(*plan));
               }
               // Without the agents' TLS material nothing could run a job: refused before anything is read.
               if (auto dispatching = jobs.check_dispatching(); !dispatching) {
                   co_return dispatching.error();
               }

               const auto& choice = in->request.servers;
               if (choice.names.empty() && !choice.hasSelector) {
                   // CA answers: routed to the servers whose pending requests they complete.
                   std::vector<controller::ImportRequest> answers;
                   answers.push_back(std::move(in->request));
                   for (auto& file : in->moreFiles) {
                       controller::ImportRequest answer;
                       answer.upload.file = std::move(file);
                       answer.servers.within = answers.front().servers.within;
                       answer.privateKeyExportable = answers.front().privateKeyExportable;
                       answer.friendlyName = answers.front().friendlyName;
                       answer.services = answers.front().services;
                       answers.push_back(std::move(answer));
                   }
                   auto routed =
                       co_await run_blocking(pool, [&] { return jobs.submit_answers(std::move(answers), *key); });
                   if (!routed) {
                       co_return routed.error();
                   }
                   if (routed->size() == 1) {
                       co_return accepted(req, routed->front(), http::status::accepted);
                   }
                   json list = json::array();
                   bool replayed = true;
                   for (const auto& submitted : *routed) {
                       list.push_back(job_json(submitted.job));
                       replayed = replayed && !submitted.created;
                   }
                   auto res = json_reply(req, http::status::accepted, {{"jobs", std::move(list)}});
                   if (replayed) {
                       res.set("Idempotent-Replayed", "true");
                   }
                   co_return res;
               }
               auto submitted = co_await run_blocking(pool, [&] { return jobs.submit_import(in->request, *key); });
               if (!submitted) {
                   co_return submitted.error();
               }
               co_return accepted(req, *submitted, http::status::accepted);
           });

    // New-ExchangeCertificate -GenerateRequest on many servers: each makes its key pair and request.
    add_v1(router, access, http::verb::post, "/v1/requests", controller::Role::operator_,
           [&](Request& req, const controller::Caller& caller) -> Awaitable {
               if (auto dispatching = jobs.check_dispatching(); !dispatching) {
                   co_return dispatching.error();
               }
               auto key = idempotency_key(req);
               if (!key) {
                   co_return key.error();
               }
               auto request = certificate_request(req);
               if (!request) {
                   co_return request.error();
               }
               if (caller.scoped) {
                   request->servers.within = caller;
               }
               auto submitted = co_await run_blocking(pool, [&] { return jobs.submit_request(*request, *key); });
               if (!submitted) {
                   co_return submitted.error();
               }
               co_return accepted(req, *submitted, http::status::accepted);
           });

    // Exchange's Renew: a request like the certificate on every server that holds it.
    add_v1(router, access, http::verb::post, "/v1/certificates/{thumbprint}/renew", controller::Role::operator_,
           [&](Request& req, const controller::Caller& caller) -> Awaitable {
               if (auto dispatching = jobs.check_dispatching(); !dispatching) {
                   co_return dispatching.error();
               }
               auto key = idempotency_key(req);
               if (!key) {
                   co_return key.error();
               }
               if (!req.message.body().empty()) {
                   auto body = json_object_body(req);
                   if (!body) {
                       co_return body.error();
                   }
                   if (auto known = only_fields(*body, std::initializer_list<const char*>{}); !known) {
                       co_return known.error();
                   }
               }
               std::optional<controller::Caller> within;
               if (caller.scoped) {
                   within = caller;
               }
               const std::string thumbprint = req.params.at("thumbprint");
               auto submitted = co_await run_blocking(pool, [&]() -> Result<controller::Submitted> {
                   auto renewal = jobs.renewal(thumbprint, within);
                   if (!renewal) {
                       return renewal.error();
                   }
                   return jobs.submit_request(*renewal, *key);
               });
               if (!submitted) {
                   co_return submitted.error();
               }
               co_return accepted(req, *submitted, http::status::accepted);
           });

    for (const auto kind : {controller::JobKind::enable, controller::JobKind::remove}) {
        add_v1(router, access, http::verb::post, "/v1/certificates/{thumbprint}/" + std::string(controller::name(kind)),
               controller::Role::operator_, [&, kind](Request& req, const controller::Caller& caller) -> Awaitable {
                   if (auto dispatching = jobs.check_dispatching(); !dispatching) {
                       co_return dispatching.error();
                   }
                   auto key = idempotency_key(req);
                   if (!key) {
                       co_return key.error();
                   }
                   auto request = fleet_request(req, kind);
                   if (!request) {
                       co_return request.error();
                   }
                   if (caller.scoped) {
                       request->servers.within = caller;
                   }
                   auto submitted = co_await run_blocking(pool, [&] { return jobs.submit_fleet(*request, *key); });
                   if (!submitted) {
                       co_return submitted.error();
                   }
                   co_return accepted(req, *submitted, http::status::accepted);
               });
    }

    add_v1(router, access, http::verb::get, "/v1/jobs", controller::Role::viewer,
           [&](Request& req, const controller::Caller& caller) -> Awaitable {
               auto paging = page(req, controller::JobService::kDefaultPageSize, controller::JobService::kMaxPageSize);
               if (!paging) {
                   co_return paging.error();
               }
               store::JobFilter filter;
               filter.limit = paging->first;
               if (!paging->second.empty()) {
                   const auto& after = paging->second;
                   auto [ptr, ec] = std::from_chars(after.data(), after.data() + after.size(), filter.beforeSeq);
                   if (ec != std::errc() || ptr != after.data() + after.size() || filter.beforeSeq <= 0) {
                       co_return invalid_request("after must be a previous page's \"next\"");
                   }
               }
               filter.state = query_param(req, "state");
               if (filter.state && !controller::parse_job_state(*filter.state)) {
                   std::string names;
                   for (const auto state : controller::kJobStates) {
                       names += (names.empty() ? "" : ", ") + std::string(controller::name(state));
                   }
                   co_return invalid_request("state must be one of " + names);
               }
               filter.server = query_param(req, "server");
               if (auto thumbprint = query_param(req, "thumbprint")) {
                   filter.thumbprint = pki::normalize_thumbprint(*thumbprint);
                   if (!filter.thumbprint) {
                       co_return make_error(ErrorCode::invalid_thumbprint,
                                            "a thumbprint is 40 hexadecimal digits (SHA-1)");
                   }
               }
               auto list = co_await run_blocking(pool, [&] { return jobs.list(filter); });
               if (!list) {
                   co_return list.error();
               }
               if (caller.scoped) {  // only jobs all of whose servers the token reaches
                   std::vector<store::JobRow> kept;
                   for (auto& job : list->jobs) {
                       auto reached = co_await check_reach(jobs, servers, pool, job.id, caller);
                       if (reached) {
                           kept.push_back(std::move(job));
                       } else if (reached.error().code != ErrorCode::out_of_scope) {
                           co_return reached.error();
                       }
                   }
                   list->jobs = std::move(kept);
               }
               co_return json_reply(req, http::status::ok, job_page_json(*list));
           });

    add_v1(router, access, http::verb::get, "/v1/jobs/{id}", controller::Role::viewer,
           [&](Request& req, const controller::Caller& caller) -> Awaitable {
               const std::string id = req.params.at("id");
               auto reached = co_await check_reach(jobs, servers, pool, id, caller);
               if (!reached) {
                   co_return reached.error();
               }
               auto job = co_await run_blocking(pool, [&] { return jobs.get(id); });
               if (!job) {
                   co_return job.error();
               }
               co_return json_reply(req, http::status::ok, job_json(*job));
           });

    add_v1(router, access, http::verb::get, "/v1/jobs/{id}/events", controller::Role::viewer,
           [&](Request& req, const controller::Caller& caller) -> Awaitable {
               const std::string id = req.params.at("id");
               auto reached = co_await check_reach(jobs, servers, pool, id, caller);
               if (!reached) {
                   co_return reached.error();
               }
               auto job = co_await run_blocking(pool, [&] { return jobs.get(id); });
               if (!job) {
                   co_return job.error();
               }
               // A reconnecting EventSource sends Last-Event-ID; curl may say ?after=N.
               std::string last(req.message["Last-Event-ID"]);
               if (last.empty()) {
                   last = query_param(req, "after").value_or("0");
               }
               std::int64_t after = 0;
               auto [ptr, ec] = std::from_chars(last.data(), last.data() + last.size(), after);
               if (ec != std::errc() || ptr != last.data() + last.size() || after < 0) {
                   co_return invalid_request("Last-Event-ID (or after) must be an event id");
               }
               // A final job with nothing after `after`: 204, which also tells an EventSource not to reconnect.
               auto rest = co_await run_blocking(pool, [&] { return jobs.events_after(id, after, 1); });
               if (!rest) {
                   co_return rest.error();
               }
               if (rest->empty() && controller::is_final_state(job->job.state)) {
                   co_return Response{http::status::no_content, req.message.version()};
               }
               req.stream = [&jobs, &pool, id, after](BodyWriter& out) {
                   return follow_events(jobs, pool, id, after, out);
               };
               Response res{http::status::ok, req.message.version()};
               res.set(http::field::content_type, "text/event-stream");
               res.set(http::field::cache_control, "no-store");
               res.set("X-Accel-Buffering", "no");
               co_return res;
           });

    add_v1(router, access, http::verb::post, "/v1/jobs/{id}/retry", controller::Role::operator_,
           [&](Request& req, const controller::Caller& caller) -> Awaitable {
               // Without the agents' TLS material nothing could run a job: refused before anything is read.
               if (auto dispatching = jobs.check_dispatching(); !dispatching) {
                   co_return dispatching.error();
               }
               auto key = idempotency_key(req);
               if (!key) {
                   co_return key.error();
               }
               const std::string id = req.params.at("id");
               auto reached = co_await check_reach(jobs, servers, pool, id, caller);
               if (!reached) {
                   co_return reached.error();
               }
               auto retried = co_await run_blocking(pool, [&] { return jobs.retry(id, *key); });
               if (!retried) {
                   co_return retried.error();
               }
               co_return accepted(req, *retried, http::status::accepted);
           });

    add_v1(router, access, http::verb::post, "/v1/jobs/{id}/cancel", controller::Role::operator_,
           [&](Request& req, const controller::Caller& caller) -> Awaitable {
               auto key = idempotency_key(req);
               if (!key) {
                   co_return key.error();
               }
               const std::string id = req.params.at("id");
               auto reached = co_await check_reach(jobs, servers, pool, id, caller);
               if (!reached) {
                   co_return reached.error();
               }
               auto cancelled = co_await run_blocking(pool, [&] { return jobs.cancel(id, *key); });
               if (!cancelled) {
                   co_return cancelled.error();
               }
               co_return accepted(req, *cancelled, http::status::ok);
           });
}

}  // namespace certdeploy::api
