// activation.cpp — the elementwise activation layers relu, gelu (tanh
// approximation, as GPT-2), tanh, sigmoid and silu (x * sigmoid(x), torch's
// nn.SiLU): one UNARY node each, and its
// derivative UNARY_BACKWARD. They have no keys and keep their input's shape.
#include "graph/layers/layer.hpp"

namespace plinth::graph {
namespace {

// dx = f'(x) dy, from the forward input x.
Status unary_backward(Autodiff& ad, const Node& n) {
  if (!ad.needs(n.inputs[0])) return {};
  auto t = ad.target_for(n.inputs[0]);
  ad.bw.push_back(
      {PLINTH_OP_UNARY_BACKWARD, {ad.grad_of(n.outputs[0]), n.inputs[0]}, {t.first}, n.params, n.layer});
  ad.finish(t, n.layer);
  return {};
}

template <plinth_unary_fn Fn>
Status build(Context& c, const LayerSpec&, const std::string& name, std::span<const int> in, int& out) {
  const std::vector<int64_t> hs = c.g.values[in[0]].shape;
  out = c.g.add_value(name + ".out", PLINTH_DTYPE_F32, hs, Role::activation);
  c.g.forward.push_back({PLINTH_OP_UNARY, {in[0]}, {out}, unary(Fn), name, unary_backward});
  return {};
}

}  // namespace

const LayerKind kRelu{"relu", {}, 1, 1, nullptr, build<PLINTH_UNARY_RELU>};
const LayerKind kGelu{"gelu", {}, 1, 1, nullptr, build<PLINTH_UNARY_GELU_TANH>};
const LayerKind kTanh{"tanh", {}, 1, 1, nullptr, build<PLINTH_UNARY_TANH>};
const LayerKind kSigmoid{"sigmoid", {}, 1, 1, nullptr, build<PLINTH_UNARY_SIGMOID>};
const LayerKind kSilu{"silu", {}, 1, 1, nullptr, build<PLINTH_UNARY_SILU>};

}  // namespace plinth::graph
