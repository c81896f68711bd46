// attention.cpp — the `attention` layer, nanoGPT's CausalSelfAttention: a
// fused projection c_attn (C -> 3C), heads read as strided views of it, fused
// scaled dot-product attention writing (B, T, C) directly (the backward
// recomputes probabilities from the saved log-sum-exp), and c_proj.
//
// Notation: B batch, T positions, C width, H heads, D = C / H head size.
#include <cmath>

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

}  // namespace

const LayerKind kAttention{"attention", kKeys, 1, 1, nullptr, build};

}  // namespace plinth::graph
