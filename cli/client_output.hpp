#pragma once
// What the command-line client prints: readable tables by default, the API's own JSON with --output json,
// and a job's progress while it runs (one line kept up to date on a terminal, plain lines otherwise).

#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

namespace certdeploy::cli {

// Columns padded to their widest cell; no trailing blanks.
std::string format_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows);

// The API's answers, as tables.
void print_job(std::ostream& out, const nlohmann::json& job);  // a job with its targets
void print_jobs(std::ostream& out, const nlohmann::json& page);
void print_servers(std::ostream& out, const nlohmann::json& servers);  // an array of Server
void print_inventory(std::ostream& out, const nlohmann::json& page);
void print_server_certificates(std::ostream& out, const nlohmann::json& answer);
void print_import_plan(std::ostream& out, const nlohmann::json& plan);

// One line about a target: "succeeded: installed, status Valid", "failed: agent-unreachable: ...".
std::string describe_target(const nlohmann::json& target);

// A running job's progress, from its event stream. On a terminal, each target that reaches a final state
// gets a line and one status line below them is rewritten in place; elsewhere every event is a plain line.
class ProgressView {
  public:
    ProgressView(std::ostream& out, bool terminal) : out_(out), terminal_(terminal) {}
    void on_target(const nlohmann::json& target);
    void on_job(const nlohmann::json& job);
    // Clears the status line (terminal) before the final summary is printed.
    void finish();

  private:
    void redraw();
    std::ostream& out_;
    bool terminal_;
    std::string status_;      // the job's counts, as the last job event gave them
    std::string last_event_;  // the latest target's news
    bool drawn_ = false;
};

}  // namespace certdeploy::cli
