// train.hpp — preparing and training a pipeline from a program: a Trainer
// validates everything and opens the plugins (nothing written), then trains
// into the run folder with optional callbacks per step, per evaluation and a
// stop request, or evaluates the model as prepared, or times steps (bench/).
// Not here: the training loop's internals, or reading finished runs (plinth/runs.hpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>

#include "plinth/pipeline.hpp"
#include "plinth/registry.hpp"
#include "plinth/status.hpp"

namespace plinth {

// After an optimizer step that writes a metrics line ([train] log_every).
struct StepInfo {
  int64_t step = 0;         // optimizer steps done
  int64_t total_steps = 0;  // the run's horizon
  double loss = 0;          // mean train loss since the previous StepInfo
  double lr = 0;
  double seconds = 0;  // since the run started
};

// After an evaluation on [data.eval].
struct EvalInfo {
  int64_t step = 0;
  double loss = 0;
  double accuracy = -1;  // -1: not a classification
};

struct TrainOptions {
  // Time-to-target is measured from here.
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  bool progress = false;  // the CLI's live progress line (or plain log lines) on stderr
  bool resume = false;    // continue run_dir() from its newest good checkpoint
  // > 0: end after this optimizer step (evaluate, checkpoint) without
  // changing the schedule's horizon, so `resume` continues exactly.
  int64_t stop_at_step = 0;
  // Callbacks, each optional, called on the training thread between steps;
  // they must not throw.
  std::function<void(const StepInfo&)> on_step;
  std::function<void(const EvalInfo&)> on_eval;
  std::function<bool()> stop_requested;  // true: stop after this step, as Ctrl-C does
};

struct TrainResult {
  std::filesystem::path run_dir;
  int64_t steps = 0;
  double seconds = 0;
  double final_eval_accuracy = -1;  // -1: not evaluated (or not a classification)
  double final_eval_loss = -1;      // -1: not evaluated
  double time_to_target = -1;       // seconds; -1: not reached (or no target)
  bool interrupted = false;         // stopped by a signal or stop_requested
  bool early_stopped = false;       // [early_stop]
  bool paused = false;              // ended at stop_at_step before the last step
  int64_t resumed_from = -1;        // the checkpoint's step; -1: started fresh
  int64_t skipped_steps = 0;        // updates dropped ([train] on_nonfinite = "skip")
  int64_t checkpoint_failures = 0;  // checkpoint writes that failed ([checkpoint] on_error = "continue")
  int stop_signal = 0;              // SIGINT, SIGTERM or SIGHUP when one stopped the run
  int rank = 0;                     // data parallel: this process's rank (rank 0 writes the run)
};

struct EvalResult {
  double loss = 0;
  double accuracy = -1;  // -1: not a classification
};

struct StepTiming {
  double seconds_per_step = 0;
  double cpu_seconds_per_step = 0;  // CPU time of the whole process per step
  int64_t steps = 0;
  int64_t batch = 0;
  // Of seconds_per_step, the optimizer's update of every parameter (the
  // backend synchronised before and after it).
  double optimizer_seconds_per_step = 0;
};

// Bytes the prepared run holds on its backend (see memory_use()).
struct MemoryUse {
  uint64_t parameters = 0, gradients = 0, optimizer_state = 0, other_persistent = 0;
  uint64_t arenas = 0;           // every compiled program's activation arena, summed
  uint64_t activation_need = 0;  // the largest peak of live activations of one program
  uint64_t backend_peak = 0;     // the most the backend held at once
  uint64_t need() const { return parameters + gradients + optimizer_state + activation_need; }
};

class Trainer {
 public:
  // Validate the pipeline and open its backend, data, model and optimizer;
  // nothing is written. Errors are bad input (Status::is_bad_input) unless
  // the failure is at run time.
  static Result<Trainer> prepare(Pipeline pipeline, std::shared_ptr<Registry> registry,
                                 TrainOptions options = {});

  Trainer(Trainer&&) noexcept;
  Trainer& operator=(Trainer&&) noexcept;
  ~Trainer();

  // Train to the end (or a stop) writing the run folder. Call once.
  Result<TrainResult> train();
  // Evaluate the prepared model as it is ([init] from, or fresh) on
  // [data.eval], writing nothing.
  Result<EvalResult> evaluate();
  // Time `steps` training steps on one resident batch after `warmup` untimed ones.
  Result<StepTiming> time_steps(int64_t warmup, int64_t steps);
  MemoryUse memory_use() const;
  // Read `epochs` epochs of [data.train] through the loader; samples per second.
  Result<double> loader_samples_per_second(int64_t epochs);

 private:
  struct Impl;
  explicit Trainer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Ask the running trainer to stop after its current step (async-signal-safe).
void request_stop(int signal = 0);

}  // namespace plinth
