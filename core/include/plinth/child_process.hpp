// child_process.hpp — starts a child program with its output sent to a log
// file (stdout optionally through a pipe the caller reads), waits for it, and
// reads its log's error line: the one runner behind `plinth sweep`'s trials
// and `plinth retrain`'s train/eval steps; and probe_in_child, which runs a
// function in a forked child with a time limit (plugin probes). Not here:
// what the children run, signal handling, or scheduling several children
// (the callers do that).
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "plinth/status.hpp"

namespace plinth {

struct ChildOptions {
  std::filesystem::path program;  // the file to execute
  std::vector<std::string> argv;  // argv[0] included
  std::filesystem::path log;      // the child's stderr, and its stdout unless capture_stdout
  bool truncate_log = false;      // false: append to the log
  bool capture_stdout = false;    // stdout into a pipe: ChildProcess::stdout_fd
};

struct ChildProcess {
  pid_t pid = -1;
  int stdout_fd = -1;  // the read end when capture_stdout, else -1; read_to_end closes it
};

// Start the child: stdin from /dev/null, the log opened (errc::io when it
// cannot be), and SIGTERM sent to the child should this process die first.
Result<ChildProcess> start_child(const ChildOptions& options);

// Everything the pipe `fd` delivers until its writer closes it; closes `fd`.
std::string read_to_end(int fd);

// Wait for the child (restarting on EINTR); its wait status.
int wait_child(pid_t pid);

// True when the wait status is a normal exit with code 0.
bool exited_ok(int status);

// "exit code 3" or "signal 9".
std::string describe_status(int status);

// Run `work` in a forked child (no exec) and wait at most `timeout_s`
// seconds for it: how a tool probes code that may crash, exit or hang (a
// plugin's init) without being taken down by it. `work` may report progress
// with `note` (each call replaces the last note, which the parent keeps);
// its return value comes back in `result`. The child ends with _exit, so
// nothing of the parent's (atexit handlers, buffered output) runs twice.
struct ProbeOutcome {
  bool completed = false;  // `work` returned: `result` holds its value
  std::string result;
  std::string last_note;  // the last note before the child ended
  std::string death;      // when not completed: "died of signal 11 (SIGSEGV)", "aborted (SIGABRT)",
                          // "exited with status 0", "hung past the 10 s limit (killed)"
};
Result<ProbeOutcome> probe_in_child(
    const std::function<std::string(const std::function<void(const std::string&)>& note)>& work,
    double timeout_s);

// The log's last line that mentions "error", else its last non-empty line;
// empty when the log is empty or missing.
std::string last_error_line(const std::filesystem::path& log);

}  // namespace plinth
