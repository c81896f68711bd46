// main.cpp — the `plinth` entry point: global options (--log-level,
// --plugin-path, --no-system-plugins, --version), then one call per command
// group (commands.hpp), then runs the chosen command. Exit codes: 0 success,
// 1 runtime failure, 2 bad input, 130 interrupted. Hidden: --help-man and
// --completion-bash print the man page and completion script the build
// installs. Not here: any command's behaviour.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <iostream>

#include <signal.h>
#include <unistd.h>

#include "commands.hpp"
#include "plinth/log.hpp"
#include "plinth/plugin_call.hpp"

#ifndef PLINTH_VERSION
#define PLINTH_VERSION "0.0.0"
#endif

namespace plinth::cli {

DiscoveryOptions Context::discovery(const std::vector<std::filesystem::path>& extra,
                                    const TrustPolicy& trust_in) const {
  DiscoveryOptions o;
  o.trust.allow_insecure = trust.allow_insecure || trust_in.allow_insecure;
  o.trust.require_signature = trust.require_signature || trust_in.require_signature;
  o.trust.trusted_keys_dir =
      !trust.trusted_keys_dir.empty() ? trust.trusted_keys_dir : trust_in.trusted_keys_dir;
  for (const auto& p : plugin_paths) o.command_line_manifests.emplace_back(p);
  for (const auto& p : extra) o.pipeline_manifests.push_back(p);
  o.use_user = !no_system_plugins;
  o.use_system = !no_system_plugins;
  o.use_install = !no_install_plugins;
  o.probe_timeout_s = probe_timeout_s;
  return o;
}

std::shared_ptr<Registry> Context::open_registry(int* exit_code,
                                                 const std::vector<std::filesystem::path>& extra,
                                                 const TrustPolicy& trust_in) const {
  for (const auto& p : plugin_paths) {
    std::error_code ec;
    if (std::filesystem::is_regular_file(p, ec) && !std::ifstream(p)) {
      std::fprintf(stderr, "plinth: cannot read manifest %s\n", p.c_str());
      *exit_code = kExitBadInput;
      return nullptr;
    }
  }
  auto reg = Registry::open(discovery(extra, trust_in));
  if (!reg) {
    std::fprintf(stderr, "plinth: %s\n", reg.status().message().c_str());
    *exit_code = reg.status().exit_code();
    return nullptr;
  }
  return *reg;
}

namespace {

int run_main(int argc, char** argv) {
  Context ctx;
  CLI::App app{"plinth: train models from a pipeline.toml with plugin backends", "plinth"};
  app.fallthrough();  // global options may follow a subcommand
  app.set_version_flag("--version", std::string("plinth ") + PLINTH_VERSION + " (ABI " +
                                        std::to_string(PLINTH_ABI_MAJOR) + "." +
                                        std::to_string(PLINTH_ABI_MINOR) + ")");
  app.add_option("--log-level", ctx.log_level, "Log level (default: $PLINTH_LOG_LEVEL or info)")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
  app.add_option("--plugin-path", ctx.plugin_paths,
                 "Extra plugin manifest file or folder, searched first (repeatable)")
      ->allow_extra_args(false);  // one path per --plugin-path
  app.add_flag("--no-system-plugins", ctx.no_system_plugins,
               "Do not read /etc/plinth/plugins.d or the user's plugins.d");
  app.add_flag("--no-install-plugins", ctx.no_install_plugins,
               "Do not read the install's share/plinth/plugins.d");

  add_plugins_commands(app, ctx);
  // Training commands (train, validate, resolve) live in cmd_train.cpp.
  add_train_commands(app, ctx);
  add_sample_commands(app, ctx);
  add_predict_commands(app, ctx);
  add_report_commands(app, ctx);
  add_retrain_commands(app, ctx);
  add_sweep_commands(app, ctx);
  // Made at build time (cli/CMakeLists.txt); an empty group hides them from --help.
  bool help_man = false, completion_bash = false;
  app.add_flag("--help-man", help_man, "Print the plinth(1) manual page (roff)")->group("");
  app.add_flag("--completion-bash", completion_bash, "Print the bash completion script")->group("");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);  // prints help/version (0) or the error
    return rc == 0 ? kExitOk : kExitBadInput;
  }

  if (help_man) {
    const char* date = std::getenv("PLINTH_MAN_DATE");  // set by the build (SOURCE_DATE_EPOCH-aware)
    std::cout << man_page(app, PLINTH_VERSION, date ? date : "");
    return kExitOk;
  }
  if (completion_bash) {
    std::cout << bash_completion(app);
    return kExitOk;
  }
  init_logging_from_env();
  if (Status s = set_log_level(ctx.log_level); !s) {
    std::fprintf(stderr, "plinth: %s\n", s.message().c_str());
    return kExitBadInput;
  }
  if (!ctx.run) {
    std::cerr << app.help();
    return kExitBadInput;
  }
  return ctx.run();
}

// Plugin code that ends the process while the registry loads it: exit()
// would otherwise end `plinth` with the plugin's status (0 looks like
// success), a crash without a word of which library did it. Each handler
// names the plugin (plugin_call_in_progress, a fixed buffer) with write(2).
void say_plugin(const char* what, const char* how) {
  auto put = [](const char* s) {
    size_t n = 0;
    while (s[n]) ++n;
    (void)!::write(2, s, n);
  };
  put("plinth: error: ");
  put(what);
  put(how);
}

void on_exit_in_plugin() {
  if (const char* what = plugin_call_in_progress()) {
    say_plugin(what, ": the plugin ended the process (exit() called from plugin code)\n");
    ::_exit(kExitBadInput);
  }
}

void on_crash_in_plugin(int sig) {
  if (const char* what = plugin_call_in_progress()) {
    say_plugin(what, sig == SIGABRT   ? ": the plugin aborted (SIGABRT)\n"
                     : sig == SIGSEGV ? ": the plugin crashed (SIGSEGV)\n"
                     : sig == SIGBUS  ? ": the plugin crashed (SIGBUS)\n"
                     : sig == SIGFPE  ? ": the plugin crashed (SIGFPE)\n"
                                      : ": the plugin crashed (SIGILL)\n");
  }
  // The default action, so the process still dies of the signal (a core
  // dump, the parent's wait status).
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

void watch_plugin_code() {
  std::atexit(on_exit_in_plugin);
  std::at_quick_exit(on_exit_in_plugin);
  struct sigaction sa {};
  sa.sa_handler = on_crash_in_plugin;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESETHAND | SA_NODEFER;
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) ::sigaction(sig, &sa, nullptr);
}

}  // namespace
}  // namespace plinth::cli

int main(int argc, char** argv) {
  // Past a file size limit (RLIMIT_FSIZE), a write fails with EFBIG and is
  // reported like a full disk, instead of SIGXFSZ killing the process.
  std::signal(SIGXFSZ, SIG_IGN);
  plinth::cli::watch_plugin_code();
  try {
    return plinth::cli::run_main(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "plinth: internal error: %s\n", e.what());
    return plinth::cli::kExitFailure;
  }
}
