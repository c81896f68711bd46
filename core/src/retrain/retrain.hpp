// retrain.hpp — `plinth retrain`: keep a model fresh as new data arrives.
// New data arrives as a folder in the watched folder holding data.toml
// ([data.train]: data to fine-tune on, [data.eval]: held-out data). For each
// one: evaluate the model in production on it; when its metric has drifted
// past the threshold, fine-tune a candidate from it on the new data (plus a
// replay of the old), evaluate both on the held-out data and promote the
// candidate only if it is better. Every step is a line of retrain.jsonl;
// every model, promoted or not, stays with its lineage in models.json.
// Not here: training or evaluating (child `plinth train` / `plinth eval`
// processes, run by the caller's Runner), or watching with inotify (polling).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "plinth/status.hpp"

namespace plinth::retrain {

struct Config {
  std::filesystem::path source;    // the retrain file
  std::string name;                // state in <out_dir>/<name>/
  std::filesystem::path out_dir;   // default "runs"
  std::filesystem::path pipeline;  // fine-tuning starts from it: model, optimizer, schedule; its [data.train]
                                   // is the replay data
  std::filesystem::path model;     // the run folder in production at the start
  std::filesystem::path watch;     // new data arrives here, one folder per batch
  std::string metric = "eval.accuracy";  // eval.accuracy | eval.loss
  double drift_threshold = 0.02;  // retrain when the model is worse on new data than its reference by more
  double min_improvement = 0.0;   // promote when the candidate beats the model by more than this
  double replay_fraction = 0.2;   // share of old data in the fine-tuning epochs; 0: none
  int64_t steps = 200;            // fine-tuning optimizer steps
  double poll_seconds = 10;       // watch mode: how often the folder is read
};

// Read a retrain file; errors name the file, line and key.
Result<Config> load_config(const std::filesystem::path& file);

// Runs `plinth ARGS...` (the caller's own executable, with its global
// options); returns its standard output, or an error with its exit code and
// the end of its output.
using Runner = std::function<Result<std::string>(const std::vector<std::string>& args)>;

// Process every arrival not yet handled (in name order). Returns how many were.
// `stop` is polled between steps (SIGINT/SIGTERM).
Result<int> process_pending(const Config& c, const Runner& run, const std::function<bool()>& stop);

}  // namespace plinth::retrain
