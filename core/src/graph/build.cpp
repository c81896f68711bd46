// build.cpp — from [model] layers and [loss] to a forward graph, and the
// reverse-mode derivative of that graph. Each layer's forward and backward
// follow PyTorch's definitions (nn.Linear: y = x W^T + b with W (out, in)).
#include "graph/build.hpp"

#include "graph/conv_layers.hpp"

#include <cmath>
#include <sstream>

namespace plinth::graph {
namespace {

std::string shape_str(const std::vector<int64_t>& s) {
  std::ostringstream o;
  o << "(";
  for (size_t i = 0; i < s.size(); ++i) o << (i ? ", " : "") << s[i];
  o << (s.size() == 1 ? ",)" : ")");
  return o.str();
}

plinth_unary_params unary(plinth_unary_fn fn, float alpha = 1.f, float beta = 0.f) {
  return {sizeof(plinth_unary_params), fn, alpha, beta};
}

Status layer_error(const config::Pipeline& p, const config::LayerSpec& l, const std::string& what) {
  const auto& b = l.where.begin;
  return error(errc::config, p.source.string() + ":" + std::to_string(b.line) + ":" +
                                 std::to_string(b.column) + ": layer '" + l.name + "' (" + l.type +
                                 "): " + what);
}

}  // namespace

int Graph::add_value(std::string name, plinth_dtype dtype, std::vector<int64_t> shape, Role role) {
  Value v;
  v.name = std::move(name);
  v.dtype = dtype;
  v.shape = std::move(shape);
  v.role = role;
  values.push_back(std::move(v));
  return static_cast<int>(values.size()) - 1;
}

int Graph::add_view(int of, std::vector<int64_t> shape, std::string name) {
  int v = add_value(std::move(name), values[of].dtype, std::move(shape), values[of].role);
  values[v].alias_of = of;
  return v;
}

Result<Graph> build(const config::Pipeline& p, const DataShape& data, const BuildOptions& opt) {
  Graph g;
  const int64_t B = opt.batch;
  g.batch = B;
  std::vector<int64_t> in_shape{B};
  in_shape.insert(in_shape.end(), data.input_shape.begin(), data.input_shape.end());
  if (data.input_dtype != PLINTH_DTYPE_F32)
    return error(errc::config, p.source.string() + ": the input field must be f32 for this model");
  g.input = g.add_value("input", PLINTH_DTYPE_F32, in_shape, Role::input);

  int h = g.input;  // the running activation
  uint64_t dropout_index = 0;
  const config::LayerSpec* last_layer = nullptr;  // for errors about the model's output
  for (const auto& l : p.model.layers) {
    last_layer = &l;
    const std::vector<int64_t> hs = g.values[h].shape;  // a copy: add_value may reallocate
    if (l.type == "flatten") {
      int64_t rest = 1;
      for (size_t i = 1; i < hs.size(); ++i) rest *= hs[i];
      h = g.add_view(h, {hs[0], rest}, l.name);
    } else if (l.type == "linear") {
      // y (.., out) = x (.., in) W^T + b; leading dims fold into rows.
      if (hs.size() < 2) return layer_error(p, l, "expects (B, .., in), got " + shape_str(hs));
      const int64_t in = hs.back();
      const int64_t rows = g.values[h].numel() / in;
      int x2 = g.add_view(h, {rows, in}, l.name + ".in");
      int w = g.add_value(l.name + ".weight", PLINTH_DTYPE_F32, {l.out, in}, Role::param);
      const double bound = 1.0 / std::sqrt(static_cast<double>(in));  // kaiming_uniform(a=sqrt 5)
      g.params.push_back({w, {ParamInit::uniform, bound}, true});
      std::vector<int> ins{x2, w};
      if (l.bias) {
        int b = g.add_value(l.name + ".bias", PLINTH_DTYPE_F32, {l.out}, Role::param);
        g.params.push_back({b, {ParamInit::uniform, bound}, false});
        ins.push_back(b);
      }
      std::vector<int64_t> ys(hs.begin(), hs.end() - 1);
      ys.push_back(l.out);
      int y = g.add_value(l.name + ".out", PLINTH_DTYPE_F32, ys, Role::activation);
      int y2 = g.add_view(y, {rows, l.out}, l.name + ".out2d");
      g.forward.push_back({PLINTH_OP_MATMUL,
                           ins,
                           {y2},
                           plinth_matmul_params{sizeof(plinth_matmul_params), 0, 1, 1.f, 0.f},
                           l.name});
      h = y;
    } else if (l.type == "relu" || l.type == "gelu" || l.type == "tanh" || l.type == "sigmoid") {
      plinth_unary_fn fn = l.type == "relu"   ? PLINTH_UNARY_RELU
                           : l.type == "gelu" ? PLINTH_UNARY_GELU_TANH
                           : l.type == "tanh" ? PLINTH_UNARY_TANH
                                              : PLINTH_UNARY_SIGMOID;
      int y = g.add_value(l.name + ".out", PLINTH_DTYPE_F32, hs, Role::activation);
      g.forward.push_back({PLINTH_OP_UNARY, {h}, {y}, unary(fn), l.name});
      h = y;
    } else if (l.type == "dropout") {
      if (!opt.training || l.p == 0.0) continue;  // identity at evaluation
      int y = g.add_value(l.name + ".out", PLINTH_DTYPE_F32, hs, Role::activation);
      plinth_dropout_params dp{sizeof(plinth_dropout_params), static_cast<float>(l.p), 0, dropout_index++};
      g.forward.push_back({PLINTH_OP_DROPOUT, {h}, {y}, dp, l.name});
      h = y;
    } else if (l.type == "layernorm") {
      const int64_t C = hs.back();
      const int64_t rows = g.values[h].numel() / C;
      int x2 = g.add_view(h, {rows, C}, l.name + ".in");
      int gamma = g.add_value(l.name + ".weight", PLINTH_DTYPE_F32, {C}, Role::param);
      int beta = g.add_value(l.name + ".bias", PLINTH_DTYPE_F32, {C}, Role::param);
      g.params.push_back({gamma, {ParamInit::constant, 1.0}, false});
      g.params.push_back({beta, {ParamInit::constant, 0.0}, false});
      int y = g.add_value(l.name + ".out", PLINTH_DTYPE_F32, hs, Role::activation);
      int y2 = g.add_view(y, {rows, C}, l.name + ".out2d");
      int mean = g.add_value(l.name + ".mean", PLINTH_DTYPE_F32, {rows}, Role::activation);
      int rstd = g.add_value(l.name + ".rstd", PLINTH_DTYPE_F32, {rows}, Role::activation);
      g.forward.push_back(
          {PLINTH_OP_LAYERNORM,
           {x2, gamma, beta},
           {y2, mean, rstd},
           plinth_layernorm_params{sizeof(plinth_layernorm_params), static_cast<float>(l.eps)},
           l.name});
      h = y;
    } else if (l.type == "conv2d" || l.type == "maxpool" || l.type == "avgpool") {
      PLINTH_TRY(image_layer(g, l, l.name, opt.training, h,
                             [&](const std::string& w) { return layer_error(p, l, w); }));
    } else {
      return layer_error(p, l, "unknown layer type");
    }
  }
  g.prediction = h;
  const std::vector<int64_t> ps = g.values[h].shape;

  g.losses = g.add_value("loss.rows", PLINTH_DTYPE_F32, {B}, Role::activation);
  g.loss_sum = g.add_value(opt.training ? "loss.sum" : "eval.loss.sum", PLINTH_DTYPE_F32, {}, Role::stat);
  if (p.loss.type == "cross_entropy") {
    if (ps.size() != 2)
      return error(errc::config, p.source.string() +
                                     ": loss cross_entropy expects the model output (B, C), got " +
                                     shape_str(ps) + " (add a flatten or linear layer)");
    const int64_t C = ps[1];
    if (data.num_classes > C) {
      std::string what = "the data has " + std::to_string(data.num_classes) +
                         " classes but the model outputs " + std::to_string(C) +
                         " (set 'out' of the last linear layer)";
      return last_layer ? layer_error(p, *last_layer, what)
                        : error(errc::config, p.source.string() + ": " + what);
    }
    if (data.target_dtype != PLINTH_DTYPE_I32 || !data.target_shape.empty())
      return error(errc::config,
                   p.source.string() + ": loss cross_entropy needs a scalar i32 class label per sample");
    g.target = g.add_value("target", PLINTH_DTYPE_I32, {B}, Role::target);
    int probs = g.add_value("loss.probs", PLINTH_DTYPE_F32, {B, C}, Role::activation);
    g.forward.push_back({PLINTH_OP_CROSS_ENTROPY,
                         {h, g.target},
                         {g.losses, probs},
                         plinth_xent_params{sizeof(plinth_xent_params), -1, 1.f / static_cast<float>(B)},
                         "loss"});
    if (!opt.training) {
      g.argmax = g.add_value("argmax", PLINTH_DTYPE_I32, {B}, Role::activation);
      g.forward.push_back({PLINTH_OP_ARGMAX, {h}, {g.argmax}, std::monostate{}, "loss"});
    }
  } else if (p.loss.type == "mse") {
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
                         "loss"});
    g.forward.push_back({PLINTH_OP_UNARY, {diff}, {sq}, unary(PLINTH_UNARY_SQUARE), "loss"});
    // Row losses: mean over the features of each row (so the mean over rows is torch's MSELoss).
    const int64_t per_row = g.values[h].numel() / B;
    int sq2 = g.add_view(sq, {B, per_row}, "loss.sq2d");
    int rows2 = g.add_view(g.losses, {B, 1}, "loss.rows2d");
    g.forward.push_back({PLINTH_OP_REDUCE,
                         {sq2},
                         {rows2},
                         plinth_reduce_params{sizeof(plinth_reduce_params), PLINTH_REDUCE_MEAN, 0.f},
                         "loss"});
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
                       "loss"});

  if (opt.training) PLINTH_TRY(differentiate(g, opt.accumulate_param_grads));
  return g;
}

