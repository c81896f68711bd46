// cmd_retrain.cpp — `plinth retrain retrain.toml`: watch a folder for new
// data and keep the model fresh (plinth/retrain.hpp). Training and
// evaluation run as child `plinth train` / `plinth eval` processes of this
// same executable, with the same global options; SIGINT/SIGTERM/SIGHUP stop the
// loop between steps and are passed on to the running child.
#include <signal.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "commands.hpp"
#include "plinth/child_process.hpp"
#include "plinth/retrain.hpp"

namespace plinth::cli {
namespace {

std::atomic<bool> g_stop{false};
std::atomic<pid_t> g_child{0};

void on_signal(int sig) {
  g_stop = true;
  if (pid_t c = g_child.load(); c > 0) ::kill(c, sig == SIGINT ? SIGTERM : sig);
}

// The global options a child needs to see the same plugins.
std::vector<std::string> global_args(const Context& ctx) {
  std::vector<std::string> a;
  if (!ctx.log_level.empty()) a.insert(a.end(), {"--log-level", ctx.log_level});
  for (const auto& p : ctx.plugin_paths) a.insert(a.end(), {"--plugin-path", p});
  if (ctx.no_system_plugins) a.push_back("--no-system-plugins");
  if (ctx.no_install_plugins) a.push_back("--no-install-plugins");
  return a;
}

// Run this executable with `args`; stdout returned, stderr kept in `log`.
Result<std::string> run_self(const Context& ctx, const std::vector<std::string>& args,
                             const std::filesystem::path& log) {
  std::vector<std::string> all{"plinth"};
  for (auto& a : global_args(ctx)) all.push_back(a);
  for (auto& a : args) all.push_back(a);
  auto child = start_child({"/proc/self/exe", all, log, /*truncate_log=*/true, /*capture_stdout=*/true});
  if (!child) return Status(child.status()).with_context("retrain: cannot start plinth");
  g_child = child->pid;
  if (g_stop) ::kill(child->pid, SIGTERM);
  std::string text = read_to_end(child->stdout_fd);
  const int status = wait_child(child->pid);
  g_child = 0;
  if (exited_ok(status)) return text;
  const std::string last = last_error_line(log);
  return error(errc::unavailable, "plinth " + args.front() + " failed (" + describe_status(status) +
                                      "; log " + log.string() + ")" + (last.empty() ? "" : ": " + last));
}

}  // namespace

void add_retrain_commands(CLI::App& app, Context& ctx) {
  struct Args {
    std::string file;
    bool once = false;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand(
      "retrain", "Watch a folder for new data; fine-tune and promote the model when it drifts");
  cmd->add_option("file", args->file, "The retrain TOML file ([retrain] section)")->required();
  cmd->add_flag("--once", args->once, "Handle the data that has arrived, then exit (no watching)");
  cmd->callback([&ctx, args] {
    ctx.run = [&ctx, args] {
      auto c = Retrain::load(args->file);
      if (!c) {
        std::fprintf(stderr, "plinth: error: %s\n", c.status().message().c_str());
        return c.status().exit_code();
      }
      struct sigaction sa {};
      sa.sa_handler = on_signal;
      ::sigaction(SIGINT, &sa, nullptr);
      ::sigaction(SIGTERM, &sa, nullptr);
      struct sigaction old_hup {};
      ::sigaction(SIGHUP, &sa, &old_hup);
      if (old_hup.sa_handler == SIG_IGN) ::sigaction(SIGHUP, &old_hup, nullptr);  // nohup: keep ignoring it
      int n_log = 0;
      const std::filesystem::path work = c->state_dir() / "work";
      RetrainRunner runner = [&](const std::vector<std::string>& a) {
        return run_self(ctx, a, work / ("child-" + std::to_string(++n_log % 1000) + ".log"));
      };
      auto stop = [] { return g_stop.load(); };
      int total = 0;
      while (true) {
        auto n = c->process_pending(runner, stop);
        if (!n) {
          std::fprintf(stderr, "plinth: error: %s\n", n.status().message().c_str());
          return n.status().exit_code();
        }
        total += *n;
        if (args->once || g_stop) break;
        const auto until =
            std::chrono::steady_clock::now() + std::chrono::duration<double>(c->poll_seconds());
        while (!g_stop && std::chrono::steady_clock::now() < until)
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
        if (g_stop) break;
      }
      std::fprintf(stderr, "retrain: %d arrival(s) handled%s; state: %s\n", total,
                   g_stop ? " (stopped by a signal)" : "", c->state_dir().c_str());
      return kExitOk;
    };
  });
}

}  // namespace plinth::cli
