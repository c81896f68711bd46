// flatten.cpp — the `flatten` layer: (B, d1, d2, ..) read as (B, d1*d2*..), a
// view of its input (no node, no copy, so no derivative of its own: the
// gradient of the view is a view of the input's gradient). No keys.
#include "graph/layers/layer.hpp"

namespace plinth::graph {
namespace {

Status build(Context& c, const LayerSpec&, const std::string& name, std::span<const int> in, int& out) {
  const std::vector<int64_t> hs = c.g.values[in[0]].shape;
  int64_t rest = 1;
  for (size_t i = 1; i < hs.size(); ++i) rest *= hs[i];
  out = c.g.add_view(in[0], {hs[0], rest}, name);
  return {};
}

// ONNX: Flatten(axis = 1); the feature count then includes T, so a token
// model's sequence length stays fixed.
Status onnx(OnnxContext& x, Context&, const LayerSpec&, const std::string& name, std::span<const int> in,
            int out) {
  auto xin = x.tensor(in[0]);
  if (!xin) return xin.status();
  x.sequence_dynamic = false;
  x.bind(out, x.node("Flatten", {*xin}, name + ".out", {{"axis", int64_t{1}}}));
  return {};
}

}  // namespace

const LayerKind kFlatten{"flatten", {}, 1, 1, nullptr, build, true, onnx};

}  // namespace plinth::graph
