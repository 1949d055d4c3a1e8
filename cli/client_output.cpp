#include "cli/client_output.hpp"

#include <algorithm>

namespace certdeploy::cli {
namespace {

using nlohmann::json;

// A field as text: strings as they are, null and missing as "-", anything else as JSON.
std::string text(const json& object, const char* key) {
    if (!object.is_object() || !object.contains(key) || object.at(key).is_null()) {
        return "-";
    }
    const auto& value = object.at(key);
    if (value.is_string()) {
        return value.get<std::string>();
    }
    if (value.is_boolean()) {
        return value.get<bool>() ? "yes" : "no";
    }
    return value.dump();
}

std::string join(const json& array, const char* separator = ",") {
    if (!array.is_array() || array.empty()) {
        return "-";
    }
    std::string out;
    for (const auto& item : array) {
        if (!out.empty()) {
            out += separator;
        }
        out += item.is_string() ? item.get<std::string>() : item.dump();
    }
    return out;
}

std::string labels_text(const json& labels) {
    if (!labels.is_object() || labels.empty()) {
        return "-";
    }
    std::string out;
    for (const auto& [key, value] : labels.items()) {
        if (!out.empty()) {
            out += ",";
        }
        out += key + "=" + (value.is_string() ? value.get<std::string>() : value.dump());
    }
    return out;
}

// "2 succeeded, 1 failed" from a job's targetCounts, in the order a reader wants them.
std::string counts_text(const json& counts) {
    std::string out;
    for (const char* state : {"succeeded", "failed", "running", "pending", "cancelled"}) {
        const auto n = counts.is_object() ? counts.value(state, 0) : 0;
        if (n > 0) {
            if (!out.empty()) {
                out += ", ";
            }
            out += std::to_string(n) + " " + state;
        }
    }
    return out.empty() ? "no targets" : out;
}

int total(const json& counts) {
    int n = 0;
    if (counts.is_object()) {
        for (const auto& [state, count] : counts.items()) {
            n += count.is_number_integer() ? count.get<int>() : 0;
        }
    }
    return n;
}

std::string result_text(const json& target) {
    std::string out;
    const auto& report = target.value("report", json());
    if (report.is_object()) {
        out = text(report, "result");
        if (report.contains("status") && report.at("status").is_string()) {
            out += ", status " + report.at("status").get<std::string>();
        }
    }
    const auto& error = target.value("error", json());
    if (error.is_object()) {
        out += (out.empty() ? "" : "; ") + text(error, "code") + ": " + text(error, "message");
    }
    return out.empty() ? "-" : out;
}

}  // namespace

std::string format_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
    std::vector<std::size_t> widths(header.size(), 0);
    const auto measure = [&](const std::vector<std::string>& row) {
        for (std::size_t i = 0; i < row.size() && i < widths.size(); ++i) {
            widths[i] = std::max(widths[i], row[i].size());
        }
    };
    measure(header);
    std::for_each(rows.begin(), rows.end(), measure);
    std::string out;
    const auto write = [&](const std::vector<std::string>& row) {
        std::string line;
        for (std::size_t i = 0; i < row.size() && i < widths.size(); ++i) {
            line += row[i];
            if (i + 1 < row.size()) {
                line.append(widths[i] - row[i].size() + 2, ' ');
            }
        }
        out += line + '\n';
    };
    write(header);
    std::for_each(rows.begin(), rows.end(), write);
    return out;
}

std::string describe_target(const json& target) {
    std::string out = text(target, "state");
    const auto state = target.value("state", std::string());
    if (state == "running" || state == "pending") {
        out += " (attempt " + std::to_string(target.value("attempts", 0) + (state == "pending" ? 1 : 0)) + ")";
    }
    const auto result = result_text(target);
    if (result != "-") {
        out += ": " + result;
    }
    return out;
}

void print_job(std::ostream& out, const json& job) {
    out << "job " << text(job, "id") << "  " << text(job, "kind") << "  " << text(job, "state") << "  ("
        << counts_text(job.value("targetCounts", json())) << ")\n";
    const auto& certificate = job.value("certificate", json());
    out << "certificate " << text(job, "thumbprint");
    if (certificate.is_object() && certificate.contains("subject")) {
        out << "  " << text(certificate, "subject");
    }
    if (certificate.is_object() && certificate.contains("notAfter")) {
        out << "  expires " << text(certificate, "notAfter");
    }
    out << '\n';
    std::vector<std::vector<std::string>> rows;
    for (const auto& target : job.value("targets", json::array())) {
        rows.push_back({text(target, "server"), text(target, "state"), std::to_string(target.value("attempts", 0)),
                        result_text(target)});
    }
    if (!rows.empty()) {
        out << '\n' << format_table({"SERVER", "STATE", "ATTEMPTS", "RESULT"}, rows);
    }
}

