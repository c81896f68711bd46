// trainer.cpp — the training loop: prepare (validate everything, build and
// compile the graph, initialise parameters) then run (optimizer steps of
// grad_accum micro-batches, gradient clipping and the non-finite check, the
// optimizer through its plugin, evaluation, early stopping, checkpoints and
// exact resume, metrics.jsonl, summary.json and the final weights), data
// parallel when a launcher started several processes (rank 0 writes).
// Not here: the checkpoint files themselves (train/checkpoint.cpp), the
// communicator and gradient buckets (train/data_parallel.cpp).
#include "train/trainer.hpp"

#include <unistd.h>

#include <atomic>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "config/did_you_mean.hpp"
#include "data/loader.hpp"
#include "exec/program.hpp"
#include "graph/build.hpp"
#include "graph/precision.hpp"
#include "plinth/log.hpp"
#include "plinth/optimizer.h"
#include "plugin/host.hpp"
#include "plugin/plugin_config.hpp"
#include "train/checkpoint.hpp"
#include "train/data_parallel.hpp"
#include "train/energy.hpp"
#include "train/finetune.hpp"
#include "train/run_lock.hpp"
#include "train/safetensors.hpp"
#include "train/schedule.hpp"
#include "util/files.hpp"
#include "util/rng.hpp"

namespace plinth::train {
namespace {

// The optimizer's scratch tensor `s`, one for all parameters (see prepare()).
std::string scratch_slot(int32_t s) { return "optimizer.scratch" + std::to_string(s); }

std::atomic<bool> g_stop{false};
std::atomic<int> g_stop_signal{0};

using clock = std::chrono::steady_clock;
double seconds_since(clock::time_point t) { return std::chrono::duration<double>(clock::now() - t).count(); }

// A plugin table's keys against the component's declared config_keys.
Status check_keys(const config::Pipeline& p, const toml::table& t, std::string_view section,
                  const plinth_component* comp, std::span<const std::string_view> core_keys) {
  if (!comp->config_keys) return {};  // the component does not declare its keys
  std::vector<std::string> declared;
  for (const char* const* k = comp->config_keys; *k; ++k) declared.emplace_back(*k);
  return config::check_plugin_keys(t, section, declared, core_keys, p.source);
}

// The optimizer's view of the backend: ops the backend lacks go through the
// CPU fallback when the pipeline allows it.
struct OptimOps {
  exec::Backend* backend;
  exec::Fallback* fallback;  // null: no fallback (or the backend is the CPU)
  static int32_t supports(void* ctx, const plinth_op* op) {
    auto* o = static_cast<OptimOps*>(ctx);
    return o->backend->supports(*op) || (o->fallback && o->fallback->can_run(*op)) ? 1 : 0;
  }
  static plinth_status launch(void* ctx, const plinth_op* op) {
    auto* o = static_cast<OptimOps*>(ctx);
    if (!o->fallback || o->backend->supports(*op)) return o->backend->launch_raw(*op);
    o->fallback->note(*op, "optimizer");
    if (Status s = o->fallback->run(*op, "optimizer"); !s.ok()) {
      set_plugin_error(s.message());  // read back by plugin_status() when the optimizer fails
      return to_abi(s.code());
    }
    return PLINTH_OK;
  }
};

// "<file>:<line>:<col>: <dotted>" where `key` of table `t` is written (its
// section header when the key is absent), or "<file>: <dotted>" when the
// pipeline does not have the table at all (a default).
std::string key_at(const config::Pipeline& p, const toml::node* t, std::string_view key,
                   std::string_view dotted) {
  std::string at = p.source.string();
  const toml::table* tt = t ? t->as_table() : nullptr;
  if (tt) {
    const toml::node* n = tt->get(key);
    const auto& b = (n ? n->source() : tt->source()).begin;
    if (b.line > 0) {
      std::ostringstream o;
      o << ':' << b.line << ':' << b.column;
      at.append(o.str());
    }
  }
  at.append(": ");
  at.append(dotted);
  return at;
}

}  // namespace

void request_stop(int signal) {
  if (signal) g_stop_signal.store(signal);
  g_stop.store(true);
}

class Trainer {
 public:
  config::Pipeline p;
  TrainOptions opt;
  std::shared_ptr<Registry> registry;
  std::vector<PluginConfigPtr> configs;  // keep plugin config views alive
  toml::table optimizer_table;
  std::shared_ptr<exec::Backend> backend;
  std::shared_ptr<data::Source> train_src, eval_src;
  int in_field = 0, tgt_field = 1;
  graph::DataShape shape;
  int64_t num_outputs = 0;  // the model's output width (classes, vocabulary)
  std::unique_ptr<exec::Store> store;
  std::map<int64_t, std::unique_ptr<exec::Program>> train_progs, eval_progs;
  const plinth_optimizer_v1* opt_table = nullptr;
  plinth_optimizer* optimizer = nullptr;
  std::shared_ptr<void> opt_keep;
  std::vector<graph::Parameter> params;
  std::vector<std::string> param_names;
  int32_t state_slots = 0, scratch_slots = 0;
  std::vector<std::string> slot_names;
  std::unique_ptr<data::Loader> train_loader, eval_loader;
  // Data parallel (null: one process). Each rank reads its shard of global
  // batches of batch_size * world rows; rank 0 writes the run folder.
  std::unique_ptr<DataParallel> dp;
  int64_t global_batch = 0;  // batch_size * world
  bool writer() const { return !dp || dp->rank() == 0; }
  int64_t total_steps = 0;
  int64_t steps_per_epoch = 0;  // optimizer steps: ceil(batches / grad_accum)
  std::unique_ptr<Schedule> schedule;
  // [train] precision: the dtype MATMUL inputs are cast to (F32: no casts).
  plinth_dtype matmul_dtype = PLINTH_DTYPE_F32;

  // Whole-buffer ops on the gradients (one contiguous f32 buffer, viewed as
  // one tensor; alignment padding stays zero): zero (grad_accum), squared
  // norm (clipping, grad_norm), finiteness, scale (clipping). Made once.
  plinth_tensor grads_all{}, sqnorm_t{}, finite_t{};
  plinth_fill_params zero_params{sizeof(plinth_fill_params), 0.0};
  plinth_unary_params scale_params{sizeof(plinth_unary_params), PLINTH_UNARY_IDENTITY, 1.f, 0.f};
  plinth_op zero_op{}, sqnorm_op{}, finite_op{}, scale_op{};
  bool log_grad_norm = false;  // the backend has SQUARED_NORM
  void prepare_grad_ops();
  int64_t rows_of(int64_t batch) const;  // rows of batch `batch` of an epoch

  ~Trainer() {
    dp.reset();  // the gradient thread first: it reads the store
    train_progs.clear();
    eval_progs.clear();
    if (optimizer) opt_table->destroy(optimizer);
  }

  Result<exec::Program*> program(int64_t rows, bool training);
  std::vector<plinth_optim_param> opt_args;           // one per parameter
  std::vector<plinth_tensor> opt_state, opt_scratch;  // their state and scratch views

  // The trainer's own ops (zeroing, norms, checks) on the backend, or on the
  // CPU fallback when the backend lacks them.
  bool can_launch(const plinth_op& op) const {
    return backend->supports(op) || (store->fallback() && store->fallback()->can_run(op));
  }
  Status launch(const plinth_op& op, const char* what) {
    if (backend->supports(op)) return plugin_status(backend->launch_raw(op), what);
    store->fallback()->note(op, what);
    return store->fallback()->run(op, what);
  }

  Status init_params();
  Status load_init(const graph::Graph& g);  // [init] from: trained weights over the fresh ones
  void prepare_optimizer_args();
  Status optimizer_step(int64_t step, double lr);
  Result<std::pair<double, double>> evaluate();  // (loss, accuracy or -1)
  Status check_labels(const data::Batch& b) const;
  Status upload(exec::Program& prog, const data::Batch& b);
};

void TrainerDeleter::operator()(Trainer* t) const { delete t; }

Result<std::pair<double, double>> evaluate(Trainer& t) {
  if (!t.eval_loader)
    return error(errc::config, t.p.source.string() + ": no [data.eval] section: nothing to evaluate on");
  return t.evaluate();
}

Result<exec::Program*> Trainer::program(int64_t rows, bool training) {
  auto& progs = training ? train_progs : eval_progs;
  if (auto it = progs.find(rows); it != progs.end()) return it->second.get();
  auto g = graph::build(p, shape, {rows, training, training && p.train.grad_accum > 1});
  if (!g) return g.status();
  if (auto pass = graph::cast_matmul_inputs(*g, matmul_dtype); !pass) return pass.status();
  auto prog = exec::Program::compile(*g, *store);
  if (!prog) return prog.status();
  exec::Program* raw = prog->get();
  progs[rows] = std::move(*prog);
  return raw;
}

Status Trainer::init_params() {
  // PyTorch's defaults: nn.Linear weight and bias U(-1/sqrt(in), 1/sqrt(in));
  // LayerNorm weight 1, bias 0. Drawn in declaration order from the run seed.
  SplitMix64 rng(derive_seed(p.run.seed, 0x494e4954ull));
  for (const auto& prm : params) {
    const auto& name = param_names[&prm - params.data()];
    const auto& slot = store->slot(name);
    int64_t n = 1;
    for (int64_t d : slot.shape) n *= d;
    std::vector<float> host(static_cast<size_t>(n));
    for (auto& x : host) {
      if (prm.init.kind == graph::ParamInit::uniform) {
        x = static_cast<float>((2.0 * rng.uniform() - 1.0) * prm.init.a);
      } else if (prm.init.kind == graph::ParamInit::normal) {  // Box-Muller
        const double u1 = 1.0 - rng.uniform(), u2 = rng.uniform();
        x = static_cast<float>(prm.init.a * std::sqrt(-2.0 * std::log(u1)) *
                               std::cos(6.283185307179586 * u2));
      } else {
        x = static_cast<float>(prm.init.a);
      }
    }
    PLINTH_TRY(
        backend->upload(store->buffer(exec::Store::params), slot.offset, host.data(), host.size() * 4));
  }
  return {};
}

Status Trainer::load_init(const graph::Graph& g) {
  std::vector<std::pair<std::string, std::vector<int64_t>>> shapes;
  for (const auto& prm : g.params) shapes.emplace_back(g.values[prm.value].name, g.values[prm.value].shape);
  auto plan = plan_init(p, shapes);
  if (!plan) return plan.status();
  for (const auto& [name, i] : plan->loads) {
    const NamedTensor& nt = plan->source.tensors[i];
    PLINTH_TRY(backend->upload(store->buffer(exec::Store::params), store->slot(name).offset, nt.data.data(),
                               nt.data.size()));
  }
  logger().info(
      "init: {} of {} parameter tensors from {}{}", plan->loads.size(), g.params.size(), plan->source.from,
      plan->fresh.empty()
          ? ""
          : " (freshly initialised: " + plan->fresh.front() + (plan->fresh.size() > 1 ? ", ..." : "") + ")");
  return {};
}

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
  OptimOps ctx{backend.get(), store->fallback()};
  plinth_optim_ops ops{sizeof(plinth_optim_ops), &ctx, &OptimOps::supports, &OptimOps::launch};
  plinth_optim_step_info info{sizeof info, lr, step};
  for (const auto& arg : opt_args)
    if (plinth_status st = opt_table->step(optimizer, &ops, &arg, &info); st != PLINTH_OK)
      return plugin_status(st, "optimizer '" + p.optimizer.name + "' step on " + arg.name);
  return {};
}

