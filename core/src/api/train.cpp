// train.cpp — plinth::Trainer (plinth/train.hpp): the public option and
// outcome structs mapped onto train::prepare / run / evaluate / time_steps,
// and the callbacks onto TrainOptions' on_step, on_eval and stop_requested.
// Not here: the training loop (train/trainer.cpp).
#include "plinth/train.hpp"

#include <utility>

#include "api/pipeline_impl.hpp"
#include "train/trainer.hpp"

namespace plinth {

struct Trainer::Impl {
  train::TrainerPtr trainer;
};

Trainer::Trainer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Trainer::Trainer(Trainer&&) noexcept = default;
Trainer& Trainer::operator=(Trainer&&) noexcept = default;
Trainer::~Trainer() = default;

Result<Trainer> Trainer::prepare(Pipeline pipeline, std::shared_ptr<Registry> registry,
                                 TrainOptions options) {
  train::TrainOptions o;
  o.started = options.started;
  o.progress = options.progress;
  o.resume = options.resume;
  o.stop_at_step = options.stop_at_step;
  o.on_step = std::move(options.on_step);
  o.on_eval = std::move(options.on_eval);
  o.stop_requested = std::move(options.stop_requested);
  auto t = train::prepare(std::move(pipeline.impl_->p), std::move(registry), o);
  if (!t) return t.status();
  return Trainer(std::make_unique<Impl>(Impl{std::move(*t)}));
}

Result<TrainResult> Trainer::train() {
  auto out = train::run(*impl_->trainer);
  if (!out) return out.status();
  TrainResult r;
  r.run_dir = out->run_dir;
  r.steps = out->steps;
  r.seconds = out->seconds;
  r.final_eval_accuracy = out->final_eval_accuracy;
  r.final_eval_loss = out->final_eval_loss;
  r.time_to_target = out->time_to_target;
  r.interrupted = out->interrupted;
  r.early_stopped = out->early_stopped;
  r.paused = out->paused;
  r.resumed_from = out->resumed_from;
  r.skipped_steps = out->skipped_steps;
  r.checkpoint_failures = out->checkpoint_failures;
  r.stop_signal = out->stop_signal;
  r.rank = out->rank;
  return r;
}

Result<EvalResult> Trainer::evaluate() {
  auto r = train::evaluate(*impl_->trainer);
  if (!r) return r.status();
  return EvalResult{r->first, r->second};
}

Result<StepTiming> Trainer::time_steps(int64_t warmup, int64_t steps) {
  auto t = train::time_steps(*impl_->trainer, warmup, steps);
  if (!t) return t.status();
  return StepTiming{t->seconds_per_step, t->cpu_seconds_per_step, t->steps, t->batch,
                    t->optimizer_seconds_per_step};
}

MemoryUse Trainer::memory_use() const {
  const train::MemoryUse m = train::memory_use(*impl_->trainer);
  MemoryUse r;
  r.parameters = m.parameters;
  r.gradients = m.gradients;
  r.optimizer_state = m.optimizer_state;
  r.other_persistent = m.other_persistent;
  r.arenas = m.arenas;
  r.activation_need = m.activation_need;
  r.backend_peak = m.backend_peak;
  return r;
}

Result<double> Trainer::loader_samples_per_second(int64_t epochs) {
  return train::loader_samples_per_second(*impl_->trainer, epochs);
}

void request_stop(int signal) { train::request_stop(signal); }

}  // namespace plinth
