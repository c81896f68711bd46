// layernorm.cpp — the `layernorm` layer (nn.LayerNorm over the last dim C):
// y = (x - mean) * rstd * gamma + beta per row, gamma 1 and beta 0 at start;
// the forward keeps each row's mean and rstd for LAYERNORM_BACKWARD.
//
// Notation: R rows (all leading dims), C normalised width.
#include "graph/layers/layer.hpp"

namespace plinth::graph {
namespace {

constexpr config::LayerKey kKeys[] = {
    {"eps", config::KeyType::number, config::LayerKey::defaulted, 1e-5, "float > 0", "`1e-5`",
     "added to the variance",
     [](const LayerSpec& l) -> std::string {
       return l.number("eps") > 0.0 ? "" : "eps must be > 0, got " + num(l.number("eps"));
     }},
};

// LAYERNORM_BACKWARD accumulates dgamma/dbeta, so they are zeroed first,
// unless gradients are being accumulated across micro-batches. A frozen gain
// or bias gets its gradient written to a scratch value.
Status layernorm_backward(Autodiff& ad, const Node& n) {
  Graph& g = ad.g;
  int x = n.inputs[0], gamma = n.inputs[1], beta = n.inputs[2];
  auto tg = ad.needs(gamma) ? ad.target_for(gamma) : std::pair<int, int>{ad.scratch(gamma), -1};
  auto tb = ad.needs(beta) ? ad.target_for(beta) : std::pair<int, int>{ad.scratch(beta), -1};
  plinth_fill_params zero{sizeof(plinth_fill_params), 0.0};
  if (!ad.accumulates(gamma) || !ad.needs(gamma))
    ad.bw.push_back({PLINTH_OP_FILL, {}, {tg.first}, zero, n.layer});
  if (!ad.accumulates(beta) || !ad.needs(beta))
    ad.bw.push_back({PLINTH_OP_FILL, {}, {tb.first}, zero, n.layer});
  int dx;
  std::pair<int, int> tx{-1, -1};
  if (ad.needs(x)) {
    tx = ad.target_for(x);
    dx = tx.first;
  } else {
    const std::vector<int64_t> xs = g.values[x].shape;
    dx = g.add_value(n.layer + ".dx_unused", PLINTH_DTYPE_F32, xs, Role::activation);
  }
  ad.bw.push_back({PLINTH_OP_LAYERNORM_BACKWARD,
                   {ad.grad_of(n.outputs[0]), x, gamma, n.outputs[1], n.outputs[2]},
                   {dx, tg.first, tb.first},
                   n.params,
                   n.layer});
  ad.finish(tg, n.layer);
  ad.finish(tb, n.layer);
  if (tx.first >= 0) ad.finish(tx, n.layer);
  return {};
}

Status build(Context& c, const LayerSpec& l, const std::string& name, std::span<const int> in, int& out) {
  Graph& g = c.g;
  const int h = in[0];
  const std::vector<int64_t> hs = g.values[h].shape;
  const int64_t C = hs.back();
  const int64_t rows = g.values[h].numel() / C;
  int x2 = g.add_view(h, {rows, C}, name + ".in");
  int gamma = c.param(name + ".weight", {C}, {ParamInit::constant, 1.0}, false);
  int beta = c.param(name + ".bias", {C}, {ParamInit::constant, 0.0}, false);
  int y = g.add_value(name + ".out", PLINTH_DTYPE_F32, hs, Role::activation);
  int y2 = g.add_view(y, {rows, C}, name + ".out2d");
  int mean = g.add_value(name + ".mean", PLINTH_DTYPE_F32, {rows}, Role::activation);
  int rstd = g.add_value(name + ".rstd", PLINTH_DTYPE_F32, {rows}, Role::activation);
  g.forward.push_back(
      {PLINTH_OP_LAYERNORM,
       {x2, gamma, beta},
       {y2, mean, rstd},
       plinth_layernorm_params{sizeof(plinth_layernorm_params), static_cast<float>(l.number("eps"))},
       name,
       layernorm_backward});
  out = y;
  return {};
}

// ONNX: LayerNormalization over the last axis (opset 17).
Status onnx(OnnxContext& x, Context& c, const LayerSpec& l, const std::string& name, std::span<const int> in,
            int out) {
  auto xin = x.tensor(in[0]);
  if (!xin) return xin.status();
  auto gamma = x.weight(c, name + ".weight");
  if (!gamma) return gamma.status();
  auto beta = x.weight(c, name + ".bias");
  if (!beta) return beta.status();
  x.bind(out, x.node("LayerNormalization", {*xin, *gamma, *beta}, name + ".out",
                     {{"axis", int64_t{-1}}, {"epsilon", static_cast<float>(l.number("eps"))}}));
  return {};
}

}  // namespace

const LayerKind kLayernorm{"layernorm", kKeys, 1, 1, nullptr, build, false, onnx};

}  // namespace plinth::graph
