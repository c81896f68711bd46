// dropout.cpp — the `dropout` layer (nn.Dropout): zeroes each element with
// probability p and scales the rest by 1/(1-p) while training, with the
// backend's counter-based masks (one stream per dropout layer); the identity
// (no node at all) at evaluation or with p = 0.
#include "graph/layers/layer.hpp"

namespace plinth::graph {
namespace {

constexpr config::LayerKey kKeys[] = {
    {"p", config::KeyType::number, config::LayerKey::defaulted, 0.0, "float in [0, 1)", "`0.0`",
     "drop probability (training only)",
     [](const LayerSpec& l) -> std::string {
       const double p = l.number("p");
       return p >= 0.0 && p < 1.0 ? "" : "p must be in [0, 1), got " + num(p);
     }},
};

// dx = mask dy / (1 - p), the mask drawn again from the same counters.
Status dropout_backward(Autodiff& ad, const Node& n) {
  if (!ad.needs(n.inputs[0])) return {};
  auto t = ad.target_for(n.inputs[0]);
  ad.bw.push_back({PLINTH_OP_DROPOUT_BACKWARD, {ad.grad_of(n.outputs[0])}, {t.first}, n.params, n.layer});
  ad.finish(t, n.layer);
  return {};
}

Status build(Context& c, const LayerSpec& l, const std::string& name, std::span<const int> in, int& out) {
  out = in[0];
  const double p = l.number("p");
  if (!c.opt.training || p == 0.0) return {};  // identity at evaluation
  const std::vector<int64_t> hs = c.g.values[in[0]].shape;
  out = c.g.add_value(name + ".out", PLINTH_DTYPE_F32, hs, Role::activation);
  plinth_dropout_params dp{sizeof(plinth_dropout_params), static_cast<float>(p), 0, c.dropout_index++};
  c.g.forward.push_back({PLINTH_OP_DROPOUT, {in[0]}, {out}, dp, name, dropout_backward});
  return {};
}

// ONNX: nothing; at evaluation the layer is the identity (build returns its input).
Status onnx(OnnxContext& x, Context&, const LayerSpec&, const std::string&, std::span<const int> in,
            int out) {
  auto t = x.tensor(in[0]);
  if (!t) return t.status();
  x.bind(out, *t);
  return {};
}

}  // namespace

const LayerKind kDropout{"dropout", kKeys, 1, 1, nullptr, build, false, onnx};

}  // namespace plinth::graph