Status Trainer::check_labels(const data::Batch& b) const {
  const auto& f = train_src->fields()[tgt_field];
  if (p.loss.type != "cross_entropy" || f.dtype != PLINTH_DTYPE_I32) return {};
  const int64_t classes = num_outputs;
  const auto* lab = reinterpret_cast<const int32_t*>(b.fields[tgt_field].data());
  const int64_t n = b.rows * static_cast<int64_t>(f.sample_bytes / sizeof(int32_t));
  for (int64_t i = 0; i < n; ++i)
    if (lab[i] < 0 || lab[i] >= classes)
      return error(errc::bad_data, "label " + std::to_string(lab[i]) + " in batch " +
                                       std::to_string(b.index) + " is out of range for the model's " +
                                       std::to_string(classes) + " outputs");
  return {};
}

Status Trainer::upload(exec::Program& prog, const data::Batch& b) {
  PLINTH_TRY(
      prog.upload_input(b.fields[in_field].data(), b.rows * train_src->fields()[in_field].sample_bytes));
  return prog.upload_target(b.fields[tgt_field].data(), b.rows * train_src->fields()[tgt_field].sample_bytes);
}

Result<std::pair<double, double>> Trainer::evaluate() {
  if (!eval_loader) return std::pair<double, double>{-1, -1};
  eval_loader->start_epoch(0);
  const float zero = 0.f;
  PLINTH_TRY(
      backend->upload(store->buffer(exec::Store::stats), store->slot("eval.loss.sum").offset, &zero, 4));
  int64_t rows = 0, correct = 0, predictions = 0;
  std::vector<int32_t> pred;
  const bool classify = p.loss.type == "cross_entropy";
  while (const data::Batch* b = eval_loader->next()) {
    PLINTH_TRY(Status(b->status));
    if (b->rows == 0) continue;  // this rank's share of a short last batch
    auto prog = program(b->rows, false);
    if (!prog) return prog.status();
    PLINTH_TRY(upload(**prog, *b));
    PLINTH_TRY((*prog)->run());
    const int64_t positions = (*prog)->graph().positions;
    if (classify) {
      pred.resize(static_cast<size_t>(b->rows * positions));
      PLINTH_TRY((*prog)->download_argmax(pred.data()));
      const auto* lab = reinterpret_cast<const int32_t*>(b->fields[tgt_field].data());
      for (int64_t i = 0; i < b->rows * positions; ++i) correct += pred[i] == lab[i];
    }
    rows += b->rows;
    predictions += b->rows * positions;
  }
  float sum = 0;
  PLINTH_TRY(
      backend->download(&sum, store->buffer(exec::Store::stats), store->slot("eval.loss.sum").offset, 4));
  // Every rank evaluated its shard: the totals are sums over ranks.
  double tot[4] = {sum, static_cast<double>(rows), static_cast<double>(correct),
                   static_cast<double>(predictions)};
  if (dp) PLINTH_TRY(dp->all_reduce(tot, 4, PLINTH_REDUCE_OP_SUM));
  if (tot[1] == 0) return std::pair<double, double>{-1, -1};
  return std::pair<double, double>{tot[0] / tot[1], classify ? tot[2] / tot[3] : -1.0};
}

