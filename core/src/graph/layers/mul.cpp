// mul.cpp — the `mul` layer, y = a * b elementwise with NumPy broadcasting
// (add.cpp's rules): a gate of two branches (GLU-style MLPs). Its backward:
// da = dy * b, db = dy * a, a broadcast input's product summed over the
// broadcast dims.
#include "graph/layers/layer.hpp"

namespace plinth::graph {
namespace {

Status mul_backward(Autodiff& ad, const Node& n) {
  Graph& g = ad.g;
  const int dy = ad.grad_of(n.outputs[0]);
  const plinth_binary_params mul{sizeof(plinth_binary_params), PLINTH_BINARY_MUL, 0.f};
  for (size_t i = 0; i < 2; ++i) {
    const int in = n.inputs[i], other = n.inputs[1 - i];
    if (!ad.needs(in)) continue;
    bool bcast = false;
    for (int64_t st : g.values[in].strides) bcast = bcast || st == 0;
    if (!bcast) {  // d in = dy * other
      auto t = ad.target_for(in);
      ad.bw.push_back({PLINTH_OP_BINARY, {dy, other}, {t.first}, mul, n.layer});
      ad.finish(t, n.layer);
      continue;
    }
    // d in (reduced) += sum over the broadcast dims of dy * other
    const std::vector<int64_t> ys = g.values[n.outputs[0]].shape;
    const int prod = g.add_value(g.values[in].name + ".gradfull", PLINTH_DTYPE_F32, ys, Role::activation);
    ad.bw.push_back({PLINTH_OP_BINARY, {dy, other}, {prod}, mul, n.layer});
    sum_into_broadcast(ad, in, prod, n.layer);
  }
  return {};
}

Status build(Context& c, const LayerSpec& l, const std::string& name, std::span<const int> in, int& out) {
  Graph& g = c.g;
  std::vector<int> v;
  PLINTH_TRY(broadcast_inputs(c, l, name, in, v));
  const std::vector<int64_t> s = g.values[v[0]].shape;
  out = g.add_value(name + ".out", PLINTH_DTYPE_F32, s, Role::activation);
  g.forward.push_back({PLINTH_OP_BINARY,
                       {v[0], v[1]},
                       {out},
                       plinth_binary_params{sizeof(plinth_binary_params), PLINTH_BINARY_MUL, 0.f},
                       name,
                       mul_backward});
  return {};
}

// ONNX: Mul, broadcasting as NumPy.
Status onnx(OnnxContext& x, Context&, const LayerSpec&, const std::string& name, std::span<const int> in,
            int out) {
  auto a = x.tensor(in[0]);
  if (!a) return a.status();
  auto b = x.tensor(in[1]);
  if (!b) return b.status();
  x.bind(out, x.node("Mul", {*a, *b}, name + ".out"));
  return {};
}

}  // namespace

const LayerKind kMul{"mul", {}, 2, 2, nullptr, build, false, onnx};

}  // namespace plinth::graph
