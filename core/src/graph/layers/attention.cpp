// attention.cpp — the `attention` layer, nanoGPT's CausalSelfAttention: a
// fused projection c_attn (C -> 3C), heads read as strided views of it, fused
// scaled dot-product attention writing (B, T, C) directly (the backward
// recomputes probabilities from the saved log-sum-exp), and c_proj.
//
// Notation: B batch, T positions, C width, H heads, D = C / H head size.
#include <cmath>
#include <limits>

#include "graph/layers/layer.hpp"

namespace plinth::graph {
namespace {

constexpr config::LayerKey kKeys[] = {
    {"heads",
     config::KeyType::integer,
     config::LayerKey::required,
     {},
     "integer > 0",
     "number of attention heads",
     "heads of causal self-attention over `(B, T, C)`; C must be divisible by it",
     [](const LayerSpec& l) { return positive(l, "heads"); }},
    {"causal", config::KeyType::boolean, config::LayerKey::defaulted, true, "boolean", "`true`",
     "position t attends to positions <= t only"},
    {"bias", config::KeyType::boolean, config::LayerKey::defaulted, true, "boolean", "`true`",
     "add biases to both projections"},
};

// q, k, v are views of one fused projection; together they cover it, so the
// backward writes its whole gradient at once.
Status attention_backward(Autodiff& ad, const Node& n) {
  Graph& g = ad.g;
  const int r = g.root(n.inputs[0]);
  if (g.root(n.inputs[1]) != r || g.root(n.inputs[2]) != r)
    return error(errc::internal, "autodiff: attention inputs must be views of one tensor in " + n.layer);
  ad.grad_of(r);
  if (ad.mark_written(g.values[r].grad))
    return error(errc::internal, "autodiff: attention input used twice in " + n.layer);
  ad.bw.push_back(
      {PLINTH_OP_ATTENTION_BACKWARD,
       {ad.grad_of(n.outputs[0]), n.inputs[0], n.inputs[1], n.inputs[2], n.outputs[0], n.outputs[1]},
       {ad.grad_of(n.inputs[0]), ad.grad_of(n.inputs[1]), ad.grad_of(n.inputs[2])},
       n.params,
       n.layer});
  return {};
}

Status build(Context& c, const LayerSpec& l, const std::string& name, std::span<const int> in, int& out) {
  Graph& g = c.g;
  const std::vector<int64_t> hs = g.values[in[0]].shape;
  if (hs.size() != 3) return c.err(l, "expects (B, T, C), got " + shape_str(hs));
  const int64_t B = hs[0], T = hs[1], C = hs[2], H = l.integer("heads");
  if (C % H != 0)
    return c.err(l, "the width " + std::to_string(C) + " is not divisible by heads = " + std::to_string(H));
  const int64_t D = C / H;
  const bool bias = l.boolean("bias");
  int qkv = emit_linear(c, in[0], 3 * C, bias, name + ".c_attn");
  int q = g.add_strided(qkv, {B, H, T, D}, {T * 3 * C, D, 3 * C, 1}, 0, name + ".q");
  int k = g.add_strided(qkv, {B, H, T, D}, {T * 3 * C, D, 3 * C, 1}, C, name + ".k");
  int v = g.add_strided(qkv, {B, H, T, D}, {T * 3 * C, D, 3 * C, 1}, 2 * C, name + ".v");
  int y = g.add_value(name + ".y", PLINTH_DTYPE_F32, {B, T, C}, Role::activation);
  int yh = g.add_strided(y, {B, H, T, D}, {T * C, D, C, 1}, 0, name + ".yh");
  int lse = g.add_value(name + ".lse", PLINTH_DTYPE_F32, {B, H, T}, Role::activation);
  plinth_attention_params ap{sizeof(plinth_attention_params), l.boolean("causal") ? 1 : 0,
                             static_cast<float>(1.0 / std::sqrt(static_cast<double>(D)))};
  g.forward.push_back({PLINTH_OP_ATTENTION, {q, k, v}, {yh, lse}, ap, name, attention_backward});
  out = emit_linear(c, y, C, bias, name + ".c_proj");
  return {};
}

// ONNX: c_attn, three Slices into q, k, v (B, T, C), each Reshaped (B, T, H, D) and
// Transpose to heads (B, H, T, D) (k to (B, H, D, T)), scores = q k^T / sqrt(D),
// the causal mask as Where(lower triangle of a (T, T) Trilu, scores, -inf),
// Softmax over the last axis, @ v, back to (B, T, C), and c_proj. T is read
// from the input (Shape), so any sequence length works.
Status onnx(OnnxContext& x, Context& c, const LayerSpec& l, const std::string& name, std::span<const int> in,
            int out) {
  auto xin = x.tensor(in[0]);
  if (!xin) return xin.status();
  const int64_t C = c.g.values[in[0]].shape[2], H = l.integer("heads"), D = C / H;
  const bool bias = l.boolean("bias");
  auto proj = [&](const std::string& layer, const std::string& input) -> Result<std::string> {
    auto w = x.weight(c, layer + ".weight");
    if (!w) return w.status();
    std::string b;
    if (bias) {
      auto bt = x.weight(c, layer + ".bias");
      if (!bt) return bt.status();
      b = *bt;
    }
    return onnx_linear(x, c, input, 3, *w, b, layer);
  };
  auto qkv = proj(name + ".c_attn", *xin);
  if (!qkv) return qkv.status();
  // q, k, v: thirds of the last axis (Slice: one output each).
  const std::string last = x.ints(name + ".last_axis", {-1});
  const std::string heads = x.ints(name + ".heads_shape", {0, 0, H, D});
  std::string part[3];
  const char* names[3] = {".q", ".k", ".v"};
  for (int i = 0; i < 3; ++i) {
    const std::string s = x.node("Slice",
                                 {*qkv, x.ints(name + names[i] + "_start", {i * C}),
                                  x.ints(name + names[i] + "_end", {(i + 1) * C}), last},
                                 name + names[i] + "_btc");
    const std::string r = x.node("Reshape", {s, heads}, name + names[i] + "_bthd");
    const std::vector<int64_t> perm =
        i == 1 ? std::vector<int64_t>{0, 2, 3, 1} : std::vector<int64_t>{0, 2, 1, 3};
    part[i] = x.node("Transpose", {r}, name + names[i], {{"perm", perm}});
  }
  const std::string scale =
      x.floats(name + ".scale", {static_cast<float>(1.0 / std::sqrt(static_cast<double>(D)))});
  std::string scores = x.node("Mul", {x.node("MatMul", {part[0], part[1]}, name + ".qk"), scale},
                              name + ".scores");  // (B, H, T, T)
  if (l.boolean("causal")) {
    const std::string T = x.node("Shape", {*xin}, name + ".T", {{"start", int64_t{1}}, {"end", int64_t{2}}});
    const std::string TT = x.node("Concat", {T, T}, name + ".TT", {{"axis", int64_t{0}}});
    const std::string ones = x.node("Expand", {x.floats(name + ".one", {1.f}), TT}, name + ".ones");
    const std::string tri = x.node("Trilu", {ones}, name + ".tril", {{"upper", int64_t{0}}});
    const std::string keep = x.node("Cast", {tri}, name + ".keep", {{"to", int64_t{9}}});  // BOOL
    const std::string ninf = x.floats(name + ".neg_inf", {-std::numeric_limits<float>::infinity()});
    scores = x.node("Where", {keep, scores, ninf}, name + ".masked");
  }
  const std::string p = x.node("Softmax", {scores}, name + ".probs", {{"axis", int64_t{-1}}});
  const std::string yh = x.node("MatMul", {p, part[2]}, name + ".yh");  // (B, H, T, D)
  const std::string yt =
      x.node("Transpose", {yh}, name + ".y_bthd", {{"perm", std::vector<int64_t>{0, 2, 1, 3}}});
  const std::string y = x.node("Reshape", {yt, x.ints(name + ".y_shape", {0, 0, C})}, name + ".y");
  auto o = proj(name + ".c_proj", y);
  if (!o) return o.status();
  x.bind(out, *o);
  return {};
}

}  // namespace

const LayerKind kAttention{"attention", kKeys, 1, 1, nullptr, build, false, onnx};

}  // namespace plinth::graph
