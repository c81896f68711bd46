// child_process.cpp — fork + exec of a child program with its output in a
// log file (child_process.hpp). Between fork and exec the child makes only
// async-signal-safe calls. Not here: signals sent to children, or reaping
// children the caller waits for with waitpid(-1, ...) itself.
#include "plinth/child_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace plinth {

Result<ChildProcess> start_child(const ChildOptions& o) {
  std::vector<char*> argv;
  for (const auto& a : o.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const int out =
      ::open(o.log.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | (o.truncate_log ? O_TRUNC : O_APPEND), 0644);
  if (out < 0)
    return error(errc::io, o.log.string() + ": cannot open the child's log: " + std::strerror(errno));
  int pipe_fds[2] = {-1, -1};
  if (o.capture_stdout && ::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    ::close(out);
    return error(errc::unavailable, std::string("cannot make a pipe: ") + std::strerror(errno));
  }
  const int in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) {
    // When this process dies (even by SIGKILL) the child gets SIGTERM:
    // a training child checkpoints and ends instead of running on alone.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(127);
    if (in >= 0) ::dup2(in, 0);
    ::dup2(o.capture_stdout ? pipe_fds[1] : out, 1);
    ::dup2(out, 2);
    ::execv(o.program.c_str(), argv.data());
    const char msg[] = "plinth: cannot run the child program\n";
    (void)!::write(2, msg, sizeof msg - 1);
    ::_exit(127);
  }
  const int fork_errno = errno;
  ::close(out);
  if (in >= 0) ::close(in);
  if (pipe_fds[1] >= 0) ::close(pipe_fds[1]);
  if (pid < 0) {
    if (pipe_fds[0] >= 0) ::close(pipe_fds[0]);
    return error(errc::unavailable, std::string("fork failed: ") + std::strerror(fork_errno));
  }
  return ChildProcess{pid, pipe_fds[0]};
}

std::string read_to_end(int fd) {
  std::string text;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return text;
}

int wait_child(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

bool exited_ok(int status) { return WIFEXITED(status) && WEXITSTATUS(status) == 0; }

std::string describe_status(int status) {
  return WIFEXITED(status) ? "exit code " + std::to_string(WEXITSTATUS(status))
                           : "signal " + std::to_string(WTERMSIG(status));
}

std::string last_error_line(const std::filesystem::path& log) {
  std::ifstream in(log);
  std::string line, err, last;
  while (std::getline(in, line)) {
    if (line.find("error") != std::string::npos) err = line;
    if (!line.empty()) last = line;
  }
  return err.empty() ? last : err;
}

}  // namespace plinth
