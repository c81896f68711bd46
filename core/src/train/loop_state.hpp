// loop_state.hpp — what the training loop carries from step to step and a
// checkpoint must restore for the rest of the run to be what it would have
// been, and its form in a checkpoint's state.json (one to_json, one
// from_json, the keys in the order plinth has always written them).
// Not here: the checkpoint files (train/checkpoint.hpp) or the loop itself.
#pragma once

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "plinth/status.hpp"
#include "run/run_folder.hpp"

namespace plinth::train {

struct LoopState {
  int64_t step = 0;                 // optimizer steps done
  int64_t epoch = 0, position = 0;  // the next batch: `position` of `epoch`
  int64_t samples_since_log = 0;
  double loss_sum = 0;   // the running loss sum since the last log (the device holds it while training)
  double es_best = NAN;  // early stopping: best metric so far
  int64_t es_bad = 0;    //   evaluations since it improved
  double metric = NAN;   // latest value of [checkpoint] best_metric
  double time_to_target = -1, eval_loss = -1, eval_accuracy = -1;
  int64_t skipped = 0, nonfinite_run = 0;  // skipped steps: all, and in a row
  double loss_scale = 1.0;                 // dynamic loss scaling: S (1 when off)
  int64_t scale_clean = 0;                 //   clean steps in a row since S last changed
  int64_t last_eval_step = -1;
  double seconds = 0;    // training time (of earlier processes, until the loop runs)
  bool stopped = false;  // early stopping or stop_at_target ended the run
  bool early_stopped = false;

  // Saved with the counters: the schedule's state (Schedule::save), the
  // time per phase, and the energy so far (null: not measured, and why).
  std::optional<std::string> schedule;
  run::Phases phases;
  std::optional<double> energy_j;
  std::optional<std::string> energy_note;

  // What wrote the state: checked or adapted to on resume.
  struct Origin {
    std::optional<int> threads;
    int world_size = 1;
    int64_t global_batch = 0;
    std::optional<std::string> pipeline;  // resolved TOML (`plinth resolve`)
    nlohmann::ordered_json plugins;       // as plugins.json
    std::optional<int64_t> powersgd_steps;
  } origin;

  nlohmann::ordered_json to_json() const;
  // Keys absent (or of another type) keep the value they have in `defaults`.
  static LoopState from_json(const nlohmann::ordered_json& j, const LoopState& defaults);
  // Whether `j` (a checkpoint's state.json, `file`) can be resumed from:
  // the keys the loop cannot go on without are there, and every key that is
  // there has its type and a value in range (counters whole and >= 0, below
  // 2^53; the loss scale > 0; last_eval_step <= step). errc::bad_data naming
  // the file and the key. Keys added later are optional; unknown keys are
  // left alone.
  static Status check_json(const nlohmann::ordered_json& j, const std::string& file);
};

}  // namespace plinth::train
