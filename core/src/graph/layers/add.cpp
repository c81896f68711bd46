// add.cpp — the `add` layer, y = a + b with NumPy broadcasting, and the
// BINARY ADD derivative every add shares (residual blocks, position tables,
// LoRA): each input gets dy; a broadcast input (a stride-0 view) gets dy
// summed over its broadcast dims. Also the broadcasting `mul` uses.
#include "graph/layers/layer.hpp"

namespace plinth::graph {

namespace {

Status build(Context& c, const LayerSpec& l, const std::string& name, std::span<const int> in, int& out) {
  std::vector<int> v;
  PLINTH_TRY(broadcast_inputs(c, l, name, in, v));
  out = emit_add(c, v[0], v[1], name);
  return {};
}

// ONNX: Add, whose broadcasting is NumPy's too.
Status onnx(OnnxContext& x, Context&, const LayerSpec&, const std::string& name, std::span<const int> in,
            int out) {
  return onnx_add(x, in[0], in[1], out, name);
}

}  // namespace

Status onnx_add(OnnxContext& x, int a, int b, int y, const std::string& name) {
  auto ta = x.tensor(a);
  if (!ta) return ta.status();
  auto tb = x.tensor(b);
  if (!tb) return tb.status();
  x.bind(y, x.node("Add", {*ta, *tb}, name + ".out"));
  return {};
}

std::string input_name(const LayerSpec& l, size_t i) {
  return i < l.inputs.size() ? "'" + l.inputs[i] + "'" : std::string("the previous layer");
}

Status broadcast_inputs(Context& c, const LayerSpec& l, const std::string& name, std::span<const int> in,
                        std::vector<int>& views) {
  Graph& g = c.g;
  // Shapes align at their last dim; each dim pair is equal or one side is 1
  // (a missing leading dim counts as 1); the result takes the larger.
  size_t rank = 0;
  for (int v : in) rank = std::max(rank, g.values[v].shape.size());
  std::vector<int64_t> shape(rank, 1);
  for (size_t i = 0; i < in.size(); ++i) {
    const std::vector<int64_t>& s = g.values[in[i]].shape;
    for (size_t d = 0; d < s.size(); ++d) {
      int64_t& o = shape[rank - s.size() + d];
      if (s[d] == o || s[d] == 1) continue;
      if (o != 1) {
        std::string shapes;
        for (size_t j = 0; j < in.size(); ++j) {
          if (j > 0) shapes += " and ";
          shapes += input_name(l, j);
          shapes += " ";
          shapes += shape_str(g.values[in[j]].shape);
        }
        return c.err(l, "the shapes of its inputs do not broadcast: " + shapes +
                            " (each dim, from the last, must be equal or 1)");
      }
      o = s[d];
    }
  }
  views.clear();
  for (size_t i = 0; i < in.size(); ++i) {
    const Value& x = g.values[in[i]];
    if (x.shape == shape) {
      views.push_back(in[i]);
      continue;
    }
    if (!x.strides.empty())
      return error(errc::internal, "layer '" + name + "': a strided input cannot be broadcast");
    // Stride 0 on every broadcast dim, the contiguous strides elsewhere.
    std::vector<int64_t> strides(rank, 0);
    int64_t step = 1;
    for (size_t d = x.shape.size(); d-- > 0;) {
      const size_t od = rank - x.shape.size() + d;
      strides[od] = x.shape[d] == shape[od] ? step : 0;
      step *= x.shape[d];
    }
    const std::vector<int64_t> xs = shape;
    views.push_back(g.add_strided(in[i], xs, strides, 0, name + ".in" + std::to_string(i)));
  }
  return {};
}

int emit_add(Context& c, int a, int b, const std::string& name) {
  Graph& g = c.g;
  const std::vector<int64_t> s = g.values[a].shape;
  int y = g.add_value(name + ".out", PLINTH_DTYPE_F32, s, Role::activation);
  g.forward.push_back({PLINTH_OP_BINARY,
                       {a, b},
                       {y},
                       plinth_binary_params{sizeof(plinth_binary_params), PLINTH_BINARY_ADD, 0.f},
                       name,
                       add_backward});
  return y;
}

// y = a + b: each input gets dy; a broadcast input (a stride-0 view) gets dy
// summed over the broadcast dims.
Status add_backward(Autodiff& ad, const Node& n) {
  Graph& g = ad.g;
  const int dy = ad.grad_of(n.outputs[0]);
  for (int in : n.inputs) {
    if (!ad.needs(in)) continue;
    const Value& iv = g.values[in];
    bool bcast = false;
    for (int64_t st : iv.strides) bcast = bcast || st == 0;
    if (!bcast) {
      auto t = ad.target_for(in);
      ad.bw.push_back({PLINTH_OP_UNARY, {dy}, {t.first}, unary(PLINTH_UNARY_IDENTITY), n.layer});
      ad.finish(t, n.layer);
      continue;
    }
    sum_into_broadcast(ad, in, dy, n.layer);
  }
  return {};
}

void sum_into_broadcast(Autodiff& ad, int in, int dy, const std::string& layer) {
  Graph& g = ad.g;
  // The reduced gradient lands in the elements the view reads (contiguous
  // from its offset); the rest of its root's gradient stays 0.
  const int gr = ad.summed_into(in, layer);
  std::vector<int64_t> rs = g.values[in].shape;
  for (size_t d = 0; d < rs.size(); ++d)
    if (g.values[in].strides[d] == 0) rs[d] = 1;
  const int64_t off = g.values[in].offset;
  int part = g.add_view(gr, rs, g.values[in].name + ".grad");
  g.values[part].offset = off;
  ad.bw.push_back({PLINTH_OP_REDUCE,
                   {dy},
                   {part},
                   plinth_reduce_params{sizeof(plinth_reduce_params), PLINTH_REDUCE_SUM, 1.f},
                   layer});
}

const LayerKind kAdd{"add", {}, 2, 2, nullptr, build, false, onnx};

}  // namespace plinth::graph