Result<TrainerPtr> prepare(config::Pipeline pipeline, std::shared_ptr<Registry> registry,
                           const TrainOptions& options) {
  TrainerPtr t(new Trainer());
  t->p = std::move(pipeline);  // moved, not copied: toml++ keeps source positions only on the original
  t->opt = options;
  t->registry = std::move(registry);
  const auto& p = t->p;
  const Registry& reg = *t->registry;
  // Evaluation metrics named by [early_stop] and [checkpoint] must exist.
  auto needs_eval = [&](bool used, const std::string& metric, const char* section,
                        const char* key) -> Status {
    if (!used) return {};
    const std::string at = key_at(p, p.document[section].node(), key, std::string(section) + "." + key);
    if (!p.eval_data) return error(errc::config, at + " needs a [data.eval] section to evaluate on");
    if (metric == "eval.accuracy" && p.loss.type != "cross_entropy")
      return error(errc::config, at + ": eval.accuracy needs loss type cross_entropy");
    return {};
  };
  PLINTH_TRY(needs_eval(p.early_stop.enabled, p.early_stop.metric, "early_stop", "metric"));
  PLINTH_TRY(needs_eval(p.checkpoint.keep_best > 0, p.checkpoint.best_metric, "checkpoint", "keep_best"));

  // Data parallel: join the other ranks first, while every rank is still
  // doing the same thing (creating a communicator is collective).
  auto dp = DataParallel::create(p, reg);
  if (!dp) return dp.status();
  t->dp = std::move(*dp);
  t->global_batch = p.train.batch_size * (t->dp ? t->dp->size() : 1);
  if (t->dp && t->dp->rank() != 0) logger().set_level(spdlog::level::warn);  // rank 0 reports

  // Backend. "auto" becomes the chosen name here, so the run's pipeline.toml,
  // checkpoints and messages name the backend that actually ran.
  if (p.backend.name == "auto") {
    auto chosen = exec::select_backend(reg, p.backend.name, p.backend.device);
    if (!chosen) return Status(chosen.status()).with_context(p.source.string());
    t->p.backend.name = *chosen;
    t->p.backend.table.insert_or_assign("name", *chosen);
  }
  auto bcomp = reg.find(PLINTH_KIND_BACKEND, p.backend.name);
  if (!bcomp) return Status(bcomp.status()).with_context(key_at(p, &p.backend.table, "name", "backend.name"));
  PLINTH_TRY(check_keys(p, p.backend.table, "backend", *bcomp, config::kBackendCoreKeys));
  t->configs.push_back(make_plugin_config(p.backend.table, p.source));
  auto backend = exec::Backend::create(reg, p.backend.name, t->configs.back().get(), p.backend.device);
  if (!backend) return backend.status();
  t->backend = *backend;

  // Mixed precision: matmul inputs in bf16/f16 where the device has the math
  // for it. bf16 without it would only be slower than fp32 (the backend
  // converts back), so it runs fp32; fp16 still runs (rounded to fp16), since
  // it is also how the loss-scaling path is exercised off the GPU.
  auto mm = graph::matmul_dtype(p.train.precision);
  if (!mm) return Status(mm.status()).with_context(p.source.string() + ": [train] precision");
  t->matmul_dtype = *mm;
  const auto& props = t->backend->properties();
  if (*mm == PLINTH_DTYPE_BF16 && !props.has_bf16) {
    logger().warn("train.precision = \"bf16\": backend '{}' ({}) has no native bf16 math; training in fp32",
                  p.backend.name, props.name);
    t->matmul_dtype = PLINTH_DTYPE_F32;
  } else if (*mm == PLINTH_DTYPE_BF16) {
    logger().info("train.precision = \"bf16\": matmul inputs in bf16, f32 accumulation, f32 master weights");
  } else if (*mm == PLINTH_DTYPE_F16) {
    logger().info(
        "train.precision = \"fp16\": matmul inputs in fp16, f32 accumulation{}",
        props.has_fp16 ? "" : " (no native fp16 math on this device: converted back to f32 per matmul)");
  }

  // Data.
  auto open_source = [&](const config::DataSection& d,
                         const char* what) -> Result<std::shared_ptr<data::Source>> {
    auto comp = reg.find(PLINTH_KIND_DATA, d.source);
    if (!comp)
      return Status(comp.status()).with_context(key_at(p, &d.table, "source", std::string(what) + ".source"));
    PLINTH_TRY(check_keys(p, d.table, what, *comp, {}));
    t->configs.push_back(make_plugin_config(d.table, p.source));
    return data::Source::open(reg, d.source, t->configs.back().get(), p.source.string() + ": [" + what + "]");
  };
  auto tr = open_source(p.train_data, "data.train");
  if (!tr) return tr.status();
  t->train_src = *tr;
  if (p.replay_data) {
    auto rp = open_source(*p.replay_data, "data.replay");
    if (!rp) return rp.status();
    // replay / (new + replay) = fraction.
    const double f = p.replay_fraction;
    const auto n_new = static_cast<double>(t->train_src->size());
    const auto count = static_cast<uint64_t>(std::llround(n_new * f / (1.0 - f)));
    auto mixed = data::Source::mix(t->train_src, *rp, count, p.source.string() + ": [data.replay]");
    if (!mixed) return mixed.status();
    logger().info("data: {} new samples and {} replayed from [data.replay] ({} available; fraction {})",
                  t->train_src->size(), count, (*rp)->size(), f);
    t->train_src = *mixed;
  }
  const auto& fields = t->train_src->fields();
  auto field_of = [&](const std::string& name, int dflt, const char* key) -> Result<int> {
    if (name.empty()) {
      if (dflt >= static_cast<int>(fields.size()))
        return error(errc::config, p.source.string() + ": [data.train] has " + std::to_string(fields.size()) +
                                       " field(s); set " + key);
      return dflt;
    }
    int i = t->train_src->field_index(name);
    if (i < 0) {
      std::string names;
      for (const auto& f : fields) names += (names.empty() ? "" : ", ") + f.name;
      return error(errc::config, key_at(p, &p.train_data.table, key, std::string("data.train.") + key) +
                                     ": no field '" + name + "' (the source has: " + names + ")");
    }
    return i;
  };
  auto inf = field_of(p.train_data.input_field, 0, "input_field");
  if (!inf) return inf.status();
  auto tgf = field_of(p.train_data.target_field, 1, "target_field");
  if (!tgf) return tgf.status();
  t->in_field = *inf;
  t->tgt_field = *tgf;
  t->shape = {fields[t->in_field].dtype, fields[t->in_field].shape, fields[t->tgt_field].dtype,
              fields[t->tgt_field].shape, fields[t->tgt_field].num_classes};
  if (p.eval_data) {
    auto ev = open_source(*p.eval_data, "data.eval");
    if (!ev) return ev.status();
    t->eval_src = *ev;
    const auto& ef = t->eval_src->fields();
    if (ef.size() != fields.size())
      return error(errc::config, key_at(p, &p.eval_data->table, "", "data.eval") +
                                     ": a different schema from [data.train]");
    for (size_t i = 0; i < ef.size(); ++i)
      if (ef[i].dtype != fields[i].dtype || ef[i].shape != fields[i].shape)
        return error(errc::config, key_at(p, &p.eval_data->table, "", "data.eval") + ": field '" +
                                       ef[i].name + "' differs in type or shape from [data.train]");
  }
  if (t->train_src->size() == 0) return error(errc::bad_data, "[data.train] has no samples");

  // Graph for the full batch: validates the model against the data.
  const int64_t B = p.train.batch_size;
  auto g = graph::build(p, t->shape, {B, true});
  if (!g) return g.status();

  // Optimizer.
  auto ocomp = reg.find(PLINTH_KIND_OPTIMIZER, p.optimizer.name);
  if (!ocomp)
    return Status(ocomp.status()).with_context(key_at(p, &p.optimizer.table, "name", "optimizer.name"));
  PLINTH_TRY(check_keys(p, p.optimizer.table, "optimizer", *ocomp, config::kOptimizerCoreKeys));
  t->opt_table = static_cast<const plinth_optimizer_v1*>((*ocomp)->table);
  t->opt_keep = reg.keep_alive(*ocomp);
  t->configs.push_back(make_plugin_config(p.optimizer.table, p.source));
  if (plinth_status st = t->opt_table->create(reg.host(), t->configs.back().get(), &t->optimizer);
      st != PLINTH_OK)
    return plugin_status(st, p.source.string() + ": [optimizer] '" + p.optimizer.name + "'");
  t->state_slots = t->opt_table->num_state_slots(t->optimizer);
  t->scratch_slots = t->opt_table->num_scratch_slots(t->optimizer);
  for (int32_t s = 0; s < t->state_slots; ++s)
    t->slot_names.emplace_back(t->opt_table->state_slot_name(t->optimizer, s));

  // Persistent storage: parameters, gradients, optimizer state, stats.
  t->store = std::make_unique<exec::Store>(t->backend);
  exec::Store& st = *t->store;
  // Ops the backend lacks run on the CPU backend, unless the pipeline forbids it.
  if (p.backend.allow_fallback && p.backend.name != "cpu" && !reg.names(PLINTH_KIND_BACKEND).empty()) {
    if (auto cpu = exec::Backend::create(reg, "cpu", nullptr, 0); cpu.ok())
      st.set_fallback(std::make_shared<exec::Fallback>(t->backend, *cpu));
    else
      logger().warn("no CPU fallback for backend '{}': {}", p.backend.name, cpu.status().message());
  }
  t->params = g->params;
  int64_t max_trained_numel = 0;
  for (const auto& prm : g->params) {
    const auto& v = g->values[prm.value];
    t->param_names.push_back(v.name);
    PLINTH_TRY(st.declare(v.name, exec::Store::params, PLINTH_DTYPE_F32, v.shape));
    if (!prm.trainable) continue;  // frozen: no gradient, no optimizer state
    PLINTH_TRY(st.declare(v.name + ".grad", exec::Store::grads, PLINTH_DTYPE_F32, v.shape));
    for (const auto& s : t->slot_names)
      PLINTH_TRY(st.declare(v.name + "." + s, exec::Store::state, PLINTH_DTYPE_F32, v.shape));
    int64_t numel = 1;
    for (int64_t d : v.shape) numel *= d;
    max_trained_numel = std::max(max_trained_numel, numel);
  }
  // Scratch is only used inside one parameter's step() and steps run one
  // parameter after another in stream order, so every parameter's scratch is
  // a view of the same tensors, sized for the largest: not a copy per parameter.
  for (int32_t s = 0; max_trained_numel > 0 && s < t->scratch_slots; ++s)
    PLINTH_TRY(st.declare(scratch_slot(s), exec::Store::state, PLINTH_DTYPE_F32, {max_trained_numel}));
  PLINTH_TRY(st.declare("loss.sum", exec::Store::stats, PLINTH_DTYPE_F32, {}));
  PLINTH_TRY(st.declare("eval.loss.sum", exec::Store::stats, PLINTH_DTYPE_F32, {}));
  PLINTH_TRY(st.declare("grad.sqnorm", exec::Store::stats, PLINTH_DTYPE_F32, {}));
  PLINTH_TRY(st.declare("grad.finite", exec::Store::stats, PLINTH_DTYPE_F32, {}));
  PLINTH_TRY(st.allocate());
  PLINTH_TRY(t->init_params());
  if (!p.init.from.empty()) PLINTH_TRY(t->load_init(*g));
  {
    int64_t trained = 0, total = 0;
    for (const auto& prm : g->params) {
      total += g->values[prm.value].numel();
      if (prm.trainable) trained += g->values[prm.value].numel();
    }
    if (trained < total)
      logger().info("training {} of {} weights ({:.2f}%); the rest are frozen{}", trained, total,
                    100.0 * static_cast<double>(trained) / static_cast<double>(total),
                    p.model.lora.enabled ? " ([model.lora]: only the adapters train)" : "");
  }
  if (t->dp) {  // rank 0's parameters everywhere, and proof they arrived
    PLINTH_TRY(
        t->dp->broadcast(*t->backend, st.buffer(exec::Store::params), st.group_bytes(exec::Store::params)));
    PLINTH_TRY(t->dp->check_identical(*t->backend, st.buffer(exec::Store::params),
                                      st.group_bytes(exec::Store::params), "the initial parameters"));
  }
  t->prepare_optimizer_args();
  t->prepare_grad_ops();
  auto need_op = [&](bool used, const plinth_op& op, const char* what) -> Status {
    if (!used || t->can_launch(op)) return {};
    return error(errc::unsupported, p.source.string() + ": backend '" + p.backend.name +
                                        "' does not support op " + exec::op_name(op.kind) + " (needed by " +
                                        what + ")" +
                                        (p.backend.allow_fallback ? std::string()
                                                                  : " and CPU fallback is off ([backend] "
                                                                    "allow_fallback = false)"));
  };
  PLINTH_TRY(need_op(p.train.grad_accum > 1, t->zero_op, "train.grad_accum"));
  PLINTH_TRY(need_op(p.train.clip_grad_norm > 0, t->sqnorm_op, "train.clip_grad_norm"));
  t->log_grad_norm = t->can_launch(t->sqnorm_op);
  PLINTH_TRY(need_op(p.train.clip_grad_norm > 0, t->scale_op, "train.clip_grad_norm"));
  PLINTH_TRY(need_op(p.train.loss_scaling, t->scale_op, "train.loss_scaling"));
  PLINTH_TRY(need_op(p.train.clip_grad_norm == 0, t->finite_op, "train.on_nonfinite"));
  if (auto prog = t->program(B, true); !prog) {
    return prog.status();
  } else {
    const auto& g = (*prog)->graph();
    t->num_outputs = g.values[g.prediction].shape.back();
    if (t->dp) {
      std::vector<std::pair<uint64_t, uint64_t>> ranges;
      std::vector<std::vector<int64_t>> shapes;
      for (const auto& name : t->param_names) {
        const auto& gs = st.slot(name + ".grad");
        ranges.emplace_back(gs.offset, gs.bytes);
        shapes.push_back(gs.dtype == PLINTH_DTYPE_F32 ? gs.shape : std::vector<int64_t>{});
      }
      PLINTH_TRY(t->dp->set_gradients(*t->backend, st.buffer(exec::Store::grads),
                                      st.group_bytes(exec::Store::grads), ranges, **prog, shapes));
    }
  }

  // Loaders and schedule.
  auto loader_opts = [&](const config::DataSection& d, uint64_t stream) {
    data::LoaderOptions o;
    o.batch = B;
    o.shuffle = d.shuffle;
    o.drop_last = d.drop_last;
    o.workers = d.workers;
    o.prefetch = d.prefetch;
    o.seed = derive_seed(p.run.seed, stream);
    if (t->dp) {
      o.shard_rank = t->dp->rank();
      o.shard_count = t->dp->size();
    }
    return o;
  };
  t->train_loader = std::make_unique<data::Loader>(t->train_src, loader_opts(p.train_data, 0x54524149ull));
  if (t->eval_src)
    t->eval_loader = std::make_unique<data::Loader>(t->eval_src, loader_opts(*p.eval_data, 0x4556414cull));
  const int64_t per_epoch = t->train_loader->batches_per_epoch();
  if (per_epoch == 0)
    return error(errc::config,
                 p.source.string() + ": [train] batch_size " + std::to_string(B) +
                     (t->dp ? " times " + std::to_string(t->dp->size()) + " ranks" : std::string()) +
                     " with drop_last leaves no batch of the " + std::to_string(t->train_src->size()) +
                     " samples");
  t->steps_per_epoch = (per_epoch + p.train.grad_accum - 1) / p.train.grad_accum;
  t->total_steps = p.train.max_steps > 0 ? p.train.max_steps : p.train.epochs * t->steps_per_epoch;
  auto sched = Schedule::create(p.schedule, t->opt_table->base_lr(t->optimizer), t->total_steps);
  if (!sched) return Status(sched.status()).with_context(p.source.string() + ": [schedule]");
  t->schedule = std::make_unique<Schedule>(std::move(*sched));
  return t;
}

