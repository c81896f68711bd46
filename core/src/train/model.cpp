// model.cpp — the model of a prepared run on its backend: the graph for a
// batch shape, built once and compiled once (training and evaluation
// programs are cached by batch rows), the parameters' initialisation and
// [init] from, uploading batches, evaluation and what it all holds in
// memory. Not here: the step (step.cpp) or the loop (trainer.cpp).
#include <cmath>
#include <set>
#include <span>

#include "graph/precision.hpp"
#include "plinth/log.hpp"
#include "train/finetune.hpp"
#include "train/progressive.hpp"
#include "train/trainer_impl.hpp"
#include "util/rng.hpp"

namespace plinth::train {

Result<const graph::Graph*> Trainer::graph_for(int64_t rows, bool training, int64_t res) {
  if (res == full_res) res = 0;
  const auto key = std::make_tuple(rows, training, res);
  if (auto it = graphs.find(key); it != graphs.end()) return &it->second;
  graph::DataShape at = shape;
  if (res > 0) {  // (C, H, W) or (H, W): the last two dims
    const size_t n = at.input_shape.size();
    at.input_shape[n - 1] = at.input_shape[n - 2] = res;
  }
  auto g = graph::build(p, at, {rows, training, training && p.train.grad_accum > 1});
  if (!g) return g.status();
  return &graphs.emplace(key, std::move(*g)).first->second;
}

Result<exec::Program*> Trainer::program(int64_t rows, bool training, int64_t res) {
  if (res == full_res) res = 0;
  auto& progs = training ? train_progs : eval_progs;
  const auto key = std::make_pair(rows, res);
  if (auto it = progs.find(key); it != progs.end()) return it->second.get();
  auto built = graph_for(rows, training, res);
  if (!built) return built.status();
  graph::Graph g = **built;  // the matmul casts change the compiled copy, not the cached graph
  if (auto pass = graph::cast_matmul_inputs(g, matmul_dtype); !pass) return pass.status();
  auto prog = exec::Program::compile(g, *store, executor, training ? train_arena : nullptr);
  if (!prog) return prog.status();
  exec::Program* raw = prog->get();
  if (training && !train_arena) train_arena = raw->arena();
  progs[key] = std::move(*prog);
  return raw;
}

data::Resolution Trainer::train_resolution(int64_t epoch) const {
  if (!p.train.progressive.enabled) return {};
  const int64_t r = progressive_resolution(p.train.progressive, epoch, full_res);
  if (r == full_res) return {};
  return {static_cast<int32_t>(r), static_cast<int32_t>(r)};
}

Status Trainer::init_params() {
  // PyTorch's defaults: nn.Linear weight and bias U(-1/sqrt(in), 1/sqrt(in));
  // LayerNorm weight 1, bias 0. Drawn in declaration order from the run seed.
  // Drawn straight into the store where the backend's memory is
  // host-visible (no staging copy to fault in at start-up), else staged and
  // uploaded.
  SplitMix64 rng(derive_seed(p.run.seed, 0x494e4954ull));
  auto* const visible = static_cast<unsigned char*>(backend->host_ptr(store->buffer(exec::Store::params)));
  std::vector<float> staged;
  for (const auto& prm : params) {
    const auto& name = param_names[&prm - params.data()];
    const auto& slot = store->slot(name);
    int64_t n = 1;
    for (int64_t d : slot.shape) n *= d;
    float* host = nullptr;
    if (visible) {
      host = reinterpret_cast<float*>(visible + slot.offset);
    } else {
      staged.resize(static_cast<size_t>(n));
      host = staged.data();
    }
    for (auto& x : std::span<float>(host, static_cast<size_t>(n))) {
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
    if (!visible)
      PLINTH_TRY(backend->upload(store->buffer(exec::Store::params), slot.offset, host,
                                 static_cast<uint64_t>(n) * 4));
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
  // Per-sample bytes at the batch's resolution (progressive resizing).
  auto bytes = [&](int f) {
    return b.sample_bytes.size() > static_cast<size_t>(f) ? b.sample_bytes[f]
                                                          : train_src->fields()[f].sample_bytes;
  };
  PLINTH_TRY(prog.upload_input(b.fields[in_field].data(), b.rows * bytes(in_field)));
  return prog.upload_target(b.fields[tgt_field].data(), b.rows * bytes(tgt_field));
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

MemoryUse memory_use(const Trainer& t) {
  MemoryUse m;
  m.parameters = t.store->group_bytes(exec::Store::params);
  m.gradients = t.store->group_bytes(exec::Store::grads);
  // The optimizer's scratch shares the state group; it is not state.
  for (int32_t s = 0; s < t.scratch_slots; ++s)
    if (t.store->has(scratch_slot(s))) m.other_persistent += t.store->slot(scratch_slot(s)).bytes;
  m.optimizer_state = t.store->group_bytes(exec::Store::state) - m.other_persistent;
  m.other_persistent += t.store->group_bytes(exec::Store::stats);
  std::set<const exec::Buffer*> counted;  // training programs share one arena
  for (const auto* progs : {&t.train_progs, &t.eval_progs})
    for (const auto& [key, prog] : *progs) {
      if (counted.insert(prog->arena().get()).second) m.arenas += prog->arena_bytes();
      m.activation_need = std::max(m.activation_need, prog->activation_need_bytes());
    }
  m.backend_peak = t.backend->peak_bytes();
  return m;
}

}  // namespace plinth::train
