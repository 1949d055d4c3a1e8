#pragma once
// The JSON the API shows of jobs (openapi.yaml: Job, Target, JobList, ImportPlan and the events of
// /v1/jobs/{id}/events), built from the domain's typed views. The only place that knows those shapes.

#include <nlohmann/json.hpp>
#include <string>

#include "service/controller/job_service.hpp"

namespace certdeploy::api {

nlohmann::json target_json(const store::TargetRow& target);
// The job without its targets (a list's entry); with them for one job.
nlohmann::json job_json(const store::JobRow& job);
nlohmann::json job_json(const controller::JobView& view);
nlohmann::json job_page_json(const controller::JobPage& page);
nlohmann::json import_plan_json(const controller::ImportPlan& plan);
// One Server-Sent Event: id, event (target, job or done) and data.
std::string sse_event(const store::EventRow& event);

}  // namespace certdeploy::api