namespace {

// Everything the loop carries from step to step that a checkpoint must
// restore for the rest of the run to be what it would have been.
struct LoopState {
  int64_t step = 0;                 // optimizer steps done
  int64_t epoch = 0, position = 0;  // the next batch: `position` of `epoch`
  int64_t samples_since_log = 0;
  float loss_sum = 0;    // the device's running loss sum since the last log
  double es_best = NAN;  // early stopping: best metric so far
  int64_t es_bad = 0;    //   evaluations since it improved
  double metric = NAN;   // latest value of [checkpoint] best_metric
  double time_to_target = -1, eval_loss = -1, eval_accuracy = -1;
  int64_t skipped = 0, nonfinite_run = 0;  // skipped steps: all, and in a row
  double loss_scale = 1.0;                 // dynamic loss scaling: S (1 when off)
  int64_t scale_clean = 0;                 //   clean steps in a row since S last changed
  int64_t last_eval_step = -1;
  double seconds = 0;    // training time of earlier processes (resume)
  bool stopped = false;  // early stopping or stop_at_target ended the run
  bool early_stopped = false;
};

// JSON has no NaN: null stands for it.
nlohmann::ordered_json num_or_null(double v) {
  return std::isfinite(v) ? nlohmann::ordered_json(v) : nlohmann::ordered_json();
}
double num_of(const nlohmann::ordered_json& j, const char* key, double dflt) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : dflt;
}
int64_t int_of(const nlohmann::ordered_json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

bool bool_of(const nlohmann::ordered_json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_boolean() && it->get<bool>();
}

// Wall-clock seconds per phase (steady_clock), cumulative over the run's
// processes (restored on resume). `comm`: gradient all-reduce, 0 until
// data-parallel training exists.
struct Phases {
  double data = 0, compute = 0, optimizer = 0, comm = 0, checkpoint = 0, eval = 0;
  double sum() const { return data + compute + optimizer + comm + checkpoint + eval; }
  // As an object (summary.json, checkpoint state) or as flat "<name>_s" keys (metrics.jsonl).
  void put(nlohmann::ordered_json& j, bool flat) const {
    const std::pair<const char*, double> v[] = {{"data_wait", data},        {"forward_backward", compute},
                                                {"optimizer", optimizer},   {"communication", comm},
                                                {"checkpoint", checkpoint}, {"evaluation", eval}};
    for (const auto& [k, x] : v) j[flat ? std::string(k) + "_s" : std::string(k)] = x;
  }
  void load(const nlohmann::ordered_json& j) {
    if (!j.is_object()) return;
    auto get = [&](const char* k) { return j.contains(k) && j[k].is_number() ? j[k].get<double>() : 0.0; };
    data = get("data_wait"), compute = get("forward_backward"), optimizer = get("optimizer");
    comm = get("communication"), checkpoint = get("checkpoint"), eval = get("evaluation");
  }
};

// Keep the lines of metrics.jsonl up to `step` (resume rewrites what follows).
Status truncate_metrics(const std::filesystem::path& path, int64_t step) {
  std::ifstream in(path);
  if (!in) return {};
  std::string line, kept;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("step") || !j["step"].is_number_integer()) continue;
    if (j["step"].get<int64_t>() > step) break;
    kept += line + "\n";
  }
  return write_file_atomic(path, kept);
}

// PowerSGD's state from a checkpoint (see DataParallel::PowerSgdState). One
// written without it (compression was off, or an older version) starts
// PowerSGD afresh with its warm-up, as a new run would.
Status restore_powersgd(Trainer& t, const Checkpoint& c) {
  auto want = t.dp->powersgd_state(false);
  if (!want) return want.status();
  const auto steps = c.state.find("powersgd_steps");
  if (want->empty()) return {};
  if (steps == c.state.end() || !steps->is_number_integer()) {
    logger().warn("{}: no PowerSGD state in this checkpoint: PowerSGD starts afresh (with its warm-up)",
                  c.dir.string());
    return {};
  }
  auto find = [&](const std::string& name, const std::vector<int64_t>& shape,
                  std::vector<float>& into) -> Status {
    for (const auto& nt : c.optimizer)
      if (nt.name == name) {
        if (nt.shape != shape || nt.dtype != PLINTH_DTYPE_F32)
          return error(errc::bad_data, c.dir.string() + ": tensor '" + name +
                                           "' has another shape than this run's PowerSGD state (was "
                                           "[distributed] powersgd_rank changed?)");
        into.resize(nt.data.size() / 4);
        std::memcpy(into.data(), nt.data.data(), into.size() * 4);
        return {};
      }
    return error(errc::bad_data, c.dir.string() + ": no tensor '" + name + "' (PowerSGD state)");
  };
  for (auto& s : *want) {
    PLINTH_TRY(find(t.param_names[s.param] + ".powersgd_q", s.q_shape, s.q));
    PLINTH_TRY(find(t.param_names[s.param] + ".powersgd_error", s.e_shape, s.e));
  }
  return t.dp->restore_powersgd(*want, steps->get<int64_t>());
}

}  // namespace