// Reverse-mode autodiff over g.forward. The first contribution to a gradient
// writes it; later ones are summed in (AXPBY with the gradient as in[1]).
Status differentiate(Graph& g, bool accumulate) {
  std::vector<char> needs(g.values.size(), 0);  // value depends on a parameter
  for (const auto& p : g.params) needs[p.value] = 1;
  auto root_needs = [&](int v) { return needs[g.root(v)] != 0; };
  for (const auto& n : g.forward)
    for (int in : n.inputs)
      if (root_needs(in))
        for (int out : n.outputs) needs[g.root(out)] = 1;

  std::vector<char> written(g.values.size(), 0);
  auto& bw = g.backward;
  // Gradient of value v (shaped like v), created on first use.
  auto grad_of = [&](int v) {
    int r = g.root(v);
    if (g.values[r].grad < 0) {
      Role role = g.values[r].role == Role::param ? Role::grad : Role::activation;
      const std::vector<int64_t> shape = g.values[r].shape;
      int gr = g.add_value(g.values[r].name + ".grad", PLINTH_DTYPE_F32, shape, role);
      g.values[r].grad = gr;
    }
    int gr = g.values[r].grad;
    if (r == v) return gr;
    const std::vector<int64_t> shape = g.values[v].shape;
    return g.add_view(gr, shape, g.values[v].name + ".grad");
  };
  // A parameter's gradient is summed into (beta = 1) when accumulating.
  auto accumulates = [&](int v) { return accumulate && g.values[g.root(v)].role == Role::param; };
  // Where a contribution to d(v) goes: d(v) itself if first, else a temporary
  // that `finish` adds in. Accumulated parameter gradients take every
  // contribution directly.
  auto target_for = [&](int v) -> std::pair<int, int> {
    int gv = grad_of(v);
    int r = g.root(gv);
    if (written.size() < g.values.size()) written.resize(g.values.size(), 0);
    if (!written[r] || accumulates(v)) {
      written[r] = 1;
      return {gv, -1};
    }
    const std::vector<int64_t> shape = g.values[v].shape;
    int tmp = g.add_value(g.values[v].name + ".gradpart", PLINTH_DTYPE_F32, shape, Role::activation);
    return {tmp, gv};
  };
  auto finish = [&](std::pair<int, int> t, const std::string& layer) {
    if (t.second < 0) return;
    bw.push_back({PLINTH_OP_AXPBY,
                  {t.first, t.second},
                  {t.second},
                  plinth_axpby_params{sizeof(plinth_axpby_params), 1.f, 1.f},
                  layer});
  };

  // Seed: d(loss)/d(logits) comes from the fused loss backward below.
  for (auto it = g.forward.rbegin(); it != g.forward.rend(); ++it) {
    const Node& n = *it;
    switch (n.kind) {
      case PLINTH_OP_REDUCE:  // the loss reductions: the seed below stands for them
        break;
      case PLINTH_OP_CROSS_ENTROPY: {
        int logits = n.inputs[0];
        auto t = target_for(logits);
        auto xp = std::get<plinth_xent_params>(n.params);
        g.loss_seed = static_cast<int>(bw.size());
        g.loss_seed_factor = 1.f;
        bw.push_back({PLINTH_OP_CROSS_ENTROPY_BACKWARD, {n.outputs[1], n.inputs[1]}, {t.first}, xp, n.layer});
        finish(t, n.layer);
        break;
      }
      case PLINTH_OP_UNARY:
        if (n.layer == "loss") {
          // mse: loss = mean over all elements of (pred - target)^2, so
          // d pred = 2 (pred - target) / numel.  (the seed of backward)
          int diff = n.inputs[0];
          int pred = g.prediction;
          auto t = target_for(pred);
          float k = 2.f / static_cast<float>(g.values[diff].numel());
          g.loss_seed = static_cast<int>(bw.size());
          g.loss_seed_factor = 2.f / static_cast<float>(g.values[diff].numel() / g.batch);
          bw.push_back({PLINTH_OP_UNARY, {diff}, {t.first}, unary(PLINTH_UNARY_IDENTITY, k, 0.f), "loss"});
          finish(t, "loss");
        } else if (root_needs(n.inputs[0])) {
          auto t = target_for(n.inputs[0]);
          bw.push_back(
              {PLINTH_OP_UNARY_BACKWARD, {grad_of(n.outputs[0]), n.inputs[0]}, {t.first}, n.params, n.layer});
          finish(t, n.layer);
        }
        break;
      case PLINTH_OP_BINARY:  // mse's diff: folded into the seed above
      case PLINTH_OP_ARGMAX:  // evaluation only
        break;
      case PLINTH_OP_DROPOUT:
        if (root_needs(n.inputs[0])) {
          auto t = target_for(n.inputs[0]);
          bw.push_back({PLINTH_OP_DROPOUT_BACKWARD, {grad_of(n.outputs[0])}, {t.first}, n.params, n.layer});
          finish(t, n.layer);
        }
        break;
      case PLINTH_OP_MATMUL: {
        // y (R, out) = x (R, in) W^T (out, in) + b
        int x = n.inputs[0], w = n.inputs[1];
        int dy = grad_of(n.outputs[0]);
        if (root_needs(x)) {  // dx (R, in) = dy (R, out) @ W (out, in)
          auto t = target_for(x);
          bw.push_back({PLINTH_OP_MATMUL,
                        {dy, w},
                        {t.first},
                        plinth_matmul_params{sizeof(plinth_matmul_params), 0, 0, 1.f, 0.f},
                        n.layer});
          finish(t, n.layer);
        }
        {  // dW (out, in) = dy^T (out, R) @ x (R, in)
          auto t = target_for(w);
          bw.push_back(
              {PLINTH_OP_MATMUL,
               {dy, x},
               {t.first},
               plinth_matmul_params{sizeof(plinth_matmul_params), 1, 0, 1.f, accumulates(w) ? 1.f : 0.f},
               n.layer});
          finish(t, n.layer);
        }
        if (n.inputs.size() == 3) {  // db (out) = sum over rows of dy
          int b = n.inputs[2];
          auto t = target_for(b);
          int out = static_cast<int>(g.values[b].shape[0]);
          int t2 = g.add_view(t.first, {1, out}, g.values[b].name + ".grad2d");
          bw.push_back({PLINTH_OP_REDUCE,
                        {dy},
                        {t2},
                        plinth_reduce_params{sizeof(plinth_reduce_params), PLINTH_REDUCE_SUM,
                                             accumulates(b) ? 1.f : 0.f},
                        n.layer});
          finish(t, n.layer);
        }
        break;
      }
      case PLINTH_OP_LAYERNORM: {
        // LAYERNORM_BACKWARD accumulates dgamma/dbeta, so they are zeroed
        // first, unless gradients are being accumulated across micro-batches.
        int x = n.inputs[0], gamma = n.inputs[1], beta = n.inputs[2];
        auto tg = target_for(gamma);
        auto tb = target_for(beta);
        plinth_fill_params zero{sizeof(plinth_fill_params), 0.0};
        if (!accumulates(gamma)) bw.push_back({PLINTH_OP_FILL, {}, {tg.first}, zero, n.layer});
        if (!accumulates(beta)) bw.push_back({PLINTH_OP_FILL, {}, {tb.first}, zero, n.layer});
        int dx;
        std::pair<int, int> tx{-1, -1};
        if (root_needs(x)) {
          tx = target_for(x);
          dx = tx.first;
        } else {
          const std::vector<int64_t> xs = g.values[x].shape;
          dx = g.add_value(n.layer + ".dx_unused", PLINTH_DTYPE_F32, xs, Role::activation);
        }
        bw.push_back({PLINTH_OP_LAYERNORM_BACKWARD,
                      {grad_of(n.outputs[0]), x, gamma, n.outputs[1], n.outputs[2]},
                      {dx, tg.first, tb.first},
                      n.params,
                      n.layer});
        finish(tg, n.layer);
        finish(tb, n.layer);
        if (tx.first >= 0) finish(tx, n.layer);
        break;
      }
      case PLINTH_OP_CONV2D: {
        // dx (skipped, as a 0-element tensor, when x needs no gradient),
        // dweight and dbias in one launch; beta = 1 sums into accumulated ones.
        const int x = n.inputs[0], w = n.inputs[1];
        auto cp = std::get<plinth_conv2d_params>(n.params);
        cp.beta = accumulates(w) ? 1.f : 0.f;
        std::pair<int, int> tx{-1, -1};
        int dx = -1;
        if (root_needs(x)) {
          tx = target_for(x);
          dx = tx.first;
        } else {
          dx = g.add_value(n.layer + ".dx_skipped", PLINTH_DTYPE_F32, {0}, Role::activation);
        }
        auto tw = target_for(w);
        std::vector<int> outs{dx, tw.first};
        std::pair<int, int> tb{-1, -1};
        if (n.inputs.size() == 3) {
          tb = target_for(n.inputs[2]);
          outs.push_back(tb.first);
        }
        bw.push_back({PLINTH_OP_CONV2D_BACKWARD, {grad_of(n.outputs[0]), x, w}, outs, cp, n.layer});
        if (tx.first >= 0) finish(tx, n.layer);
        finish(tw, n.layer);
        if (tb.first >= 0) finish(tb, n.layer);
        break;
      }
      case PLINTH_OP_POOL2D:
        if (root_needs(n.inputs[0])) {  // max: from the saved argmax (out[1])
          auto t = target_for(n.inputs[0]);
          std::vector<int> ins{grad_of(n.outputs[0])};
          if (n.outputs.size() == 2) ins.push_back(n.outputs[1]);
          bw.push_back({PLINTH_OP_POOL2D_BACKWARD, ins, {t.first}, n.params, n.layer});
          finish(t, n.layer);
        }
        break;
      default:
        return error(errc::internal, std::string("autodiff: no derivative for op in layer ") + n.layer);
    }
  }
  for (const auto& p : g.params)
    if (g.values[p.value].grad < 0)
      return error(errc::config, "parameter '" + g.values[p.value].name + "' does not reach the loss");
  return {};
}

}  // namespace plinth::graph
