#pragma once
// Starts the real certdeploy executable as a child process, as an administrator or a script would.

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace certdeploy::test {

// The executable under test (set by CMake).
std::filesystem::path certdeploy_binary();

struct ExitStatus {
    bool exited = false;  // false: killed by a signal
    int code = -1;        // exit code, or the signal number
};

class ChildProcess {
  public:
    // Runs `binary args...` with the current environment plus `env` (a value of nullopt removes a variable).
    // stdout and stderr go to files in `output_dir`, readable at any time; stdin reads `stdin_path`.
    ChildProcess(const std::filesystem::path& binary, const std::vector<std::string>& args,
                 const std::filesystem::path& output_dir,
                 const std::map<std::string, std::optional<std::string>>& env = {},
                 const std::filesystem::path& stdin_path = "/dev/null");
    ~ChildProcess();  // SIGKILLs a child still running
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    pid_t pid() const { return pid_; }
    void signal(int signal_number) const;
    // Waits at most `timeout`; empty when the child is still running.
    std::optional<ExitStatus> wait_for_exit(std::chrono::milliseconds timeout);
    std::string stdout_text() const;
    std::string stderr_text() const;

  private:
    pid_t pid_ = -1;
    std::optional<ExitStatus> status_;
    std::filesystem::path stdout_path_;
    std::filesystem::path stderr_path_;
};

// Runs to completion (at most `timeout`) and returns the status with both outputs.
struct RunResult {
    ExitStatus status;
    std::string out;
    std::string err;
};
RunResult run_certdeploy(const std::vector<std::string>& args, const std::filesystem::path& output_dir,
                         const std::map<std::string, std::optional<std::string>>& env = {},
                         std::chrono::milliseconds timeout = std::chrono::seconds(20));

// Whether a running process has a file whose name contains `name` mapped (/proc/PID/maps): which shared
// libraries it has loaded.
bool maps_file(pid_t pid, const std::string& name);

// Polls until `path` exists with a complete line; returns its first line, or empty after `timeout`.
std::string wait_for_ready_file(const std::filesystem::path& path, std::chrono::milliseconds timeout);

}  // namespace certdeploy::test
