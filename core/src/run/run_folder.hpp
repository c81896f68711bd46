// run_folder.hpp — one run's folder on disk (runs/<name>/): the names of its
// files and the schema of its JSON ones (metrics.jsonl lines, summary.json,
// model.json, plugins.json, vocab.json), written by the trainer and read back
// by report, sweep, sample and [init] from, so each key is spelled once.
// Not here: checkpoint folders (train/checkpoint.hpp) and the trainer's loop
// state inside their state.json (train/loop_state.hpp).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "plinth/status.hpp"

namespace plinth::run {

using json = nlohmann::ordered_json;

// ---------------------------------------------------------------------------
// Paths

struct Folder {
  std::filesystem::path dir;  // runs/<name>

  std::filesystem::path pipeline() const { return dir / "pipeline.toml"; }  // resolved, every default
  std::filesystem::path plugins() const { return dir / "plugins.json"; }    // the loaded plugin set
  std::filesystem::path model_io() const { return dir / "model.json"; }     // what the model reads
  std::filesystem::path vocab() const { return dir / "vocab.json"; }        // the source's tokens
  std::filesystem::path classes() const { return dir / "classes.json"; }    // class names, label order
  std::filesystem::path metrics() const { return dir / "metrics.jsonl"; }   // a line per log / eval
  std::filesystem::path summary() const { return dir / "summary.json"; }    // written when it ends
  std::filesystem::path log() const { return dir / "log.txt"; }
  std::filesystem::path weights() const { return dir / "model.safetensors"; }  // the final weights
  std::filesystem::path checkpoints() const { return dir / "checkpoints"; }    // step-<N>/ folders
};

// <out_dir>/<name> for suffix 0, else <out_dir>/<name>-<suffix>.
std::filesystem::path folder_path(const std::filesystem::path& out_dir, const std::string& name, int suffix);
// Why `name` cannot name a run (or sweep) folder under out_dir, or "" when
// it can: it must be one path component ("." and ".." and "/" would leave
// out_dir) of printable characters (no control characters, no NUL).
std::string name_problem(const std::string& name);

// ---------------------------------------------------------------------------
// Wall-clock seconds per phase of training (steady_clock), cumulative over a
// run's processes. As an object in summary.json and checkpoint state, as flat
// "<name>_s" keys in metrics.jsonl.

struct Phases {
  double data = 0, compute = 0, optimizer = 0, comm = 0, checkpoint = 0, eval = 0;
  double sum() const { return data + compute + optimizer + comm + checkpoint + eval; }
  // The keys in their order, with their values.
  std::vector<std::pair<const char*, double>> items() const;
  void put(json& j, bool flat) const;
  void load(const json& j);  // the object form; absent keys are 0
};
// "data_wait", "forward_backward", "optimizer", "communication", "checkpoint", "evaluation".
extern const char* const kPhaseKeys[6];

// ---------------------------------------------------------------------------
// metrics.jsonl: one line after each optimizer step that logs (StepLine) and
// after each evaluation (EvalLine). Readers tell them apart by "eval_loss".

struct StepLine {
  int64_t step = 0, epoch = 0;
  double time_s = 0;
  double loss = 0;  // NaN is written as null
  double lr = 0, samples_per_s = 0, data_stall_ms = 0;
  bool has_grad_norm = false;  // grad_norm (NaN: null) is written when set
  double grad_norm = 0;
  int64_t skipped_steps = 0;         // written when > 0
  std::optional<double> loss_scale;  // dynamic loss scaling on
  struct Parallel {                  // data parallel
    int world_size = 1;
    uint64_t allreduce_bytes_per_step = 0;  // the mean over the steps since the last line
    uint64_t allreduce_bytes_total = 0;     // since this process started
    double allreduce_busy_s = 0;
  };
  std::optional<Parallel> parallel;
  Phases phases;
  std::optional<double> energy_j;  // measured
  json to_json() const;
};

struct EvalLine {
  int64_t step = 0, epoch = 0;
  double time_s = 0, eval_loss = 0;
  double eval_accuracy = -1;  // written when >= 0
  bool target_reached = false, early_stop = false;
  json to_json() const;
};

bool is_eval_line(const json& line);

// A line of metrics.jsonl as read back. `object` false: the line is not a
// JSON object (an empty line is skipped, not returned).
struct MetricsLine {
  int64_t number = 0;  // 1-based
  std::string text;
  json value;
  bool object = false;
  bool last = false;  // the file's last line: a running run may have half written it
};
// Every line of `file`; an error when it cannot be read.
Result<std::vector<MetricsLine>> read_metrics(const std::filesystem::path& file);
// Keep the lines of `file` up to and including `step` (a resume rewrites
// what follows); lines without an integer "step" are dropped. No file: nothing to do.
Status truncate_metrics(const std::filesystem::path& file, int64_t step);

// ---------------------------------------------------------------------------
// summary.json: written once when the run ends (also after a failure or a
// stop). Fields a reader may find absent (older plinth, partial writes) are
// optional; each reader chooses its default.

struct Summary {
  std::string name;
  std::optional<int64_t> steps;
  int64_t epochs = 0;
  std::optional<double> train_seconds;
  double wall_seconds = 0;
  std::optional<double> first_step_s;  // null: no step done
  double data_stall_seconds = 0;
  bool interrupted = false, early_stopped = false, paused = false;
  int64_t skipped_steps = 0, checkpoint_failures = 0;
  std::optional<int64_t> resumed_from_step;  // null: started fresh
  std::optional<std::string> status;         // "ok" or the failure's message
  std::optional<Phases> time_breakdown;      // time_breakdown_s, with "other"
  double other_seconds = 0;
  struct Memory {
    uint64_t parameters = 0, gradients = 0, optimizer_state = 0, other_persistent = 0;
    uint64_t activation_arenas = 0, activation_need = 0, need = 0, backend_peak = 0;
  } memory;
  struct Energy {
    bool measured = false;
    std::optional<double> joules;
    std::string sources, note;  // measured
    std::string why;            // not measured
  };
  std::optional<Energy> energy;
  std::optional<double> loss_scale;  // dynamic loss scaling on
  std::optional<double> eval_loss, eval_accuracy;
  struct Target {
    std::string metric;
    double value = 0;
  };
  std::optional<Target> target;
  std::optional<double> time_to_target_s;  // with a target: null until reached

  json to_json() const;
  static Summary from_json(const json& j);  // tolerant: wrong or absent keys stay unset
};

// errc::not_found: no summary.json; errc::bad_data: not a JSON object.
Result<Summary> read_summary(const Folder& f);

// ---------------------------------------------------------------------------
// model.json: what the model reads and predicts, so `plinth sample` can
// rebuild it without the data.

struct ModelIO {
  struct Field {
    std::string dtype;  // "f32", "i32" ...
    std::vector<int64_t> shape;
  };
  Field input, target;
  int64_t num_classes = 0;
  int64_t outputs = 0;  // the model's output width (classes, vocabulary)
  json to_json() const;
};
Result<ModelIO> read_model_io(const Folder& f);

// ---------------------------------------------------------------------------
// plugins.json: the plugins that were loaded, with versions and sha256.

struct PluginRow {
  std::string name, kind, version, abi, path, sha256;
};
json plugins_json(const std::vector<PluginRow>& rows);
std::vector<PluginRow> plugins_from_json(const json& j);
std::vector<PluginRow> read_plugins(const Folder& f);  // empty when absent or unreadable

// ---------------------------------------------------------------------------
// vocab.json: {"tokens": [...]}, written as the train source gives it.

Result<std::vector<std::string>> read_vocab(const Folder& f);

}  // namespace plinth::run
