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

// ONNX: Relu, Tanh, Sigmoid; silu as x * Sigmoid(x); gelu as its tanh
// formula in Mul/Add/Tanh (opset 17 has no Gelu), with the CPU backend's
// constants: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
template <plinth_unary_fn Fn>
Status onnx(OnnxContext& x, Context&, const LayerSpec&, const std::string& name, std::span<const int> in,
            int out) {
  auto xin = x.tensor(in[0]);
  if (!xin) return xin.status();
  const std::string& u = *xin;
  std::string y;
  switch (Fn) {
    case PLINTH_UNARY_RELU:
      y = x.node("Relu", {u}, name + ".out");
      break;
    case PLINTH_UNARY_TANH:
      y = x.node("Tanh", {u}, name + ".out");
      break;
    case PLINTH_UNARY_SIGMOID:
      y = x.node("Sigmoid", {u}, name + ".out");
      break;
    case PLINTH_UNARY_SILU:
      y = x.node("Mul", {u, x.node("Sigmoid", {u}, name + ".sigmoid")}, name + ".out");
      break;
    default: {  // PLINTH_UNARY_GELU_TANH
      const std::string u3 = x.node("Mul", {x.node("Mul", {u, u}, name + ".x2"), u}, name + ".x3");
      const std::string c = x.floats(name + ".c", {0.044715f});
      const std::string k = x.floats(name + ".sqrt_2_over_pi", {0.7978845608028654f});
      const std::string inner =
          x.node("Mul", {x.node("Add", {u, x.node("Mul", {u3, c}, name + ".cx3")}, name + ".sum"), k},
                 name + ".inner");
      const std::string one = x.floats(name + ".one", {1.f});
      const std::string half = x.floats(name + ".half", {0.5f});
      const std::string t1 = x.node("Add", {x.node("Tanh", {inner}, name + ".tanh"), one}, name + ".t1");
      y = x.node("Mul", {x.node("Mul", {u, half}, name + ".halfx"), t1}, name + ".out");
    }
  }
  x.bind(out, y);
  return {};
}

}  // namespace

const LayerKind kRelu{"relu", {}, 1, 1, nullptr, build<PLINTH_UNARY_RELU>, false, onnx<PLINTH_UNARY_RELU>};
const LayerKind kGelu{
    "gelu", {}, 1, 1, nullptr, build<PLINTH_UNARY_GELU_TANH>, false, onnx<PLINTH_UNARY_GELU_TANH>};
const LayerKind kTanh{"tanh", {}, 1, 1, nullptr, build<PLINTH_UNARY_TANH>, false, onnx<PLINTH_UNARY_TANH>};
const LayerKind kSigmoid{
    "sigmoid", {}, 1, 1, nullptr, build<PLINTH_UNARY_SIGMOID>, false, onnx<PLINTH_UNARY_SIGMOID>};
const LayerKind kSilu{"silu", {}, 1, 1, nullptr, build<PLINTH_UNARY_SILU>, false, onnx<PLINTH_UNARY_SILU>};

}  // namespace plinth::graph
