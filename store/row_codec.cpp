#include "store/row_codec.hpp"

#include <nlohmann/json.hpp>

namespace certdeploy::store {
namespace {

using nlohmann::json;

json parse_object(const std::string& text) {
    auto parsed = json::parse(text, nullptr, false);
    return parsed.is_object() ? parsed : json::object();
}

std::string string_at(const json& object, const char* key) {
    auto it = object.find(key);
    return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::optional<std::string> optional_at(const json& object, const char* key) {
    auto it = object.find(key);
    return it != object.end() && it->is_string() ? std::optional<std::string>(it->get<std::string>()) : std::nullopt;
}

json optional_json(const std::optional<std::string>& value) {
    return value ? json(*value) : json(nullptr);
}

}  // namespace

std::string encode_labels(const std::map<std::string, std::string>& labels) {
    return json(labels).dump();
}

std::map<std::string, std::string> decode_labels(const std::string& text) {
    std::map<std::string, std::string> labels;
    const auto object = parse_object(text);  // (items() of a temporary would outlive it)
    for (const auto& [key, value] : object.items()) {
        if (value.is_string()) {
            labels.emplace(key, value.get<std::string>());
        }
    }
    return labels;
}

std::string encode_options(const JobOptions& options) {
    json out{{"privateKeyExportable", options.privateKeyExportable},
             {"friendlyName", options.friendlyName},
             {"services", options.services}};
    if (options.request) {
        out["request"] = {{"subject", options.request->subject},
                          {"domains", options.request->domains},
                          {"keyAlgorithm", options.request->keyAlgorithm},
                          {"keySize", options.request->keySize}};
    }
    return out.dump();
}

JobOptions decode_options(const std::string& text) {
    const auto object = parse_object(text);
    JobOptions options;
    if (auto it = object.find("privateKeyExportable"); it != object.end() && it->is_boolean()) {
        options.privateKeyExportable = it->get<bool>();
    }
    options.friendlyName = string_at(object, "friendlyName");
    if (auto it = object.find("services"); it != object.end() && it->is_array()) {
        for (const auto& service : *it) {
            if (service.is_string()) {
                options.services.push_back(service.get<std::string>());
            }
        }
    }
    if (auto it = object.find("request"); it != object.end() && it->is_object()) {
        RequestOptions request;
        request.subject = string_at(*it, "subject");
        request.keyAlgorithm = string_at(*it, "keyAlgorithm");
        if (auto size = it->find("keySize"); size != it->end() && size->is_number_integer()) {
            request.keySize = size->get<int>();
        }
        if (auto domains = it->find("domains"); domains != it->end() && domains->is_array()) {
            for (const auto& domain : *domains) {
                if (domain.is_string()) {
                    request.domains.push_back(domain.get<std::string>());
                }
            }
        }
        options.request = std::move(request);
    }
    return options;
}

std::string encode_target_event(const std::string& job_id, const TargetRow& target) {
    return json{
        {"job", job_id},
        {"server", target.server},
        {"state", target.state},
        {"attempts", target.attempts},
        {"error", target.errorCode ? json{{"code", *target.errorCode}, {"message", target.errorMessage.value_or("")}}
                                   : json(nullptr)},
        {"startedAt", optional_json(target.startedAt)},
        {"finishedAt", optional_json(target.finishedAt)},
        {"report", target.result ? json{{"result", *target.result}, {"status", optional_json(target.certStatus)}}
                                 : json(nullptr)}}
        .dump();
}

std::string encode_job_event(const JobRow& job) {
    return json{{"job", job.id},
                {"state", job.state},
                {"finishedAt", optional_json(job.finishedAt)},
                {"targetCounts", job.targetCounts}}
        .dump();
}

std::string event_type_name(EventRow::Type type) {
    switch (type) {
        case EventRow::Type::target:
            return "target";
        case EventRow::Type::done:
            return "done";
        case EventRow::Type::job:
            break;
    }
    return "job";
}

EventRow decode_event(std::int64_t seq, const std::string& type, const std::string& job_id, const std::string& data) {
    const auto object = parse_object(data);
    EventRow event;
    event.seq = seq;
    event.jobId = job_id;
    if (type == event_type_name(EventRow::Type::target)) {
        event.type = EventRow::Type::target;
        TargetRow target;
        target.server = string_at(object, "server");
        target.state = string_at(object, "state");
        if (auto it = object.find("attempts"); it != object.end() && it->is_number_integer()) {
            target.attempts = it->get<int>();
        }
        if (auto it = object.find("error"); it != object.end() && it->is_object()) {
            target.errorCode = string_at(*it, "code");
            target.errorMessage = string_at(*it, "message");
        }
        target.startedAt = optional_at(object, "startedAt");
        target.finishedAt = optional_at(object, "finishedAt");
        if (auto it = object.find("report"); it != object.end() && it->is_object()) {
            target.result = string_at(*it, "result");
            target.certStatus = optional_at(*it, "status");
        }
        event.target = std::move(target);
        return event;
    }
    event.type = type == event_type_name(EventRow::Type::done) ? EventRow::Type::done : EventRow::Type::job;
    JobRow job;
    job.id = job_id;
    job.state = string_at(object, "state");
    job.finishedAt = optional_at(object, "finishedAt");
    if (auto it = object.find("targetCounts"); it != object.end() && it->is_object()) {
        for (const auto& [state, count] : it->items()) {
            if (count.is_number_integer()) {
                job.targetCounts[state] = count.get<int>();
            }
        }
    }
    event.job = std::move(job);
    return event;
}

}  // namespace certdeploy::store
