#include "tests/support/process.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "tests/support/temp_dir.hpp"

extern char** environ;  // NOLINT: POSIX

namespace certdeploy::test {
namespace {

int g_sequence = 0;

std::vector<std::string> merged_environment(const std::map<std::string, std::optional<std::string>>& overrides) {
    std::map<std::string, std::string> vars;
    for (char** entry = environ; *entry != nullptr; ++entry) {
        std::string text(*entry);
        const auto eq = text.find('=');
        // CERTDEPLOY_* settings of the environment the tests run in must not change what they test.
        if (eq != std::string::npos && text.rfind("CERTDEPLOY_", 0) != 0) {
            vars[text.substr(0, eq)] = text.substr(eq + 1);
        }
    }
    for (const auto& [name, value] : overrides) {
        if (value) {
            vars[name] = *value;
        } else {
            vars.erase(name);
        }
    }
    std::vector<std::string> out;
    for (const auto& [name, value] : vars) {
        out.push_back(name + "=" + value);
    }
    return out;
}

}  // namespace

std::filesystem::path certdeploy_binary() {
    return CERTDEPLOY_BINARY;
}

ChildProcess::ChildProcess(const std::filesystem::path& binary, const std::vector<std::string>& args,
                           const std::filesystem::path& output_dir,
                           const std::map<std::string, std::optional<std::string>>& env,
                           const std::filesystem::path& stdin_path) {
    const int sequence = ++g_sequence;
    stdout_path_ = output_dir / ("stdout." + std::to_string(sequence));
    stderr_path_ = output_dir / ("stderr." + std::to_string(sequence));

    std::vector<std::string> argv_storage{binary.string()};
    argv_storage.insert(argv_storage.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& arg : argv_storage) {
        argv.push_back(arg.data());
    }
    argv.push_back(nullptr);
    auto env_storage = merged_environment(env);
    std::vector<char*> envp;
    for (auto& var : env_storage) {
        envp.push_back(var.data());
    }
    envp.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, stdin_path.c_str(), O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, stdout_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, stderr_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
        throw std::runtime_error("posix_spawn failed for " + binary.string());
    }
}

ChildProcess::~ChildProcess() {
    if (!status_ && pid_ > 0) {
        ::kill(pid_, SIGKILL);
        int ignored = 0;
        ::waitpid(pid_, &ignored, 0);
    }
}

void ChildProcess::signal(int signal_number) const {
    ::kill(pid_, signal_number);
}

std::optional<ExitStatus> ChildProcess::wait_for_exit(std::chrono::milliseconds timeout) {
    if (status_) {
        return status_;
    }
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        int raw = 0;
        const pid_t done = ::waitpid(pid_, &raw, WNOHANG);
        if (done == pid_) {
            status_ = WIFEXITED(raw) ? ExitStatus{true, WEXITSTATUS(raw)} : ExitStatus{false, WTERMSIG(raw)};
            return status_;
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            return std::nullopt;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

std::string ChildProcess::stdout_text() const {
    return read_file(stdout_path_);
}
std::string ChildProcess::stderr_text() const {
    return read_file(stderr_path_);
}

RunResult run_certdeploy(const std::vector<std::string>& args, const std::filesystem::path& output_dir,
                         const std::map<std::string, std::optional<std::string>>& env,
                         std::chrono::milliseconds timeout) {
    ChildProcess child(certdeploy_binary(), args, output_dir, env);
    auto status = child.wait_for_exit(timeout);
    if (!status) {
        throw std::runtime_error("certdeploy did not finish in time");
    }
    return RunResult{*status, child.stdout_text(), child.stderr_text()};
}

bool maps_file(pid_t pid, const std::string& name) {
    std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
    if (!maps) {
        throw std::runtime_error("cannot read the maps of process " + std::to_string(pid));
    }
    std::string line;
    while (std::getline(maps, line)) {
        if (line.find(name) != std::string::npos) {
            return true;
        }
    }
    return false;
}

std::string wait_for_ready_file(const std::filesystem::path& path, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        std::error_code ec;
        if (std::filesystem::exists(path, ec)) {
            auto text = read_file(path);
            const auto newline = text.find('\n');
            if (newline != std::string::npos) {
                return text.substr(0, newline);
            }
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return {};
}

}  // namespace certdeploy::test
