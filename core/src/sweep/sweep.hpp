// sweep.hpp — `plinth sweep`: a sweep file ([sweep] naming a base pipeline
// and the pipeline keys to vary), the trials it makes (grid or seeded random
// sampling), each trial's pipeline as TOML, the ASHA promotion rule (Li et
// al. 2018) and the driver that runs every trial as a `plinth train` child
// process with resumable state in runs/<sweep>/sweep.json.
// Not here: training itself (train/trainer.cpp) or the command line (cli/cmd_sweep.cpp).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <toml++/toml.h>

#include "plinth/status.hpp"

namespace plinth::sweep {

// One value a pipeline key takes in a trial.
using Value = std::variant<int64_t, double, bool, std::string>;
std::string value_text(const Value& v);  // as TOML writes it: 0.001, 128, "adamw", true

struct Param {      // one entry of [sweep.params]
  std::string key;  // dotted pipeline key: "optimizer.lr", "model.layer.1.out"
  enum class Kind { grid, choice, uniform, log_uniform } kind = Kind::grid;
  std::vector<Value> values;  // grid (a plain list) and { choice = [...] }
  double lo = 0, hi = 0;      // { uniform = [lo, hi] } and { log_uniform = [lo, hi] }
  bool integer = false;       // the base pipeline's value is an integer: samples are rounded
  int line = 0, column = 0;   // of the key in the sweep file
};

struct AshaSpec {  // [sweep.asha]; off unless the section is present
  bool enabled = false;
  int64_t min_steps = 0;         // the first rung (required, >= 1)
  int64_t max_steps = 0;         // the last rung; the trial pipelines' train.max_steps (required)
  int64_t reduction_factor = 3;  // eta (>= 2): the top 1/eta of a rung is promoted
};

struct SweepSpec {
  std::filesystem::path source;      // the sweep file
  std::filesystem::path base;        // [sweep] base, resolved against the sweep file's folder
  std::string name;                  // default: the sweep file's stem
  std::filesystem::path out_dir;     // default "runs": trials go to <out_dir>/<name>/<trial-id>/
  std::string method = "grid";       // grid | random
  uint64_t seed = 0;                 // random sampling
  int64_t trials = 0;                // random: how many (default 10); grid: the product of the lists
  int64_t max_trials = 0;            // 0: no cap on the trials started
  double max_minutes = 0;            // 0: no limit; past it no new job starts
  int64_t parallel = 1;              // trials run at once
  int64_t threads = 0;               // per trial; 0: cores / parallel (at least 1)
  std::string metric = "eval_loss";  // eval_loss | eval_accuracy | time_to_target
  std::string mode;                  // min | max; default max for eval_accuracy, else min
  std::vector<Param> params;
  AshaSpec asha;
};

// Parse and check a sweep file. Errors (errc::config) read
// "<file>:<line>:<col>: sweep.<key>: <what>".
Result<SweepSpec> parse_sweep(std::string_view text, const std::filesystem::path& source);
Result<SweepSpec> load_sweep(const std::filesystem::path& file);

struct Trial {
  std::string id;             // "trial-000", "trial-001", ...
  std::vector<Value> values;  // one per SweepSpec::params, in order
};
// Every trial of the sweep, before max_trials: the grid's product (the last
// parameter varies fastest) or `trials` samples drawn with `seed`.
Result<std::vector<Trial>> make_trials(const SweepSpec& spec);

// What the sweep sets in every trial's pipeline besides the parameters.
struct TrialSettings {
  std::string run_name;           // [run] name: the trial id
  std::filesystem::path out_dir;  // [run] out_dir: the sweep's folder (absolute)
  int64_t threads = 0;            // [backend] threads, unless a parameter sets it
  int64_t max_steps = 0;          // [train] max_steps when > 0 (ASHA's max_steps)
};
// The trial's pipeline as TOML: the base pipeline's document with the
// parameters set, relative data paths and plugin manifests made absolute
// (against the base pipeline's folder), and the settings above.
Result<std::string> trial_pipeline(const SweepSpec& spec, const toml::table& base_doc,
                                   const std::vector<Value>& values, const TrialSettings& settings);

// Every parameter's key must name a value the base pipeline accepts: each
// value of a list and both ends of a range are set in turn on the base
// pipeline, which must still parse. Errors name the sweep file, the key's
// line and the key. Marks the parameters whose base value is an integer.
Status check_params(SweepSpec& spec, const toml::table& base_doc);

// --- ASHA -------------------------------------------------------------------

// The rungs' step counts: min_steps * eta^k below max_steps, then max_steps.
std::vector<int64_t> rung_steps(int64_t min_steps, int64_t max_steps, int64_t eta);

// The asynchronous successive-halving rule (Li et al. 2018, Algorithm 2):
// a trial that completed rung k is promoted to rung k+1 when it is among the
// top floor(n_k / eta) of the n_k trials that completed rung k and has not
// been promoted from k yet. Promotions are looked for from the highest rung
// down; with none, a new trial starts at rung 0.
class Asha {
 public:
  Asha(int rungs, int64_t eta, bool maximize) : rungs_(rungs), eta_(eta), maximize_(maximize) {}
  // Trial `trial` completed rung `rung` with `value` (nullopt: no value,
  // ranked last). `final` (a trial that ended on its own, e.g. early
  // stopping) counts at the rung but is never promoted.
  void record(int trial, int rung, std::optional<double> value, bool final = false);
  void mark_promoted(int trial, int rung);  // rung: the one it was promoted from
  // A trial to promote from `rung` to rung + 1, or nullopt.
  std::optional<int> promotable(int rung) const;
  struct Job {
    int trial;
    int rung;  // the rung to train to
  };
  // The next job: a promotion (highest rung first), else the new trial
  // `next_new` when it is < `n_trials`, else nullopt.
  std::optional<Job> next_job(int next_new, int n_trials) const;
  int rungs() const { return rungs_; }

 private:
  struct Entry {
    int trial;
    std::optional<double> value;
    bool final;
    bool promoted;
  };
  int rungs_;
  int64_t eta_;
  bool maximize_;
  std::vector<std::vector<Entry>> done_;  // per rung
};

// --- the driver -------------------------------------------------------------

struct RunOptions {
  // The `plinth` program and the global options to give each child before
  // `train` (e.g. --plugin-path X, --no-system-plugins).
  std::vector<std::string> plinth_argv;
  // Checks a trial's pipeline (text; its file path) with the plugins it
  // names, before anything is written; optional.
  std::function<Status(const std::string& text, const std::filesystem::path& file)> validate;
  bool resume = false;  // --resume: runs/<sweep>/sweep.json must exist
  unsigned cores = 0;   // 0: std::thread::hardware_concurrency()
  // --set key=value overrides of the base pipeline (config/overrides.hpp),
  // applied before the parameters; part of the sweep's fingerprint.
  std::vector<std::string> overrides;
};

struct SweepOutcome {
  std::filesystem::path dir;  // runs/<sweep>
  bool interrupted = false;
  int stop_signal = 0;
  bool budget_reached = false;
  int64_t trials_started = 0;
  int64_t failed = 0;
  std::string table;  // the summary table (Markdown), also in summary.md
  double wall_seconds = 0;
};

// Run (or resume) the sweep. Ctrl-C / SIGTERM / SIGHUP stop every running trial (each
// checkpoints), save the state and return with `interrupted`; running the
// same sweep file again continues from there.
Result<SweepOutcome> run_sweep(const SweepSpec& spec, const RunOptions& options);

}  // namespace plinth::sweep
