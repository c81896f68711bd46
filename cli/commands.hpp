// commands.hpp — what the `plinth` command groups share: the global options
// (Context) and one registration function per group, each in its own file
// (cmd_plugins.cpp, cmd_train.cpp, ...), called from main.cpp.
// Not here: any command's behaviour.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "plinth/registry.hpp"

namespace plinth::cli {

// Exit codes: 0 success, 1 runtime failure, 2 bad input, 130 training
// interrupted (128 + SIGINT). The man page's EXIT STATUS lists the same.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitBadInput = 2;
inline constexpr int kExitInterrupted = 130;

struct Context {
  // Global options (set by main.cpp's parser).
  std::string log_level;                  // --log-level; empty: $PLINTH_LOG_LEVEL or info
  std::vector<std::string> plugin_paths;  // --plugin-path, highest precedence first
  bool no_system_plugins = false;         // --no-system-plugins: skip /etc and the user folder
  bool no_install_plugins = false;        // --no-install-plugins: skip <prefix>/share/plinth/plugins.d
  TrustPolicy trust;           // doctor's --allow-insecure-plugins, --require-signature, --trusted-keys
  double probe_timeout_s = 0;  // plugins doctor/list/inspect: each plugin's init runs first in a child

  // The command chosen on the command line; a group's subcommand callback
  // stores it here and main.cpp runs it after parsing. Returns the exit code.
  std::function<int()> run;

  // Discovery options from the global options; `extra` (e.g. a pipeline's
  // [plugins] manifests) go after --plugin-path.
  // `trust` (a pipeline's [plugins] policy) is combined with this->trust:
  // either may loosen allow_insecure or require signatures.
  DiscoveryOptions discovery(const std::vector<std::filesystem::path>& extra = {},
                             const TrustPolicy& trust = {}) const;

  // Open the plugin registry; prints the error and returns nullptr (with
  // *exit_code set) when it cannot be opened at all.
  std::shared_ptr<Registry> open_registry(int* exit_code,
                                          const std::vector<std::filesystem::path>& extra = {},
                                          const TrustPolicy& trust = {}) const;
};

// Command groups. Each adds its subcommands to `app` and sets ctx.run from
// their callbacks.
void add_plugins_commands(CLI::App& app, Context& ctx);  // cmd_plugins.cpp
void add_train_commands(CLI::App& app, Context& ctx);    // cmd_train.cpp: train, validate, resolve
void add_sample_commands(CLI::App& app, Context& ctx);   // cmd_sample.cpp: sample
void add_predict_commands(CLI::App& app, Context& ctx);  // cmd_predict.cpp: predict
void add_report_commands(CLI::App& app, Context& ctx);   // cmd_report.cpp: report, runs, export
void add_retrain_commands(CLI::App& app, Context& ctx);  // cmd_retrain.cpp: retrain
void add_sweep_commands(CLI::App& app, Context& ctx);    // cmd_sweep.cpp: sweep

// The command tree as the plinth(1) page (roff) and as a bash completion
// script (help_formats.cpp); main.cpp prints them for the hidden options
// --help-man and --completion-bash, which the build runs.
std::string man_page(const CLI::App& app, const std::string& version, const std::string& date);
std::string bash_completion(const CLI::App& app);

}  // namespace plinth::cli