Result<TrainOutcome> run(Trainer& t) {
  const auto& p = t.p;
  TrainOutcome out;
  // The run folder: runs/<name>, or runs/<name>-2 ... when taken (reused when resuming).
  std::filesystem::path dir = p.run.out_dir / p.run.name;
  int suffix = 0;  // runs/<name>-<suffix>; 0: no suffix
  if (!t.opt.resume)
    for (int i = 2; std::filesystem::exists(dir); ++i) {
      suffix = i;
      dir = p.run.out_dir / (p.run.name + "-" + std::to_string(i));
    }
  // Data parallel: rank 0 writes the run folder; the others only read its
  // checkpoints when resuming. Rank 0's choice of folder is the run's: the
  // others looked while rank 0 may already have created it.
  const bool rank0 = t.writer();
  if (t.dp && !t.opt.resume) {
    double chosen = rank0 ? suffix : -1;
    PLINTH_TRY(t.dp->all_reduce(&chosen, 1, PLINTH_REDUCE_OP_MAX));
    suffix = static_cast<int>(chosen);
    dir = p.run.out_dir / (suffix == 0 ? p.run.name : p.run.name + "-" + std::to_string(suffix));
  }
  out.rank = t.dp ? t.dp->rank() : 0;
  std::error_code ec;
  if (rank0) std::filesystem::create_directories(dir, ec);
  if (ec) return error(errc::io, dir.string() + ": cannot create the run folder: " + ec.message());
  out.run_dir = dir;
  std::optional<RunLock> run_lock;  // `plinth runs` reports the run as running while this is held
  if (rank0) run_lock.emplace(dir);
  const auto ckpt_dir = dir / "checkpoints";
  const std::string resolved = config::resolved_toml(p);
  std::optional<Checkpoint> resume_from;
  if (t.opt.resume) {
    // The newest checkpoint must verify: falling back to an older one would
    // silently drop the steps after it, so a damaged one is refused and the
    // operator decides (moving it aside resumes from the one before).
    const auto all = list_checkpoints(ckpt_dir);
    if (!all.empty()) {
      auto c = read_checkpoint(all.back().second);
      if (!c) {
        const std::string older = all.size() > 1
                                      ? "the one before it, " + all[all.size() - 2].second.filename().string()
                                      : "the beginning";
        return error(errc::bad_data,
                     "cannot resume: the newest checkpoint is damaged: " + c.status().message() + " (move " +
                         all.back().second.string() + " aside to resume from " + older + ")");
      }
      resume_from = std::move(*c);
    }
    if (resume_from) {
      // The thread count may differ (e.g. `plinth train --threads`): it sets
      // the speed, not the model or the data order. Everything else must match.
      std::string same_threads = resolved;
      const auto th = resume_from->state.find("threads");
      if (th != resume_from->state.end() && th->is_number_integer() && th->get<int>() != p.backend.threads) {
        config::Pipeline q = p;
        config::set_backend_threads(q, th->get<int>());
        same_threads = config::resolved_toml(q);
      }
      const auto it = resume_from->state.find("pipeline");
      if (it == resume_from->state.end() || !it->is_string() ||
          (it->get<std::string>() != resolved && it->get<std::string>() != same_threads))
        return error(errc::config, p.source.string() + ": cannot resume from " + resume_from->dir.string() +
                                       ": it was written by a different pipeline (compare its state.json "
                                       "'pipeline' with `plinth resolve`)");
    }
    // Every tensor the run restores must be there with its shape, checked
    // before anything is written into the run folder.
    if (resume_from) {
      auto check = [&](const std::vector<NamedTensor>& ts, const char* file,
                       const std::string& name) -> Status {
        const auto& slot = t.store->slot(name);
        for (const auto& nt : ts)
          if (nt.name == name) {
            if (nt.shape == slot.shape && nt.data.size() == slot.bytes) return {};
            return error(errc::bad_data, (resume_from->dir / file).string() + ": tensor '" + name +
                                             "' has another shape than the model's");
          }
        std::string held;
        for (const auto& nt : ts) held += (held.empty() ? "" : ", ") + nt.name;
        return error(errc::bad_data, (resume_from->dir / file).string() + ": no tensor '" + name +
                                         "' (it holds: " + (held.empty() ? "none" : held) + ")");
      };
      for (size_t i = 0; i < t.param_names.size(); ++i) {
        const std::string& name = t.param_names[i];
        PLINTH_TRY(check(resume_from->model, "model.safetensors", name));
        if (!t.params[i].trainable) continue;
        for (const auto& sl : t.slot_names)
          PLINTH_TRY(check(resume_from->optimizer, "optimizer.safetensors", name + "." + sl));
      }
    }
  }
  if (rank0) PLINTH_TRY(write_file_atomic(dir / "pipeline.toml", resolved));
  nlohmann::ordered_json plugins = nlohmann::ordered_json::array();
  for (const auto& info : t.registry->plugins()) {
    if (info.state != PluginState::loaded) continue;
    plugins.push_back({{"name", info.entry.name},
                       {"kind", info.entry.kind},
                       {"version", info.version},
                       {"abi", std::to_string(info.abi_major) + "." + std::to_string(info.abi_minor)},
                       {"path", info.entry.path.string()},
                       {"sha256", info.sha256}});
  }
  if (rank0) PLINTH_TRY(write_file_atomic(dir / "plugins.json", plugins.dump(2) + "\n"));
  // What the model reads and predicts, so `plinth sample` can rebuild it without the data.
  const nlohmann::ordered_json model_io = {
      {"input", {{"dtype", exec::dtype_name(t.shape.input_dtype)}, {"shape", t.shape.input_shape}}},
      {"target", {{"dtype", exec::dtype_name(t.shape.target_dtype)}, {"shape", t.shape.target_shape}}},
      {"num_classes", t.shape.num_classes},
      {"outputs", t.num_outputs}};
  if (rank0) PLINTH_TRY(write_file_atomic(dir / "model.json", model_io.dump(2) + "\n"));
  // The token vocabulary, when the train source has one (e.g. `text`), to decode samples later.
  auto vocab = t.train_src->metadata("vocab");
  if (!vocab) return vocab.status();
  if (*vocab && rank0) PLINTH_TRY(write_file_atomic(dir / "vocab.json", **vocab + "\n"));
  const auto metrics = dir / "metrics.jsonl";
  if (t.opt.resume && rank0) PLINTH_TRY(truncate_metrics(metrics, resume_from ? resume_from->step : 0));
  // The run's log: everything the core and plugins log while it trains.
  struct SinkGuard {
    spdlog::sink_ptr sink;
    ~SinkGuard() {
      if (sink) remove_log_sink(sink);
    }
  } sink_guard;
  if (rank0) {
    auto log_sink = add_log_file(dir / "log.txt");
    if (!log_sink) return log_sink.status();
    sink_guard.sink = *log_sink;
  }
  logger().info("run {}: {} steps of batch {} x {} on backend '{}' ({})", dir.string(), t.total_steps,
                p.train.batch_size, p.train.grad_accum, t.backend->name(), t.backend->properties().name);
  if (t.dp)
    logger().info("data parallel: {} ranks, global batch {} x {}; {}", t.dp->size(), t.global_batch,
                  p.train.grad_accum, t.dp->traffic_note());

  const float zero = 0.f;
  const uint64_t loss_off = t.store->slot("loss.sum").offset;
  const auto& stats = t.store->buffer(exec::Store::stats);
  exec::Store& store = *t.store;
  LoopState ls;
  const bool scaling = p.train.loss_scaling;
  if (scaling) ls.loss_scale = p.train.loss_scale_init;

  // Restore a checkpoint: weights, optimizer state, the loss accumulator,
  // the schedule and the loop's counters.
  if (resume_from) {
    const Checkpoint& c = *resume_from;
    auto restore = [&](const std::vector<NamedTensor>& ts, exec::Store::Group group,
                       const std::string& name) -> Status {
      for (const auto& nt : ts)
        if (nt.name == name) {
          const auto& slot = store.slot(name);
          if (nt.data.size() != slot.bytes || nt.shape != slot.shape)
            return error(errc::bad_data, c.dir.string() + ": tensor '" + name + "' has a different shape");
          return t.backend->upload(store.buffer(group), slot.offset, nt.data.data(), slot.bytes);
        }
      return error(errc::bad_data, c.dir.string() + ": no tensor '" + name + "'");
    };
    for (size_t i = 0; i < t.param_names.size(); ++i) {
      const std::string& name = t.param_names[i];
      PLINTH_TRY(restore(c.model, exec::Store::params, name));
      if (!t.params[i].trainable) continue;
      for (const auto& sl : t.slot_names)
        PLINTH_TRY(restore(c.optimizer, exec::Store::state, name + "." + sl));
    }
    const auto& j = c.state;
    if (t.dp && t.dp->powersgd()) PLINTH_TRY(restore_powersgd(t, c));
    ls.step = c.step;
    ls.epoch = int_of(j, "epoch");
    ls.position = int_of(j, "position");
    // Another world size: the epoch's position is kept in samples (global
    // batches change size), rounded down to a whole batch of the new size.
    if (const int64_t was = int_of(j, "global_batch"); was > 0 && was != t.global_batch) {
      const int64_t samples = ls.position * was;
      ls.position = samples / t.global_batch;
      logger().warn("resuming with a global batch of {} rows (was {}): batch {} of epoch {}{}",
                    t.global_batch, was, ls.position, ls.epoch,
                    samples % t.global_batch ? " (the " + std::to_string(samples % t.global_batch) +
                                                   " samples before it are read again)"
                                             : std::string());
    }
    ls.samples_since_log = int_of(j, "samples_since_log");
    ls.loss_sum = static_cast<float>(num_of(j, "loss_sum", 0));
    if (t.dp && t.dp->rank() != 0) {  // rank 0's counts are the whole run's (all-reduced at each log)
      ls.samples_since_log = 0;
      ls.loss_sum = 0;
    }
    ls.es_best = num_of(j, "early_stop_best", NAN);
    ls.es_bad = int_of(j, "early_stop_bad");
    ls.metric = num_of(j, "metric", NAN);
    ls.time_to_target = num_of(j, "time_to_target_s", -1);
    ls.eval_loss = num_of(j, "eval_loss", -1);
    ls.eval_accuracy = num_of(j, "eval_accuracy", -1);
    ls.skipped = int_of(j, "skipped_steps");
    ls.nonfinite_run = int_of(j, "nonfinite_in_a_row");
    if (scaling) {
      ls.loss_scale = num_of(j, "loss_scale", ls.loss_scale);
      ls.scale_clean = int_of(j, "loss_scale_clean_steps");
    }
    ls.last_eval_step = j.contains("last_eval_step") ? int_of(j, "last_eval_step") : -1;
    ls.seconds = num_of(j, "train_seconds", 0);
    ls.stopped = bool_of(j, "stopped");
    ls.early_stopped = bool_of(j, "early_stopped");
    auto sched = j.find("schedule");
    if (sched == j.end() || !sched->is_string())
      return error(errc::bad_data, c.dir.string() + ": state.json has no schedule state");
    PLINTH_TRY(t.schedule->load(sched->get<std::string>()));
    PLINTH_TRY(t.backend->upload(stats, loss_off, &ls.loss_sum, 4));
    out.resumed_from = c.step;
    logger().info("resuming from {} (step {}, epoch {}, batch {})", c.dir.string(), c.step, ls.epoch,
                  ls.position);
  } else if (t.opt.resume) {
    logger().info("no checkpoint in {}: starting from the beginning", ckpt_dir.string());
  }
  out.time_to_target = ls.time_to_target;
  out.final_eval_loss = ls.eval_loss;
  out.final_eval_accuracy = ls.eval_accuracy;

  const auto& ck = p.checkpoint;
  CheckpointWriter writer(ckpt_dir, {ck.keep_last, ck.keep_best, ck.best_mode == "max"});
  int64_t last_ckpt_step = resume_from ? resume_from->step : -1;
  Phases ph;
  // Energy: measured counters only (RAPL; a GPU backend's counter would be
  // added here with energy.add()); earlier processes' joules come from the
  // checkpoint, and one unmeasured process makes the whole run unmeasured.
  EnergyMeter energy = EnergyMeter::with_rapl();
  double energy_before = 0;
  std::string energy_before_note;
  if (resume_from) {
    ph.load(resume_from->state.value("time_breakdown_s", nlohmann::ordered_json()));
    const auto& j = resume_from->state;
    if (j.contains("energy_j") && j["energy_j"].is_number()) {
      energy_before = j["energy_j"].get<double>();
    } else {
      const std::string why = j.contains("energy_note") && j["energy_note"].is_string()
                                  ? j["energy_note"].get<std::string>()
                                  : std::string("its checkpoint has no energy record");
      energy_before_note = "not measured before the resume at step " + std::to_string(resume_from->step) +
                           (why.empty() ? "" : ": " + why);
    }
  }
  auto energy_measured = [&] { return energy.measured() && energy_before_note.empty(); };
  auto energy_note = [&] {
    std::string n = energy_before_note;
    if (!energy.note().empty()) n += (n.empty() ? "" : "; ") + energy.note();
    return n;
  };

  g_stop = false;
  g_stop_signal = 0;
  // Ctrl-C and SIGTERM (a scheduler's stop) end the run after the current
  // step, with a final checkpoint. The handlers stay until run() returns: a
  // signal that comes while the final checkpoint, weights and summary are
  // written (the run is ending anyway) must not kill the process mid-way.
  struct stop_handlers {
    void (*old_int)(int) = std::signal(SIGINT, [](int sig) { request_stop(sig); });
    void (*old_term)(int) = std::signal(SIGTERM, [](int sig) { request_stop(sig); });
    ~stop_handlers() {
      std::signal(SIGINT, old_int);
      std::signal(SIGTERM, old_term);
    }
  } const handlers;
  const bool tty = t.opt.progress && ::isatty(STDERR_FILENO);
  const auto t0 = clock::now();
  auto last_ckpt_time = t0;
  const int64_t per_epoch = t.train_loader->batches_per_epoch();
  const int64_t k = p.train.grad_accum;
  const bool accumulate = k > 1;
  const bool clip = p.train.clip_grad_norm > 0;
  const bool skip_nonfinite = p.train.on_nonfinite == "skip";
  double last_log_t = 0, last_print_t = -1, last_lr = 0;
  double stall_at_log = 0;
  double grad_norm = NAN;  // this step's, before clipping (NaN: not computed)
  const uint64_t dropout_seed = derive_seed(p.run.seed, 0x44524f50ull);
  const bool eval_each_epoch = p.train.eval_every == 0;
  const bool classify = p.loss.type == "cross_entropy";
  bool stop_early = ls.stopped;  // early stopping or the target reached with stop_at_target
  out.early_stopped = ls.early_stopped;
  std::string last_eval;
  auto elapsed = [&] { return ls.seconds + seconds_since(t0); };

  auto log_eval = [&]() -> Status {
    const auto e0 = clock::now();
    auto ev = t.evaluate();
    ph.eval += seconds_since(e0);
    if (!ev) return ev.status();
    auto [loss, acc] = *ev;
    ls.last_eval_step = ls.step;
    if (loss < 0) return {};
    out.final_eval_loss = ls.eval_loss = loss;
    out.final_eval_accuracy = ls.eval_accuracy = acc;
    const double now = seconds_since(t.opt.started);
    nlohmann::ordered_json j{
        {"step", ls.step}, {"epoch", ls.epoch}, {"time_s", elapsed()}, {"eval_loss", loss}};
    if (acc >= 0) j["eval_accuracy"] = acc;
    if (!p.train.target_metric.empty() && out.time_to_target < 0) {
      const bool hit = p.train.target_metric == "eval.accuracy" ? acc >= p.train.target_value
                                                                : loss <= p.train.target_value;
      if (hit) {
        out.time_to_target = ls.time_to_target = now;
        j["target_reached"] = true;
      }
    }
    t.schedule->observe(loss);
    ls.metric = p.checkpoint.best_metric == "eval.accuracy" ? acc : loss;
    if (p.early_stop.enabled) {
      const auto& es = p.early_stop;
      const double v = es.metric == "eval.accuracy" ? acc : loss;
      const bool better = std::isnan(ls.es_best) ||
                          (es.mode == "max" ? v > ls.es_best + es.min_delta : v < ls.es_best - es.min_delta);
      if (better) {
        ls.es_best = v;
        ls.es_bad = 0;
      } else if (++ls.es_bad >= es.patience) {
        stop_early = out.early_stopped = true;
        j["early_stop"] = true;
      }
    }
    if (rank0) PLINTH_TRY(append_line(metrics, j.dump()));
    std::ostringstream line;
    line.precision(4);
    line << "eval  step " << ls.step << "  loss " << loss;
    if (acc >= 0) line << "  accuracy " << acc * 100 << "%";
    if (j.contains("target_reached")) line << "  (target reached at " << now << " s)";
    if (out.early_stopped)
      line << "  (early stop: no improvement in " << p.early_stop.patience << " evaluations)";
    last_eval = line.str();
    if (tty && rank0) std::fprintf(stderr, "\r\033[K");
    if (rank0) std::fprintf(stderr, "%s\n", last_eval.c_str());
    if (p.train.stop_at_target && out.time_to_target >= 0) stop_early = true;
    return {};
  };

  // A checkpoint of the state after step ls.step: the step pays for the
  // host copies; the files are written on the writer's thread.
  auto checkpoint = [&]() -> Status {
    // The loss since the last log, over every rank's samples: a resume (with
    // any world size) gives it to rank 0 and zero to the others, so the next
    // logged loss is the global mean as in an uninterrupted run.
    double since_log[2] = {0, static_cast<double>(ls.samples_since_log)};
    {
      float sum = 0;
      PLINTH_TRY(t.backend->download(&sum, stats, loss_off, 4));
      since_log[0] = sum;
    }
    std::vector<DataParallel::PowerSgdState> psgd;
    if (t.dp) {
      const auto m0 = clock::now();
      PLINTH_TRY(t.dp->all_reduce(since_log, 2, PLINTH_REDUCE_OP_SUM));
      if (t.dp->powersgd()) {
        auto st = t.dp->powersgd_state(true);
        if (!st) return st.status();
        psgd = std::move(*st);
      }
      ph.comm += seconds_since(m0);
    }
    if (!rank0) {  // rank 0 writes; every rank holds the same state
      last_ckpt_step = ls.step;
      last_ckpt_time = clock::now();
      return {};
    }
    const auto c0 = clock::now();
    Checkpoint c = writer.recycle();
    c.step = ls.step;
    size_t n_model = 0, n_opt = 0;
    auto grab = [&](std::vector<NamedTensor>& into, size_t& n, exec::Store::Group group,
                    const std::string& name) -> Status {
      const auto& s = store.slot(name);
      if (n == into.size()) into.emplace_back();
      NamedTensor& nt = into[n++];
      nt.name = name;
      nt.dtype = PLINTH_DTYPE_F32;
      nt.shape = s.shape;
      nt.data.resize(s.bytes);
      return t.backend->download(nt.data.data(), store.buffer(group), s.offset, s.bytes);
    };
    for (size_t i = 0; i < t.param_names.size(); ++i) {
      const std::string& name = t.param_names[i];
      PLINTH_TRY(grab(c.model, n_model, exec::Store::params, name));
      if (!t.params[i].trainable) continue;
      for (const auto& sl : t.slot_names)
        PLINTH_TRY(grab(c.optimizer, n_opt, exec::Store::state, name + "." + sl));
    }
    c.model.resize(n_model);
    // PowerSGD's warm start and mean residual travel with the optimizer
    // state ("<param>.powersgd_q", "<param>.powersgd_error").
    auto put = [&](const std::string& name, const std::vector<int64_t>& shape, const std::vector<float>& v) {
      if (n_opt == c.optimizer.size()) c.optimizer.emplace_back();
      NamedTensor& nt = c.optimizer[n_opt++];
      nt.name = name;
      nt.dtype = PLINTH_DTYPE_F32;
      nt.shape = shape;
      nt.data.resize(v.size() * 4);
      std::memcpy(nt.data.data(), v.data(), nt.data.size());
    };
    for (const auto& ps : psgd) {
      put(t.param_names[ps.param] + ".powersgd_q", ps.q_shape, ps.q);
      put(t.param_names[ps.param] + ".powersgd_error", ps.e_shape, ps.e);
    }
    c.optimizer.resize(n_opt);
    c.state = {{"epoch", ls.epoch},
               {"position", ls.position},
               {"samples_since_log", static_cast<int64_t>(since_log[1])},
               {"loss_sum", since_log[0]},
               {"schedule", t.schedule->save()},
               {"early_stop_best", num_or_null(ls.es_best)},
               {"early_stop_bad", ls.es_bad},
               {"metric", num_or_null(ls.metric)},
               {"time_to_target_s", ls.time_to_target},
               {"eval_loss", ls.eval_loss},
               {"eval_accuracy", ls.eval_accuracy},
               {"skipped_steps", ls.skipped},
               {"nonfinite_in_a_row", ls.nonfinite_run},
               {"loss_scale", ls.loss_scale},
               {"loss_scale_clean_steps", ls.scale_clean},
               {"last_eval_step", ls.last_eval_step},
               {"train_seconds", elapsed()},
               {"stopped", stop_early},
               {"early_stopped", out.early_stopped},
               {"threads", p.backend.threads},
               {"world_size", t.dp ? t.dp->size() : 1},
               {"global_batch", t.global_batch},
               {"pipeline", resolved},
               {"plugins", plugins}};
    if (!psgd.empty()) c.state["powersgd_steps"] = t.dp->steps();
    ph.put(c.state["time_breakdown_s"], false);
    energy.sample();
    c.state["energy_j"] = energy_measured() ? nlohmann::ordered_json(energy_before + energy.joules())
                                            : nlohmann::ordered_json();
    c.state["energy_note"] = energy_note();
    writer.submit(std::move(c));
    last_ckpt_step = ls.step;
    last_ckpt_time = clock::now();
    ph.checkpoint += seconds_since(c0);
    return {};
  };

  // A failed background checkpoint write: counted and reported; with
  // on_error = "stop" it ends the run. Earlier checkpoints are untouched.
  const bool stop_on_ckpt_error = ck.on_error == "stop";
  auto checkpoint_status = [&]() -> Status {
    Status s = writer.take_error();
    if (s.ok()) return s;
    ++out.checkpoint_failures;
    const auto good = list_checkpoints(ckpt_dir);
    const std::string newest = good.empty() ? "none" : good.back().second.string();
    if (stop_on_ckpt_error)
      return error(s.code(),
                   s.message() + " (checkpoint.on_error = \"stop\"; newest good checkpoint: " + newest + ")");
    logger().warn(
        "checkpoint not written: {}; training goes on (checkpoint.on_error = \"continue\"); newest good "
        "checkpoint: {}",
        s.message(), newest);
    return {};
  };

  Status failure;
  double first_step_s = -1;  // from the command's start to this process's first update
  bool epoch_started = false;
  bool dp_stop = false;  // data parallel: a stop request seen by any rank, agreed at the step's end
  const int64_t pause_at = t.opt.stop_at_step;
  while (ls.step < t.total_steps && !(t.dp ? dp_stop : g_stop.load()) && !stop_early &&
         !(pause_at > 0 && ls.step >= pause_at)) {
    if (failure = checkpoint_status(); !failure.ok()) break;
    if (!epoch_started) {
      // A resumed epoch starts at its saved batch position: the loader skips
      // the batches before it without reading them.
      const auto d0 = clock::now();
      t.train_loader->start_epoch(ls.epoch, ls.position);
      ph.data += seconds_since(d0);
      if (!failure.ok()) break;
      epoch_started = true;
    }
    // One optimizer step: up to k micro-batches, not crossing the epoch's end.
    const int64_t group = std::min(k, per_epoch - ls.position);
    // The loss of the step is the sum over its rows (of every rank) divided by their count.
    int64_t step_rows = 0;
    if (accumulate || t.dp) {
      for (int64_t i = 0; i < group; ++i) step_rows += t.rows_of(ls.position + i);
    }
    if (accumulate) {
      const auto c0 = clock::now();
      if (failure = t.launch(t.zero_op, "zeroing the gradients"); !failure.ok()) break;
      ph.compute += seconds_since(c0);
    }
    for (int64_t i = 0; i < group && failure.ok(); ++i) {
      const auto d0 = clock::now();
      const data::Batch* b = t.train_loader->next();
      ph.data += seconds_since(d0);
      if (!b) {
        failure = error(errc::internal, "the data loader ended epoch " + std::to_string(ls.epoch) + " early");
        break;
      }
      if (failure = b->status; !failure.ok()) break;
      if (failure = t.check_labels(*b); !failure.ok()) break;
      const auto c0 = clock::now();
      const bool last = i == group - 1;
      if (b->rows == 0) {  // this rank's share of a short last batch: it adds nothing
        if (!accumulate) failure = t.launch(t.zero_op, "zeroing the gradients");
        if (t.dp && last) t.dp->begin(nullptr);
        ph.compute += seconds_since(c0);
        ls.position = b->index + 1;
        continue;
      }
      auto prog = t.program(b->rows, true);
      if (!prog) {
        failure = prog.status();
        break;
      }
      exec::Program& pr = **prog;
      // dL/dlogits carries 1 / (rows of the step) and the loss scale S.
      if (accumulate || scaling || t.dp)
        pr.set_loss_scale(static_cast<float>(ls.loss_scale) /
                          static_cast<float>(accumulate || t.dp ? step_rows : b->rows));
      if (failure = t.upload(pr, *b); !failure.ok()) break;
      // Dropout counters: one block per micro-batch of the whole run.
      pr.set_dropout(dropout_seed, static_cast<uint64_t>(ls.epoch * per_epoch + b->index));
      if (t.dp && last) {
        // The step's gradients are final as this run writes them: each
        // bucket's all-reduce starts as soon as backward has finished it.
        t.dp->begin(&pr);
        failure = pr.run([&](size_t l) { return t.dp->on_launch(l); });
      } else {
        failure = pr.run();
      }
      if (!failure.ok()) break;
      ph.compute += seconds_since(c0);
      ls.samples_since_log += b->rows;
      ls.position = b->index + 1;
    }
    if (!failure.ok()) break;
    if (t.dp) {  // the all-reduce still running after backward
      const auto m0 = clock::now();
      failure = t.dp->finish();
      ph.comm += seconds_since(m0);
      if (!failure.ok()) break;
    }
    ++ls.step;

    // Gradient norm and clipping, the non-finite check, the update.
    const auto o0 = clock::now();
    const bool log_now = ls.step % p.train.log_every == 0 || ls.step == t.total_steps;
    bool finite = true;
    grad_norm = NAN;
    if (scaling) {  // unscale first: clipping, the check and the update see the true gradients
      t.scale_params.alpha = static_cast<float>(1.0 / ls.loss_scale);
      if (failure = t.launch(t.scale_op, "loss-scale unscaling"); !failure.ok()) break;
    }
    if (clip || (log_now && t.log_grad_norm)) {
      float sq = 0;
      if (failure = t.launch(t.sqnorm_op, "gradient norm"); !failure.ok()) break;
      if (failure = t.backend->download(&sq, stats, t.sqnorm_t.offset, 4); !failure.ok()) break;
      grad_norm = std::sqrt(static_cast<double>(sq));
    }
    if (clip) {
      // torch.nn.utils.clip_grad_norm_: scale by max_norm / (norm + 1e-6) when below 1.
      finite = std::isfinite(grad_norm);
      const double coef = p.train.clip_grad_norm / (grad_norm + 1e-6);
      if (finite && coef < 1.0) {
        t.scale_params.alpha = static_cast<float>(coef);
        if (failure = t.launch(t.scale_op, "gradient clipping"); !failure.ok()) break;
      }
    } else {
      float ok = 1;
      if (failure = t.launch(t.finite_op, "gradient check"); !failure.ok()) break;
      if (failure = t.backend->download(&ok, stats, t.finite_t.offset, 4); !failure.ok()) break;
      finite = ok != 0.f;
    }
    last_lr = t.schedule->lr(ls.step);
    if (finite) {
      ls.nonfinite_run = 0;
      // The optimizer counts the updates it applied (Adam's bias correction),
      // as torch's optimizers do when a step is skipped.
      if (failure = t.optimizer_step(ls.step - ls.skipped, last_lr); !failure.ok()) break;
      // GradScaler.update(): grow S after `interval` clean steps in a row.
      if (scaling && ++ls.scale_clean >= p.train.loss_scale_growth_interval) {
        const double grown = ls.loss_scale * p.train.loss_scale_growth;
        if (std::isfinite(static_cast<float>(grown))) ls.loss_scale = grown;
        ls.scale_clean = 0;
      }
    } else if (scaling) {
      // GradScaler: skip the update and back off S, whatever on_nonfinite says.
      ++ls.skipped;
      ++out.skipped_steps;
      const double was = ls.loss_scale;
      ls.loss_scale *= p.train.loss_scale_backoff;
      ls.scale_clean = 0;
      logger().info("step {}: non-finite gradients at loss scale {}: update skipped, loss scale now {}",
                    ls.step, was, ls.loss_scale);
      if (++ls.nonfinite_run >= p.train.max_nonfinite) {
        failure = error(errc::internal, std::to_string(ls.nonfinite_run) +
                                            " steps in a row had non-finite gradients (train.max_nonfinite); "
                                            "the loss scale is down to " +
                                            std::to_string(ls.loss_scale));
        break;
      }
    } else if (!skip_nonfinite) {
      failure = error(errc::internal, "non-finite gradients at step " + std::to_string(ls.step) +
                                          " (train.on_nonfinite = \"stop\"; \"skip\" drops such updates)");
      break;
    } else {
      ++ls.skipped;
      ++out.skipped_steps;
      logger().warn("step {}: non-finite gradients, update skipped", ls.step);
      if (++ls.nonfinite_run >= p.train.max_nonfinite) {
        failure = error(errc::internal, std::to_string(ls.nonfinite_run) +
                                            " steps in a row had non-finite gradients (train.max_nonfinite)");
        break;
      }
    }
    ph.optimizer += seconds_since(o0);
    if (first_step_s < 0) {
      first_step_s = seconds_since(t.opt.started);
      logger().debug("first step done {:.3f} s after the start", first_step_s);
    }

    if (log_now) {
      float sum = 0;
      if (failure = t.backend->download(&sum, stats, loss_off, 4); !failure.ok()) break;
      if (failure = t.backend->upload(stats, loss_off, &zero, 4); !failure.ok()) break;
      // Data parallel: the loss over every rank's samples since the last log.
      double tot[2] = {sum, static_cast<double>(ls.samples_since_log)};
      if (t.dp) {
        const auto m0 = clock::now();
        failure = t.dp->all_reduce(tot, 2, PLINTH_REDUCE_OP_SUM);
        ph.comm += seconds_since(m0);
        if (!failure.ok()) break;
      }
      const double now = elapsed();
      const double loss = tot[0] / tot[1];
      const double rate = tot[1] / std::max(1e-9, now - last_log_t);
      const double stall = t.train_loader->stall_seconds();
      nlohmann::ordered_json j{{"step", ls.step},
                               {"epoch", ls.epoch},
                               {"time_s", now},
                               {"loss", num_or_null(loss)},
                               {"lr", last_lr},
                               {"samples_per_s", rate},
                               {"data_stall_ms", (stall - stall_at_log) * 1e3}};
      if (!std::isnan(grad_norm) || clip) j["grad_norm"] = num_or_null(grad_norm);
      if (ls.skipped > 0) j["skipped_steps"] = ls.skipped;
      if (scaling) j["loss_scale"] = ls.loss_scale;
      if (t.dp) {
        j["world_size"] = t.dp->size();
        j["allreduce_bytes_per_step"] = t.dp->wire_bytes_per_step();
        j["allreduce_busy_s"] = t.dp->comm_seconds();
      }
      ph.put(j, true);
      energy.sample();
      if (energy_measured()) j["energy_j"] = energy_before + energy.joules();
      if (rank0)
        if (failure = append_line(metrics, j.dump()); !failure.ok()) break;
      if (!std::isfinite(loss) && !skip_nonfinite && !scaling) {
        failure = error(errc::internal,
                        "the loss is " + std::to_string(loss) + " at step " + std::to_string(ls.step));
        break;
      }
      stall_at_log = stall;
      last_log_t = now;
      ls.samples_since_log = 0;
      const double eta = (t.total_steps - ls.step) * seconds_since(t0) /
                         std::max<int64_t>(1, ls.step - (out.resumed_from > 0 ? out.resumed_from : 0));
      if (!rank0) {
        // rank 0 prints progress
      } else if (tty) {
        std::fprintf(stderr,
                     "\r\033[Kepoch %lld  step %lld/%lld  loss %.4f  lr %.2e  %.0f samples/s  ETA %.1fs",
                     static_cast<long long>(ls.epoch), static_cast<long long>(ls.step),
                     static_cast<long long>(t.total_steps), loss, last_lr, rate, eta);
      } else if (now - last_print_t >= 2.0 || ls.step == t.total_steps) {
        std::fprintf(stderr, "epoch %lld  step %lld/%lld  loss %.4f  lr %.2e  %.0f samples/s  ETA %.1fs\n",
                     static_cast<long long>(ls.epoch), static_cast<long long>(ls.step),
                     static_cast<long long>(t.total_steps), loss, last_lr, rate, eta);
        last_print_t = now;
      }
    }
    if (!eval_each_epoch && ls.step % p.train.eval_every == 0) {
      if (failure = log_eval(); !failure.ok()) break;
    }
    const bool epoch_done = ls.position >= per_epoch;
    // At the end of each epoch, and at the end of training, when eval_every = 0.
    if (eval_each_epoch && (epoch_done || ls.step == t.total_steps) && ls.last_eval_step != ls.step) {
      if (failure = log_eval(); !failure.ok()) break;
    }
    if (epoch_done) {
      ++ls.epoch;
      ls.position = 0;
      epoch_started = false;
    }
    const bool due_steps = ck.every_steps > 0 && ls.step % ck.every_steps == 0;
    const bool due_time = ck.every_minutes > 0 && seconds_since(last_ckpt_time) >= ck.every_minutes * 60.0;
    if (!t.dp && (due_steps || due_time) && ls.step < t.total_steps)
      if (failure = checkpoint(); !failure.ok()) break;
    if (t.dp) {
      // Every rank ends at the same step: a stop request (Ctrl-C, SIGTERM)
      // or rank 0's failed checkpoint on any rank stops them all. A
      // checkpoint is collective (the loss sums), so rank 0's clock decides
      // when one is due by time.
      Status ck = checkpoint_status();
      double flags[3] = {g_stop ? 1.0 : 0.0, ck.ok() ? 0.0 : 1.0, rank0 && due_time ? 1.0 : 0.0};
      const auto m0 = clock::now();
      if (failure = t.dp->all_reduce(flags, 3, PLINTH_REDUCE_OP_MAX); !failure.ok()) break;
      ph.comm += seconds_since(m0);
      if (flags[0] > 0) {
        dp_stop = true;
        if (!g_stop) request_stop();
      }
      if (!ck.ok()) {
        failure = ck;
        break;
      }
      if (flags[1] > 0) {
        failure = error(errc::io,
                        "rank 0 could not write a checkpoint (checkpoint.on_error = \"stop\"; see its log)");
        break;
      }
      if ((due_steps || flags[2] > 0) && ls.step < t.total_steps)
        if (failure = checkpoint(); !failure.ok()) break;
    }
  }
  if (tty) std::fprintf(stderr, "\n");
  // Paused at stop_at_step: the metric at that step (unless just evaluated)
  // and a checkpoint to resume from, whatever [checkpoint] at_end says.
  out.paused = failure.ok() && !g_stop && !stop_early && pause_at > 0 && ls.step >= pause_at &&
               ls.step < t.total_steps;
  if (out.paused && t.eval_loader && ls.last_eval_step != ls.step) failure = log_eval();
  if (failure.ok() && (ck.at_end || out.paused) && ls.step > 0 && last_ckpt_step != ls.step)
    PLINTH_TRY(checkpoint());
  {
    const auto c0 = clock::now();
    writer.wait();
    ph.checkpoint += seconds_since(c0);
  }
  if (Status s = checkpoint_status(); !s.ok() && failure.ok()) failure = s;
  out.steps = ls.step;
  out.seconds = elapsed();
  out.interrupted = g_stop.load();
  out.stop_signal = out.interrupted ? g_stop_signal.load() : 0;

  // Final weights (safetensors) and the summary, also after a failure, so
  // what was trained is not lost.
  // When the run already failed, that failure is what gets reported; a
  // final write that fails too (the same full disk) is logged beside it.
  auto keep_first = [&](Status s) -> Status {
    if (s.ok() || failure.ok()) return s;
    logger().warn("{}", s.message());
    return {};
  };
  // Data parallel: the ranks must still agree on every parameter.
  if (t.dp && failure.ok())
    failure = t.dp->check_identical(*t.backend, store.buffer(exec::Store::params),
                                    store.group_bytes(exec::Store::params), "the final parameters");
  if (!rank0) {
    if (!failure.ok()) return failure;
    return out;
  }
  std::vector<NamedTensor> weights;
  for (const auto& name : t.param_names) {
    const auto& s = store.slot(name);
    NamedTensor nt{name, PLINTH_DTYPE_F32, s.shape, std::vector<unsigned char>(s.bytes)};
    if (Status s2 = t.backend->download(nt.data.data(), store.buffer(exec::Store::params), s.offset, s.bytes);
        !s2.ok())
      return failure.ok() ? s2 : failure;
    weights.push_back(std::move(nt));
  }
  PLINTH_TRY(keep_first(write_safetensors(dir / "model.safetensors", weights,
                                          {{"format", "pt"}, {"step", std::to_string(ls.step)}})));
  nlohmann::ordered_json summary{
      {"name", p.run.name},
      {"steps", ls.step},
      {"epochs", ls.epoch + (ls.position > 0 ? 1 : 0)},
      {"train_seconds", out.seconds},
      {"wall_seconds", seconds_since(t.opt.started)},
      {"first_step_s", first_step_s >= 0 ? nlohmann::ordered_json(first_step_s) : nlohmann::ordered_json()},
      {"data_stall_seconds", t.train_loader->stall_seconds()},
      {"interrupted", out.interrupted},
      {"early_stopped", out.early_stopped},
      {"paused", out.paused},
      {"skipped_steps", ls.skipped},
      {"checkpoint_failures", out.checkpoint_failures},
      {"resumed_from_step",
       out.resumed_from >= 0 ? nlohmann::ordered_json(out.resumed_from) : nlohmann::ordered_json()},
      {"status", failure.ok() ? "ok" : failure.message()}};
  // Where the run's training time went, over all its processes (steady_clock
  // around each phase; "other" is the rest: logging, metrics, progress).
  ph.put(summary["time_breakdown_s"], false);
  summary["time_breakdown_s"]["other"] = std::max(0.0, out.seconds - ph.sum());
  // Bytes on the backend: what the run held against what the model needs.
  const MemoryUse mem = memory_use(t);
  summary["memory_bytes"] = {{"parameters", mem.parameters},
                             {"gradients", mem.gradients},
                             {"optimizer_state", mem.optimizer_state},
                             {"other_persistent", mem.other_persistent},
                             {"activation_arenas", mem.arenas},
                             {"activation_need", mem.activation_need},
                             {"need", mem.need()},
                             {"backend_peak", mem.backend_peak}};
  energy.sample();
  if (energy_measured())
    summary["energy"] = {{"measured", true},
                         {"joules", energy_before + energy.joules()},
                         {"sources", energy.sources()},
                         {"note", energy_note()}};
  else
    summary["energy"] = {{"measured", false}, {"why", energy_note()}};
  if (energy_measured())
    logger().info("energy: {:.1f} J ({})", energy_before + energy.joules(), energy.sources());
  else
    logger().info("energy: not measured ({})", energy_note());
  if (scaling) summary["loss_scale"] = ls.loss_scale;
  if (out.final_eval_loss >= 0) summary["eval_loss"] = out.final_eval_loss;
  if (out.final_eval_accuracy >= 0) summary["eval_accuracy"] = out.final_eval_accuracy;
  if (!p.train.target_metric.empty()) {
    summary["target"] = {{"metric", p.train.target_metric}, {"value", p.train.target_value}};
    summary["time_to_target_s"] =
        out.time_to_target >= 0 ? nlohmann::ordered_json(out.time_to_target) : nlohmann::ordered_json();
  }
  PLINTH_TRY(keep_first(write_file_atomic(dir / "summary.json", summary.dump(2) + "\n")));
  (void)classify;
  if (!failure.ok()) return failure;
  return out;
}

