#pragma once
// How the store writes the parts of its rows that are not single columns: a server's labels, a job's
// options and the snapshots a job's events hold. JSON text is the storage format here and nothing more:
// callers see typed rows. Events keep the keys they were first written with, so that the events of an
// existing database read back.

#include <map>
#include <string>

#include "store/controller_store.hpp"

namespace certdeploy::store {

std::string encode_labels(const std::map<std::string, std::string>& labels);
// Labels that are not an object of strings (a damaged row) read as none.
std::map<std::string, std::string> decode_labels(const std::string& text);

std::string encode_options(const JobOptions& options);
JobOptions decode_options(const std::string& text);

std::string encode_target_event(const std::string& job_id, const TargetRow& target);
std::string encode_job_event(const JobRow& job);
// The event's snapshot from its stored type and data; fields a damaged row lacks stay empty.
EventRow decode_event(std::int64_t seq, const std::string& type, const std::string& job_id, const std::string& data);
std::string event_type_name(EventRow::Type type);  // as stored

}  // namespace certdeploy::store
