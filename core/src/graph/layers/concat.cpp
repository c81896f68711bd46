// concat.cpp — the `concat` layer (torch.cat): its inputs side by side along
// `axis` of the (B, ..) shape; every other dim must match, and the batch dim
// (axis 0) cannot be joined. Each input is copied into a strided view of the
// output (one UNARY identity each); its gradient is that view of dy.
#include "graph/layers/layer.hpp"

namespace plinth::graph {
namespace {

constexpr config::LayerKey kKeys[] = {
    {"axis", config::KeyType::integer, config::LayerKey::defaulted, int64_t{-1}, "integer", "`-1`",
     "the dim of the `(B, ..)` shape to join along, counted from 0 (B, not allowed) or from the end (-1: the "
     "last)",
     [](const LayerSpec& l) -> std::string {
       return l.integer("axis") != 0 ? "" : "axis must not be 0: the batch dim cannot be joined";
     }},
};

// d in = the view of dy the input was copied to.
Status copy_backward(Autodiff& ad, const Node& n) {
  if (!ad.needs(n.inputs[0])) return {};
  auto t = ad.target_for(n.inputs[0]);
  ad.bw.push_back(
      {PLINTH_OP_UNARY, {ad.grad_of(n.outputs[0])}, {t.first}, unary(PLINTH_UNARY_IDENTITY), n.layer});
  ad.finish(t, n.layer);
  return {};
}

Status build(Context& c, const LayerSpec& l, const std::string& name, std::span<const int> in, int& out) {
  Graph& g = c.g;
  const std::vector<int64_t> first = g.values[in[0]].shape;
  const int64_t rank = static_cast<int64_t>(first.size());
  int64_t axis = l.integer("axis");
  if (axis < 0) axis += rank;
  if (axis <= 0 || axis >= rank)
    return c.err(l, "axis " + std::to_string(l.integer("axis")) + " is not a dim of its input " +
                        shape_str(first) + " other than the batch dim");
  std::vector<int64_t> ys = first;
  ys[axis] = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    const std::vector<int64_t>& s = g.values[in[i]].shape;
    bool ok = s.size() == first.size();
    for (size_t d = 0; ok && d < s.size(); ++d) ok = static_cast<int64_t>(d) == axis || s[d] == first[d];
    if (!ok)
      return c.err(l, "inputs " + input_name(l, 0) + " " + shape_str(first) + " and " + input_name(l, i) +
                          " " + shape_str(s) + " differ in a dim other than axis " + std::to_string(axis));
    ys[axis] += s[axis];
  }
  out = g.add_value(name + ".out", PLINTH_DTYPE_F32, ys, Role::activation);
  // Row-major strides of the output; input i starts `start` rows into its axis.
  std::vector<int64_t> strides(ys.size(), 1);
  for (size_t d = ys.size() - 1; d-- > 0;) strides[d] = strides[d + 1] * ys[d + 1];
  int64_t start = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    const std::vector<int64_t> s = g.values[in[i]].shape;
    const int part =
        g.add_strided(out, s, strides, start * strides[axis], name + ".part" + std::to_string(i));
    g.forward.push_back(
        {PLINTH_OP_UNARY, {in[i]}, {part}, unary(PLINTH_UNARY_IDENTITY), name, copy_backward});
    start += s[axis];
  }
  return {};
}

// ONNX: Concat along the same axis (counted from the end when negative,
// which ONNX reads the same way).
Status onnx(OnnxContext& x, Context& c, const LayerSpec& l, const std::string& name, std::span<const int> in,
            int out) {
  std::vector<std::string> ins;
  for (int v : in) {
    auto t = x.tensor(v);
    if (!t) return t.status();
    ins.push_back(*t);
  }
  int64_t axis = l.integer("axis");
  if (axis < 0) axis += static_cast<int64_t>(c.g.values[in[0]].shape.size());
  if (axis == 1) x.sequence_dynamic = false;  // joined along T: its length is part of the shape
  x.bind(out, x.node("Concat", ins, name + ".out", {{"axis", axis}}));
  return {};
}

}  // namespace

const LayerKind kConcat{"concat", kKeys, 2, -1, nullptr, build, false, onnx};

}  // namespace plinth::graph