MemoryUse memory_use(const Trainer& t) {
  MemoryUse m;
  m.parameters = t.store->group_bytes(exec::Store::params);
  m.gradients = t.store->group_bytes(exec::Store::grads);
  // The optimizer's scratch shares the state group; it is not state.
  for (int32_t s = 0; s < t.scratch_slots; ++s)
    if (t.store->has(scratch_slot(s))) m.other_persistent += t.store->slot(scratch_slot(s)).bytes;
  m.optimizer_state = t.store->group_bytes(exec::Store::state) - m.other_persistent;
  m.other_persistent += t.store->group_bytes(exec::Store::stats);
  for (const auto* progs : {&t.train_progs, &t.eval_progs})
    for (const auto& [rows, prog] : *progs) {
      m.arenas += prog->arena_bytes();
      m.activation_need = std::max(m.activation_need, prog->activation_need_bytes());
    }
  m.backend_peak = t.backend->peak_bytes();
  return m;
}

Result<double> loader_samples_per_second(Trainer& t, int64_t epochs) {
  int64_t rows = 0;
  const auto t0 = clock::now();
  for (int64_t e = 0; e < epochs; ++e) {
    t.train_loader->start_epoch(e);
    while (const data::Batch* b = t.train_loader->next()) {
      PLINTH_TRY(Status(b->status));
      rows += b->rows;
    }
  }
  const double s = seconds_since(t0);
  if (rows == 0) return error(errc::bad_data, "the training data gave no rows");
  return static_cast<double>(rows) / s;
}

Result<StepTiming> time_steps(Trainer& t, int64_t warmup, int64_t steps) {
  t.train_loader->start_epoch(0);
  const data::Batch* b = t.train_loader->next();
  if (!b) return error(errc::bad_data, "no training batch");
  PLINTH_TRY(Status(b->status));
  auto prog = t.program(b->rows, true);
  if (!prog) return prog.status();
  PLINTH_TRY(t.upload(**prog, *b));
  const double lr = t.opt_table->base_lr(t.optimizer);
  auto one = [&](int64_t step) -> Status {
    PLINTH_TRY((*prog)->run());
    return t.optimizer_step(step, lr);
  };
  for (int64_t i = 1; i <= warmup; ++i) PLINTH_TRY(one(i));
  PLINTH_TRY(t.backend->synchronize());
  auto cpu_now = [] {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
  };
  const double c0 = cpu_now();
  const auto t0 = clock::now();
  for (int64_t i = 1; i <= steps; ++i) PLINTH_TRY(one(warmup + i));
  PLINTH_TRY(t.backend->synchronize());
  const double n = static_cast<double>(steps);
  return StepTiming{seconds_since(t0) / n, (cpu_now() - c0) / n, steps, b->rows};
}

}  // namespace plinth::train
