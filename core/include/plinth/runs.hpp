// runs.hpp — reading run folders (runs/<name>/) after or while they train:
// a run's status and headline numbers, the runs in a folder, the HTML
// report, metrics.jsonl as CSV, and the weights exported as one safetensors
// file with LoRA adapters merged. Not here: writing runs (plinth/train.hpp).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "plinth/status.hpp"

namespace plinth {

// What `plinth runs` shows of one run.
struct RunRecord {
  std::filesystem::path dir;
  std::string name;
  std::string status;  // finished | interrupted | failed | running
  std::string detail;  // more, when there is more to say ("stopped early", a failure's message)
  int64_t steps = 0;
  double train_seconds = 0;   // NaN when unknown
  std::string target_metric;  // empty: the pipeline sets no target
  double target_value = 0;
  std::optional<double> time_to_target;  // seconds
  std::string best_name;                 // eval.accuracy, eval.loss or loss
  std::optional<double> best_value;
  std::optional<double> energy_joules;  // unset: not measured
  std::vector<std::string> warnings;    // unreadable lines or files, not fatal
};

// Read a run folder. Errors (bad input): not a folder, or neither
// metrics.jsonl nor summary.json in it.
Result<RunRecord> read_run(const std::filesystem::path& dir);

// The run folders directly under `folder`, sorted by name.
std::vector<std::filesystem::path> find_runs(const std::filesystem::path& folder);

// One self-contained HTML page comparing the runs (charts, time breakdown,
// energy, resolved pipelines). Each run's warnings are appended to
// `warnings` when given, also for the runs read before a failing one.
Result<std::string> report_html(const std::vector<std::filesystem::path>& run_dirs, const std::string& title,
                                std::vector<std::string>* warnings = nullptr);

// metrics.jsonl as CSV: step, epoch, time_s, then every other key in the
// order first seen.
Result<std::string> metrics_csv(const std::filesystem::path& metrics_jsonl);

// A run's final weights (else its newest checkpoint's) written to `out` as
// safetensors, with any [model.lora] adapters merged into the weights they
// adapt, so a pipeline without [model.lora] loads them with [init] from.
struct ExportedWeights {
  size_t tensors = 0;
  std::string from;       // the file or checkpoint folder they came from
  int merged_layers = 0;  // LoRA adapters merged
};
Result<ExportedWeights> export_weights(const std::filesystem::path& run_dir,
                                       const std::filesystem::path& out);

// "12.3 s", "4 min 05 s", "1 h 02 min".
std::string format_seconds(double seconds);

// Write a file so that a crash never leaves it half-written (a temporary in
// the same folder, fsync, rename). A symlink is written through (the link
// stays, its target is replaced the same way); a device, FIFO, socket or
// folder at the path is refused with an invalid_argument error (exit 2).
Status write_file_atomic(const std::filesystem::path& path, std::string_view bytes);

}  // namespace plinth
