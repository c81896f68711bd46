// step.cpp — one optimizer step: micro-batches, the whole-gradient ops and
// the optimizer plugin's update, in the order the backend launches them.
// Not here: when steps run, logging or checkpoints (trainer.cpp).
#include "train/step.hpp"

#include <algorithm>
#include <chrono>
#include <thread>

#include "plinth/log.hpp"
#include "train/loop_state.hpp"
#include "train/trainer_impl.hpp"
#include "util/rng.hpp"

namespace plinth::train {
namespace {

using clock = std::chrono::steady_clock;
double seconds_since(clock::time_point t) { return std::chrono::duration<double>(clock::now() - t).count(); }

}  // namespace

std::string scratch_slot(int32_t s) { return "optimizer.scratch" + std::to_string(s); }

// The optimizer's per-parameter arguments, made once so a step allocates nothing.
void Trainer::prepare_optimizer_args() {
  std::vector<size_t> trained;
  for (size_t i = 0; i < params.size(); ++i)
    if (params[i].trainable) trained.push_back(i);
  const size_t n = trained.size();
  opt_state.resize(n * static_cast<size_t>(state_slots));
  opt_scratch.resize(n * static_cast<size_t>(scratch_slots));
  opt_args.resize(n);
  for (size_t i = 0; i < n; ++i) {
    const std::string& name = param_names[trained[i]];
    for (int32_t s = 0; s < state_slots; ++s)
      opt_state[i * state_slots + s] = store->tensor(name + "." + slot_names[s]);
    for (int32_t s = 0; s < scratch_slots; ++s) {
      const exec::Slot& shared = store->slot(scratch_slot(s));
      opt_scratch[i * scratch_slots + s] = exec::make_tensor(
          store->buffer(exec::Store::state).get(), shared.offset, PLINTH_DTYPE_F32, store->slot(name).shape);
    }
    opt_args[i] = {sizeof(plinth_optim_param),
                   name.c_str(),
                   store->tensor(name),
                   store->tensor(name + ".grad"),
                   opt_state.data() + i * state_slots,
                   opt_scratch.data() + i * scratch_slots,
                   params[trained[i]].weight_decay ? 1 : 0};
  }
}

void Trainer::prepare_grad_ops() {
  const auto n = static_cast<int64_t>(store->group_bytes(exec::Store::grads) / 4);
  grads_all = exec::make_tensor(store->buffer(exec::Store::grads).get(), 0, PLINTH_DTYPE_F32, {n});
  sqnorm_t = store->tensor("grad.sqnorm");
  finite_t = store->tensor("grad.finite");
  zero_op = {sizeof(plinth_op), PLINTH_OP_FILL, 0, nullptr, 1, &grads_all, &zero_params};
  sqnorm_op = {sizeof(plinth_op), PLINTH_OP_SQUARED_NORM, 1, &grads_all, 1, &sqnorm_t, nullptr};
  finite_op = {sizeof(plinth_op), PLINTH_OP_IS_FINITE, 1, &grads_all, 1, &finite_t, nullptr};
  scale_op = {sizeof(plinth_op), PLINTH_OP_UNARY, 1, &grads_all, 1, &grads_all, &scale_params};
}

int64_t Trainer::rows_of(int64_t batch) const {
  const int64_t B = global_batch, n = static_cast<int64_t>(train_src->size());
  return p.train_data.drop_last ? B : std::min(B, n - batch * B);
}

Status Trainer::optimizer_step(int64_t step, double lr) {
  plinth_optim_ops ops = executor->optimizer_ops();
  plinth_optim_step_info info{sizeof info, lr, step};
  for (const auto& arg : opt_args)
    if (plinth_status st = opt_table->step(optimizer, &ops, &arg, &info); st != PLINTH_OK)
      return plugin_status(st, "optimizer '" + p.optimizer.name + "' step on " + arg.name);
  return {};
}

// PLINTH_STRAGGLER (tests and benches): one rank, or a rank drawn per step
// from the run's seed ("*"), sleeps a fixed time or a share of its own
// step's time after its micro-batches, before it meets the others.
namespace {
void straggle(const Trainer& t, const LoopState& ls) {
  const auto& s = t.straggler;
  if (!t.dp || s.rank == Straggler::off) return;
  int slow = s.rank;
  if (slow == Straggler::any)
    slow = static_cast<int>(derive_seed(t.p.run.seed ^ 0x5354524147ull, static_cast<uint64_t>(ls.step)) %
                            static_cast<uint64_t>(t.dp->size()));
  if (slow != t.dp->rank()) return;
  const double busy = seconds_since(t.step_started);
  const double sleep_s = s.ms > 0 ? s.ms / 1e3 : busy * s.fraction;
  std::this_thread::sleep_for(std::chrono::duration<double>(sleep_s));
}
}  // namespace

Status run_micro_batches(Trainer& t, LoopState& ls, run::Phases& ph) {
  const auto& p = t.p;
  t.step_started = clock::now();
  const int64_t per_epoch = t.train_loader->batches_per_epoch();
  const int64_t k = p.train.grad_accum;
  const bool accumulate = k > 1;
  const bool scaling = p.train.loss_scaling;
  const uint64_t dropout_seed = derive_seed(p.run.seed, 0x44524f50ull);
  // One optimizer step: up to k micro-batches, not crossing the epoch's end.
  const int64_t group = std::min(k, per_epoch - ls.position);
  // The loss of the step is the sum over its rows (of every rank) divided by their count.
  // Local steps ([distributed] sync = local_sgd, diloco): this rank's rows only.
  const bool alone = t.dp && t.dp->local_step(ls.step + 1);
  const bool delayed = t.dp && t.dp->sync() == DataParallel::Sync::delayed;
  int64_t step_rows = 0;
  if (accumulate || t.dp) {
    for (int64_t i = 0; i < group; ++i) {
      const int64_t m = t.rows_of(ls.position + i);
      if (alone) {  // this rank's part of the global batch, as the loader splits it
        const int64_t W = t.dp->size(), r = t.dp->rank();
        step_rows += (r + 1) * m / W - r * m / W;
      } else {
        step_rows += m;
      }
    }
  }
  if (accumulate) {
    const auto c0 = clock::now();
    PLINTH_TRY(t.launch(t.zero_op, "zeroing the gradients"));
    ph.compute += seconds_since(c0);
  }
  for (int64_t i = 0; i < group; ++i) {
    const auto d0 = clock::now();
    const data::Batch* b = t.train_loader->next();
    ph.data += seconds_since(d0);
    if (!b)
      return error(errc::internal, "the data loader ended epoch " + std::to_string(ls.epoch) + " early");
    PLINTH_TRY(Status(b->status));
    PLINTH_TRY(t.check_labels(*b));
    const auto c0 = clock::now();
    const bool last = i == group - 1;
    if (b->rows == 0) {  // this rank's share of a short last batch: it adds nothing
      const Status zeroed = accumulate ? Status() : t.launch(t.zero_op, "zeroing the gradients");
      if (t.dp && last && !alone && !delayed) t.dp->begin(nullptr);
      ph.compute += seconds_since(c0);
      ls.position = b->index + 1;
      PLINTH_TRY(zeroed);
      continue;
    }
    auto prog = t.program(b->rows, true, b->res.height);  // res: [train.progressive]
    if (!prog) return prog.status();
    exec::Program& pr = **prog;
    // dL/dlogits carries 1 / (rows of the step) and the loss scale S.
    if (accumulate || scaling || t.dp)
      pr.set_loss_scale(static_cast<float>(ls.loss_scale) /
                        static_cast<float>(accumulate || t.dp ? step_rows : b->rows));
    PLINTH_TRY(t.upload(pr, *b));
    // Dropout counters: one block per micro-batch of the whole run.
    pr.set_dropout(dropout_seed, static_cast<uint64_t>(ls.epoch * per_epoch + b->index));
    if (t.dp && last && !alone && !delayed) {
      // The step's gradients are final as this run writes them: each
      // bucket's all-reduce starts as soon as backward has finished it.
      t.dp->begin(&pr);
      PLINTH_TRY(pr.run([&](size_t l) { return t.dp->on_launch(l); }));
    } else {
      PLINTH_TRY(pr.run());
    }
    ph.compute += seconds_since(c0);
    ls.samples_since_log += b->rows;
    ls.position = b->index + 1;
  }
  straggle(t, ls);
  t.update_ready = true;
  t.update_lag = delayed ? 1 : 0;
  if (t.dp && delayed) {  // the previous step's gradients, summed, in this step's place
    const auto m0 = clock::now();
    auto had = t.dp->delayed_exchange();
    ph.comm += seconds_since(m0);
    if (!had) return had.status();
    t.update_ready = *had;
  } else if (t.dp && !alone) {  // the all-reduce still running after backward
    const auto m0 = clock::now();
    const Status reduced = t.dp->finish();
    ph.comm += seconds_since(m0);
    PLINTH_TRY(reduced);
  }
  if (t.dp && !alone) {  // local steps average batch-norm statistics when they meet
    const auto b0 = clock::now();
    PLINTH_TRY(t.average_buffers());
    ph.comm += seconds_since(b0);
  }
  return {};
}

// One all-reduce (SUM, in double) over every buffer, then / ranks. Per-rank
// batch statistics are what torch's DistributedDataParallel without
// SyncBatchNorm uses; averaging the running statistics (instead of keeping
// rank 0's) uses every rank's rows and leaves the ranks identical, so
// evaluation, checkpoints and the final weights need no special case.
Status Trainer::average_buffers() {
  if (!dp) return {};
  size_t total = 0;
  for (const auto& prm : params)
    if (prm.buffer) total += static_cast<size_t>(store->slot(param_names[&prm - params.data()]).bytes / 4);
  if (total == 0) return {};
  buffer_host.resize(total);
  std::vector<float> f;
  const auto& buf = store->buffer(exec::Store::params);
  size_t at = 0;
  for (const auto& prm : params) {
    if (!prm.buffer) continue;
    const exec::Slot& s = store->slot(param_names[&prm - params.data()]);
    f.resize(s.bytes / 4);
    PLINTH_TRY(backend->download(f.data(), buf, s.offset, s.bytes));
    std::copy(f.begin(), f.end(), buffer_host.begin() + static_cast<std::ptrdiff_t>(at));
    at += f.size();
  }
  PLINTH_TRY(dp->all_reduce(buffer_host.data(), total, PLINTH_REDUCE_OP_SUM));
  const double ranks = dp->size();
  at = 0;
  for (const auto& prm : params) {
    if (!prm.buffer) continue;
    const exec::Slot& s = store->slot(param_names[&prm - params.data()]);
    f.resize(s.bytes / 4);
    for (size_t i = 0; i < f.size(); ++i) f[i] = static_cast<float>(buffer_host[at + i] / ranks);
    at += f.size();
    PLINTH_TRY(backend->upload(buf, s.offset, f.data(), s.bytes));
  }
  return {};
}

namespace {

// Gradient norm (before clipping) and clipping, or the finiteness check:
// whether the gradients are finite.
Result<bool> norm_and_clip(Trainer& t, bool log_now, StepUpdate& u) {
  const auto& p = t.p;
  const bool clip = p.train.clip_grad_norm > 0;
  const auto& stats = t.store->buffer(exec::Store::stats);
  if (clip || (log_now && t.log_grad_norm)) {
    float sq = 0;
    PLINTH_TRY(t.launch(t.sqnorm_op, "gradient norm"));
    PLINTH_TRY(t.backend->download(&sq, stats, t.sqnorm_t.offset, 4));
    u.grad_norm = std::sqrt(static_cast<double>(sq));
  }
  if (clip) {
    // torch.nn.utils.clip_grad_norm_: scale by max_norm / (norm + 1e-6) when below 1.
    const bool finite = std::isfinite(u.grad_norm);
    const double coef = p.train.clip_grad_norm / (u.grad_norm + 1e-6);
    if (finite && coef < 1.0) {
      t.scale_params.alpha = static_cast<float>(coef);
      PLINTH_TRY(t.launch(t.scale_op, "gradient clipping"));
    }
    return finite;
  }
  float ok = 1;
  PLINTH_TRY(t.launch(t.finite_op, "gradient check"));
  PLINTH_TRY(t.backend->download(&ok, stats, t.finite_t.offset, 4));
  return ok != 0.f;
}

// Non-finite gradients: the update is skipped (and with loss scaling, S
// backs off), or the run stops, as [train] on_nonfinite and max_nonfinite say.
Status skip_update(Trainer& t, LoopState& ls, StepUpdate& u) {
  const auto& p = t.p;
  if (p.train.loss_scaling) {
    // GradScaler: skip the update and back off S, whatever on_nonfinite says.
    ++ls.skipped;
    u.skipped = true;
    const double was = ls.loss_scale;
    ls.loss_scale *= p.train.loss_scale_backoff;
    ls.scale_clean = 0;
    logger().info("step {}: non-finite gradients at loss scale {}: update skipped, loss scale now {}",
                  ls.step, was, ls.loss_scale);
    if (++ls.nonfinite_run >= p.train.max_nonfinite)
      return error(errc::internal, std::to_string(ls.nonfinite_run) +
                                       " steps in a row had non-finite gradients (train.max_nonfinite); "
                                       "the loss scale is down to " +
                                       std::to_string(ls.loss_scale));
    return {};
  }
  if (p.train.on_nonfinite != "skip")
    return error(errc::internal, "non-finite gradients at step " + std::to_string(ls.step) +
                                     " (train.on_nonfinite = \"stop\"; \"skip\" drops such updates)");
  ++ls.skipped;
  u.skipped = true;
  logger().warn("step {}: non-finite gradients, update skipped", ls.step);
  if (++ls.nonfinite_run >= p.train.max_nonfinite)
    return error(errc::internal, std::to_string(ls.nonfinite_run) +
                                     " steps in a row had non-finite gradients (train.max_nonfinite)");
  return {};
}

}  // namespace

Status apply_update(Trainer& t, LoopState& ls, bool log_now, StepUpdate& u) {
  const auto& p = t.p;
  const bool scaling = p.train.loss_scaling;
  u = StepUpdate{};
  // [distributed] sync = "delayed": the gradients are step k-1's, applied
  // with its learning rate and count; the first step has none.
  const int64_t lag = t.update_lag;
  if (!t.update_ready) {
    u.lr = t.schedule->lr(ls.step);
    return {};
  }
  if (scaling) {  // unscale first: clipping, the check and the update see the true gradients
    t.scale_params.alpha = static_cast<float>(1.0 / ls.loss_scale);
    PLINTH_TRY(t.launch(t.scale_op, "loss-scale unscaling"));
  }
  auto finite = norm_and_clip(t, log_now, u);
  if (!finite) return finite.status();
  u.lr = t.schedule->lr(ls.step - lag);
  if (!*finite) return skip_update(t, ls, u);
  ls.nonfinite_run = 0;
  // The optimizer counts the updates it applied (Adam's bias correction),
  // as torch's optimizers do when a step is skipped.
  PLINTH_TRY(t.optimizer_step(ls.step - lag - ls.skipped, u.lr));
  // GradScaler.update(): grow S after `interval` clean steps in a row.
  if (scaling && ++ls.scale_clean >= p.train.loss_scale_growth_interval) {
    const double grown = ls.loss_scale * p.train.loss_scale_growth;
    if (std::isfinite(static_cast<float>(grown))) ls.loss_scale = grown;
    ls.scale_clean = 0;
  }
  return {};
}

}  // namespace plinth::train
