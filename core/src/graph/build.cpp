// build.cpp — from [model] layers and [loss] to a forward graph, and the
// reverse-mode derivative of that graph. Each layer's forward and backward
// follow PyTorch's definitions (nn.Linear: y = x W^T + b with W (out, in)).
#include "graph/build.hpp"

#include <fnmatch.h>

#include <cmath>
#include <map>
#include <sstream>

#include "exec/backend.hpp"
#include "graph/conv_layers.hpp"

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
  values[v].offset = values[of].offset;  // a reshape of a contiguous view keeps its start
  return v;
}

int Graph::add_strided(int of, std::vector<int64_t> shape, std::vector<int64_t> strides, int64_t offset,
                       std::string name) {
  int v = add_view(of, std::move(shape), std::move(name));
  values[v].strides = std::move(strides);
  values[v].offset += offset;
  return v;
}

namespace {

using config::LayerSpec;

// Builds the model's forward nodes layer by layer; nested blocks recurse with
// a name prefix ("h.0.attn.").
struct Builder {
  Builder(const config::Pipeline& p_, const DataShape& d_, const BuildOptions& o_, Graph& g_)
      : p(p_), data(d_), opt(o_), g(g_) {}
  const config::Pipeline& p;
  const DataShape& data;
  const BuildOptions& opt;
  Graph& g;
  bool gpt2 = false;
  uint64_t dropout_index = 0;
  std::map<std::string, int> tables;  // embedding layer (full name) -> its table
  int last_linear_param = -1;         // index into g.params of the latest linear weight
  std::vector<int> residual_outputs;  // g.params indices of each residual branch's last linear
  const LayerSpec* last = nullptr;    // for errors about the model's output

  Status err(const LayerSpec& l, const std::string& what) const { return layer_error(p, l, what); }

  int param(const std::string& name, std::vector<int64_t> shape, ParamInit init, bool decay) {
    int v = g.add_value(name, PLINTH_DTYPE_F32, std::move(shape), Role::param);
    g.params.push_back({v, init, decay});
    return v;
  }

  // y (.., out) = x (.., in) W^T + b, W (out, in); leading dims fold into rows.
  // `w` >= 0: use that (tied) weight instead of a new one.
  int linear(int x, int64_t out, bool bias, const std::string& name, int w = -1) {
    const std::vector<int64_t> xs = g.values[x].shape;
    const int64_t in = xs.back();
    const int64_t rows = g.values[x].numel() / in;
    int x2 = g.add_view(x, {rows, in}, name + ".in");
    const double bound = 1.0 / std::sqrt(static_cast<double>(in));  // kaiming_uniform(a=sqrt 5)
    const ParamInit winit = gpt2 ? ParamInit{ParamInit::normal, 0.02} : ParamInit{ParamInit::uniform, bound};
    const ParamInit binit = gpt2 ? ParamInit{ParamInit::constant, 0.0} : ParamInit{ParamInit::uniform, bound};
    if (w < 0) {
      w = param(name + ".weight", {out, in}, winit, true);
      last_linear_param = static_cast<int>(g.params.size()) - 1;
    }
    std::vector<int> ins{x2, w};
    if (bias) ins.push_back(param(name + ".bias", {out}, binit, false));
    std::vector<int64_t> ys(xs.begin(), xs.end() - 1);
    ys.push_back(out);
    const bool adapted = w_is_own(w, name) && lora_target(name);
    int y = g.add_value(name + (adapted ? ".base" : ".out"), PLINTH_DTYPE_F32, ys, Role::activation);
    int y2 = g.add_view(y, {rows, out}, name + (adapted ? ".base2d" : ".out2d"));
    g.forward.push_back({PLINTH_OP_MATMUL,
                         ins,
                         {y2},
                         plinth_matmul_params{sizeof(plinth_matmul_params), 0, 1, 1.f, 0.f},
                         name});
    if (!adapted) return y;
    // LoRA (Hu et al., 2021): y = x W^T + b + (alpha / r) (x A^T) B^T, with
    // A (r, in) ~ U(-1/sqrt(in), 1/sqrt(in)) and B (out, r) = 0, so the
    // adapted layer starts out equal to the base one.
    const auto& lr = p.model.lora;
    const int64_t r = lr.rank;
    const int a = param(name + ".lora_A.weight", {r, in}, ParamInit{ParamInit::uniform, bound}, true);
    g.params.back().lora = true;
    const int bm = param(name + ".lora_B.weight", {out, r}, ParamInit{ParamInit::constant, 0.0}, true);
    g.params.back().lora = true;
    const int u = g.add_value(name + ".lora_u", PLINTH_DTYPE_F32, {rows, r}, Role::activation);
    g.forward.push_back({PLINTH_OP_MATMUL,
                         {x2, a},
                         {u},
                         plinth_matmul_params{sizeof(plinth_matmul_params), 0, 1, 1.f, 0.f},
                         name + ".lora"});
    const int d = g.add_value(name + ".lora_out", PLINTH_DTYPE_F32, ys, Role::activation);
    const int d2 = g.add_view(d, {rows, out}, name + ".lora_out2d");
    g.forward.push_back(
        {PLINTH_OP_MATMUL,
         {u, bm},
         {d2},
         plinth_matmul_params{sizeof(plinth_matmul_params), 0, 1, static_cast<float>(lr.alpha / r), 0.f},
         name + ".lora"});
    return add(y, d, name);
  }

