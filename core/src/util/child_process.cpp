// child_process.cpp — fork + exec of a child program with its output in a
// log file, and probe_in_child: a fork without exec that runs a function
// with a time limit and reports how the child ended (child_process.hpp).
// Between fork and exec the child makes only async-signal-safe calls. Not
// here: signals sent to children, or reaping children the caller waits for
// with waitpid(-1, ...) itself.
#include "plinth/child_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
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

namespace {

// Messages through the probe's pipe: a tag byte, a 4-byte length, the text.
constexpr char kNote = 'n', kResult = 'r';

void send(int fd, char tag, const std::string& text) {
  std::string msg(1, tag);
  const uint32_t n = static_cast<uint32_t>(text.size());
  msg.append(reinterpret_cast<const char*>(&n), sizeof n);
  msg += text;
  for (size_t off = 0; off < msg.size();) {
    const ssize_t w = ::write(fd, msg.data() + off, msg.size() - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    off += static_cast<size_t>(w);
  }
}

std::string describe_death(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  const int sig = WTERMSIG(status);
  const char* abbrev = ::sigabbrev_np(sig);
  const std::string name = abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
  if (sig == SIGABRT) return "aborted (" + name + ")";
  return "died of signal " + std::to_string(sig) + " (" + name + ")";
}

}  // namespace

Result<ProbeOutcome> probe_in_child(
    const std::function<std::string(const std::function<void(const std::string&)>& note)>& work,
    double timeout_s) {
  int fds[2] = {-1, -1};
  if (::pipe2(fds, O_CLOEXEC) != 0)
    return error(errc::unavailable, std::string("cannot make a pipe: ") + std::strerror(errno));
  std::fflush(nullptr);  // what the parent buffered must not be written twice
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int e = errno;
    ::close(fds[0]);
    ::close(fds[1]);
    return error(errc::unavailable, std::string("fork failed: ") + std::strerror(e));
  }
  if (pid == 0) {
    ::close(fds[0]);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    const int out = fds[1];
    std::string result;
    try {
      result = work([out](const std::string& n) { send(out, kNote, n); });
    } catch (...) {
      ::_exit(125);
    }
    send(out, kResult, result);
    std::fflush(nullptr);
    ::_exit(0);
  }
  ::close(fds[1]);
  ProbeOutcome o;
  std::string buf;
  bool eof = false, hung = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  while (!eof) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now())
            .count();
    if (left <= 0) {
      hung = true;
      break;
    }
    pollfd p{fds[0], POLLIN, 0};
    const int r = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left, 1000)));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;
    char chunk[4096];
    const ssize_t n = ::read(fds[0], chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      eof = true;
      break;
    }
    buf.append(chunk, static_cast<size_t>(n));
  }
  ::close(fds[0]);
  // The write end closes when the child ends (or when something it started
  // still holds it open past the limit): the child is waited for with the
  // time that is left, then killed.
  int status = 0;
  for (;;) {
    const pid_t w = ::waitpid(pid, &status, WNOHANG);
    if (w == pid) {
      hung = false;
      break;
    }
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) break;
    if (hung || std::chrono::steady_clock::now() >= deadline) {
      hung = true;
      ::kill(pid, SIGKILL);
      status = wait_child(pid);
      break;
    }
    ::usleep(10000);
  }
  for (size_t at = 0; at + 5 <= buf.size();) {
    uint32_t n = 0;
    std::memcpy(&n, buf.data() + at + 1, sizeof n);
    if (at + 5 + n > buf.size()) break;
    std::string text = buf.substr(at + 5, n);
    if (buf[at] == kNote) o.last_note = std::move(text);
    if (buf[at] == kResult) {
      o.result = std::move(text);
      o.completed = true;
    }
    at += 5 + n;
  }
  if (hung) {
    char secs[32];
    std::snprintf(secs, sizeof secs, "%g", timeout_s);
    o.completed = false;
    o.death = std::string("hung past the ") + secs + " s limit (killed)";
  } else if (!o.completed || !exited_ok(status)) {
    o.completed = false;
    o.death = describe_death(status);
  }
  return o;
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
