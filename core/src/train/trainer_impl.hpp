// trainer_impl.hpp — the prepared run that train::prepare() makes and
// train::run() drives: the pipeline, its backend and executor, data sources
// and loaders, the parameter store and the programs compiled from the graph
// (one per batch shape), the optimizer plugin and the whole-gradient ops.
// Internal to train/. Not here: how it is made (prepare.cpp), the step
// (step.cpp) or the loop (trainer.cpp).
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "config/pipeline.hpp"
#include "data/loader.hpp"
#include "distributed/data_parallel.hpp"
#include "exec/executor.hpp"
#include "exec/program.hpp"
#include "exec/store.hpp"
#include "graph/build.hpp"
#include "plinth/optimizer.h"
#include "plugin/plugin_config.hpp"
#include "train/schedule.hpp"
#include "train/trainer.hpp"

namespace plinth::train {

// The optimizer's scratch tensor `s`, one for all parameters (see prepare.cpp).
std::string scratch_slot(int32_t s);

// PLINTH_STRAGGLER, parsed (parse_straggler in prepare.cpp).
struct Straggler {
  static constexpr int off = -1, any = -2;
  int rank = off;
  double ms = 0, fraction = 0;
};

class Trainer {
 public:
  config::Pipeline p;
  TrainOptions opt;
  std::shared_ptr<Registry> registry;
  std::vector<PluginConfigPtr> configs;  // keep plugin config views alive
  std::shared_ptr<exec::Backend> backend;
  std::shared_ptr<exec::Executor> executor;  // the backend, and the CPU fallback when allowed

  // Data: the fields the model reads and is scored against.
  std::shared_ptr<data::Source> train_src, eval_src;
  int in_field = 0, tgt_field = 1;
  graph::DataShape shape;
  int64_t num_outputs = 0;  // the model's output width (classes, vocabulary)
  std::unique_ptr<data::Loader> train_loader, eval_loader;

  // The model: parameters, gradients, optimizer state and stats in the
  // store; a graph built once per (batch rows, training, resolution) and
  // compiled once. Resolution 0 is the data's own size; others only with
  // [train.progressive]. Every training program runs in the arena of the
  // first one compiled (the full batch at the largest training resolution,
  // so the largest), since no two run at once.
  std::unique_ptr<exec::Store> store;
  std::map<std::tuple<int64_t, bool, int64_t>, graph::Graph> graphs;
  std::map<std::pair<int64_t, int64_t>, std::unique_ptr<exec::Program>> train_progs, eval_progs;
  std::shared_ptr<exec::Buffer> train_arena;
  // [train.progressive]: the input images' own side (0: not progressive).
  int64_t full_res = 0;
  std::vector<graph::Parameter> params;
  std::vector<std::string> param_names;
  // Data parallel: the indices into params of the gradients given to
  // DataParallel::set_gradients (the trained parameters), in its order.
  std::vector<size_t> grad_params;
  // [train] precision: the dtype MATMUL inputs are cast to (F32: no casts).
  plinth_dtype matmul_dtype = PLINTH_DTYPE_F32;

  // The optimizer plugin and its per-parameter arguments, made once so a
  // step allocates nothing.
  const plinth_optimizer_v1* opt_table = nullptr;
  plinth_optimizer* optimizer = nullptr;
  std::shared_ptr<void> opt_keep;
  int32_t state_slots = 0, scratch_slots = 0;
  std::vector<std::string> slot_names;
  std::vector<plinth_optim_param> opt_args;           // one per trained parameter
  std::vector<plinth_tensor> opt_state, opt_scratch;  // their state and scratch views

  // Whole-buffer ops on the gradients (one contiguous f32 buffer, viewed as
  // one tensor; alignment padding stays zero): zero (grad_accum), squared
  // norm (clipping, grad_norm), finiteness, scale (clipping). Made once.
  plinth_tensor grads_all{}, sqnorm_t{}, finite_t{};
  plinth_fill_params zero_params{sizeof(plinth_fill_params), 0.0};
  plinth_unary_params scale_params{sizeof(plinth_unary_params), PLINTH_UNARY_IDENTITY, 1.f, 0.f};
  plinth_op zero_op{}, sqnorm_op{}, finite_op{}, scale_op{};
  bool log_grad_norm = false;  // the backend has SQUARED_NORM

  // Data parallel (null: one process). Each rank reads its shard of global
  // batches of batch_size * world rows; rank 0 writes the run folder.
  std::unique_ptr<DataParallel> dp;
  int64_t global_batch = 0;  // batch_size * world
  // PLINTH_STRAGGLER="RANK:DELAY" (RANK a number or "*", a rank drawn per
  // step; DELAY "<n>ms" or "<n>%" of the rank's own step): tests, benches.
  Straggler straggler;
  std::chrono::steady_clock::time_point step_started;
  // This step's gradients are to be applied (false: [distributed] sync =
  // "delayed" on its first step, which has no earlier gradient yet).
  bool update_ready = true;
  int64_t update_lag = 0;  // the applied gradients are step ls.step - update_lag's
  bool writer() const { return !dp || dp->rank() == 0; }

  int64_t total_steps = 0;
  int64_t steps_per_epoch = 0;  // optimizer steps: ceil(batches / grad_accum)
  std::unique_ptr<Schedule> schedule;

  ~Trainer() {
    dp.reset();  // the gradient thread first: it reads the store
    train_progs.clear();
    eval_progs.clear();
    if (optimizer) opt_table->destroy(optimizer);
  }

  // model.cpp: the graph and program for a batch of `rows`, built and
  // compiled on first use; parameters; batches; evaluation.
  // `res`: the side of the input images (progressive resizing); 0: their own size.
  Result<const graph::Graph*> graph_for(int64_t rows, bool training, int64_t res = 0);
  Result<exec::Program*> program(int64_t rows, bool training, int64_t res = 0);
  // The resolution epoch `epoch` trains at: {} (the data's own) unless progressive.
  data::Resolution train_resolution(int64_t epoch) const;
  Status init_params();
  Status load_init(const graph::Graph& g);  // [init] from: trained weights over the fresh ones
  Status check_labels(const data::Batch& b) const;
  Status upload(exec::Program& prog, const data::Batch& b);
  Result<std::pair<double, double>> evaluate();  // (loss, accuracy or -1)

  // step.cpp: the gradient ops and the optimizer.
  void prepare_grad_ops();
  void prepare_optimizer_args();
  int64_t rows_of(int64_t batch) const;  // rows of batch `batch` of an epoch
  // The trainer's own ops (zeroing, norms, checks) through the executor.
  bool can_launch(const plinth_op& op) const { return executor->can_run(op); }
  Status launch(const plinth_op& op, const char* what) { return executor->launch(op, what); }
  Status optimizer_step(int64_t step, double lr);
  // Data parallel: every buffer (batch-norm running statistics, which each
  // rank updates from its own rows) replaced by its mean over the ranks, so
  // the ranks agree on every persistent tensor after each optimizer step.
  Status average_buffers();
  std::vector<double> buffer_host;  // average_buffers' staging (every buffer, in declaration order)
};

}  // namespace plinth::train
