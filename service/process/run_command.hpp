#pragma once
// Runs a reload command as an argument vector (never through a shell) under a timeout, and keeps the last
// lines of what it printed. A command that outlives its timeout is sent SIGTERM, then SIGKILL, with its
// whole process group (it may have started children).

#include <chrono>
#include <string>
#include <vector>

#include "service/error.hpp"

namespace certdeploy::process {

struct CommandResult {
    bool exited = false;      // exited on its own (code valid)
    int code = -1;            // exit status
    int signal = 0;           // the signal that ended it, when it did not exit
    bool timed_out = false;   // ended by certdeploy after the timeout
    std::string output_tail;  // last lines of stdout and stderr, interleaved

    bool succeeded() const { return exited && code == 0 && !timed_out; }
    std::string describe() const;  // "exit status 1", "timed out after 30 s", "killed by signal 9"
};

// Errors only when the command cannot be started at all (io-error, naming argv[0]).
Result<CommandResult> run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                                  std::size_t tail_lines = 10);

}  // namespace certdeploy::process
