#include "service/process/run_command.hpp"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <optional>
#include <thread>

extern char** environ;  // NOLINT: POSIX

namespace certdeploy::process {
namespace {

std::string last_lines(const std::string& text, std::size_t count) {
    std::size_t pos = text.size();
    if (pos > 0 && text[pos - 1] == '\n') {
        --pos;
    }
    std::size_t lines = 0;
    while (pos > 0) {
        if (text[pos - 1] == '\n' && ++lines == count) {
            break;
        }
        --pos;
    }
    return text.substr(pos);
}

}  // namespace

std::string CommandResult::describe() const {
    if (timed_out) {
        return "timed out";
    }
    if (exited) {
        return "exit status " + std::to_string(code);
    }
    return "killed by signal " + std::to_string(signal);
}

Result<CommandResult> run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                                  std::size_t tail_lines) {
    if (argv.empty()) {
        return make_error(ErrorCode::invalid_config, "an empty command cannot be run");
    }
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
        return make_error(ErrorCode::io_error, "cannot create a pipe for " + argv[0], std::strerror(errno));
    }
    std::vector<std::string> storage = argv;
    std::vector<char*> args;
    for (auto& arg : storage) {
        args.push_back(arg.data());
    }
    args.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDERR_FILENO);
    // Asio's sockets are not close-on-exec: without this the command (and any daemon it starts) would inherit
    // the agent's listening socket and its clients' connections.
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    posix_spawnattr_setpgroup(&attr, 0);  // its own process group, so a timeout ends its children too
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attr, &none);
    sigset_t defaults;
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    sigaddset(&defaults, SIGTERM);
    sigaddset(&defaults, SIGINT);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    pid_t pid = -1;
    const int rc = posix_spawnp(&pid, args[0], &actions, &attr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    ::close(pipe_fds[1]);
    if (rc != 0) {
        ::close(pipe_fds[0]);
        return make_error(ErrorCode::io_error, "cannot run " + argv[0] + ": " + std::strerror(rc));
    }

    CommandResult result;
    std::string output;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    int status = 0;
    bool reaped = false;
    // Once the command itself has exited, its output is read for at most this long more: a daemon it
    // started may keep the pipe open for ever, and must not turn a success into a timeout.
    std::optional<std::chrono::steady_clock::time_point> drain_until;
    bool open = true;
    while (open) {
        const auto now = std::chrono::steady_clock::now();
        if (!reaped && ::waitpid(pid, &status, WNOHANG) == pid) {
            reaped = true;
            drain_until = now + std::chrono::seconds(1);
        }
        if (drain_until && now >= *drain_until) {
            break;
        }
        if (!reaped && now >= deadline) {
            result.timed_out = true;
            break;
        }
        const auto limit = drain_until ? *drain_until : deadline;
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(limit - now).count();
        pollfd pfd{pipe_fds[0], POLLIN, 0};
        const int ready = ::poll(&pfd, 1, static_cast<int>(std::clamp<long long>(left, 1, 50)));
        if (ready < 0 && errno != EINTR) {
            break;
        }
        if (ready > 0) {
            char buf[4096];
            const ssize_t n = ::read(pipe_fds[0], buf, sizeof buf);
            if (n > 0) {
                output.append(buf, static_cast<std::size_t>(n));
                if (output.size() > 64 * 1024) {
                    output = output.substr(output.size() - 32 * 1024);  // only the tail matters
                }
            } else if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
                open = false;  // every writer closed
            }
        }
    }
    ::close(pipe_fds[0]);

    if (result.timed_out) {
        ::kill(-pid, SIGTERM);
        for (int i = 0; i < 40 && ::waitpid(pid, &status, WNOHANG) == 0; ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        ::kill(-pid, SIGKILL);
        ::waitpid(pid, &status, 0);
    } else if (!reaped) {
        // Output closed before the command exited: wait for it within the time it has left.
        for (;;) {
            if (::waitpid(pid, &status, WNOHANG) == pid) {
                break;
            }
            if (std::chrono::steady_clock::now() >= deadline) {
                result.timed_out = true;
                ::kill(-pid, SIGKILL);
                ::waitpid(pid, &status, 0);
                break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
    }
    result.exited = WIFEXITED(status);
    result.code = result.exited ? WEXITSTATUS(status) : -1;
    result.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    result.output_tail = last_lines(output, tail_lines);
    return result;
}

}  // namespace certdeploy::process
