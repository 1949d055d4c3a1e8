#include "service/controller/job_service.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <set>

#include "service/controller/server_registry.hpp"
#include "service/controller/store_errors.hpp"
#include "service/json_result.hpp"
#include "service/pki/certificate.hpp"
#include "service/pki/reader.hpp"
#include "service/pki/summary.hpp"
#include "service/pki/thumbprint.hpp"
#include "service/time/rfc3339.hpp"

namespace certdeploy::controller {
namespace {

using nlohmann::json;

std::string now() {
    return rfc3339_now();
}

std::string new_job_id() {
    std::array<unsigned char, 12> raw{};
    if (RAND_bytes(raw.data(), static_cast<int>(raw.size())) != 1) {
        throw std::runtime_error("no random bytes for a job id");
    }
    static constexpr char kHex[] = "0123456789abcdef";
    std::string id;
    for (unsigned char b : raw) {
        id.push_back(kHex[b >> 4]);
        id.push_back(kHex[b & 0xF]);
    }
    return id;
}

std::string text(TargetState state) {
    return std::string(name(state));
}

json optional_json(const std::optional<std::string>& value) {
    return value ? json(*value) : json(nullptr);
}

json counts_json(const std::map<std::string, int>& rows) {
    const auto counts = TargetCounts::from(rows);
    json out = json::object();
    for (const auto state : kTargetStates) {
        out[std::string(name(state))] = counts[state];
    }
    return out;
}

json job_event(const store::JobRow& job) {
    return {{"job", job.id},
            {"state", job.state},
            {"finishedAt", optional_json(job.finishedAt)},
            {"targetCounts", counts_json(job.targetCounts)}};
}

Error unknown_servers(const std::vector<std::string>& names) {
    std::string list;
    for (const auto& name : names) {
        list += (list.empty() ? "" : ", ") + name;
    }
    return make_error(ErrorCode::unknown_server,
                      std::string(names.size() == 1 ? "unknown server: " : "unknown servers: ") + list +
                          " (register with PUT /v1/servers/{name})");
}

json choice_json(const ServerChoice& choice) {
    return choice.hasSelector ? json{{"selector", choice.selector}} : json{{"servers", choice.names}};
}

}  // namespace

bool is_final_state(const std::string& state) {
    const auto parsed = parse_job_state(state);
    return parsed && is_final(*parsed);
}

nlohmann::json target_json(const store::TargetRow& target) {
    json error = target.errorCode ? json{{"code", *target.errorCode}, {"message", target.errorMessage.value_or("")}}
                                  : json(nullptr);
    json report =
        target.result ? json{{"result", *target.result}, {"status", optional_json(target.certStatus)}} : json(nullptr);
    return {{"server", target.server},
            {"state", target.state},
            {"attempts", target.attempts},
            {"error", error},
            {"startedAt", optional_json(target.startedAt)},
            {"finishedAt", optional_json(target.finishedAt)},
            {"report", report}};
}

nlohmann::json job_json(const store::JobRow& job) {
    auto certificate = json::parse(job.certificateJson, nullptr, false);
    auto options = json::parse(job.optionsJson, nullptr, false);
    return {{"id", job.id},
            {"kind", job.kind},
            {"state", job.state},
            {"createdAt", job.createdAt},
            {"finishedAt", optional_json(job.finishedAt)},
            {"thumbprint", job.thumbprint},
            {"certificate", certificate.is_discarded() ? json::object() : certificate},
            {"options", options.is_discarded() ? json::object() : options},
            {"targetCounts", counts_json(job.targetCounts)},
            {"cancelRequested", job.cancelRequested},
            {"uploadKept", job.hasUpload}};
}

const store::JobRules& JobService::rules() {
    static const store::JobRules kRules{
        [](const std::map<std::string, int>& counts, bool /*cancel_requested*/) {
            return std::string(name(job_state(TargetCounts::from(counts))));
        },
        [](const std::string& state) {
            const auto job = parse_job_state(state);
            const auto target = parse_target_state(state);
            return (job && is_final(*job)) || (target && is_final(*target));
        },
        [](const std::map<std::string, int>& counts) { return keep_upload(TargetCounts::from(counts)); },
        [](const store::JobRow& job, const store::TargetRow& target) {
            auto event = target_json(target);
            event["job"] = job.id;
            return event.dump();
        },
        [](const store::JobRow& job) { return job_event(job).dump(); },
    };
    return kRules;
}

JobService::JobService(std::shared_ptr<store::ControllerStore> store, UploadVault vault,
                       std::shared_ptr<const pki::PkiContext> pki, std::shared_ptr<const pki::TrustStore> trust,
                       std::chrono::hours upload_retention)
    : store_(std::move(store)),
      vault_(std::move(vault)),
      pki_(std::move(pki)),
      trust_(std::move(trust)),
      upload_retention_(upload_retention) {}

Result<void> JobService::check_dispatching() const {
    if (queue_ == nullptr) {
        return no_agent_tls();
    }
    return {};
}

Result<std::vector<JobService::Resolved>> JobService::resolve(const ServerChoice& choice) {
    std::vector<store::ServerRow> all;
    std::string after;
    for (;;) {
        auto page = store_->list_servers(after, 1000);
        if (!page) {
            return from_store(page.error());
        }
        all.insert(all.end(), page->begin(), page->end());
        if (page->size() < 1000) {
            break;
        }
        after = page->back().name;
    }
    std::vector<Resolved> out;
    if (choice.hasSelector) {
        for (const auto& row : all) {
            auto labels = json::parse(row.labelsJson, nullptr, false);
            const bool match = std::all_of(choice.selector.begin(), choice.selector.end(), [&](const auto& pair) {
                return labels.is_object() && labels.contains(pair.first) && labels[pair.first] == pair.second;
            });
            if (match) {
                out.push_back({row.name, row.agentUrl});
            }
        }
    } else if (choice.names.size() == 1 && choice.names.front() == "*") {
        for (const auto& row : all) {
            out.push_back({row.name, row.agentUrl});
        }
    } else {
        std::vector<std::string> unknown;
        std::set<std::string> seen;
        for (const auto& name : choice.names) {
            if (!seen.insert(name).second) {
                continue;
            }
            auto it = std::find_if(all.begin(), all.end(), [&](const auto& row) { return row.name == name; });
            if (it == all.end()) {
                unknown.push_back(name);
            } else {
                out.push_back({it->name, it->agentUrl});
            }
        }
        if (!unknown.empty()) {
            return unknown_servers(unknown);
        }
    }
    if (out.empty()) {
        return make_error(ErrorCode::no_servers,
                          choice.hasSelector ? "no registered server matches the selector" : "no server is registered");
    }
    return out;
}

Result<nlohmann::json> JobService::read_certificate(const Upload& upload) const {
    auto bundle = pki::read_bundle(upload.file, upload.password ? &*upload.password : nullptr, *pki_);
    if (!bundle) {
        return bundle.error();
    }
    return json_result(pki::summarize(*bundle, trust_->evaluate(*bundle)));
}

Result<nlohmann::json> JobService::plan_import(const ImportRequest& request) {
    auto certificate = read_certificate(request.upload);
    if (!certificate) {
        return certificate.error();
    }
    auto servers = resolve(request.servers);
    if (!servers) {
        return servers.error();
    }
    json names = json::array();
    for (const auto& server : *servers) {
        names.push_back({{"name", server.name}, {"agentUrl", server.agentUrl}});
    }
    return json_result({{"dryRun", true},
                        {"kind", name(JobKind::import)},
                        {"certificate", *certificate},
                        {"servers", names},
                        {"options",
                         {{"privateKeyExportable", request.privateKeyExportable},
                          {"friendlyName", request.friendlyName},
                          {"services", request.services}}}});
}

Result<Submitted> JobService::submit_import(const ImportRequest& request, const std::string& idempotency_key) {
    if (auto dispatching = check_dispatching(); !dispatching) {
        return dispatching.error();
    }
    auto plan = plan_import(request);
    if (!plan) {
        return plan.error();
    }
    store::NewJob job;
    job.job.id = new_job_id();
    job.job.kind = name(JobKind::import);
    job.job.state = name(JobState::queued);
    job.job.createdAt = now();
    job.job.thumbprint = (*plan)["certificate"]["thumbprint"].get<std::string>();
    job.job.certificateJson = (*plan)["certificate"].dump();
    job.job.optionsJson = (*plan)["options"].dump();
    for (const auto& server : (*plan)["servers"]) {
        store::TargetRow target;
        target.server = server["name"].get<std::string>();
        target.agentUrl = server["agentUrl"].get<std::string>();
        target.state = text(TargetState::pending);
        job.targets.push_back(std::move(target));
    }
    job.sealedUpload = vault_.seal(request.upload, job.job.id);
    if (!idempotency_key.empty()) {
        // The request's meaning, not its bytes (a multipart boundary differs on every curl run); the file and
        // password enter only through the keyed hash.
        json canonical = choice_json(request.servers);
        canonical["kind"] = name(JobKind::import);
        canonical["file"] = vault_.fingerprint(request.upload.file);
        canonical["password"] =
            request.upload.password ? json(vault_.fingerprint(request.upload.password->reveal())) : json(nullptr);
        canonical["options"] = (*plan)["options"];
        job.idempotency.emplace(idempotency_key, vault_.fingerprint(canonical.dump()));
    }
    return persist(std::move(job), idempotency_key);
}

Result<Submitted> JobService::submit_fleet(const FleetRequest& request, const std::string& idempotency_key) {
    if (auto dispatching = check_dispatching(); !dispatching) {
        return dispatching.error();
    }
    auto thumbprint = pki::normalize_thumbprint(request.thumbprint);
    if (!thumbprint) {
        return make_error(ErrorCode::invalid_thumbprint, "a thumbprint is 40 hexadecimal digits (SHA-1)");
    }
    auto servers = resolve(request.servers);
    if (!servers) {
        return servers.error();
    }
    // The job shows what the fleet's inventory knows of the certificate; at least its thumbprint.
    json certificate{{"thumbprint", *thumbprint}};
    store::InventoryFilter filter;
    filter.thumbprint = *thumbprint;
    filter.limit = 1;
    if (auto known = store_->list_inventory(filter); known && !known->empty()) {
        auto described = json::parse(known->front().certificateJson, nullptr, false);
        if (described.is_object()) {
            described.erase("services");
            described.erase("status");  // a status is per server: see each target's report
            certificate = described;
        }
    }
    store::NewJob job;
    job.job.id = new_job_id();
    job.job.kind = name(request.kind);
    job.job.state = name(JobState::queued);
    job.job.createdAt = now();
    job.job.thumbprint = *thumbprint;
    job.job.certificateJson = certificate.dump();
    job.job.optionsJson =
        (request.kind == JobKind::enable ? json{{"services", request.services}} : json::object()).dump();
    for (const auto& server : *servers) {
        store::TargetRow target;
        target.server = server.name;
        target.agentUrl = server.agentUrl;
        target.state = text(TargetState::pending);
        job.targets.push_back(std::move(target));
    }
    if (!idempotency_key.empty()) {
        json canonical = choice_json(request.servers);
        canonical["kind"] = name(request.kind);
        canonical["thumbprint"] = *thumbprint;
        canonical["services"] = request.services;
        job.idempotency.emplace(idempotency_key, vault_.fingerprint(canonical.dump()));
    }
    return persist(std::move(job), idempotency_key);
}

Result<Submitted> JobService::persist(store::NewJob job, const std::string& idempotency_key) {
    auto outcome = store_->create_job(job, rules());
    if (!outcome) {
        return from_store(outcome.error());
    }
    if (outcome->kind == store::CreateOutcome::Kind::conflict) {
        return make_error(ErrorCode::idempotency_conflict, "the Idempotency-Key \"" + idempotency_key +
                                                               "\" was used for another request (job " +
                                                               outcome->jobId + ")");
    }
    // Replays too: a job made but never queued (its answer failed) is queued by the replay; targets already
    // queued or waiting out a backoff are not queued twice.
    queue_->job_ready(outcome->jobId);
    auto rendered = render(outcome->jobId);
    if (!rendered) {
        return rendered.error();
    }
    return Submitted{outcome->kind == store::CreateOutcome::Kind::created, std::move(*rendered)};
}

Result<store::JobRow> JobService::find_job(const std::string& id) {
    auto job = store_->get_job(id);
    if (!job) {
        return from_store(job.error());
    }
    if (!*job) {
        return make_error(ErrorCode::job_not_found, "no job " + id);
    }
    return std::move(**job);
}

Result<nlohmann::json> JobService::render(const std::string& id) {
    auto job = find_job(id);
    if (!job) {
        return job.error();
    }
    auto targets = store_->get_targets(id);
    if (!targets) {
        return from_store(targets.error());
    }
    json out = job_json(*job);
    out["targets"] = json::array();
    for (const auto& target : *targets) {
        out["targets"].push_back(target_json(target));
    }
    return json_result(std::move(out));
}

Result<nlohmann::json> JobService::get(const std::string& id) {
    return render(id);
}

Result<nlohmann::json> JobService::list(const store::JobFilter& filter) {
    auto jobs = store_->list_jobs(filter);
    if (!jobs) {
        return from_store(jobs.error());
    }
    json out{{"jobs", json::array()}, {"next", nullptr}};
    for (const auto& job : *jobs) {
        out["jobs"].push_back(job_json(job));
    }
    if (jobs->size() == filter.limit) {
        out["next"] = std::to_string(jobs->back().seq);
    }
    return json_result(std::move(out));
}

Result<Submitted> JobService::cancel(const std::string& id, const std::string& idempotency_key) {
    return retry_or_cancel(id, idempotency_key, true);
}

Result<Submitted> JobService::retry(const std::string& id, const std::string& idempotency_key) {
    return retry_or_cancel(id, idempotency_key, false);
}

Result<Submitted> JobService::retry_or_cancel(const std::string& id, const std::string& idempotency_key, bool cancel) {
    if (!cancel) {
        if (auto dispatching = check_dispatching(); !dispatching) {
            return dispatching.error();
        }
    }
    const std::string fingerprint = vault_.fingerprint((cancel ? "cancel:" : "retry:") + id);
    if (!idempotency_key.empty()) {
        auto known = store_->find_key(idempotency_key);
        if (!known) {
            return from_store(known.error());
        }
        if (*known) {
            if ((*known)->first != fingerprint) {
                return make_error(ErrorCode::idempotency_conflict,
                                  "the Idempotency-Key \"" + idempotency_key + "\" was used for another request");
            }
            auto rendered = render(id);
            if (!rendered) {
                return rendered.error();
            }
            return Submitted{false, std::move(*rendered)};
        }
    }
    auto job = find_job(id);
    if (!job) {
        return job.error();
    }
    const bool final = is_final_state(job->state);
    if (cancel && final) {
        return make_error(ErrorCode::job_finished, "the job is already " + job->state + ": nothing to cancel");
    }
    if (!cancel) {
        if (!final) {
            return make_error(ErrorCode::job_not_retryable,
                              "the job is still " + job->state + ": retry it once it has finished");
        }
        if (TargetCounts::from(job->targetCounts)[TargetState::failed] == 0) {
            return make_error(ErrorCode::job_not_retryable, "the job has no failed target to retry");
        }
        if (job->kind == name(JobKind::import) && !job->hasUpload) {
            return make_error(ErrorCode::upload_expired, "the upload is no longer kept (kept " +
                                                             std::to_string(upload_retention_.count()) +
                                                             " h after the job finished): submit a new import");
        }
    }
    const auto from = cancel ? TargetState::pending : TargetState::failed;
    const auto to = cancel ? TargetState::cancelled : TargetState::pending;
    auto moved = store_->change_job_targets(id, text(from), text(to), cancel, now(), rules());
    if (!moved) {
        return from_store(moved.error());
    }
    if (!cancel) {
        queue_->job_ready(id);  // at once: whatever fails after this, the moved targets are run
    }
    if (!idempotency_key.empty()) {
        if (auto kept = store_->remember_key(idempotency_key, fingerprint, id, now()); !kept) {
            return from_store(kept.error());
        }
    }
    auto rendered = render(id);
    if (!rendered) {
        return rendered.error();
    }
    return Submitted{true, std::move(*rendered)};
}

Result<std::vector<store::EventRow>> JobService::events_after(const std::string& id, std::int64_t after,
                                                              std::size_t limit) {
    auto events = store_->events_after(id, after, limit);
    if (!events) {
        return from_store(events.error());
    }
    return std::move(*events);
}

Result<std::vector<store::TargetRef>> JobService::runnable(const std::optional<std::string>& job_id,
                                                           bool reset_running) {
    auto refs = store_->runnable_targets(job_id, reset_running, now(), rules());
    if (!refs) {
        return from_store(refs.error());
    }
    return std::move(*refs);
}

Result<JobWork> JobService::work(const std::string& id) {
    auto job = find_job(id);
    if (!job) {
        return job.error();
    }
    const auto kind = parse_job_kind(job->kind);
    if (!kind) {
        return make_error(ErrorCode::internal, "job " + id + " has an unknown kind", job->kind);
    }
    JobWork work{*kind, job->thumbprint, json::parse(job->optionsJson, nullptr, false), std::nullopt};
    if (work.kind == JobKind::import) {
        auto sealed = store_->sealed_upload(id);
        if (!sealed) {
            return from_store(sealed.error());
        }
        work.sealedUpload = std::move(*sealed);
    }
    return work;
}

Result<Upload> JobService::open_upload(const std::string& id, const std::string& sealed) const {
    return vault_.unseal(sealed, id);
}

Result<std::optional<std::string>> JobService::start_target(const store::TargetRef& target) {
    auto server = store_->get_server(target.server);
    if (!server) {
        return from_store(server.error());
    }
    store::TargetChange change;
    change.jobId = target.jobId;
    change.server = target.server;
    change.from = {text(TargetState::pending)};
    change.at = now();
    if (!*server) {
        change.to = text(TargetState::failed);
        change.finished = true;
        change.errorCode = std::string(code_string(ErrorCode::server_not_found));
        change.errorMessage = target.server + " is no longer registered (deleted since the job was made)";
    } else {
        change.to = text(TargetState::running);
        change.startAttempt = true;
    }
    auto changed = store_->change_target(change, rules());
    if (!changed) {
        return from_store(changed.error());
    }
    if (!*changed || !*server) {
        return std::optional<std::string>();
    }
    return std::optional<std::string>((*server)->agentUrl);
}

Result<void> JobService::finish_target(const store::TargetRef& target, const std::string& thumbprint, JobKind kind,
                                       const TargetOutcome& outcome) {
    store::TargetChange change;
    change.jobId = target.jobId;
    change.server = target.server;
    change.from = {text(TargetState::running)};
    change.to = text(outcome.succeeded ? TargetState::succeeded : TargetState::failed);
    change.at = now();
    change.finished = true;
    if (outcome.error) {
        change.errorCode = std::string(code_string(outcome.error->code));
        change.errorMessage = outcome.error->message;
    }
    if (outcome.succeeded) {
        change.result = outcome.result;
        if (outcome.certificate && outcome.certificate->is_object()) {
            auto status = outcome.certificate->find("status");
            if (status != outcome.certificate->end() && status->is_string()) {
                change.certStatus = status->get<std::string>();
            }
        }
    }
    auto changed = store_->change_target(change, rules());
    if (!changed) {
        return from_store(changed.error());
    }
    if (!outcome.succeeded) {
        return {};
    }
    // The inventory follows what the agents said: a failure here is logged by the caller, the job stands.
    if (kind == JobKind::remove) {
        if (auto dropped = store_->drop_inventory(target.server, thumbprint); !dropped) {
            return from_store(dropped.error());
        }
    } else if (outcome.certificate) {
        if (auto row = inventory_row(target.server, *outcome.certificate, change.at)) {
            if (auto put = store_->put_inventory(*row); !put) {
                return from_store(put.error());
            }
        }
    }
    return {};
}

Result<void> JobService::defer_target(const store::TargetRef& target, const Error& error) {
    store::TargetChange change;
    change.jobId = target.jobId;
    change.server = target.server;
    change.from = {text(TargetState::running)};
    change.to = text(TargetState::pending);
    change.toWhenCancelled = text(TargetState::cancelled);  // the cancel came while it ran: no further attempt
    change.at = now();
    change.errorCode = std::string(code_string(error.code));
    change.errorMessage = error.message;
    auto changed = store_->change_target(change, rules());
    if (!changed) {
        return from_store(changed.error());
    }
    return {};
}

Result<bool> JobService::finished(const std::string& id) {
    auto job = find_job(id);
    if (!job) {
        return job.error();
    }
    return is_final_state(job->state);
}

Result<int> JobService::drop_expired_uploads() {
    auto dropped = store_->drop_uploads(rfc3339(std::chrono::system_clock::now() - upload_retention_));
    if (!dropped) {
        return from_store(dropped.error());
    }
    return *dropped;
}

}  // namespace certdeploy::controller
