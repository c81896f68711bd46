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

// Exit codes: 0 success, 1 runtime failure, 2 bad input.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitBadInput = 2;

struct Context {
  // Global options (set by main.cpp's parser).
  std::string log_level;                  // --log-level; empty: $PLINTH_LOG_LEVEL or info
  std::vector<std::string> plugin_paths;  // --plugin-path, highest precedence first
  bool no_system_plugins = false;         // --no-system-plugins: skip /etc and the user folder
  bool no_install_plugins = false;        // --no-install-plugins: skip <prefix>/share/plinth/plugins.d
  TrustPolicy trust;  // doctor's --allow-insecure-plugins, --require-signature, --trusted-keys

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

}  // namespace plinth::cli
