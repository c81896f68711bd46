// trainer.hpp — run a pipeline: open its backend, data and optimizer, build
// and compile the graph, then train with evaluation, metrics and a run
// folder. Everything that can be checked is checked before runs/ is touched,
// so bad input leaves nothing behind.
#pragma once

#include <chrono>
#include <functional>
#include <memory>

#include "config/pipeline.hpp"
#include "plinth/registry.hpp"
#include "plinth/train.hpp"  // StepInfo, EvalInfo: what the hooks see

namespace plinth::train {

struct TrainOptions {
  // When `plinth train` started: time-to-target is measured from here.
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  bool progress = true;  // a live line on a terminal, plain lines otherwise
  // Continue runs/<name>/ from its newest good checkpoint (the folder is
  // reused; with none, training starts over in it).
  bool resume = false;
  // > 0: end the run after this optimizer step as if training were over
  // (an evaluation at that step when there is eval data and none was made,
  // then a checkpoint), without changing the schedule's horizon, so a later
  // --resume continues exactly where an uninterrupted run would be. Used by
  // `plinth sweep` to stop a trial at an ASHA rung.
  int64_t stop_at_step = 0;
  // Hooks for applications that embed the trainer (plinth/train.hpp); each
  // is optional and runs on the training thread between steps.
  std::function<void(const StepInfo&)> on_step;  // after each optimizer step that logs metrics
  std::function<void(const EvalInfo&)> on_eval;  // after each evaluation
  std::function<bool()> stop_requested;          // true: stop after this step as on Ctrl-C
};

struct TrainOutcome {
  std::filesystem::path run_dir;
  int64_t steps = 0;
  double seconds = 0;
  double final_eval_accuracy = -1;  // -1: not evaluated
  double final_eval_loss = -1;
  double time_to_target = -1;  // seconds, -1: not reached
  bool interrupted = false;
  bool early_stopped = false;
  int64_t resumed_from = -1;        // the checkpoint's step, -1: started fresh
  int64_t skipped_steps = 0;        // steps whose update was dropped (on_nonfinite = "skip")
  int stop_signal = 0;              // SIGINT, SIGTERM or SIGHUP when that stopped the run, else 0
  int64_t checkpoint_failures = 0;  // checkpoint writes that failed (on_error = "continue")
  bool paused = false;              // ended at TrainOptions::stop_at_step before the last step
  int rank = 0;                     // data parallel: this process's rank (rank 0 reports the run)
};

class Trainer;
struct TrainerDeleter {
  void operator()(Trainer* t) const;
};
using TrainerPtr = std::unique_ptr<Trainer, TrainerDeleter>;

// Validate and prepare everything (no files written). Errors are bad input
// (exit 2) unless the failure is at run time.
Result<TrainerPtr> prepare(config::Pipeline pipeline, std::shared_ptr<Registry> registry,
                           const TrainOptions& options);
// Train to the end (or Ctrl-C) writing runs/<name>/.
Result<TrainOutcome> run(Trainer& trainer);

// Time `steps` training steps (forward, backward, optimizer) on one batch
// that stays resident, after `warmup` untimed ones: the step's own cost,
// without data loading. Used by bench/.
struct StepTiming {
  double seconds_per_step = 0;
  double cpu_seconds_per_step = 0;  // CPU time of the whole process (all threads) per step
  int64_t steps = 0;
  int64_t batch = 0;
  double optimizer_seconds_per_step = 0;  // the optimizer's share, synchronised before and after
};
Result<StepTiming> time_steps(Trainer& trainer, int64_t warmup, int64_t steps);

// What the run holds on its backend: the persistent groups, the arenas of
// the programs compiled so far (one per batch size, training and eval), the
// least memory a run of this model needs (parameters + gradients + optimizer
// state + the largest peak of live activations of any one program, which do
// not run at once) and the most the backend held at once.
struct MemoryUse {
  uint64_t parameters = 0, gradients = 0, optimizer_state = 0, other_persistent = 0;
  uint64_t arenas = 0;           // every compiled program's arena, summed
  uint64_t activation_need = 0;  // max over programs of exec::peak_live_bytes
  uint64_t need() const { return parameters + gradients + optimizer_state + activation_need; }
  uint64_t backend_peak = 0;  // exec::Backend::peak_bytes
};
MemoryUse memory_use(const Trainer& trainer);

// Read `epochs` epochs of [data.train] through the run's loader (its workers,
// shuffling and decoding; nothing uploaded) and return samples per second.
// Used by bench/.
Result<double> loader_samples_per_second(Trainer& trainer, int64_t epochs);

// Evaluate the prepared model as it is ([init] from, or the fresh
// initialisation) on [data.eval], writing nothing: (loss, accuracy or -1).
Result<std::pair<double, double>> evaluate(Trainer& trainer);

// Ask a running trainer to stop after its current step (signal-safe).
void request_stop(int signal = 0);

}  // namespace plinth::train
