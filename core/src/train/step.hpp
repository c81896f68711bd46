// step.hpp — one optimizer step of a prepared run: its micro-batches through
// the training program (forward, backward, gradient accumulation, the
// data-parallel bucket all-reduce), then the update: loss-scale unscaling,
// global gradient norm and clipping, the non-finite check, the optimizer
// plugin and the dynamic loss scale. Not here: logging, evaluation or
// checkpoints (train/trainer.cpp).
#pragma once

#include <cmath>

#include "plinth/status.hpp"
#include "run/run_folder.hpp"

namespace plinth::train {

class Trainer;
struct LoopState;

// Forward and backward of the next optimizer step's micro-batches (up to
// grad_accum, not crossing the epoch's end), advancing ls.position and
// ls.samples_since_log; the gradients are final (all-reduced) when it returns.
Status run_micro_batches(Trainer& t, LoopState& ls, run::Phases& ph);

// What the update of step ls.step did.
struct StepUpdate {
  double grad_norm = NAN;  // before clipping; NaN: not computed
  double lr = 0;
  bool skipped = false;  // non-finite gradients: no update
};
// Apply the gradients of step ls.step (already counted). `log_now`: the
// step logs metrics, so the gradient norm is computed when it can be.
Status apply_update(Trainer& t, LoopState& ls, bool log_now, StepUpdate& u);

}  // namespace plinth::train