void print_jobs(std::ostream& out, const json& page) {
    std::vector<std::vector<std::string>> rows;
    for (const auto& job : page.value("jobs", json::array())) {
        const auto& counts = job.value("targetCounts", json());
        rows.push_back({text(job, "id"), text(job, "kind"), text(job, "state"), text(job, "createdAt"),
                        text(job, "thumbprint"),
                        std::to_string(counts.value("succeeded", 0)) + "/" + std::to_string(total(counts))});
    }
    out << format_table({"ID", "KIND", "STATE", "CREATED", "THUMBPRINT", "SUCCEEDED"}, rows);
    if (page.value("next", json()).is_string()) {
        out << "(more: --after " << page.at("next").get<std::string>() << ")\n";
    }
}

void print_servers(std::ostream& out, const json& servers) {
    std::vector<std::vector<std::string>> rows;
    for (const auto& server : servers) {
        rows.push_back({text(server, "name"), text(server, "agentUrl"), text(server, "reachable"),
                        text(server, "agentVersion"), text(server, "lastContact"),
                        labels_text(server.value("labels", json()))});
    }
    out << format_table({"NAME", "AGENT", "REACHABLE", "VERSION", "LAST CONTACT", "LABELS"}, rows);
}

void print_inventory(std::ostream& out, const json& page) {
    std::vector<std::vector<std::string>> rows;
    for (const auto& certificate : page.value("certificates", json::array())) {
        for (const auto& where : certificate.value("servers", json::array())) {
            rows.push_back({text(certificate, "thumbprint"), text(certificate, "subject"),
                            text(certificate, "notAfter"), text(where, "server"), text(where, "status"),
                            join(where.value("services", json::array()))});
        }
    }
    out << format_table({"THUMBPRINT", "SUBJECT", "NOT AFTER", "SERVER", "STATUS", "SERVICES"}, rows);
    if (page.value("next", json()).is_string()) {
        out << "(more: --after " << page.at("next").get<std::string>() << ")\n";
    }
}

void print_server_certificates(std::ostream& out, const json& answer) {
    std::vector<std::vector<std::string>> rows;
    for (const auto& certificate : answer.value("certificates", json::array())) {
        rows.push_back({text(certificate, "thumbprint"), text(certificate, "subject"), text(certificate, "notAfter"),
                        text(certificate, "status"), join(certificate.value("services", json::array()))});
    }
    out << "server " << text(answer, "server") << '\n'
        << format_table({"THUMBPRINT", "SUBJECT", "NOT AFTER", "STATUS", "SERVICES"}, rows);
}

void print_import_plan(std::ostream& out, const json& plan) {
    const auto& certificate = plan.value("certificate", json());
    out << "dry run: nothing was sent\n"
        << "would import " << text(certificate, "thumbprint") << "  " << text(certificate, "subject") << "  expires "
        << text(certificate, "notAfter") << "  status " << text(certificate, "status") << '\n'
        << "on ";
    const char* separator = "";
    for (const auto& server : plan.value("servers", json::array())) {
        out << separator << text(server, "name");
        separator = ", ";
    }
    out << '\n';
}

void ProgressView::on_target(const json& target) {
    const std::string line = text(target, "server") + "  " + describe_target(target);
    const auto state = target.value("state", std::string());
    const bool final = state == "succeeded" || state == "failed" || state == "cancelled";
    if (!terminal_) {
        out_ << line << '\n' << std::flush;
        return;
    }
    if (final) {  // a line of its own that stays
        out_ << "\r\033[K" << line << '\n';
        drawn_ = false;
        last_event_.clear();
    } else {
        last_event_ = line;
    }
    redraw();
}

void ProgressView::on_job(const json& job) {
    const auto counts = job.value("targetCounts", json());
    const int n = total(counts);
    const int done = counts.value("succeeded", 0) + counts.value("failed", 0) + counts.value("cancelled", 0);
    status_ =
        "[" + std::to_string(done) + "/" + std::to_string(n) + "] " + text(job, "state") + ": " + counts_text(counts);
    if (!terminal_) {
        out_ << "job " << status_ << '\n' << std::flush;
        return;
    }
    redraw();
}

void ProgressView::redraw() {
    std::string line = status_;
    if (!last_event_.empty()) {
        line += (line.empty() ? "" : " · ") + last_event_;
    }
    out_ << "\r\033[K" << line << std::flush;
    drawn_ = true;
}

void ProgressView::finish() {
    if (terminal_ && drawn_) {
        out_ << "\r\033[K" << std::flush;
        drawn_ = false;
    }
}

}  // namespace certdeploy::cli
