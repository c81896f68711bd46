// prepare.cpp — train::prepare(): everything checked and made before a run
// touches runs/: the evaluation metrics named, the data-parallel group, the
// backend and precision, the data sources and their fields, the graph for the
// full batch, the optimizer plugin, the executor (backend plus CPU fallback),
// the store (parameters initialised or loaded from [init] from), the ops the
// step needs, the loaders and the schedule.
// Not here: the step (step.cpp) or the loop (trainer.cpp).
#include <cmath>
#include <cstdlib>
#include <sstream>

#include <spdlog/spdlog.h>

#include "config/did_you_mean.hpp"
#include "graph/layers/layer.hpp"
#include "graph/precision.hpp"
#include "plinth/log.hpp"
#include "train/progressive.hpp"
#include "train/trainer_impl.hpp"
#include "util/rng.hpp"
#include "util/toml_names.hpp"

namespace plinth::train {
namespace {

// A plugin table's keys against the component's declared config_keys.
Status check_keys(const config::Pipeline& p, const toml::table& t, std::string_view section,
                  const plinth_component* comp, std::span<const std::string_view> core_keys) {
  if (!comp->config_keys) return {};  // the component does not declare its keys
  std::vector<std::string> declared;
  for (const char* const* k = comp->config_keys; *k; ++k) declared.emplace_back(*k);
  return config::check_plugin_keys(t, section, declared, core_keys, p.source);
}

// "<file>:<line>:<col>: <dotted>" where `key` of table `t` is written (its
// section header when the key is absent), or "<file>: <dotted>" when the
// pipeline does not have the table at all (a default).
std::string key_at(const config::Pipeline& p, const toml::node* t, std::string_view key,
                   std::string_view dotted) {
  std::string at = p.source.string();
  const toml::table* tt = t ? t->as_table() : nullptr;
  if (tt) {
    const toml::node* n = tt->get(key);
    at = toml_where(at, n ? n->source() : tt->source());
  }
  at.append(": ");
  at.append(dotted);
  return at;
}

// Evaluation metrics named by [early_stop] and [checkpoint] must exist.
Status check_eval_metrics(const config::Pipeline& p) {
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
  return needs_eval(p.checkpoint.keep_best > 0, p.checkpoint.best_metric, "checkpoint", "keep_best");
}

// The backend. "auto" becomes the chosen name here, so the run's
// pipeline.toml, checkpoints and messages name the backend that actually ran.
Status open_backend(Trainer& t) {
  const auto& p = t.p;
  const Registry& reg = *t.registry;
  if (p.backend.name == "auto") {
    auto chosen = exec::select_backend(reg, p.backend.name, p.backend.device);
    if (!chosen) return Status(chosen.status()).with_context(p.source.string());
    t.p.backend.name = *chosen;
    t.p.backend.table.insert_or_assign("name", *chosen);
  }
  auto bcomp = reg.find(PLINTH_KIND_BACKEND, p.backend.name);
  if (!bcomp) return Status(bcomp.status()).with_context(key_at(p, &p.backend.table, "name", "backend.name"));
  PLINTH_TRY(check_keys(p, p.backend.table, "backend", *bcomp, config::kBackendCoreKeys));
  t.configs.push_back(make_plugin_config(p.backend.table, p.source));
  auto backend = exec::Backend::create(reg, p.backend.name, t.configs.back().get(), p.backend.device);
  if (!backend) return backend.status();
  t.backend = *backend;

  // Mixed precision: matmul inputs in bf16/f16 where the device has the math
  // for it. bf16 without it would only be slower than fp32 (the backend
  // converts back), so it runs fp32; fp16 still runs (rounded to fp16), since
  // it is also how the loss-scaling path is exercised off the GPU.
  auto mm = graph::matmul_dtype(p.train.precision);
  if (!mm) return Status(mm.status()).with_context(p.source.string() + ": [train] precision");
  t.matmul_dtype = *mm;
  const auto& props = t.backend->properties();
  if (*mm == PLINTH_DTYPE_BF16 && !props.has_bf16) {
    logger().warn("train.precision = \"bf16\": backend '{}' ({}) has no native bf16 math; training in fp32",
                  p.backend.name, props.name);
    t.matmul_dtype = PLINTH_DTYPE_F32;
  } else if (*mm == PLINTH_DTYPE_BF16) {
    logger().info("train.precision = \"bf16\": matmul inputs in bf16, f32 accumulation, f32 master weights");
  } else if (*mm == PLINTH_DTYPE_F16) {
    logger().info(
        "train.precision = \"fp16\": matmul inputs in fp16, f32 accumulation{}",
        props.has_fp16 ? "" : " (no native fp16 math on this device: converted back to f32 per matmul)");
  }
  return {};
}

// Where ops run: ops the backend lacks run on the CPU backend, unless the
// pipeline forbids it.
void make_executor(Trainer& t) {
  const auto& p = t.p;
  const Registry& reg = *t.registry;
  std::shared_ptr<exec::Fallback> fallback;
  if (p.backend.allow_fallback && p.backend.name != "cpu" && !reg.names(PLINTH_KIND_BACKEND).empty()) {
    if (auto cpu = exec::Backend::create(reg, "cpu", nullptr, 0); cpu.ok())
      fallback = std::make_shared<exec::Fallback>(t.backend, *cpu);
    else
      logger().warn("no CPU fallback for backend '{}': {}", p.backend.name, cpu.status().message());
  }
  t.executor = std::make_shared<exec::Executor>(t.backend, std::move(fallback));
}

Result<std::shared_ptr<data::Source>> open_source(Trainer& t, const config::DataSection& d,
                                                  const char* what) {
  const auto& p = t.p;
  const Registry& reg = *t.registry;
  auto comp = reg.find(PLINTH_KIND_DATA, d.source);
  if (!comp)
    return Status(comp.status()).with_context(key_at(p, &d.table, "source", std::string(what) + ".source"));
  PLINTH_TRY(check_keys(p, d.table, what, *comp, {}));
  t.configs.push_back(make_plugin_config(d.table, p.source));
  return data::Source::open(reg, d.source, t.configs.back().get(), p.source.string() + ": [" + what + "]");
}

// [data.train] (mixed with [data.replay]) and [data.eval]: the sources, the
// fields the model reads and is scored against, and the data's shape.
Status open_data(Trainer& t) {
  const auto& p = t.p;
  auto tr = open_source(t, p.train_data, "data.train");
  if (!tr) return tr.status();
  t.train_src = *tr;
  if (p.replay_data) {
    auto rp = open_source(t, *p.replay_data, "data.replay");
    if (!rp) return rp.status();
    // replay / (new + replay) = fraction.
    const double f = p.replay_fraction;
    const auto n_new = static_cast<double>(t.train_src->size());
    const auto count = static_cast<uint64_t>(std::llround(n_new * f / (1.0 - f)));
    auto mixed = data::Source::mix(t.train_src, *rp, count, p.source.string() + ": [data.replay]");
    if (!mixed) return mixed.status();
    logger().info("data: {} new samples and {} replayed from [data.replay] ({} available; fraction {})",
                  t.train_src->size(), count, (*rp)->size(), f);
    t.train_src = *mixed;
  }
  const auto& fields = t.train_src->fields();
  auto field_of = [&](const std::string& name, int dflt, const char* key) -> Result<int> {
    if (name.empty()) {
      if (dflt >= static_cast<int>(fields.size()))
        return error(errc::config, p.source.string() + ": [data.train] has " + std::to_string(fields.size()) +
                                       " field(s); set " + key);
      return dflt;
    }
    int i = t.train_src->field_index(name);
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
  t.in_field = *inf;
  t.tgt_field = *tgf;
  t.shape = {fields[t.in_field].dtype, fields[t.in_field].shape, fields[t.tgt_field].dtype,
             fields[t.tgt_field].shape, fields[t.tgt_field].num_classes};
  if (p.eval_data) {
    auto ev = open_source(t, *p.eval_data, "data.eval");
    if (!ev) return ev.status();
    t.eval_src = *ev;
    const auto& ef = t.eval_src->fields();
    if (ef.size() != fields.size())
      return error(errc::config, key_at(p, &p.eval_data->table, "", "data.eval") +
                                     ": a different schema from [data.train]");
    for (size_t i = 0; i < ef.size(); ++i)
      if (ef[i].dtype != fields[i].dtype || ef[i].shape != fields[i].shape)
        return error(errc::config, key_at(p, &p.eval_data->table, "", "data.eval") + ": field '" +
                                       ef[i].name + "' differs in type or shape from [data.train]");
  }
  if (t.train_src->size() == 0) return error(errc::bad_data, "[data.train] has no samples");
  return {};
}

// [train.progressive]: the input must be square images the training source
// can read at every resolution of the ramp. Sets t.full_res.
Status check_progressive_data(Trainer& t) {
  const auto& p = t.p;
  const auto& pr = p.train.progressive;
  if (!pr.enabled) return {};
  const std::string at =
      p.source.string() + ":" + std::to_string(pr.where.begin.line) + ": [train.progressive]";
  const data::Field& f = t.train_src->fields()[t.in_field];
  const size_t n = f.shape.size();
  if (!data::is_image_field(f) || f.shape[n - 1] != f.shape[n - 2])
    return error(errc::config,
                 at + " needs square images, (C, H, W) or (H, W) with H = W; [data.train] field '" + f.name +
                     "' is " + graph::shape_str(f.shape));
  t.full_res = f.shape[n - 1];
  const int64_t epochs = std::max(p.train.epochs, pr.end_ramp + 1);
  for (int64_t r : progressive_resolutions(pr, epochs, t.full_res)) {
    if (r == t.full_res) continue;
    const Status st = t.train_src->check_resolution({static_cast<int32_t>(r), static_cast<int32_t>(r)});
    if (!st.ok())
      return error(
          errc::config,
          at + ": the [data.train] source '" + p.train_data.source + "' cannot read images at " +
              std::to_string(r) + "x" + std::to_string(r) +
              " (progressive resizing needs a source that resizes, such as `images`): " + st.message());
  }
  return {};
}

// [train.progressive]: the model must have the same parameters and output
// at every resolution of the ramp (a model that flattens its feature map
// into a linear layer does not; one with global average pooling does).
Status check_progressive_model(Trainer& t, const graph::Graph& full) {
  const auto& p = t.p;
  const auto& pr = p.train.progressive;
  if (!pr.enabled) return {};
  const std::string at =
      p.source.string() + ":" + std::to_string(pr.where.begin.line) + ": [train.progressive]";
  const int64_t epochs = std::max(p.train.epochs, pr.end_ramp + 1);
  const std::string full_name = std::to_string(t.full_res) + "x" + std::to_string(t.full_res);
  for (int64_t r : progressive_resolutions(pr, epochs, t.full_res)) {
    if (r == t.full_res) continue;
    const std::string name = std::to_string(r) + "x" + std::to_string(r);
    auto g = t.graph_for(p.train.batch_size, true, r);
    if (!g)
      return error(errc::config, at + ": the model cannot be built for " + name + " images (the data is " +
                                     full_name + "): " + g.status().message());
    const graph::Graph& small = **g;
    auto differs = [&](const std::string& what, const std::vector<int64_t>& a,
                       const std::vector<int64_t>& b) {
      return error(
          errc::config,
          at + ": the model depends on the image size, so it cannot train at " + name + ": " + what + " is " +
              graph::shape_str(a) + " at " + full_name + " but " + graph::shape_str(b) + " at " + name +
              "; pool the feature map globally before the classifier (global average pooling instead "
              "of flatten) so its parameters and output do not depend on the resolution");
    };
    if (small.params.size() != full.params.size())
      return error(errc::config, at + ": the model has " + std::to_string(full.params.size()) +
                                     " parameters at " + full_name + " but " +
                                     std::to_string(small.params.size()) + " at " + name);
    for (size_t i = 0; i < full.params.size(); ++i) {
      const auto& a = full.values[full.params[i].value];
      const auto& b = small.values[small.params[i].value];
      if (a.name != b.name || a.shape != b.shape)
        return differs("parameter '" + a.name + "'", a.shape, b.shape);
    }
    const auto& pa = full.values[full.prediction].shape;
    const auto& pb = small.values[small.prediction].shape;
    if (pa != pb) return differs("the model's output", pa, pb);
  }
  return {};
}

// The optimizer plugin and the state slots it declares per parameter.
Status open_optimizer(Trainer& t) {
  const auto& p = t.p;
  const Registry& reg = *t.registry;
  auto ocomp = reg.find(PLINTH_KIND_OPTIMIZER, p.optimizer.name);
  if (!ocomp)
    return Status(ocomp.status()).with_context(key_at(p, &p.optimizer.table, "name", "optimizer.name"));
  PLINTH_TRY(check_keys(p, p.optimizer.table, "optimizer", *ocomp, config::kOptimizerCoreKeys));
  t.opt_table = static_cast<const plinth_optimizer_v1*>((*ocomp)->table);
  t.opt_keep = reg.keep_alive(*ocomp);
  t.configs.push_back(make_plugin_config(p.optimizer.table, p.source));
  if (plinth_status st = t.opt_table->create(reg.host(), t.configs.back().get(), &t.optimizer);
      st != PLINTH_OK)
    return plugin_status(st, p.source.string() + ": [optimizer] '" + p.optimizer.name + "'");
  t.state_slots = t.opt_table->num_state_slots(t.optimizer);
  t.scratch_slots = t.opt_table->num_scratch_slots(t.optimizer);
  for (int32_t s = 0; s < t.state_slots; ++s)
    t.slot_names.emplace_back(t.opt_table->state_slot_name(t.optimizer, s));
  return {};
}

// Persistent storage: parameters, gradients, optimizer state, stats; the
// parameters initialised (then [init] from), and the same on every rank.
Status make_store(Trainer& t, const graph::Graph& g) {
  const auto& p = t.p;
  t.store = std::make_unique<exec::Store>(t.backend);
  exec::Store& st = *t.store;
  t.params = g.params;
  int64_t max_trained_numel = 0;
  for (const auto& prm : g.params) {
    const auto& v = g.values[prm.value];
    t.param_names.push_back(v.name);
    PLINTH_TRY(st.declare(v.name, exec::Store::params, PLINTH_DTYPE_F32, v.shape));
    if (!prm.trainable) continue;  // frozen: no gradient, no optimizer state
    PLINTH_TRY(st.declare(v.name + ".grad", exec::Store::grads, PLINTH_DTYPE_F32, v.shape));
    for (const auto& s : t.slot_names)
      PLINTH_TRY(st.declare(v.name + "." + s, exec::Store::state, PLINTH_DTYPE_F32, v.shape));
    int64_t numel = 1;
    for (int64_t d : v.shape) numel *= d;
    max_trained_numel = std::max(max_trained_numel, numel);
  }
  // Scratch is only used inside one parameter's step() and steps run one
  // parameter after another in stream order, so every parameter's scratch is
  // a view of the same tensors, sized for the largest: not a copy per parameter.
  for (int32_t s = 0; max_trained_numel > 0 && s < t.scratch_slots; ++s)
    PLINTH_TRY(st.declare(scratch_slot(s), exec::Store::state, PLINTH_DTYPE_F32, {max_trained_numel}));
  PLINTH_TRY(st.declare("loss.sum", exec::Store::stats, PLINTH_DTYPE_F32, {}));
  PLINTH_TRY(st.declare("eval.loss.sum", exec::Store::stats, PLINTH_DTYPE_F32, {}));
  PLINTH_TRY(st.declare("grad.sqnorm", exec::Store::stats, PLINTH_DTYPE_F32, {}));
  PLINTH_TRY(st.declare("grad.finite", exec::Store::stats, PLINTH_DTYPE_F32, {}));
  PLINTH_TRY(st.allocate());
  PLINTH_TRY(t.init_params());
  if (!p.init.from.empty()) PLINTH_TRY(t.load_init(g));
  {
    int64_t trained = 0, total = 0;
    for (const auto& prm : g.params) {
      if (prm.buffer) continue;  // running statistics are not weights
      total += g.values[prm.value].numel();
      if (prm.trainable) trained += g.values[prm.value].numel();
    }
    if (trained < total)
      logger().info("training {} of {} weights ({:.2f}%); the rest are frozen{}", trained, total,
                    100.0 * static_cast<double>(trained) / static_cast<double>(total),
                    p.model.lora.enabled ? " ([model.lora]: only the adapters train)" : "");
  }
  if (t.dp) {  // rank 0's parameters everywhere, and proof they arrived
    PLINTH_TRY(
        t.dp->broadcast(*t.backend, st.buffer(exec::Store::params), st.group_bytes(exec::Store::params)));
    PLINTH_TRY(t.dp->check_identical(*t.backend, st.buffer(exec::Store::params),
                                     st.group_bytes(exec::Store::params), "the initial parameters"));
  }
  return {};
}

// The whole-gradient ops the pipeline's [train] keys need, on the backend
// or its fallback.
Status check_gradient_ops(Trainer& t) {
  const auto& p = t.p;
  auto need_op = [&](bool used, const plinth_op& op, const char* what) -> Status {
    if (!used || t.can_launch(op)) return {};
    return error(errc::unsupported, p.source.string() + ": backend '" + p.backend.name +
                                        "' does not support op " + exec::op_name(op.kind) + " (needed by " +
                                        what + ")" +
                                        (p.backend.allow_fallback ? std::string()
                                                                  : " and CPU fallback is off ([backend] "
                                                                    "allow_fallback = false)"));
  };
  PLINTH_TRY(need_op(p.train.grad_accum > 1, t.zero_op, "train.grad_accum"));
  PLINTH_TRY(need_op(p.train.clip_grad_norm > 0, t.sqnorm_op, "train.clip_grad_norm"));
  t.log_grad_norm = t.can_launch(t.sqnorm_op);
  PLINTH_TRY(need_op(p.train.clip_grad_norm > 0, t.scale_op, "train.clip_grad_norm"));
  PLINTH_TRY(need_op(p.train.loss_scaling, t.scale_op, "train.loss_scaling"));
  return need_op(p.train.clip_grad_norm == 0, t.finite_op, "train.on_nonfinite");
}

// The training program for the full batch; data parallel: its gradient
// buckets, in the order backward finishes them.
Status compile_training(Trainer& t) {
  // First the largest training program, whose arena every other shares.
  int64_t largest = 0;
  if (t.p.train.progressive.enabled)
    largest =
        progressive_resolutions(t.p.train.progressive,
                                std::max(t.p.train.epochs, t.p.train.progressive.end_ramp + 1), t.full_res)
            .front();
  if (largest > t.full_res) {
    auto big = t.program(t.p.train.batch_size, true, largest);
    if (!big) return big.status();
  }
  auto prog = t.program(t.p.train.batch_size, true);
  if (!prog) return prog.status();
  const auto& g = (*prog)->graph();
  t.num_outputs = g.values[g.prediction].shape.back();
  if (!t.dp) return {};
  const exec::Store& st = *t.store;
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  std::vector<std::vector<int64_t>> shapes;
  // Only trained parameters have a gradient (frozen ones and buffers do not).
  t.grad_params.clear();
  for (size_t i = 0; i < t.param_names.size(); ++i) {
    if (!t.params[i].trainable) continue;
    t.grad_params.push_back(i);
    const auto& gs = st.slot(t.param_names[i] + ".grad");
    ranges.emplace_back(gs.offset, gs.bytes);
    shapes.push_back(gs.dtype == PLINTH_DTYPE_F32 ? gs.shape : std::vector<int64_t>{});
  }
  PLINTH_TRY(t.dp->set_gradients(*t.backend, st.buffer(exec::Store::grads),
                                 st.group_bytes(exec::Store::grads), ranges, **prog, shapes));
  // Local steps: what the ranks keep apart between meetings (trained
  // parameters and batch-norm statistics; frozen weights stay rank 0's).
  std::vector<std::pair<uint64_t, uint64_t>> regions;
  std::vector<bool> trained;
  for (size_t i = 0; i < t.param_names.size(); ++i) {
    if (!t.params[i].trainable && !t.params[i].buffer) continue;
    const auto& ps = st.slot(t.param_names[i]);
    regions.emplace_back(ps.offset, ps.bytes);
    trained.push_back(t.params[i].trainable);
  }
  t.dp->set_parameters(*t.backend, st.buffer(exec::Store::params), regions, trained);
  return {};
}

// Loaders (this rank's shard) and the schedule over the run's steps.
Status make_loaders(Trainer& t) {
  const auto& p = t.p;
  const int64_t B = p.train.batch_size;
  auto loader_opts = [&](const config::DataSection& d, uint64_t stream) {
    data::LoaderOptions o;
    o.batch = B;
    o.shuffle = d.shuffle;
    o.drop_last = d.drop_last;
    o.workers = d.workers;
    o.prefetch = d.prefetch;
    o.seed = derive_seed(p.run.seed, stream);
    o.read_seed = p.run.seed;
    if (t.dp) {
      o.shard_rank = t.dp->rank();
      o.shard_count = t.dp->size();
    }
    return o;
  };
  t.train_loader = std::make_unique<data::Loader>(t.train_src, loader_opts(p.train_data, 0x54524149ull));
  if (t.eval_src)
    t.eval_loader = std::make_unique<data::Loader>(t.eval_src, loader_opts(*p.eval_data, 0x4556414cull));
  const int64_t per_epoch = t.train_loader->batches_per_epoch();
  if (per_epoch == 0)
    return error(errc::config,
                 p.source.string() + ": [train] batch_size " + std::to_string(B) +
                     (t.dp ? " times " + std::to_string(t.dp->size()) + " ranks" : std::string()) +
                     " with drop_last leaves no batch of the " + std::to_string(t.train_src->size()) +
                     " samples");
  t.steps_per_epoch = (per_epoch + p.train.grad_accum - 1) / p.train.grad_accum;
  t.total_steps = p.train.max_steps > 0 ? p.train.max_steps : p.train.epochs * t.steps_per_epoch;
  auto sched = Schedule::create(p.schedule, t.opt_table->base_lr(t.optimizer), t.total_steps);
  if (!sched) return Status(sched.status()).with_context(p.source.string() + ": [schedule]");
  t.schedule = std::make_unique<Schedule>(std::move(*sched));
  return {};
}

// PLINTH_STRAGGLER="RANK:DELAY": RANK a rank or "*" (one drawn per step),
// DELAY "<n>ms" or "<n>%" of that rank's own step. Anything else is an
// error naming the variable (a bench that mistypes it must not run unslowed).
Result<Straggler> parse_straggler(const DataParallel* dp) {
  Straggler s;
  const char* v = std::getenv("PLINTH_STRAGGLER");
  if (!v || !*v) return s;
  const std::string text = v;
  auto bad = [&](const std::string& why) {
    return error(errc::config, "PLINTH_STRAGGLER=\"" + text + "\": " + why +
                                   " (expected RANK:DELAY, e.g. 1:30% or *:20ms)");
  };
  const auto colon = text.find(':');
  if (colon == std::string::npos) return bad("no ':'");
  const std::string who = text.substr(0, colon), delay = text.substr(colon + 1);
  if (who == "*") {
    s.rank = Straggler::any;
  } else {
    char* end = nullptr;
    const long r = std::strtol(who.c_str(), &end, 10);
    if (who.empty() || *end || r < 0 || r >= (dp ? dp->size() : 1))
      return bad("the rank must be '*' or a rank of this run (0 to " +
                 std::to_string(dp ? dp->size() - 1 : 0) + ")");
    s.rank = static_cast<int>(r);
  }
  char* end = nullptr;
  const double x = std::strtod(delay.c_str(), &end);
  const std::string unit = end ? end : "";
  if (delay.empty() || end == delay.c_str() || !std::isfinite(x) || x < 0 || x > 1e6 ||
      (unit != "ms" && unit != "%"))
    return bad("the delay must be a number of milliseconds ('ms') or a percentage ('%')");
  if (unit == "ms")
    s.ms = x;
  else
    s.fraction = x / 100.0;
  if (dp)
    logger().info("PLINTH_STRAGGLER: {} sleeps {} per step",
                  s.rank == Straggler::any ? "a rank drawn per step" : "rank " + who,
                  unit == "ms" ? delay : delay + " of its own step's time");
  return s;
}

}  // namespace

void TrainerDeleter::operator()(Trainer* t) const { delete t; }

Result<TrainerPtr> prepare(config::Pipeline pipeline, std::shared_ptr<Registry> registry,
                           const TrainOptions& options) {
  TrainerPtr t(new Trainer());
  t->p = std::move(pipeline);  // moved, not copied: toml++ keeps source positions only on the original
  t->opt = options;
  t->registry = std::move(registry);
  const auto& p = t->p;
  PLINTH_TRY(check_eval_metrics(p));

  // Data parallel: join the other ranks first, while every rank is still
  // doing the same thing (creating a communicator is collective).
  auto dp = DataParallel::create(p, *t->registry);
  if (!dp) return dp.status();
  t->dp = std::move(*dp);
  t->global_batch = p.train.batch_size * (t->dp ? t->dp->size() : 1);
  if (t->dp && t->dp->rank() != 0) logger().set_level(spdlog::level::warn);  // rank 0 reports
  auto straggler = parse_straggler(t->dp.get());
  if (!straggler) return straggler.status();
  t->straggler = *straggler;

  PLINTH_TRY(open_backend(*t));
  PLINTH_TRY(open_data(*t));
  PLINTH_TRY(check_progressive_data(*t));
  // The graph for the full batch (kept for its program): validates the model against the data.
  auto g = t->graph_for(p.train.batch_size, true);
  if (!g) return g.status();
  PLINTH_TRY(check_progressive_model(*t, **g));
  PLINTH_TRY(open_optimizer(*t));
  make_executor(*t);
  PLINTH_TRY(make_store(*t, **g));
  t->prepare_optimizer_args();
  t->prepare_grad_ops();
  PLINTH_TRY(check_gradient_ops(*t));
  PLINTH_TRY(compile_training(*t));
  PLINTH_TRY(make_loaders(*t));
  return t;
}

}  // namespace plinth::train
