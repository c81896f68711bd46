// conv2d.cpp — the `conv2d` layer, PyTorch's nn.Conv2d (cross-correlation,
// NCHW, weight (O, C, k, k), kaiming-uniform a = sqrt(5): U(±1/sqrt(C k k))
// for weight and bias), as one CONV2D node whose backward gives dx, dweight
// and dbias in one launch. Also the image geometry the pools share.
//
// Notation: B batch, C input channels, H W input size, O output channels,
// k kernel, OH OW output size.
#include <cmath>

#include "graph/layers/layer.hpp"

namespace plinth::graph {
namespace {

std::string in_range(const LayerSpec& l, std::string_view key, int64_t lo) {
  const int64_t v = l.integer(key);
  return v >= lo && v <= int64_t{1} << 20
             ? ""
             : std::string(key) + " must be in " + num(lo) + "..1048576, got " + num(v);
}

constexpr config::LayerKey kKeys[] = {
    {"out",
     config::KeyType::integer,
     config::LayerKey::required,
     {},
     "integer > 0",
     "output channels",
     "output channels (input channels come from the input)",
     [](const LayerSpec& l) { return positive(l, "out"); }},
    {"kernel",
     config::KeyType::integer,
     config::LayerKey::required,
     {},
     "integer > 0",
     "kernel size",
     "kernel height and width",
     [](const LayerSpec& l) { return in_range(l, "kernel", 1); }},
    {"stride", config::KeyType::integer, config::LayerKey::defaulted, int64_t{1}, "integer > 0", "`1`",
     "step between windows", [](const LayerSpec& l) { return in_range(l, "stride", 1); }},
    {"padding", config::KeyType::integer, config::LayerKey::defaulted, int64_t{0}, "integer >= 0", "`0`",
     "zeros added on each side", [](const LayerSpec& l) { return in_range(l, "padding", 0); }},
    {"bias", config::KeyType::boolean, config::LayerKey::defaulted, true, "boolean", "`true`",
     "add a bias per output channel"},
};

// dx (skipped, as a 0-element tensor, when x needs no gradient), dweight and
// dbias in one launch; beta = 1 sums into accumulated ones.
Status conv2d_backward(Autodiff& ad, const Node& n) {
  Graph& g = ad.g;
  const int x = n.inputs[0], w = n.inputs[1];
  auto cp = std::get<plinth_conv2d_params>(n.params);
  // (When accumulating, a frozen weight's scratch gradient sums garbage: unused.)
  cp.beta = ad.accumulate ? 1.f : 0.f;
  std::pair<int, int> tx{-1, -1}, tb{-1, -1};
  int dx = -1;
  if (ad.needs(x)) {
    tx = ad.target_for(x);
    dx = tx.first;
  } else {
    dx = g.add_value(n.layer + ".dx_skipped", PLINTH_DTYPE_F32, {0}, Role::activation);
  }
  std::pair<int, int> tw{-1, -1};
  std::vector<int> outs{dx, -1};
  if (ad.needs(w)) {
    tw = ad.target_for(w);
    outs[1] = tw.first;
  } else {  // frozen: the op writes dweight somewhere unused
    outs[1] = ad.scratch(w);
  }
  if (n.inputs.size() == 3) {
    if (ad.needs(n.inputs[2])) {
      tb = ad.target_for(n.inputs[2]);
      outs.push_back(tb.first);
    } else {
      outs.push_back(ad.scratch(n.inputs[2]));
    }
  }
  ad.bw.push_back({PLINTH_OP_CONV2D_BACKWARD, {ad.grad_of(n.outputs[0]), x, w}, outs, cp, n.layer});
  for (auto t : {tx, tw, tb})
    if (t.first >= 0) ad.finish(t, n.layer);
  return {};
}

Status build(Context& c, const LayerSpec& l, const std::string& name, std::span<const int> in, int& out) {
  Graph& g = c.g;
  ImageGeometry geo;
  PLINTH_TRY(image_geometry(c, l, name, in[0], geo));
  const int64_t O = l.integer("out"), k = l.integer("kernel");
  const int32_t s32 = static_cast<int32_t>(l.integer("stride")),
                p32 = static_cast<int32_t>(l.integer("padding"));
  const double bound = 1.0 / std::sqrt(static_cast<double>(geo.C * k * k));  // kaiming_uniform(a=sqrt 5)
  int w = g.add_value(name + ".weight", PLINTH_DTYPE_F32, {O, geo.C, k, k}, Role::param);
  g.params.push_back({w, {ParamInit::uniform, bound}, true});
  std::vector<int> ins{geo.x, w};
  if (l.boolean("bias")) {
    int b = g.add_value(name + ".bias", PLINTH_DTYPE_F32, {O}, Role::param);
    g.params.push_back({b, {ParamInit::uniform, bound}, false});
    ins.push_back(b);
  }
  out = g.add_value(name + ".out", PLINTH_DTYPE_F32, {geo.B, O, geo.OH, geo.OW}, Role::activation);
  g.forward.push_back({PLINTH_OP_CONV2D,
                       ins,
                       {out},
                       plinth_conv2d_params{sizeof(plinth_conv2d_params), s32, s32, p32, p32, 1, 1, 0.f},
                       name,
                       conv2d_backward});
  return {};
}

// ONNX: Conv with the same square kernel, strides and symmetric pads.
Status onnx(OnnxContext& x, Context& c, const LayerSpec& l, const std::string& name, std::span<const int> in,
            int out) {
  auto img = onnx_image(x, c, in[0], name);
  if (!img) return img.status();
  auto w = x.weight(c, name + ".weight");
  if (!w) return w.status();
  std::vector<std::string> ins{*img, *w};
  if (l.boolean("bias")) {
    auto b = x.weight(c, name + ".bias");
    if (!b) return b.status();
    ins.push_back(*b);
  }
  const int64_t k = l.integer("kernel"), s = l.integer("stride"), p = l.integer("padding");
  x.bind(out, x.node("Conv", ins, name + ".out",
                     {{"kernel_shape", std::vector<int64_t>{k, k}},
                      {"strides", std::vector<int64_t>{s, s}},
                      {"pads", std::vector<int64_t>{p, p, p, p}}}));
  return {};
}

}  // namespace

Result<std::string> onnx_image(OnnxContext& x, const Context& c, int in, const std::string& name) {
  auto t = x.tensor(in);
  if (!t) return t.status();
  if (c.g.values[in].shape.size() != 3) return *t;
  return x.node("Unsqueeze", {*t, x.ints(name + ".channel_axis", {1})}, name + ".in");
}

Status image_geometry(Context& c, const LayerSpec& l, const std::string& name, int in, ImageGeometry& geo) {
  Graph& g = c.g;
  std::vector<int64_t> xs = g.values[in].shape;  // a copy: add_value may reallocate
  geo.x = in;
  if (xs.size() == 3) {  // (B, H, W): one channel
    xs = {xs[0], 1, xs[1], xs[2]};
    geo.x = g.add_view(in, xs, name + ".in");
  }
  if (xs.size() != 4) return c.err(l, "expects (B, C, H, W) or (B, H, W), got " + shape_str(xs));
  geo.B = xs[0], geo.C = xs[1], geo.H = xs[2], geo.W = xs[3];
  const int64_t k = l.integer("kernel"), s = l.integer("stride"), pad = l.integer("padding");
  if (k > geo.H + 2 * pad || k > geo.W + 2 * pad)
    return c.err(l, "kernel " + std::to_string(k) + "x" + std::to_string(k) + " does not fit the input " +
                        shape_str(xs) + " padded by " + std::to_string(pad) + " (" +
                        std::to_string(geo.H + 2 * pad) + "x" + std::to_string(geo.W + 2 * pad) + ")");
  geo.OH = (geo.H + 2 * pad - k) / s + 1;
  geo.OW = (geo.W + 2 * pad - k) / s + 1;
  return {};
}

const LayerKind kConv2d{"conv2d", kKeys, 1, 1, nullptr, build, false, onnx};

}  // namespace plinth::graph
