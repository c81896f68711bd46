// batchnorm.cpp — the `batchnorm` layer, torch's nn.BatchNorm1d / BatchNorm2d
// (affine, track_running_stats): per channel C, y = (x - mean) * rstd * gamma
// + beta, gamma 1 and beta 0 at start. The training program normalises with
// the batch's statistics and updates the running ones in place (one
// BATCHNORM node); the evaluation program normalises with the running ones.
// running_mean / running_var are buffers (graph.hpp's Parameter::buffer):
// saved and loaded under torch's names, never trained. Not here: the kernels
// (backends/) or what data parallelism does with the buffers (train/step.cpp).
//
// Notation: B batch, C channels (dim 1), S the rest (H * W for images, 1 for
// (B, C) features).
#include "graph/layers/layer.hpp"

namespace plinth::graph {
namespace {

constexpr config::LayerKey kKeys[] = {
    {"eps", config::KeyType::number, config::LayerKey::defaulted, 1e-5, "float > 0", "`1e-5`",
     "added to the variance",
     [](const LayerSpec& l) -> std::string {
       return l.number("eps") > 0.0 ? "" : "eps must be > 0, got " + num(l.number("eps"));
     }},
    {"momentum", config::KeyType::number, config::LayerKey::defaulted, 0.1, "float in [0, 1]", "`0.1`",
     "weight of the batch's statistics in the running ones: running = (1 - momentum) running + momentum "
     "batch (torch's convention)",
     [](const LayerSpec& l) -> std::string {
       const double m = l.number("momentum");
       return m >= 0.0 && m <= 1.0 ? "" : "momentum must be in [0, 1], got " + num(m);
     }},
};

// BATCHNORM_BACKWARD writes dx and accumulates (+=) dgamma and dbeta, so
// those are zeroed first unless gradients are summed over micro-batches; a
// frozen gain or bias gets its gradient written to a scratch value.
Status batchnorm_backward(Autodiff& ad, const Node& n) {
  Graph& g = ad.g;
  const int x = n.inputs[0], gamma = n.inputs[1], beta = n.inputs[2];
  auto tg = ad.needs(gamma) ? ad.target_for(gamma) : std::pair<int, int>{ad.scratch(gamma), -1};
  auto tb = ad.needs(beta) ? ad.target_for(beta) : std::pair<int, int>{ad.scratch(beta), -1};
  const plinth_fill_params zero{sizeof(plinth_fill_params), 0.0};
  if (!ad.accumulates(gamma) || !ad.needs(gamma))
    ad.bw.push_back({PLINTH_OP_FILL, {}, {tg.first}, zero, n.layer});
  if (!ad.accumulates(beta) || !ad.needs(beta))
    ad.bw.push_back({PLINTH_OP_FILL, {}, {tb.first}, zero, n.layer});
  std::pair<int, int> tx{-1, -1};
  int dx;
  if (ad.needs(x)) {
    tx = ad.target_for(x);
    dx = tx.first;
  } else {
    const std::vector<int64_t> xs = g.values[x].shape;
    dx = g.add_value(n.layer + ".dx_unused", PLINTH_DTYPE_F32, xs, Role::activation);
  }
  ad.bw.push_back({PLINTH_OP_BATCHNORM_BACKWARD,
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
  const int x = in[0];
  const std::vector<int64_t> xs = g.values[x].shape;  // (B, C, S..)
  if (xs.size() < 2 || xs.size() > 4)
    return c.err(l, "expects (B, C) features or (B, C, H, W) images from " + input_name(l, 0) + ", got " +
                        shape_str(xs));
  if (!g.values[x].strides.empty())
    return c.err(l, "its input " + input_name(l, 0) +
                        " is a strided view; put the batchnorm after a layer "
                        "that writes its output (linear, conv2d, add, ...)");
  const int64_t C = xs[1];
  const bool training = c.opt.training;
  // The batch's variance needs two values per channel (torch refuses too).
  if (training && g.values[x].numel() / C < 2)
    return c.err(l, "training needs more than one value per channel, got " + shape_str(xs) +
                        " (a batch of 1 row: a larger batch_size, or [data.train] drop_last = true when the "
                        "epoch's last batch has 1 row)");
  const plinth_batchnorm_params bp{sizeof(plinth_batchnorm_params), static_cast<float>(l.number("eps")),
                                   static_cast<float>(l.number("momentum")), training ? 1 : 0};
  const int gamma = c.param(name + ".weight", {C}, {ParamInit::constant, 1.0}, false);
  const int beta = c.param(name + ".bias", {C}, {ParamInit::constant, 0.0}, false);
  const int running_mean = c.buffer(name + ".running_mean", {C}, 0.0);
  const int running_var = c.buffer(name + ".running_var", {C}, 1.0);
  out = g.add_value(name + ".out", PLINTH_DTYPE_F32, xs, Role::activation);
  std::vector<int> outs{out};
  if (training) {  // the batch's mean and rstd for backward; the running statistics updated in place
    outs.push_back(g.add_value(name + ".mean", PLINTH_DTYPE_F32, {C}, Role::activation));
    outs.push_back(g.add_value(name + ".rstd", PLINTH_DTYPE_F32, {C}, Role::activation));
    outs.push_back(running_mean);
    outs.push_back(running_var);
  }
  g.forward.push_back(
      {PLINTH_OP_BATCHNORM, {x, gamma, beta, running_mean, running_var}, outs, bp, name, batchnorm_backward});
  return {};
}

// ONNX: BatchNormalization in inference mode (the running statistics); over
// dim 1, which a token model's sequence would be, so T stays fixed then.
Status onnx(OnnxContext& x, Context& c, const LayerSpec& l, const std::string& name, std::span<const int> in,
            int out) {
  auto xin = x.tensor(in[0]);
  if (!xin) return xin.status();
  std::vector<std::string> ins{*xin};
  for (const char* p : {".weight", ".bias", ".running_mean", ".running_var"}) {
    auto w = x.weight(c, name + p);
    if (!w) return w.status();
    ins.push_back(*w);
  }
  x.sequence_dynamic = false;
  x.bind(out, x.node("BatchNormalization", ins, name + ".out",
                     {{"epsilon", static_cast<float>(l.number("eps"))},
                      {"momentum", 1.f - static_cast<float>(l.number("momentum"))}}));
  return {};
}

}  // namespace

const LayerKind kBatchnorm{"batchnorm", kKeys, 1, 1, nullptr, build, false, onnx};

}  // namespace plinth::graph
