#include "service/controller/job_service.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <set>

#include "service/codec/random_hex.hpp"
#include "service/controller/server_registry.hpp"
#include "service/controller/store_errors.hpp"
#include "service/json_result.hpp"
#include "service/pki/certificate.hpp"
#include "service/pki/reader.hpp"
#include "service/pki/summary.hpp"
#include "service/pki/thumbprint.hpp"
#include "service/time/rfc3339.hpp"
#include "service/try.hpp"

namespace certdeploy::controller {
namespace {

using nlohmann::json;

std::string now() {
    return rfc3339_now();
}

std::string new_job_id() {
    return codec::random_hex(12);
}

std::string text(TargetState state) {
    return std::string(name(state));
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

// A queued job of `kind` about `thumbprint`, one pending target per server; the caller adds what it is about.
store::NewJob queued_job(JobKind kind, std::string thumbprint, const std::vector<ImportPlan::Server>& servers) {
    store::NewJob job;
    job.job.id = new_job_id();
    job.job.kind = name(kind);
    job.job.state = name(JobState::queued);
    job.job.createdAt = now();
    job.job.thumbprint = std::move(thumbprint);
    for (const auto& server : servers) {
        store::TargetRow target;
        target.server = server.name;
        target.agentUrl = server.agentUrl;
        target.state = text(TargetState::pending);
        job.targets.push_back(std::move(target));
    }
    return job;
}

json choice_json(const ServerChoice& choice) {
    return choice.hasSelector ? json{{"selector", choice.selector}} : json{{"servers", choice.names}};
}

}  // namespace

bool is_final_state(const std::string& state) {
    const auto parsed = parse_job_state(state);
    return parsed && is_final(*parsed);
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
        text(TargetState::pending),
        text(TargetState::running),
        text(TargetState::cancelled),
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

Result<std::vector<ImportPlan::Server>> JobService::resolve(const ServerChoice& choice) {
    std::vector<store::ServerRow> all;
    std::string after;
    for (;;) {
        CERTDEPLOY_TRY_ASSIGN_AS(auto page, store_->list_servers(after, 1000), from_store);
        all.insert(all.end(), page.begin(), page.end());
        if (page.size() < 1000) {
            break;
        }
        after = page.back().name;
    }
    if (choice.within && choice.within->scoped && !choice.hasSelector &&
        !(choice.names.size() == 1 && choice.names.front() == "*")) {
        std::vector<std::string> outside;
        for (const auto& name : choice.names) {
            auto it = std::find_if(all.begin(), all.end(), [&](const auto& row) { return row.name == name; });
            if (it != all.end() && !choice.within->reaches(it->labels) &&
                std::find(outside.begin(), outside.end(), name) == outside.end()) {
                outside.push_back(name);
            }
        }
        if (!outside.empty()) {
            return out_of_scope(*choice.within, outside);
        }
    }
    if (choice.within) {
        // "*" and a selector choose among the servers the token reaches.
        all.erase(std::remove_if(all.begin(), all.end(),
                                 [&](const store::ServerRow& row) { return !choice.within->reaches(row.labels); }),
                  all.end());
    }
    // A server waiting for approval gets no job: named, it is refused; "*" and selectors pass it by.
    std::vector<std::string> pending;
    for (const auto& name : choice.names) {
        auto it = std::find_if(all.begin(), all.end(), [&](const auto& row) { return row.name == name; });
        if (it != all.end() && it->pending) {
            pending.push_back(name);
        }
    }
    if (!pending.empty()) {
        std::string list;
        for (const auto& name : pending) {
            list += (list.empty() ? "" : ", ") + name;
        }
        return make_error(ErrorCode::server_pending, "waiting for approval (POST /v1/servers/NAME/approve): " + list);
    }
    all.erase(std::remove_if(all.begin(), all.end(), [](const store::ServerRow& row) { return row.pending; }),
              all.end());
    std::vector<ImportPlan::Server> out;
    if (choice.hasSelector) {
        for (const auto& row : all) {
            const bool match = std::all_of(choice.selector.begin(), choice.selector.end(), [&](const auto& pair) {
                auto label = row.labels.find(pair.first);
                return label != row.labels.end() && label->second == pair.second;
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
    CERTDEPLOY_TRY_ASSIGN(auto bundle,
                          pki::read_bundle(upload.file, upload.password ? &*upload.password : nullptr, *pki_));
    return json_result(pki::summarize(bundle, trust_->evaluate(bundle)));
}

Result<ImportPlan> JobService::plan_import(const ImportRequest& request) {
    ImportPlan plan;
    CERTDEPLOY_TRY_ASSIGN(plan.certificate, read_certificate(request.upload));
    // No server named: a dry run of the file alone (the API allows it only then), showing the servers whose
    // pending request a certificate without its key would complete.
    if (!request.servers.names.empty() || request.servers.hasSelector) {
        CERTDEPLOY_TRY_ASSIGN(plan.servers, resolve(request.servers));
    } else if (!plan.certificate.value("hasPrivateKey", false)) {
        CERTDEPLOY_TRY_ASSIGN(auto names, requesting_servers(plan.certificate.value("publicKeySha256", std::string()),
                                                             request.servers.within));
        if (!names.empty()) {
            CERTDEPLOY_TRY_ASSIGN(plan.servers, resolve(ServerChoice{names, {}, false, request.servers.within}));
        }
    }
    plan.options = {request.privateKeyExportable, request.friendlyName, request.services, std::nullopt};
    return plan;
}

std::string JobService::import_fingerprint(const ImportRequest& request) const {
    // The request's meaning, not its bytes (a multipart boundary differs on every curl run); the file and
    // password enter only through the keyed hash.
    json canonical = choice_json(request.servers);
    canonical["kind"] = name(JobKind::import);
    canonical["file"] = vault_.fingerprint(request.upload.file);
    canonical["password"] =
        request.upload.password ? json(vault_.fingerprint(request.upload.password->reveal())) : json(nullptr);
    canonical["options"] = {{"privateKeyExportable", request.privateKeyExportable},
                            {"friendlyName", request.friendlyName},
                            {"services", request.services}};
    return vault_.fingerprint(canonical.dump());
}

Result<Submitted> JobService::submit_import(const ImportRequest& request, const std::string& idempotency_key) {
    return submit_import(request, idempotency_key,
                         idempotency_key.empty() ? std::string() : import_fingerprint(request));
}

Result<Submitted> JobService::submit_import(const ImportRequest& request, const std::string& idempotency_key,
                                            const std::string& fingerprint) {
    CERTDEPLOY_TRY(check_dispatching());
    CERTDEPLOY_TRY_ASSIGN(auto plan, plan_import(request));
    auto job = queued_job(JobKind::import, plan.certificate["thumbprint"].get<std::string>(), plan.servers);
    job.job.certificateJson = plan.certificate.dump();
    job.job.options = plan.options;
    job.sealedUpload = vault_.seal(request.upload, job.job.id);
    if (!idempotency_key.empty()) {
        job.idempotency.emplace(idempotency_key, fingerprint);
    }
    return persist(std::move(job), idempotency_key);
}

Result<Submitted> JobService::submit_fleet(const FleetRequest& request, const std::string& idempotency_key) {
    CERTDEPLOY_TRY(check_dispatching());
    auto thumbprint = pki::normalize_thumbprint(request.thumbprint);
    if (!thumbprint) {
        return make_error(ErrorCode::invalid_thumbprint, "a thumbprint is 40 hexadecimal digits (SHA-1)");
    }
    CERTDEPLOY_TRY_ASSIGN(const auto servers, resolve(request.servers));
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
    auto job = queued_job(request.kind, *thumbprint, servers);
    job.job.certificateJson = certificate.dump();
    if (request.kind == JobKind::enable) {
        job.job.options.services = request.services;
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

Result<Submitted> JobService::submit_request(const CertificateRequestJob& request, const std::string& idempotency_key) {
    CERTDEPLOY_TRY(check_dispatching());
    CERTDEPLOY_TRY_ASSIGN(const auto servers, resolve(request.servers));
    const auto& spec = request.spec;
    // A renewal shows what it renews; a new request has no certificate yet.
    auto job = queued_job(JobKind::request, request.renews, servers);
    json certificate{{"subject", spec.subject},
                     {"certificateDomains", spec.domains},
                     {"keyAlgorithm", pki::key_algorithm_name(spec.keyAlgorithm)},
                     {"publicKeySize", spec.keySize}};
    if (!request.renews.empty()) {
        certificate["renews"] = request.renews;
    }
    job.job.certificateJson = certificate.dump();
    job.job.options.privateKeyExportable = request.privateKeyExportable;
    job.job.options.friendlyName = request.friendlyName;
    job.job.options.request = store::RequestOptions{
        spec.subject, spec.domains, std::string(pki::key_algorithm_name(spec.keyAlgorithm)), spec.keySize};
    if (!idempotency_key.empty()) {
        json canonical = choice_json(request.servers);
        canonical["kind"] = name(JobKind::request);
        canonical["request"] = certificate;
        canonical["options"] = {{"privateKeyExportable", request.privateKeyExportable},
                                {"friendlyName", request.friendlyName}};
        job.idempotency.emplace(idempotency_key, vault_.fingerprint(canonical.dump()));
    }
    return persist(std::move(job), idempotency_key);
}

Result<CertificateRequestJob> JobService::renewal(const std::string& thumbprint, const std::optional<Caller>& within) {
    auto normalized = pki::normalize_thumbprint(thumbprint);
    if (!normalized) {
        return make_error(ErrorCode::invalid_thumbprint, "a thumbprint is 40 hexadecimal digits (SHA-1)");
    }
    store::InventoryFilter filter;
    filter.thumbprint = *normalized;
    filter.limit = 1;  // one thumbprint: every server that holds it
    CERTDEPLOY_TRY_ASSIGN_AS(auto rows, store_->list_inventory(filter), from_store);
    CertificateRequestJob out;
    out.renews = *normalized;
    out.servers.within = within;
    std::optional<json> described;
    for (const auto& row : rows) {
        auto certificate = json::parse(row.certificateJson, nullptr, false);
        if (!certificate.is_object() || row.status == "PendingRequest") {
            continue;
        }
        out.servers.names.push_back(row.server);
        if (!described) {
            described = std::move(certificate);
        }
    }
    if (within && within->scoped) {
        // Renewed where the token reaches; the servers it does not reach keep their certificate as it is.
        CERTDEPLOY_TRY_ASSIGN(auto reachable, resolve(ServerChoice{{"*"}, {}, false, within}));
        std::set<std::string> names;
        for (const auto& server : reachable) {
            names.insert(server.name);
        }
        out.servers.names.erase(std::remove_if(out.servers.names.begin(), out.servers.names.end(),
                                               [&](const std::string& name) { return names.count(name) == 0; }),
                                out.servers.names.end());
    }
    if (!described || out.servers.names.empty()) {
        return make_error(ErrorCode::certificate_not_found,
                          "no server holds a certificate with thumbprint " + *normalized + " (as the inventory knows)");
    }
    const auto text_at = [&](const char* key) {
        auto it = described->find(key);
        return it != described->end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    pki::RequestFields fields;
    fields.subject = text_at("subject");
    if (auto domains = described->find("certificateDomains"); domains != described->end() && domains->is_array()) {
        for (const auto& domain : *domains) {
            if (domain.is_string()) {
                fields.domains.push_back(domain.get<std::string>());
            }
        }
    }
    fields.keyAlgorithm = text_at("keyAlgorithm");
    if (auto size = described->find("publicKeySize"); size != described->end() && size->is_number_integer()) {
        fields.keySize = size->get<int>();
    }
    CERTDEPLOY_TRY_ASSIGN(out.spec, pki::check_request(fields));
    out.friendlyName = text_at("friendlyName");
    if (auto exportable = described->find("privateKeyExportable");
        exportable != described->end() && exportable->is_boolean()) {
        out.privateKeyExportable = exportable->get<bool>();
    }
    return out;
}

Result<std::vector<std::string>> JobService::requesting_servers(const std::string& public_key_sha256,
                                                                const std::optional<Caller>& within) {
    std::vector<std::string> names;
    store::InventoryFilter filter;
    filter.status = "PendingRequest";
    filter.limit = 1000;
    for (;;) {
        CERTDEPLOY_TRY_ASSIGN_AS(auto rows, store_->list_inventory(filter), from_store);
        for (const auto& row : rows) {
            auto described = json::parse(row.certificateJson, nullptr, false);
            auto key = described.is_object() ? described.find("publicKeySha256") : described.end();
            if (key != described.end() && key->is_string() && key->get<std::string>() == public_key_sha256 &&
                std::find(names.begin(), names.end(), row.server) == names.end()) {
                names.push_back(row.server);
            }
        }
        std::set<std::string> thumbprints;
        for (const auto& row : rows) {
            thumbprints.insert(row.thumbprint);
        }
        if (thumbprints.size() < filter.limit) {
            break;
        }
        filter.afterThumbprint = rows.back().thumbprint;
    }
    if (within && within->scoped && !names.empty()) {
        // Named, a server outside the token's reach is out-of-scope: an answer is no way round a scope.
        CERTDEPLOY_TRY(resolve(ServerChoice{names, {}, false, within}));
    }
    return names;
}

Result<std::vector<Submitted>> JobService::submit_answers(std::vector<ImportRequest> answers,
                                                          const std::string& idempotency_key) {
    CERTDEPLOY_TRY(check_dispatching());
    // One key for the call: each file's job answers to it with the file's place added. An answer's meaning
    // is its file and options, naming no server (where it went is the controller's doing): a repeated call
    // after the requests were completed replays the jobs rather than finding no request left.
    const auto key_of = [&](std::size_t i) {
        return idempotency_key.empty() || answers.size() == 1 ? idempotency_key
                                                              : idempotency_key + "#" + std::to_string(i + 1);
    };
    std::vector<std::string> fingerprints(answers.size());
    std::vector<std::optional<std::string>> replayed(answers.size());  // the job a known key made
    for (std::size_t i = 0; i < answers.size(); ++i) {
        if (key_of(i).empty()) {
            continue;
        }
        fingerprints[i] = import_fingerprint(answers[i]);
        CERTDEPLOY_TRY_ASSIGN_AS(auto known, store_->find_key(key_of(i)), from_store);
        if (known && known->first != fingerprints[i]) {
            return make_error(
                ErrorCode::idempotency_conflict,
                "the Idempotency-Key \"" + key_of(i) + "\" was used for another request (job " + known->second + ")");
        }
        if (known) {
            replayed[i] = known->second;
        }
    }
    // Every file is read and routed before anything is written: one that fits no request changes nothing.
    for (std::size_t i = 0; i < answers.size(); ++i) {
        if (replayed[i]) {
            continue;
        }
        auto& answer = answers[i];
        CERTDEPLOY_TRY_ASSIGN(auto certificate, read_certificate(answer.upload));
        const std::string described = certificate.value("subject", std::string()) + " (thumbprint " +
                                      certificate.value("thumbprint", std::string()) + ")";
        if (certificate.value("hasPrivateKey", false)) {
            return make_error(ErrorCode::no_servers,
                              "name the servers for " + described +
                                  ": only a CA's answer to a pending request (a certificate without its private key) "
                                  "finds its servers by itself");
        }
        CERTDEPLOY_TRY_ASSIGN(
            auto names, requesting_servers(certificate.value("publicKeySha256", std::string()), answer.servers.within));
        if (names.empty()) {
            return make_error(ErrorCode::no_matching_request,
                              "no server has a pending request with the key of " + described +
                                  ": make one with POST /v1/requests, or name the servers to install it without a key");
        }
        answer.servers.names = std::move(names);
        answer.servers.hasSelector = false;
    }
    std::vector<Submitted> out;
    for (std::size_t i = 0; i < answers.size(); ++i) {
        if (replayed[i]) {
            queue_->job_ready(*replayed[i]);  // as persist() does for a replay: queued if it never was
            CERTDEPLOY_TRY_ASSIGN(auto job_view, view(*replayed[i]));
            out.push_back(Submitted{false, std::move(job_view)});
            continue;
        }
        CERTDEPLOY_TRY_ASSIGN(auto submitted, submit_import(answers[i], key_of(i), fingerprints[i]));
        out.push_back(std::move(submitted));
    }
    return out;
}

Result<Submitted> JobService::persist(store::NewJob job, const std::string& idempotency_key) {
    CERTDEPLOY_TRY_ASSIGN_AS(auto outcome, store_->create_job(job), from_store);
    bell_.ring(outcome.jobId);
    if (outcome.kind == store::CreateOutcome::Kind::conflict) {
        return make_error(
            ErrorCode::idempotency_conflict,
            "the Idempotency-Key \"" + idempotency_key + "\" was used for another request (job " + outcome.jobId + ")");
    }
    // Replays too: a job made but never queued (its answer failed) is queued by the replay; targets already
    // queued or waiting out a backoff are not queued twice.
    queue_->job_ready(outcome.jobId);
    CERTDEPLOY_TRY_ASSIGN(auto job_view, view(outcome.jobId));
    return Submitted{outcome.kind == store::CreateOutcome::Kind::created, std::move(job_view)};
}

Result<store::JobRow> JobService::find_job(const std::string& id) {
    CERTDEPLOY_TRY_ASSIGN_AS(auto job, store_->get_job(id), from_store);
    if (!job) {
        return make_error(ErrorCode::job_not_found, "no job " + id);
    }
    return std::move(*job);
}

Result<JobView> JobService::view(const std::string& id) {
    JobView out;
    CERTDEPLOY_TRY_ASSIGN(out.job, find_job(id));
    CERTDEPLOY_TRY_ASSIGN_AS(out.targets, store_->get_targets(id), from_store);
    return out;
}

Result<JobView> JobService::get(const std::string& id) {
    return view(id);
}

Result<JobPage> JobService::list(const store::JobFilter& filter) {
    JobPage page;
    CERTDEPLOY_TRY_ASSIGN_AS(page.jobs, store_->list_jobs(filter), from_store);
    if (page.jobs.size() == filter.limit) {
        page.next = std::to_string(page.jobs.back().seq);
    }
    return page;
}

Result<Submitted> JobService::cancel(const std::string& id, const std::string& idempotency_key) {
    return retry_or_cancel(id, idempotency_key, true);
}

Result<Submitted> JobService::retry(const std::string& id, const std::string& idempotency_key) {
    return retry_or_cancel(id, idempotency_key, false);
}

Result<Submitted> JobService::retry_or_cancel(const std::string& id, const std::string& idempotency_key, bool cancel) {
    if (!cancel) {
        CERTDEPLOY_TRY(check_dispatching());
    }
    const std::string fingerprint = vault_.fingerprint((cancel ? "cancel:" : "retry:") + id);
    if (!idempotency_key.empty()) {
        CERTDEPLOY_TRY_ASSIGN_AS(auto known, store_->find_key(idempotency_key), from_store);
        if (known) {
            if (known->first != fingerprint) {
                return make_error(ErrorCode::idempotency_conflict,
                                  "the Idempotency-Key \"" + idempotency_key + "\" was used for another request");
            }
            CERTDEPLOY_TRY_ASSIGN(auto job_view, view(id));
            return Submitted{false, std::move(job_view)};
        }
    }
    CERTDEPLOY_TRY_ASSIGN(auto job, find_job(id));
    const bool final = is_final_state(job.state);
    if (cancel && final) {
        return make_error(ErrorCode::job_finished, "the job is already " + job.state + ": nothing to cancel");
    }
    if (!cancel) {
        if (!final) {
            return make_error(ErrorCode::job_not_retryable,
                              "the job is still " + job.state + ": retry it once it has finished");
        }
        if (TargetCounts::from(job.targetCounts)[TargetState::failed] == 0) {
            return make_error(ErrorCode::job_not_retryable, "the job has no failed target to retry");
        }
        if (job.kind == name(JobKind::import) && !job.hasUpload) {
            return make_error(ErrorCode::upload_expired, "the upload is no longer kept (kept " +
                                                             std::to_string(upload_retention_.count()) +
                                                             " h after the job finished): submit a new import");
        }
    }
    const auto from = cancel ? TargetState::pending : TargetState::failed;
    const auto to = cancel ? TargetState::cancelled : TargetState::pending;
    CERTDEPLOY_TRY_AS(store_->change_job_targets(id, text(from), text(to), cancel, now(), rules()), from_store);
    bell_.ring(id);
    if (!cancel) {
        queue_->job_ready(id);  // at once: whatever fails after this, the moved targets are run
    }
    if (!idempotency_key.empty()) {
        CERTDEPLOY_TRY_AS(store_->remember_key(idempotency_key, fingerprint, id, now()), from_store);
    }
    CERTDEPLOY_TRY_ASSIGN(auto job_view, view(id));
    return Submitted{true, std::move(job_view)};
}

Result<std::vector<store::EventRow>> JobService::events_after(const std::string& id, std::int64_t after,
                                                              std::size_t limit) {
    CERTDEPLOY_TRY_ASSIGN_AS(auto events, store_->events_after(id, after, limit), from_store);
    return events;
}

Result<std::vector<store::TargetRef>> JobService::runnable(const std::optional<std::string>& job_id, Reclaim reclaim) {
    const std::string own = reclaim == Reclaim::orphans_and_own ? owner_ : std::string();
    CERTDEPLOY_TRY_ASSIGN_AS(auto refs, store_->runnable_targets(job_id, reclaim != Reclaim::none, own, now(), rules()),
                             from_store);
    if (reclaim != Reclaim::none) {  // a target taken over wrote an event
        std::set<std::string> jobs;
        for (const auto& ref : refs) {
            if (jobs.insert(ref.jobId).second) {
                bell_.ring(ref.jobId);
            }
        }
    }
    return refs;
}

std::string JobService::lease_end() const {
    return rfc3339(std::chrono::system_clock::now() + lease_);
}

Result<int> JobService::renew_leases(const std::vector<std::pair<std::string, std::string>>& running) {
    if (running.empty()) {
        return 0;
    }
    CERTDEPLOY_TRY_ASSIGN_AS(auto renewed, store_->renew_leases(owner_, running, lease_end(), rules()), from_store);
    return renewed;
}

Result<JobWork> JobService::work(const std::string& id) {
    CERTDEPLOY_TRY_ASSIGN(auto job, find_job(id));
    const auto kind = parse_job_kind(job.kind);
    if (!kind) {
        return make_error(ErrorCode::internal, "job " + id + " has an unknown kind", job.kind);
    }
    JobWork work{*kind, job.thumbprint, job.options, std::nullopt, job.createdAt};
    if (work.kind == JobKind::import) {
        CERTDEPLOY_TRY_ASSIGN_AS(auto sealed, store_->sealed_upload(id), from_store);
        work.sealedUpload = std::move(sealed);
    }
    return work;
}

Result<Upload> JobService::open_upload(const std::string& id, const std::string& sealed) const {
    return vault_.unseal(sealed, id);
}

Result<std::optional<std::string>> JobService::start_target(const store::TargetRef& target) {
    CERTDEPLOY_TRY_ASSIGN_AS(auto server, store_->get_server(target.server), from_store);
    store::TargetChange change;
    change.jobId = target.jobId;
    change.server = target.server;
    change.from = {text(TargetState::pending)};
    change.at = now();
    if (!server) {
        change.to = text(TargetState::failed);
        change.finished = true;
        change.errorCode = std::string(code_string(ErrorCode::server_not_found));
        change.errorMessage = target.server + " is no longer registered (deleted since the job was made)";
    } else {
        change.to = text(TargetState::running);
        change.startAttempt = true;
        change.leaseUntil = lease_end();
    }
    change.owner = owner_;
    CERTDEPLOY_TRY_ASSIGN_AS(auto changed, store_->change_target(change, rules()), from_store);
    bell_.ring(target.jobId);
    if (!changed || !server) {
        return std::optional<std::string>();
    }
    return std::optional<std::string>(server->agentUrl);
}

Result<void> JobService::finish_target(const store::TargetRef& target, const std::string& thumbprint, JobKind kind,
                                       const TargetOutcome& outcome) {
    store::TargetChange change;
    change.jobId = target.jobId;
    change.server = target.server;
    change.from = {text(TargetState::running)};
    change.to = text(outcome.succeeded ? TargetState::succeeded : TargetState::failed);
    change.at = now();
    change.owner = owner_;
    change.attempt = target.attempts;
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
        // The inventory follows what the agents said, in the same commit as the target's outcome.
        if (kind == JobKind::remove) {
            change.dropInventory = thumbprint;
        } else if (outcome.certificate) {
            change.inventory = inventory_row(target.server, *outcome.certificate, change.at);
        }
    }
    CERTDEPLOY_TRY_ASSIGN_AS(auto changed, store_->change_target(change, rules()), from_store);
    bell_.ring(target.jobId);
    if (changed && outcome.succeeded && kind != JobKind::remove && outcome.certificate &&
        outcome.result == "completed") {
        // (a failure here is logged by the caller; the job stands)
        CERTDEPLOY_TRY(drop_completed_request(target.server, *outcome.certificate));
    }
    return {};
}

Result<void> JobService::drop_completed_request(const std::string& server, const json& certificate) {
    // The agent joined the certificate to its request's key and deleted the request: so does the inventory.
    const auto key = certificate.find("publicKeySha256");
    if (key == certificate.end() || !key->is_string()) {
        return {};
    }
    store::InventoryFilter filter;
    filter.status = "PendingRequest";
    filter.server = server;
    filter.limit = 1000;
    CERTDEPLOY_TRY_ASSIGN_AS(auto rows, store_->list_inventory(filter), from_store);
    for (const auto& row : rows) {
        auto described = json::parse(row.certificateJson, nullptr, false);
        if (described.is_object() && described.value("publicKeySha256", std::string()) == key->get<std::string>()) {
            CERTDEPLOY_TRY_AS(store_->drop_inventory(server, row.thumbprint), from_store);
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
    change.owner = owner_;
    change.attempt = target.attempts;
    change.errorCode = std::string(code_string(error.code));
    change.errorMessage = error.message;
    CERTDEPLOY_TRY_AS(store_->change_target(change, rules()), from_store);
    bell_.ring(target.jobId);
    return {};
}

Result<bool> JobService::finished(const std::string& id) {
    CERTDEPLOY_TRY_ASSIGN(auto job, find_job(id));
    return is_final_state(job.state);
}

Result<int> JobService::drop_expired_uploads() {
    CERTDEPLOY_TRY_ASSIGN_AS(
        auto dropped, store_->drop_uploads(rfc3339(std::chrono::system_clock::now() - upload_retention_)), from_store);
    return dropped;
}

}  // namespace certdeploy::controller
