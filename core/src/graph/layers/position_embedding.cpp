// position_embedding.cpp — the `position_embedding` layer: GPT-2's learned
// positions, y (B, T, C) = x + table[0..T) broadcast over B. The table is read
// through a stride-0 view, so add.cpp's derivative sums dy over B into the
// table's first T rows.
//
// Notation: B batch, T positions, C width.
#include "graph/layers/layer.hpp"

namespace plinth::graph {
namespace {

constexpr config::LayerKey kKeys[] = {
    {"max_len",
     config::KeyType::integer,
     config::LayerKey::required,
     {},
     "integer > 0",
     "the number of positions, at least the sequence length",
     "positions with a learned vector; adds `table[0..T)` to a `(B, T, C)` input (T <= max_len)",
     [](const LayerSpec& l) { return positive(l, "max_len"); }},
};

Status build(Context& c, const LayerSpec& l, const std::string& name, std::span<const int> in, int& out) {
  Graph& g = c.g;
  const std::vector<int64_t> hs = g.values[in[0]].shape;
  if (hs.size() != 3) return c.err(l, "expects (B, T, C), got " + shape_str(hs));
  const int64_t T = hs[1], C = hs[2], max_len = l.integer("max_len");
  if (T > max_len)
    return c.err(
        l, "the sequence has " + std::to_string(T) + " positions but max_len is " + std::to_string(max_len));
  int table = c.param(name + ".weight", {max_len, C}, {ParamInit::normal, c.gpt2 ? 0.02 : 1.0}, true);
  int bcast = g.add_strided(table, {hs[0], T, C}, {0, C, 1}, 0, name + ".rows");
  out = emit_add(c, in[0], bcast, name);
  return {};
}

// ONNX: x + table[0..T), the rows sliced by the input's own T (Shape of
// dim 1), so the sequence length may vary up to max_len.
Status onnx(OnnxContext& x, Context& c, const LayerSpec&, const std::string& name, std::span<const int> in,
            int out) {
  auto xin = x.tensor(in[0]);
  if (!xin) return xin.status();
  auto table = x.weight(c, name + ".weight");
  if (!table) return table.status();
  const std::string T = x.node("Shape", {*xin}, name + ".T", {{"start", int64_t{1}}, {"end", int64_t{2}}});
  const std::string rows =
      x.node("Slice", {*table, x.ints(name + ".zero", {0}), T, x.ints(name + ".axis", {0})}, name + ".rows");
  x.bind(out, x.node("Add", {*xin, rows}, name + ".out"));
  return {};
}

}  // namespace

const LayerKind kPositionEmbedding{"position_embedding", kKeys, 1, 1, nullptr, build, false, onnx};

}  // namespace plinth::graph
