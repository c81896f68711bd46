// sweep.hpp — hyperparameter sweeps (`plinth sweep`): a sweep file naming a
// base pipeline and the keys to vary (grid or random, optional ASHA), run
// trial by trial as child `plinth train` processes with resumable state in
// runs/<sweep>/. Not here: the trials' training (a child process each).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "plinth/status.hpp"

namespace plinth {

struct SweepOptions {
  // The `plinth` program and the global options each trial gets before
  // `train` (e.g. "--plugin-path", "X"). Required: trials run as children.
  std::vector<std::string> plinth_argv;
  // Checks a trial's pipeline (its TOML text and file path) with the
  // plugins it names, before anything is written; optional.
  std::function<Status(const std::string& text, const std::filesystem::path& file)> validate;
  bool resume = false;  // runs/<sweep>/sweep.json must exist and is continued
  unsigned cores = 0;   // 0: all the machine's
  // `--set key=value` overrides of the base pipeline, applied before the
  // sweep's parameters (a key the sweep varies cannot be overridden too).
  std::vector<std::string> overrides;
};

struct SweepResult {
  std::filesystem::path dir;  // runs/<sweep>
  bool interrupted = false;   // Ctrl-C / SIGTERM / SIGHUP: running the same sweep again continues
  int stop_signal = 0;
  bool budget_reached = false;  // [sweep] max_minutes
  int64_t trials_started = 0;
  int64_t failed = 0;
  std::string table;  // the summary table (Markdown), also in summary.md
  double wall_seconds = 0;
};

class Sweep {
 public:
  // Read and check a sweep file; errors read "<file>:<line>:<col>: sweep.<key>: <what>".
  static Result<Sweep> load(const std::filesystem::path& file);

  Sweep(Sweep&&) noexcept;
  Sweep& operator=(Sweep&&) noexcept;
  ~Sweep();

  const std::string& name() const;
  // Run (or resume) every trial.
  Result<SweepResult> run(const SweepOptions& options) const;

 private:
  struct Impl;
  explicit Sweep(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace plinth
