// precision.cpp — insert CASTs so MATMULs read bf16/f16 operands (autocast's
// rule for matmul: low-precision inputs, f32 accumulation and output), and
// share each cast between the forward product and the backward products that
// read the same value (a weight cast once for y = x W^T and dx = dy W; an
// activation cast once for y and dW = dy^T x). Not here: loss scaling.
#include "graph/precision.hpp"

#include <map>

namespace plinth::graph {

Result<plinth_dtype> matmul_dtype(std::string_view precision) {
  if (precision == "fp32") return PLINTH_DTYPE_F32;
  if (precision == "bf16") return PLINTH_DTYPE_BF16;
  if (precision == "fp16") return PLINTH_DTYPE_F16;
  return error(errc::config, "precision '" + std::string(precision) + "' is not one of fp32, bf16, fp16");
}

Result<PrecisionStats> cast_matmul_inputs(Graph& g, plinth_dtype dtype) {
  PrecisionStats stats;
  if (dtype == PLINTH_DTYPE_F32) return stats;
  if (dtype != PLINTH_DTYPE_BF16 && dtype != PLINTH_DTYPE_F16)
    return error(errc::internal, "mixed precision: matmul inputs must be bf16 or f16");
  const char* suffix = dtype == PLINTH_DTYPE_BF16 ? ".bf16" : ".f16";

  // value -> its low-precision copy, valid while nothing writes the value.
  std::map<int, int> copy_of;
  auto invalidate = [&](int written) {
    const int r = g.root(written);
    for (auto it = copy_of.begin(); it != copy_of.end();)
      it = g.root(it->first) == r ? copy_of.erase(it) : std::next(it);
  };

  // Rewrite one node list; returns the new index of node `keep` (-1: none).
  auto rewrite = [&](std::vector<Node>& nodes, int keep) {
    std::vector<Node> out;
    out.reserve(nodes.size() * 2);
    int kept = -1;
    for (size_t i = 0; i < nodes.size(); ++i) {
      Node n = std::move(nodes[i]);
      if (n.kind == PLINTH_OP_MATMUL) {
        bool changed = false;
        for (size_t k = 0; k < 2 && k < n.inputs.size(); ++k) {
          const int v = n.inputs[k];
          if (g.values[v].dtype != PLINTH_DTYPE_F32) continue;
          auto it = copy_of.find(v);
          if (it == copy_of.end()) {
            // Copies: add_value may reallocate g.values.
            const std::string name = g.values[v].name + suffix;
            const std::vector<int64_t> shape = g.values[v].shape;
            const int c = g.add_value(name, dtype, shape, Role::activation);
            out.push_back({PLINTH_OP_CAST, {v}, {c}, std::monostate{}, n.layer});
            ++stats.casts;
            it = copy_of.emplace(v, c).first;
          }
          n.inputs[k] = it->second;
          changed = true;
        }
        stats.matmuls += changed;
      }
      for (int o : n.outputs) invalidate(o);
      if (static_cast<int>(i) == keep) kept = static_cast<int>(out.size());
      out.push_back(std::move(n));
    }
    nodes = std::move(out);
    return kept;
  };
  rewrite(g.forward, -1);
  const int seed = rewrite(g.backward, g.loss_seed);
  if (g.loss_seed >= 0) g.loss_seed = seed;
  return stats;
}

}  // namespace plinth::graph
