// loss.cpp — the [loss] nodes after the model's output (cross_entropy: the
// fused softmax cross-entropy per row or per position, with label smoothing
// in the training graph when [loss] label_smoothing > 0; mse: the mean squared
// error per row) and the running loss sum, with their derivative: the loss's
// backward seeds dL/dprediction (Graph::loss_seed). Not here: the layers.
//
// Notation: B batch, C classes, T positions per sample.
#include "graph/loss.hpp"

#include "exec/backend.hpp"

namespace plinth::graph {
namespace {

// The loss reductions (and mse's difference, evaluation's argmax): the seed
// from the fused loss backward below stands for them.
Status seeded(Autodiff&, const Node&) { return {}; }

Status cross_entropy_backward(Autodiff& ad, const Node& n) {
  Graph& g = ad.g;
  int logits = n.inputs[0];
  auto t = ad.target_for(logits);
  auto xp = std::get<plinth_xent_params>(n.params);
  g.loss_seed = static_cast<int>(ad.bw.size());
  g.loss_seed_factor = 1.f;
  ad.bw.push_back({PLINTH_OP_CROSS_ENTROPY_BACKWARD, {n.outputs[1], n.inputs[1]}, {t.first}, xp, n.layer});
  ad.finish(t, n.layer);
  return {};
}

// mse: loss = mean over all elements of (pred - target)^2, so
// d pred = 2 (pred - target) / numel.  (the seed of backward)
Status mse_backward(Autodiff& ad, const Node& n) {
  Graph& g = ad.g;
  int diff = n.inputs[0];
  int pred = g.prediction;
  auto t = ad.target_for(pred);
  float k = 2.f / static_cast<float>(g.values[diff].numel());
  g.loss_seed = static_cast<int>(ad.bw.size());
  g.loss_seed_factor = 2.f / static_cast<float>(g.values[diff].numel() / g.batch);
  ad.bw.push_back({PLINTH_OP_UNARY, {diff}, {t.first}, unary(PLINTH_UNARY_IDENTITY, k, 0.f), "loss"});
  ad.finish(t, "loss");
  return {};
}

}  // namespace

Status build_loss(Context& c, const DataShape& data, int h) {
  const config::Pipeline& p = c.p;
  const BuildOptions& opt = c.opt;
  Graph& g = c.g;
  const int64_t B = g.batch;
  const config::LayerSpec* last_layer = c.last;
  g.prediction = h;
  const std::vector<int64_t> ps = g.values[h].shape;

  g.losses = g.add_value("loss.rows", PLINTH_DTYPE_F32, {B}, Role::activation);
  g.loss_sum = g.add_value(opt.training ? "loss.sum" : "eval.loss.sum", PLINTH_DTYPE_F32, {}, Role::stat);
  if (p.loss.type == "cross_entropy") {
    if (ps.size() < 2)
      return error(errc::config, p.source.string() +
                                     ": loss cross_entropy expects the model output (B, .., C), got " +
                                     shape_str(ps) + " (add a flatten or linear layer)");
    const int64_t C = ps.back();
    if (data.num_classes > C) {
      std::string what = "the data has " + std::to_string(data.num_classes) +
                         " classes but the model outputs " + std::to_string(C) +
                         " (set 'out' of the last linear layer)";
      return last_layer ? c.err(*last_layer, what) : error(errc::config, p.source.string() + ": " + what);
    }
    // One class per sample (B, C), or one per position (B, T.., C) with
    // targets (B, T..): every position is a row of the loss.
    const std::vector<int64_t> want(ps.begin() + 1, ps.end() - 1);
    if (data.target_dtype != PLINTH_DTYPE_I32 || data.target_shape != want)
      return error(errc::config, p.source.string() + ": loss cross_entropy needs i32 class ids shaped " +
                                     shape_str(want) + " per sample for the model output " + shape_str(ps) +
                                     ", the target field is " + exec::dtype_name(data.target_dtype) + " " +
                                     shape_str(data.target_shape));
    const int64_t rows = g.values[h].numel() / C;
    g.positions = rows / B;
    std::vector<int64_t> ts{B};
    ts.insert(ts.end(), want.begin(), want.end());
    g.target = g.add_value("target", PLINTH_DTYPE_I32, ts, Role::target);
    int logits = g.positions == 1 ? h : g.add_view(h, {rows, C}, "loss.logits");
    int tgt = g.positions == 1 ? g.target : g.add_view(g.target, {rows}, "loss.targets");
    int row_losses = g.positions == 1
                         ? g.losses
                         : g.add_value("loss.positions", PLINTH_DTYPE_F32, {rows}, Role::activation);
    int probs = g.add_value("loss.probs", PLINTH_DTYPE_F32, {rows, C}, Role::activation);
    g.loss_seed_factor = 1.f / static_cast<float>(g.positions);
    g.forward.push_back({PLINTH_OP_CROSS_ENTROPY,
                         {logits, tgt},
                         {row_losses, probs},
                         plinth_xent_params{sizeof(plinth_xent_params), -1, 1.f / static_cast<float>(rows),
                                            opt.training ? static_cast<float>(p.loss.label_smoothing) : 0.f},
                         "loss",
                         cross_entropy_backward});
    if (g.positions > 1) {  // a sample's loss: the mean over its positions
      int per = g.add_view(row_losses, {B, g.positions}, "loss.positions2d");
      int rows2 = g.add_view(g.losses, {B, 1}, "loss.rows2d");
      g.forward.push_back({PLINTH_OP_REDUCE,
                           {per},
                           {rows2},
                           plinth_reduce_params{sizeof(plinth_reduce_params), PLINTH_REDUCE_MEAN, 0.f},
                           "loss",
                           seeded});
    }
    if (!opt.training) {
      g.argmax = g.add_value("argmax", PLINTH_DTYPE_I32, {rows}, Role::activation);
      g.forward.push_back({PLINTH_OP_ARGMAX, {logits}, {g.argmax}, std::monostate{}, "loss", seeded});
    }
  } else if (p.loss.type == "mse") {
    if (p.loss.label_smoothing != 0.0)
      return error(errc::config,
                   p.source.string() + ": loss.label_smoothing applies to cross_entropy only, not mse");
    std::vector<int64_t> ts{B};
    ts.insert(ts.end(), data.target_shape.begin(), data.target_shape.end());
    if (ts != ps && !(data.target_shape.empty() && ps.size() == 2 && ps[1] == 1))
      return error(errc::config, p.source.string() + ": loss mse: target " + shape_str(ts) +
                                     " does not match the model output " + shape_str(ps));
    if (data.target_dtype != PLINTH_DTYPE_F32)
      return error(errc::config, p.source.string() + ": loss mse needs an f32 target");
    g.target = g.add_value("target", PLINTH_DTYPE_F32, ps, Role::target);
    int diff = g.add_value("loss.diff", PLINTH_DTYPE_F32, ps, Role::activation);
    int sq = g.add_value("loss.sq", PLINTH_DTYPE_F32, ps, Role::activation);
    g.forward.push_back({PLINTH_OP_BINARY,
                         {h, g.target},
                         {diff},
                         plinth_binary_params{sizeof(plinth_binary_params), PLINTH_BINARY_SUB, 0.f},
                         "loss",
                         seeded});
    g.forward.push_back({PLINTH_OP_UNARY, {diff}, {sq}, unary(PLINTH_UNARY_SQUARE), "loss", mse_backward});
    // Row losses: mean over the features of each row (so the mean over rows is torch's MSELoss).
    const int64_t per_row = g.values[h].numel() / B;
    int sq2 = g.add_view(sq, {B, per_row}, "loss.sq2d");
    int rows2 = g.add_view(g.losses, {B, 1}, "loss.rows2d");
    g.forward.push_back({PLINTH_OP_REDUCE,
                         {sq2},
                         {rows2},
                         plinth_reduce_params{sizeof(plinth_reduce_params), PLINTH_REDUCE_MEAN, 0.f},
                         "loss",
                         seeded});
  } else {
    return error(errc::config, p.source.string() + ": unknown loss type '" + p.loss.type + "'");
  }
  // loss_sum += sum(losses): read back only when logging, so steps never sync.
  int rows_view = g.add_view(g.losses, {B}, "loss.rows1d");
  int sum_view = g.add_view(g.loss_sum, {1}, "loss.sum1d");
  g.forward.push_back({PLINTH_OP_REDUCE,
                       {rows_view},
                       {sum_view},
                       plinth_reduce_params{sizeof(plinth_reduce_params), PLINTH_REDUCE_SUM, 1.f},
                       "loss",
                       seeded});

  return {};
}

}  // namespace plinth::graph
