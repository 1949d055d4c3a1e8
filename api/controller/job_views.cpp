#include "api/controller/job_views.hpp"

#include "service/controller/job_model.hpp"

namespace certdeploy::api {
namespace {

using nlohmann::json;

json optional_json(const std::optional<std::string>& value) {
    return value ? json(*value) : json(nullptr);
}

// Every state, zero included, so that a client reads a count without checking it is there.
json counts_json(const std::map<std::string, int>& rows) {
    const auto counts = controller::TargetCounts::from(rows);
    json out = json::object();
    for (const auto state : controller::kTargetStates) {
        out[std::string(controller::name(state))] = counts[state];
    }
    return out;
}

// What an import was asked to do; what an enable binds; what a request asks for; nothing for a remove.
json options_json(const std::string& kind, const store::JobOptions& options) {
    const auto parsed = controller::parse_job_kind(kind);
    if (parsed == controller::JobKind::import) {
        return {{"privateKeyExportable", options.privateKeyExportable},
                {"friendlyName", options.friendlyName},
                {"services", options.services}};
    }
    if (parsed == controller::JobKind::enable) {
        return {{"services", options.services}};
    }
    if (parsed == controller::JobKind::request && options.request) {
        return {{"privateKeyExportable", options.privateKeyExportable},
                {"friendlyName", options.friendlyName},
                {"subject", options.request->subject},
                {"domains", options.request->domains},
                {"keyAlgorithm", options.request->keyAlgorithm},
                {"keySize", options.request->keySize}};
    }
    return json::object();
}

const char* event_name(store::EventRow::Type type) {
    switch (type) {
        case store::EventRow::Type::target:
            return "target";
        case store::EventRow::Type::done:
            return "done";
        case store::EventRow::Type::job:
            break;
    }
    return "job";
}

json document(const std::string& text) {
    auto parsed = json::parse(text, nullptr, false);
    return parsed.is_object() ? parsed : json::object();
}

}  // namespace

json target_json(const store::TargetRow& target) {
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

json job_json(const store::JobRow& job) {
    return {{"id", job.id},
            {"kind", job.kind},
            {"state", job.state},
            {"createdAt", job.createdAt},
            {"finishedAt", optional_json(job.finishedAt)},
            {"thumbprint", job.thumbprint},
            {"certificate", document(job.certificateJson)},
            {"options", options_json(job.kind, job.options)},
            {"targetCounts", counts_json(job.targetCounts)},
            {"cancelRequested", job.cancelRequested},
            {"uploadKept", job.hasUpload}};
}

json job_json(const controller::JobView& view) {
    json out = job_json(view.job);
    out["targets"] = json::array();
    for (const auto& target : view.targets) {
        out["targets"].push_back(target_json(target));
    }
    return out;
}

json job_page_json(const controller::JobPage& page) {
    json jobs = json::array();
    for (const auto& job : page.jobs) {
        jobs.push_back(job_json(job));
    }
    return {{"jobs", std::move(jobs)}, {"next", optional_json(page.next)}};
}

json import_plan_json(const controller::ImportPlan& plan) {
    json servers = json::array();
    for (const auto& server : plan.servers) {
        servers.push_back({{"name", server.name}, {"agentUrl", server.agentUrl}});
    }
    return {{"dryRun", true},
            {"kind", controller::name(controller::JobKind::import)},
            {"certificate", plan.certificate},
            {"servers", std::move(servers)},
            {"options", options_json(std::string(controller::name(controller::JobKind::import)), plan.options)}};
}

std::string sse_event(const store::EventRow& event) {
    json data;
    if (event.target) {
        data = target_json(*event.target);
    } else if (event.job) {
        data = {{"state", event.job->state},
                {"finishedAt", optional_json(event.job->finishedAt)},
                {"targetCounts", counts_json(event.job->targetCounts)}};
    }
    data["job"] = event.jobId;
    return "id: " + std::to_string(event.seq) + "\nevent: " + event_name(event.type) + "\ndata: " + data.dump() +
           "\n\n";
}

}  // namespace certdeploy::api