  // A weight made for this layer (not a tied table), named after it.
  bool w_is_own(int w, const std::string& name) const { return g.values[w].name == name + ".weight"; }
  std::vector<int> lora_hits;  // per [model.lora] target pattern: layers it matched
  bool lora_target(const std::string& name) {
    if (!p.model.lora.enabled) return false;
    bool hit = false;
    for (size_t i = 0; i < p.model.lora.targets.size(); ++i)
      if (fnmatch(p.model.lora.targets[i].c_str(), name.c_str(), 0) == 0) {
        ++lora_hits[i];
        hit = true;
      }
    return hit;
  }

  int add(int a, int b, const std::string& name) {
    const std::vector<int64_t> s = g.values[a].shape;
    int y = g.add_value(name + ".out", PLINTH_DTYPE_F32, s, Role::activation);
    g.forward.push_back({PLINTH_OP_BINARY,
                         {a, b},
                         {y},
                         plinth_binary_params{sizeof(plinth_binary_params), PLINTH_BINARY_ADD, 0.f},
                         name});
    return y;
  }

  Status layers(const std::vector<LayerSpec>& ls, const std::string& prefix, int& h) {
    for (const LayerSpec& l : ls) PLINTH_TRY(layer(l, prefix, h));
    return {};
  }

  Status layer(const LayerSpec& l, const std::string& prefix, int& h);
};

Status Builder::layer(const LayerSpec& l, const std::string& prefix, int& h) {
  last = &l;
  const std::string name = prefix + l.name;
  const std::vector<int64_t> hs = g.values[h].shape;  // a copy: add_value may reallocate
  const bool f32 = g.values[h].dtype == PLINTH_DTYPE_F32;
  if (l.type != "flatten" && l.type != "embedding" && l.type != "block" && !f32)
    return err(l, "expects f32 input, got " + std::string(exec::dtype_name(g.values[h].dtype)) +
                      " (token ids need an embedding layer first)");
  if (l.type == "flatten") {
    int64_t rest = 1;
    for (size_t i = 1; i < hs.size(); ++i) rest *= hs[i];
    h = g.add_view(h, {hs[0], rest}, name);
  } else if (l.type == "linear") {
    if (hs.size() < 2) return err(l, "expects (B, .., in), got " + shape_str(hs));
    int w = -1;
    int64_t out = l.out;
    if (!l.tie.empty()) {
      auto it = tables.find(l.tie);
      if (it == tables.end())
        return err(l, "tie: no embedding layer named '" + l.tie + "' before this layer");
      w = it->second;
      const auto ws = g.values[w].shape;
      if (out == 0) out = ws[0];
      if (ws[0] != out || ws[1] != hs.back())
        return err(l, "tie: the table of '" + l.tie + "' is " + shape_str(ws) + " but this layer needs (" +
                          std::to_string(out) + ", " + std::to_string(hs.back()) + ") (out, in)");
    }
    h = linear(h, out, l.bias, name, w);
  } else if (l.type == "relu" || l.type == "gelu" || l.type == "tanh" || l.type == "sigmoid") {
    plinth_unary_fn fn = l.type == "relu"   ? PLINTH_UNARY_RELU
                         : l.type == "gelu" ? PLINTH_UNARY_GELU_TANH
                         : l.type == "tanh" ? PLINTH_UNARY_TANH
                                            : PLINTH_UNARY_SIGMOID;
    int y = g.add_value(name + ".out", PLINTH_DTYPE_F32, hs, Role::activation);
    g.forward.push_back({PLINTH_OP_UNARY, {h}, {y}, unary(fn), name});
    h = y;
  } else if (l.type == "dropout") {
    if (!opt.training || l.p == 0.0) return {};  // identity at evaluation
    int y = g.add_value(name + ".out", PLINTH_DTYPE_F32, hs, Role::activation);
    plinth_dropout_params dp{sizeof(plinth_dropout_params), static_cast<float>(l.p), 0, dropout_index++};
    g.forward.push_back({PLINTH_OP_DROPOUT, {h}, {y}, dp, name});
    h = y;
  } else if (l.type == "layernorm") {
    const int64_t C = hs.back();
    const int64_t rows = g.values[h].numel() / C;
    int x2 = g.add_view(h, {rows, C}, name + ".in");
    int gamma = param(name + ".weight", {C}, {ParamInit::constant, 1.0}, false);
    int beta = param(name + ".bias", {C}, {ParamInit::constant, 0.0}, false);
    int y = g.add_value(name + ".out", PLINTH_DTYPE_F32, hs, Role::activation);
    int y2 = g.add_view(y, {rows, C}, name + ".out2d");
    int mean = g.add_value(name + ".mean", PLINTH_DTYPE_F32, {rows}, Role::activation);
    int rstd = g.add_value(name + ".rstd", PLINTH_DTYPE_F32, {rows}, Role::activation);
    g.forward.push_back({PLINTH_OP_LAYERNORM,
                         {x2, gamma, beta},
                         {y2, mean, rstd},
                         plinth_layernorm_params{sizeof(plinth_layernorm_params), static_cast<float>(l.eps)},
                         name});
    h = y;
  } else if (l.type == "embedding") {
    // nn.Embedding: out (.., dim) = table[ids]; ids (B, ..) i32 < vocab.
    if (g.values[h].dtype != PLINTH_DTYPE_I32)
      return err(l, "expects i32 token ids, got " + std::string(exec::dtype_name(g.values[h].dtype)) + " " +
                        shape_str(hs) + " (check [data] input_field)");
    int64_t V = l.vocab > 0 ? l.vocab : data.num_classes;
    if (V <= 0) return err(l, "vocab: the data does not say how many tokens it has; set 'vocab'");
    if (data.num_classes > V)
      return err(l, "vocab " + std::to_string(V) + " is smaller than the data's " +
                        std::to_string(data.num_classes) + " token ids");
    int table = param(name + ".weight", {V, l.dim}, {ParamInit::normal, gpt2 ? 0.02 : 1.0}, true);
    tables[name] = table;
    std::vector<int64_t> ys = hs;
    ys.push_back(l.dim);
    int y = g.add_value(name + ".out", PLINTH_DTYPE_F32, ys, Role::activation);
    g.forward.push_back({PLINTH_OP_EMBEDDING, {h, table}, {y}, std::monostate{}, name});
    h = y;
  } else if (l.type == "position_embedding") {
    // y (B, T, C) = x + table[0..T) (broadcast over B): GPT-2's learned positions.
    if (hs.size() != 3) return err(l, "expects (B, T, C), got " + shape_str(hs));
    const int64_t T = hs[1], C = hs[2];
    if (T > l.max_len)
      return err(l, "the sequence has " + std::to_string(T) + " positions but max_len is " +
                        std::to_string(l.max_len));
    int table = param(name + ".weight", {l.max_len, C}, {ParamInit::normal, gpt2 ? 0.02 : 1.0}, true);
    int bcast = g.add_strided(table, {hs[0], T, C}, {0, C, 1}, 0, name + ".rows");
    h = add(h, bcast, name);
  } else if (l.type == "attention") {
    // nanoGPT's CausalSelfAttention: c_attn (C -> 3C), heads read as strided
    // views of it, fused attention writing (B, T, C) directly, c_proj.
    if (hs.size() != 3) return err(l, "expects (B, T, C), got " + shape_str(hs));
    const int64_t B = hs[0], T = hs[1], C = hs[2], H = l.heads;
    if (C % H != 0)
      return err(l, "the width " + std::to_string(C) + " is not divisible by heads = " + std::to_string(H));
    const int64_t D = C / H;
    int qkv = linear(h, 3 * C, l.bias, name + ".c_attn");
    int q = g.add_strided(qkv, {B, H, T, D}, {T * 3 * C, D, 3 * C, 1}, 0, name + ".q");
    int k = g.add_strided(qkv, {B, H, T, D}, {T * 3 * C, D, 3 * C, 1}, C, name + ".k");
    int v = g.add_strided(qkv, {B, H, T, D}, {T * 3 * C, D, 3 * C, 1}, 2 * C, name + ".v");
    int y = g.add_value(name + ".y", PLINTH_DTYPE_F32, {B, T, C}, Role::activation);
    int yh = g.add_strided(y, {B, H, T, D}, {T * C, D, C, 1}, 0, name + ".yh");
    int lse = g.add_value(name + ".lse", PLINTH_DTYPE_F32, {B, H, T}, Role::activation);
    plinth_attention_params ap{sizeof(plinth_attention_params), l.causal ? 1 : 0,
                               static_cast<float>(1.0 / std::sqrt(static_cast<double>(D)))};
    g.forward.push_back({PLINTH_OP_ATTENTION, {q, k, v}, {yh, lse}, ap, name});
    h = linear(y, C, l.bias, name + ".c_proj");
  } else if (l.type == "block") {
    const config::BlockSpec* b = p.model.block(l.use);
    if (!b) return err(l, "no [[model.block]] named '" + l.use + "'");
    for (int64_t r = 0; r < l.repeat; ++r) {
      const std::string pre = name + (l.repeat > 1 ? "." + std::to_string(r) : "") + ".";
      const int x = h;
      last_linear_param = -1;
      PLINTH_TRY(layers(b->layers, pre, h));
      if (b->residual) {
        if (g.values[h].shape != g.values[x].shape)
          return err(l, "residual block '" + b->name + "' maps " + shape_str(g.values[x].shape) + " to " +
                            shape_str(g.values[h].shape) + "; its output must have its input's shape");
        if (last_linear_param >= 0) residual_outputs.push_back(last_linear_param);
        h = add(x, h, name + (l.repeat > 1 ? "." + std::to_string(r) : "") + ".residual");
      }
    }
  } else if (l.type == "conv2d" || l.type == "maxpool" || l.type == "avgpool") {
    PLINTH_TRY(image_layer(g, l, name, opt.training, h, [&](const std::string& w) { return err(l, w); }));
  } else {
    return err(l, "unknown layer type");
  }
  return {};
}

// [train] freeze and [model.lora]: which parameters are trained. Every
// pattern must match something, so a typo cannot silently train (or freeze)
// the wrong layers.
Status mark_trainable(const config::Pipeline& p, Graph& g, const std::vector<int>& lora_hits) {
  auto names = [&] {
    std::string s;
    for (size_t i = 0; i < g.params.size() && i < 6; ++i)
      s += (i ? ", " : "") + g.values[g.params[i].value].name;
    return s + (g.params.size() > 6 ? ", ..." : "");
  };
  const auto& lr = p.model.lora;
  for (size_t i = 0; i < lora_hits.size(); ++i)
    if (lora_hits[i] == 0)
      return error(errc::config, p.source.string() + ":" + std::to_string(lr.where.begin.line) +
                                     ": model.lora.targets: '" + lr.targets[i] +
                                     "' matches no linear layer with its own weight (layers are named as "
                                     "their weights without '.weight': " +
                                     names() + ")");
  // Under LoRA only the adapters train.
  if (lr.enabled)
    for (auto& prm : g.params) prm.trainable = prm.lora;
  for (const std::string& pat : p.train.freeze) {
    bool hit = false;
    for (auto& prm : g.params)
      if (fnmatch(pat.c_str(), g.values[prm.value].name.c_str(), 0) == 0) {
        prm.trainable = false;
        hit = true;
      }
    if (!hit)
      return error(errc::config, p.source.string() + ":" + std::to_string(p.train.freeze_where.begin.line) +
                                     ": train.freeze: '" + pat + "' matches no parameter (" + names() + ")");
  }
  bool any = false;
  for (const auto& prm : g.params) any = any || prm.trainable;
  if (!any && !g.params.empty())
    return error(errc::config,
                 p.source.string() + ": train.freeze: every parameter is frozen; nothing to train");
  return {};
}

}  // namespace

