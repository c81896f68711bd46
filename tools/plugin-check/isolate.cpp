// isolate.cpp — each case of a check in a child process: the tool runs a
// section (a "unit": the backend contract, the ops, the malformed launches,
// one optimizer, one data source, one communicator) by executing itself
// again with --unit; the
// child prints each case's start and each row on stdout as JSON lines. A
// child that crashes, exits, aborts or stops making progress is a failed row
// for the case it was in, named with its signal or exit status, and a new
// child goes on from the next case, so one bad case never ends the run (a
// communicator's child is not replaced: its world has lost a rank).
// Executing again (not fork) gives every child a fresh process: no thread
// pool, OpenMP runtime or GPU context of the parent's in a state it cannot use.
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>

#include "check.hpp"
#include "plinth/child_process.hpp"

namespace plinth::plugin_check {

namespace {

void emit(const nlohmann::json& j) {
  const std::string line = j.dump() + "\n";
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fflush(stdout);
}

// "died of SIGSEGV (signal 11)", "exited with status 3".
std::string death(int status) {
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    const char* abbrev = sigabbrev_np(sig);
    return std::string("died of ") + (abbrev ? std::string("SIG") + abbrev + " " : "") + "(signal " +
           std::to_string(sig) + ")";
  }
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  return "ended (wait status " + std::to_string(status) + ")";
}

}  // namespace

bool Rows::begin(size_t index, const std::string& op, const std::string& name) {
  if (index < first) return false;
  if (stream) emit({{"begin", index}, {"op", op}, {"name", name}});
  return true;
}

void Rows::push_back(CaseResult r) {
  if (stream)
    emit({{"row",
           {{"section", r.section},
            {"op", r.op},
            {"case", r.name},
            {"status", r.status},
            {"error", std::isfinite(r.error) ? r.error : 1e300},
            {"threshold", r.threshold},
            {"detail", r.detail}}}});
  std::vector<CaseResult>::push_back(std::move(r));
}

void Rows::fact(const std::string& key, const std::string& value) {
  if (stream) emit({{"fact", {{"key", key}, {"value", value}}}});
  facts[key] = value;
}

void unit_done() { emit({{"done", true}}); }

void run_isolated(const std::vector<std::string>& argv, const std::string& unit, const std::string& section,
                  double case_timeout_s, Rows& out, bool restart) {
  size_t first = 0;
  for (int attempt = 0; attempt < 10000; ++attempt) {
    ChildOptions o;
    o.program = "/proc/self/exe";
    o.argv = argv;
    o.argv.insert(o.argv.end(), {"--unit", unit, "--unit-first", std::to_string(first)});
    char tmpl[] = "/tmp/plinth-plugin-check-XXXXXX";
    const int lfd = ::mkstemp(tmpl);
    if (lfd >= 0) ::close(lfd);
    o.log = tmpl;
    o.truncate_log = true;
    o.capture_stdout = true;
    auto child = start_child(o);
    if (!child) {
      out.push_back(CaseResult{section, unit, "start a process for the checks", "fail", 0, 0,
                               child.status().message()});
      ::unlink(tmpl);
      return;
    }
    bool have_case = false, done = false, hung = false;
    size_t case_index = 0;
    std::string case_op = unit, case_name = "before its first case", pending;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(case_timeout_s);
    for (;;) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        hung = true;
        break;
      }
      pollfd p{child->stdout_fd, POLLIN, 0};
      const int n = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 1000)));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) continue;
      char buf[65536];
      const ssize_t got = ::read(child->stdout_fd, buf, sizeof buf);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) break;  // the child closed its stdout: it ended
      pending.append(buf, static_cast<size_t>(got));
      for (size_t nl; (nl = pending.find('\n')) != std::string::npos;) {
        const auto j = nlohmann::json::parse(pending.substr(0, nl), nullptr, false);
        pending.erase(0, nl + 1);
        if (!j.is_object()) continue;
        if (j.contains("begin")) {
          have_case = true;
          case_index = j["begin"].get<size_t>();
          case_op = j.value("op", unit);
          case_name = j.value("name", "");
          deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(case_timeout_s);
        } else if (j.contains("row")) {
          const auto& r = j["row"];
          CaseResult c{r.value("section", section), r.value("op", ""),     r.value("case", ""),
                       r.value("status", "fail"),   r.value("error", 0.0), r.value("threshold", 0.0),
                       r.value("detail", "")};
          if (c.error >= 1e300) c.error = std::numeric_limits<double>::infinity();
          out.keep(std::move(c));
          deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(case_timeout_s);
        } else if (j.contains("fact")) {
          out.facts[j["fact"].value("key", "")] = j["fact"].value("value", "");
        } else if (j.contains("done")) {
          done = true;
        }
      }
    }
    if (hung) ::kill(child->pid, SIGKILL);
    ::close(child->stdout_fd);
    const int status = wait_child(child->pid);
    const std::string said = last_error_line(tmpl);
    ::unlink(tmpl);
    if (done && exited_ok(status)) return;
    std::string why = hung ? "hung: no case finished within " + std::to_string(int(case_timeout_s)) +
                                 " s (killed; --case-timeout sets the limit)"
                           : "the plugin " + death(status) + " during this case";
    if (!said.empty()) why += "; its last message: " + said;
    if (!have_case || case_index < first) {
      // It died before a case of its own began (in the set-up every child
      // repeats): nothing later can run.
      out.keep(CaseResult{section, case_op,
                          case_name + " (the rest of the " + unit + " checks could not run)", "fail", 0, 0,
                          why});
      return;
    }
    if (!restart) {
      out.keep(CaseResult{section, case_op, case_name, "fail", 0, 0,
                          why + "; the cases after it did not run (a new process cannot re-join the "
                                "communicator's world)"});
      return;
    }
    out.keep(CaseResult{section, case_op, case_name, "fail", 0, 0,
                        why + "; the checks went on from the next case"});
    first = case_index + 1;
  }
}

}  // namespace plinth::plugin_check
