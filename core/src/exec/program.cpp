// program.cpp — compile a graph into a planned arena and a flat launch list.
#include "exec/program.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "exec/planner.hpp"

namespace plinth::exec {

Result<std::unique_ptr<Program>> Program::compile(const graph::Graph& g, Store& store) {
  return compile(g, store, std::make_shared<Executor>(store.backend().shared_from_this()));
}

Result<std::unique_ptr<Program>> Program::compile(const graph::Graph& g, Store& store,
                                                  std::shared_ptr<Executor> executor,
                                                  std::shared_ptr<Buffer> shared) {
  auto prog = std::unique_ptr<Program>(new Program());
  Program& p = *prog;
  p.graph_ = g;
  p.store_ = &store;
  p.exec_ = std::move(executor);
  const auto& G = p.graph_;
  for (const auto& n : G.forward) p.nodes_.push_back(&n);
  for (const auto& n : G.backward) p.nodes_.push_back(&n);

  // Lifetimes of transient root values over the launch sequence.
  const int nv = static_cast<int>(G.values.size());
  std::vector<int> first(nv, -1), last(nv, -1);
  auto touch = [&](int v, int i) {
    int r = G.root(v);
    if (first[r] < 0) first[r] = i;
    last[r] = i;
  };
  for (int i = 0; i < static_cast<int>(p.nodes_.size()); ++i) {
    for (int v : p.nodes_[i]->inputs) touch(v, i);
    for (int v : p.nodes_[i]->outputs) touch(v, i);
  }
  std::vector<Interval> items;
  std::vector<int> item_value;
  for (int v = 0; v < nv; ++v) {
    const auto& val = G.values[v];
    if (val.alias_of >= 0) continue;
    bool transient = val.role == graph::Role::activation || val.role == graph::Role::input ||
                     val.role == graph::Role::target;
    if (!transient) {
      if (!store.has(val.name)) return error(errc::internal, "no persistent storage for '" + val.name + "'");
      continue;
    }
    if (val.role != graph::Role::activation) {
      // The batch is written before the first launch and kept to the last, so
      // a step can be run again on the same batch.
      first[v] = 0;
      last[v] = static_cast<int>(p.nodes_.size()) - 1;
    }
    if (first[v] < 0) continue;  // never used
    // A forward-only graph keeps its prediction to the end, for download_prediction.
    if (G.backward.empty() && v == G.root(G.prediction)) last[v] = static_cast<int>(p.nodes_.size()) - 1;
    items.push_back({bytes_of(val.dtype, val.shape), first[v], last[v], 0});
    item_value.push_back(v);
  }
  p.activation_need_ = peak_live_bytes(items);
  uint64_t arena = plan_offsets(items);
  if (shared && shared->size() >= arena) {
    p.arena_ = std::move(shared);
  } else {
    auto buf = store.backend().alloc(arena);
    if (!buf) return buf.status();
    p.arena_ = std::make_shared<Buffer>(std::move(*buf));
  }
  p.offset_.assign(nv, 0);
  for (size_t i = 0; i < items.size(); ++i) p.offset_[item_value[i]] = items[i].offset;

  // Launches: tensors first (stable storage), then pointers.
  for (int i = 0; i < static_cast<int>(p.nodes_.size()); ++i) {
    const graph::Node& n = *p.nodes_[i];
    Launch l;
    l.node = i;
    l.params = n.params;
    l.tin = static_cast<uint32_t>(p.tensors_.size());
    for (int v : n.inputs) p.tensors_.push_back(p.tensor_of(v));
    l.tout = static_cast<uint32_t>(p.tensors_.size());
    for (int v : n.outputs) p.tensors_.push_back(p.tensor_of(v));
    l.op.struct_size = sizeof(plinth_op);
    l.op.kind = n.kind;
    l.op.num_inputs = static_cast<int32_t>(n.inputs.size());
    l.op.num_outputs = static_cast<int32_t>(n.outputs.size());
    p.launches_.push_back(l);
  }
  for (auto& l : p.launches_) {
    l.op.inputs = p.tensors_.data() + l.tin;
    l.op.outputs = p.tensors_.data() + l.tout;
    l.op.params = std::visit(
        [](auto& x) -> const void* {
          if constexpr (std::is_same_v<std::decay_t<decltype(x)>, std::monostate>)
            return nullptr;
          else
            return &x;
        },
        l.params);
  }
  // Which launches the backend runs, and which fall back to the CPU.
  for (auto& l : p.launches_) {
    auto fallback = p.exec_->plan(l.op, "layer '" + p.nodes_[l.node]->layer + "'");
    if (!fallback) return fallback.status();
    l.fallback = *fallback;
  }
  return prog;
}

plinth_tensor Program::tensor_of(int v) const {
  const auto& G = graph_;
  int r = G.root(v);
  const auto& root = G.values[r];
  const auto& val = G.values[v];
  plinth_tensor t;
  if (root.role == graph::Role::activation || root.role == graph::Role::input ||
      root.role == graph::Role::target) {
    t = make_tensor(arena_->get(), offset_[r], val.dtype, val.shape);
  } else {
    plinth_tensor s = store_->tensor(root.name);
    t = make_tensor(s.buffer, s.offset, val.dtype, val.shape);
  }
  if (v != r) {  // a view: its start within the root, and its strides when not a reshape
    t.offset += static_cast<uint64_t>(val.offset) * dtype_size(val.dtype);
    for (size_t d = 0; d < val.strides.size(); ++d) t.strides[d] = val.strides[d];
  }
  return t;
}

size_t Program::num_fallbacks() const {
  size_t n = 0;
  for (const auto& l : launches_) n += l.fallback;
  return n;
}

Status Program::run() {
  Backend& b = exec_->backend();
  for (const auto& l : launches_) {
    if (l.fallback) {
      PLINTH_TRY(exec_->run_fallback(l.op, "layer '" + nodes_[l.node]->layer + "'"));
      continue;
    }
    if (plinth_status s = b.launch_raw(l.op); s != PLINTH_OK)
      return plugin_status(
          s, std::string("op ") + op_name(l.op.kind) + " of layer '" + nodes_[l.node]->layer + "'");
  }
  return {};
}

Status Program::run(const std::function<Status(size_t)>& after) {
  Backend& b = exec_->backend();
  for (size_t i = 0; i < launches_.size(); ++i) {
    const auto& l = launches_[i];
    if (l.fallback) {
      PLINTH_TRY(exec_->run_fallback(l.op, "layer '" + nodes_[l.node]->layer + "'"));
    } else if (plinth_status s = b.launch_raw(l.op); s != PLINTH_OK) {
      return plugin_status(
          s, std::string("op ") + op_name(l.op.kind) + " of layer '" + nodes_[l.node]->layer + "'");
    }
    PLINTH_TRY(after(i));
  }
  return {};
}

std::vector<int64_t> Program::last_writers(const plinth_buffer* buffer,
                                           const std::vector<std::pair<uint64_t, uint64_t>>& ranges) const {
  std::vector<int64_t> last(ranges.size(), -1);
  for (size_t i = 0; i < launches_.size(); ++i) {
    const plinth_op& op = launches_[i].op;
    for (int32_t o = 0; o < op.num_outputs; ++o) {
      const plinth_tensor& t = op.outputs[o];
      if (t.buffer != buffer) continue;
      // Bytes the tensor can touch: its largest element offset, whatever the strides.
      int64_t span = 1;
      for (int32_t d = 0; d < t.ndim; ++d) {
        if (t.shape[d] == 0) span = 0;
        if (span) span += (t.shape[d] - 1) * std::abs(t.strides[d]);
      }
      const uint64_t lo = t.offset, hi = t.offset + static_cast<uint64_t>(span) * dtype_size(t.dtype);
      for (size_t r = 0; r < ranges.size(); ++r)
        if (lo < ranges[r].first + ranges[r].second && ranges[r].first < hi)
          last[r] = static_cast<int64_t>(i);
    }
  }
  return last;
}

Status Program::upload_input(const void* data, uint64_t bytes) {
  int r = graph_.root(graph_.input);
  return store_->backend().upload(*arena_, offset_[r], data, bytes);
}

Status Program::upload_target(const void* data, uint64_t bytes) {
  int r = graph_.root(graph_.target);
  return store_->backend().upload(*arena_, offset_[r], data, bytes);
}

Status Program::download_argmax(int32_t* out) {
  if (graph_.argmax < 0) return error(errc::internal, "this program has no argmax");
  int r = graph_.root(graph_.argmax);
  return store_->backend().download(out, *arena_, offset_[r],
                                    static_cast<uint64_t>(graph_.batch * graph_.positions) * sizeof(int32_t));
}

Status Program::download_prediction(float* out) {
  int r = graph_.root(graph_.prediction);
  const auto& v = graph_.values[graph_.prediction];
  if (v.dtype != PLINTH_DTYPE_F32 || !v.strides.empty())
    return error(errc::internal, "the prediction is not a contiguous f32 tensor");
  if (graph_.values[r].role != graph::Role::activation)
    return error(errc::internal, "the prediction is not an activation");
  return store_->backend().download(out, *arena_, offset_[r] + static_cast<uint64_t>(v.offset) * 4,
                                    static_cast<uint64_t>(v.numel()) * 4);
}

void Program::set_dropout(uint64_t seed, uint64_t step) {
  for (auto& l : launches_) {
    if (l.op.kind != PLINTH_OP_DROPOUT && l.op.kind != PLINTH_OP_DROPOUT_BACKWARD) continue;
    auto& dp = std::get<plinth_dropout_params>(l.params);
    const auto& orig = std::get<plinth_dropout_params>(nodes_[l.node]->params);
    dp.seed = seed;
    dp.offset = ((step << 8) + orig.offset) << 32;  // 2^32 counters per layer per step
  }
}

void Program::set_loss_scale(float scale) {
  for (auto& l : launches_)
    if (l.op.kind == PLINTH_OP_CROSS_ENTROPY_BACKWARD)
      std::get<plinth_xent_params>(l.params).scale = scale * graph_.loss_seed_factor;
  // mse seeds dL/dprediction with UNARY IDENTITY, alpha = 2 / features * scale.
  if (graph_.loss_seed >= 0) {
    auto& l = launches_[graph_.forward.size() + static_cast<size_t>(graph_.loss_seed)];
    if (l.op.kind == PLINTH_OP_UNARY)
      std::get<plinth_unary_params>(l.params).alpha = graph_.loss_seed_factor * scale;
  }
}

}  // namespace plinth::exec