Result<Graph> build(const config::Pipeline& p, const DataShape& data, const BuildOptions& opt) {
  Graph g;
  const int64_t B = opt.batch;
  g.batch = B;
  std::vector<int64_t> in_shape{B};
  in_shape.insert(in_shape.end(), data.input_shape.begin(), data.input_shape.end());
  if (data.input_dtype != PLINTH_DTYPE_F32 && data.input_dtype != PLINTH_DTYPE_I32)
    return error(errc::config, p.source.string() +
                                   ": the input field must be f32 (features) or i32 (token ids), got " +
                                   exec::dtype_name(data.input_dtype));
  g.input = g.add_value("input", data.input_dtype, in_shape, Role::input);

  Builder b(p, data, opt, g);
  b.gpt2 = p.model.init == "gpt2";
  b.lora_hits.assign(p.model.lora.targets.size(), 0);
  int h = g.input;  // the running activation
  PLINTH_TRY(b.layers(p.model.layers, "", h));
  PLINTH_TRY(mark_trainable(p, g, b.lora_hits));
  // GPT-2's init: each residual branch's output projection N(0, 0.02 / sqrt(branches)).
  if (b.gpt2 && !b.residual_outputs.empty())
    for (int i : b.residual_outputs)
      g.params[static_cast<size_t>(i)].init.a =
          0.02 / std::sqrt(static_cast<double>(b.residual_outputs.size()));
  const config::LayerSpec* last_layer = b.last;
  if (g.values[h].dtype != PLINTH_DTYPE_F32)
    return error(errc::config,
                 p.source.string() + ": the model's output must be f32 (add an embedding or linear layer)");
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
      return last_layer ? layer_error(p, *last_layer, what)
                        : error(errc::config, p.source.string() + ": " + what);
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
                         plinth_xent_params{sizeof(plinth_xent_params), -1, 1.f / static_cast<float>(rows)},
                         "loss"});
    if (g.positions > 1) {  // a sample's loss: the mean over its positions
      int per = g.add_view(row_losses, {B, g.positions}, "loss.positions2d");
      int rows2 = g.add_view(g.losses, {B, 1}, "loss.rows2d");
      g.forward.push_back({PLINTH_OP_REDUCE,
                           {per},
                           {rows2},
                           plinth_reduce_params{sizeof(plinth_reduce_params), PLINTH_REDUCE_MEAN, 0.f},
                           "loss"});
    }
    if (!opt.training) {
      g.argmax = g.add_value("argmax", PLINTH_DTYPE_I32, {rows}, Role::activation);
      g.forward.push_back({PLINTH_OP_ARGMAX, {logits}, {g.argmax}, std::monostate{}, "loss"});
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
  for (const auto& p : g.params) needs[p.value] = p.trainable ? 1 : 0;
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
    // The same view (shape, strides, offset) of the gradient's root.
    const Value view = g.values[v];
    return g.add_strided(gr, view.shape, view.strides, view.offset, view.name + ".grad");
  };
  // A parameter's gradient is summed into (beta = 1) when accumulating.
  auto accumulates = [&](int v) { return accumulate && g.values[g.root(v)].role == Role::param; };
  // Where a contribution to d(v) goes: d(v) itself if first, else a temporary
  // that `finish` adds in. Accumulated parameter gradients take every
  // contribution directly.
  // Marks gradient root r written; returns whether it already was.
  auto mark_written = [&](int r) {
    if (written.size() < g.values.size()) written.resize(g.values.size(), 0);
    const bool was = written[r] != 0;
    written[r] = 1;
    return was;
  };
  auto target_for = [&](int v) -> std::pair<int, int> {
    int gv = grad_of(v);
    int r = g.root(gv);
    if (!mark_written(r) || accumulates(v)) return {gv, -1};
    const std::vector<int64_t> shape = g.values[v].shape;
    int tmp = g.add_value(g.values[v].name + ".gradpart", PLINTH_DTYPE_F32, shape, Role::activation);
    return {tmp, gv};
  };
  // The gradient root of v for an op that adds (+=) into it: zeroed first
  // unless another contribution or accumulation already wrote it.
  auto summed_into = [&](int v, const std::string& layer) {
    grad_of(v);
    const int gr = g.values[g.root(v)].grad;
    if (!mark_written(gr) && !accumulates(v))
      bw.push_back({PLINTH_OP_FILL, {}, {gr}, plinth_fill_params{sizeof(plinth_fill_params), 0.0}, layer});
    return gr;
  };
  // Somewhere for an op to write the gradient of a frozen parameter.
  auto scratch = [&](int v) {
    const std::vector<int64_t> shape = g.values[v].shape;
    return g.add_value(g.values[v].name + ".grad_unused", PLINTH_DTYPE_F32, shape, Role::activation);
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
    // Nothing before this node leads to a trained parameter (frozen layers
    // at the bottom of the model, or layers on the input alone).
    bool any_needed = false;
    for (int in : n.inputs) any_needed = any_needed || root_needs(in);
    if (!any_needed) continue;
    switch (n.kind) {
      case PLINTH_OP_REDUCE:  // the loss reductions: the seed below stands for them
        if (n.layer != "loss")
          return error(errc::internal, "autodiff: no derivative for REDUCE in " + n.layer);
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
      case PLINTH_OP_BINARY: {
        if (n.layer == "loss") break;  // mse's diff: folded into the seed above
        // y = a + b (residual adds, position tables): each input gets dy; a
        // broadcast input (a stride-0 view of a parameter) gets dy summed over
        // the broadcast dims.
        if (std::get<plinth_binary_params>(n.params).fn != PLINTH_BINARY_ADD)
          return error(errc::internal, "autodiff: only ADD is differentiable, in layer " + n.layer);
        const int dy = grad_of(n.outputs[0]);
        for (int in : n.inputs) {
          if (!root_needs(in)) continue;
          const Value& iv = g.values[in];
          bool bcast = false;
          for (int64_t st : iv.strides) bcast = bcast || st == 0;
          if (!bcast) {
            auto t = target_for(in);
            bw.push_back({PLINTH_OP_UNARY, {dy}, {t.first}, unary(PLINTH_UNARY_IDENTITY), n.layer});
            finish(t, n.layer);
            continue;
          }
          // The reduced gradient lands in the rows the view reads (contiguous
          // from its offset); the rest of the parameter's gradient stays 0.
          const int gr = summed_into(in, n.layer);
          std::vector<int64_t> rs = g.values[in].shape;
          for (size_t d = 0; d < rs.size(); ++d)
            if (g.values[in].strides[d] == 0) rs[d] = 1;
          const int64_t off = g.values[in].offset;
          int part = g.add_view(gr, rs, g.values[in].name + ".grad");
          g.values[part].offset = off;
          bw.push_back({PLINTH_OP_REDUCE,
                        {dy},
                        {part},
                        plinth_reduce_params{sizeof(plinth_reduce_params), PLINTH_REDUCE_SUM, 1.f},
                        n.layer});
        }
        break;
      }
      case PLINTH_OP_EMBEDDING: {
        if (!root_needs(n.inputs[1])) break;  // a frozen table
        // dtable += scatter of dout by id; zeroed first unless another use of
        // the table (a tied output layer) or accumulation already wrote it.
        const int gr = summed_into(n.inputs[1], n.layer);
        bw.push_back({PLINTH_OP_EMBEDDING_BACKWARD,
                      {grad_of(n.outputs[0]), n.inputs[0]},
                      {gr},
                      std::monostate{},
                      n.layer});
        break;
      }
      case PLINTH_OP_ATTENTION: {
        // q, k, v are views of one fused projection; together they cover it,
        // so the backward writes its whole gradient at once.
        const int r = g.root(n.inputs[0]);
        if (g.root(n.inputs[1]) != r || g.root(n.inputs[2]) != r)
          return error(errc::internal,
                       "autodiff: attention inputs must be views of one tensor in " + n.layer);
        grad_of(r);
        if (mark_written(g.values[r].grad))
          return error(errc::internal, "autodiff: attention input used twice in " + n.layer);
        bw.push_back(
            {PLINTH_OP_ATTENTION_BACKWARD,
             {grad_of(n.outputs[0]), n.inputs[0], n.inputs[1], n.inputs[2], n.outputs[0], n.outputs[1]},
             {grad_of(n.inputs[0]), grad_of(n.inputs[1]), grad_of(n.inputs[2])},
             n.params,
             n.layer});
        break;
      }
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
        // y = alpha x W^T: both derivatives carry alpha (LoRA's scale).
        int x = n.inputs[0], w = n.inputs[1];
        const float alpha = std::get<plinth_matmul_params>(n.params).alpha;
        int dy = grad_of(n.outputs[0]);
        if (root_needs(x)) {  // dx (R, in) = dy (R, out) @ W (out, in)
          auto t = target_for(x);
          bw.push_back({PLINTH_OP_MATMUL,
                        {dy, w},
                        {t.first},
                        plinth_matmul_params{sizeof(plinth_matmul_params), 0, 0, alpha, 0.f},
                        n.layer});
          finish(t, n.layer);
        }
        if (root_needs(w)) {  // dW (out, in) = dy^T (out, R) @ x (R, in)
          auto t = target_for(w);
          bw.push_back(
              {PLINTH_OP_MATMUL,
               {dy, x},
               {t.first},
               plinth_matmul_params{sizeof(plinth_matmul_params), 1, 0, alpha, accumulates(w) ? 1.f : 0.f},
               n.layer});
          finish(t, n.layer);
        }
        if (n.inputs.size() == 3 && root_needs(n.inputs[2])) {  // db (out) = sum over rows of dy
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
        // A frozen gain or bias gets its gradient written to a scratch value.
        int x = n.inputs[0], gamma = n.inputs[1], beta = n.inputs[2];
        auto tg = root_needs(gamma) ? target_for(gamma) : std::pair<int, int>{scratch(gamma), -1};
        auto tb = root_needs(beta) ? target_for(beta) : std::pair<int, int>{scratch(beta), -1};
        plinth_fill_params zero{sizeof(plinth_fill_params), 0.0};
        if (!accumulates(gamma) || !root_needs(gamma))
          bw.push_back({PLINTH_OP_FILL, {}, {tg.first}, zero, n.layer});
        if (!accumulates(beta) || !root_needs(beta))
          bw.push_back({PLINTH_OP_FILL, {}, {tb.first}, zero, n.layer});
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
        // (When accumulating, a frozen weight's scratch gradient sums garbage: unused.)
        cp.beta = accumulate ? 1.f : 0.f;
        std::pair<int, int> tx{-1, -1}, tb{-1, -1};
        int dx = -1;
        if (root_needs(x)) {
          tx = target_for(x);
          dx = tx.first;
        } else {
          dx = g.add_value(n.layer + ".dx_skipped", PLINTH_DTYPE_F32, {0}, Role::activation);
        }
        std::pair<int, int> tw{-1, -1};
        std::vector<int> outs{dx, -1};
        if (root_needs(w)) {
          tw = target_for(w);
          outs[1] = tw.first;
        } else {  // frozen: the op writes dweight somewhere unused
          outs[1] = scratch(w);
        }
        if (n.inputs.size() == 3) {
          if (root_needs(n.inputs[2])) {
            tb = target_for(n.inputs[2]);
            outs.push_back(tb.first);
          } else {
            outs.push_back(scratch(n.inputs[2]));
          }
        }
        bw.push_back({PLINTH_OP_CONV2D_BACKWARD, {grad_of(n.outputs[0]), x, w}, outs, cp, n.layer});
        for (auto t : {tx, tw, tb})
          if (t.first >= 0) finish(t, n.layer);
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
    if (p.trainable && g.values[p.value].grad < 0)
      return error(errc::config, "parameter '" + g.values[p.value].name + "' does not reach the loss");
  return {};
}

}  // namespace plinth::graph
