// run_info.hpp — what a run folder (runs/<name>/) says about its run, read
// back for `plinth report`, `plinth runs` and `plinth export`: metrics.jsonl
// as series, summary.json, pipeline.toml, plugins.json and whether the run
// is still running. Not here: the files' schema (run/run_folder.hpp),
// writing runs (train/) or charts.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "plinth/status.hpp"

namespace plinth::report {

// One metric over a run: a point per metrics.jsonl line that has it.
struct Points {
  std::vector<double> step, time, value;  // time: training seconds (time_s)
};

struct PluginRow {
  std::string name, kind, version, abi, path, sha256;
};

struct RunInfo {
  std::filesystem::path dir;
  std::string name;
  // finished, interrupted, failed or running; `detail` says more when there
  // is more to say ("stopped early", the failure's message ...).
  std::string status, detail;

  std::map<std::string, Points> train;  // numeric keys of the step lines: loss, lr, grad_norm ...
  std::map<std::string, Points> eval;   // of the evaluation lines: eval_loss, eval_accuracy

  bool has_summary = false;
  int64_t steps = 0;
  double train_seconds = 0;  // NaN when unknown
  // Time-to-model breakdown, seconds, in the trainer's order (summary.json,
  // or the last metrics line of a run without a summary).
  std::vector<std::pair<std::string, double>> breakdown;
  std::string target_metric;  // empty: the pipeline sets no target
  double target_value = 0;
  std::optional<double> time_to_target;
  std::string best_name;  // eval.accuracy, eval.loss or loss
  std::optional<double> best_value;
  std::optional<double> energy_j;  // measured joules; unset: not measured
  std::string energy_note;         // why not (or what was left out), and the sources when measured

  std::string pipeline_toml;  // the resolved pipeline, as written
  std::vector<PluginRow> plugins;
  std::vector<std::string> warnings;  // unreadable lines or files, reported but not fatal
};

// Read a run folder. Errors (exit 2): not a folder, or no metrics.jsonl and
// no summary.json in it.
Result<RunInfo> load_run(const std::filesystem::path& dir);

// The run folders directly under `folder` (those with a metrics.jsonl or a
// summary.json), sorted by name.
std::vector<std::filesystem::path> find_runs(const std::filesystem::path& folder);

// metrics.jsonl as CSV (RFC 4180): one row per line; the columns are step,
// epoch and time_s, then every other key in the order first seen; a key a
// line lacks, and null, are empty cells. Numbers are written as JSON wrote them.
Result<std::string> metrics_csv(const std::filesystem::path& metrics_jsonl);

// "12.3 s", "4 min 05 s", "1 h 02 min".
std::string format_seconds(double s);
// "1.23 kJ", "456 J", "2.10 MJ".
std::string format_joules(double j);

}  // namespace plinth::report
