// pool.cpp — the `maxpool` and `avgpool` layers (nn.MaxPool2d, nn.AvgPool2d
// with count_include_pad), NCHW, as one POOL2D node each; maxpool keeps the
// position of each window's first maximum for its backward while training.
// And `global_avgpool` (nn.AdaptiveAvgPool2d(1) + flatten): (B, C, H, W) ->
// (B, C), one POOL2D whose window is the whole plane, so a head after it
// does not depend on the image size.
//
// Notation: B batch, C channels, k kernel, OH OW output size.
#include "graph/layers/layer.hpp"

namespace plinth::graph {
namespace {

constexpr config::LayerKey kKeys[] = {
    {"kernel",
     config::KeyType::integer,
     config::LayerKey::required,
     {},
     "integer > 0",
     "kernel size",
     "kernel height and width",
     [](const LayerSpec& l) -> std::string {
       const int64_t k = l.integer("kernel");
       return k > 0 && k <= 1 << 20 ? "" : "kernel must be in 1..1048576, got " + num(k);
     }},
    {"stride",
     config::KeyType::integer,
     config::LayerKey::optional,
     {},
     "integer > 0",
     "`kernel`",
     "step between windows",
     [](const LayerSpec& l) -> std::string {
       const int64_t s = l.integer("stride");
       return s > 0 && s <= 1 << 20 ? "" : "stride must be in 1..1048576, got " + num(s);
     }},
    {"padding", config::KeyType::integer, config::LayerKey::defaulted, int64_t{0}, "integer >= 0", "`0`",
     "added on each side: at most `kernel / 2`, never the maximum, counted in the average's divisor "
     "(PyTorch's `count_include_pad = True`)",
     [](const LayerSpec& l) -> std::string {
       const int64_t p = l.integer("padding"), max = l.integer("kernel") / 2;
       return p >= 0 && p <= max ? ""
                                 : "padding must be in 0.." + num(max) + " (half the kernel), got " + num(p);
     }},
};

// The stride defaults to the kernel.
std::pair<std::string, std::string> finish(LayerSpec& l) {
  if (!l.has("stride")) l.set("stride", l.integer("kernel"));
  return {};
}

// max: from the saved argmax (out[1]); avg: spread evenly over each window.
Status pool_backward(Autodiff& ad, const Node& n) {
  if (!ad.needs(n.inputs[0])) return {};
  auto t = ad.target_for(n.inputs[0]);
  std::vector<int> ins{ad.grad_of(n.outputs[0])};
  if (n.outputs.size() == 2) ins.push_back(n.outputs[1]);
  ad.bw.push_back({PLINTH_OP_POOL2D_BACKWARD, ins, {t.first}, n.params, n.layer});
  ad.finish(t, n.layer);
  return {};
}

template <plinth_pool_fn Fn>
Status build(Context& c, const LayerSpec& l, const std::string& name, std::span<const int> in, int& out) {
  Graph& g = c.g;
  ImageGeometry geo;
  PLINTH_TRY(image_geometry(c, l, name, in[0], geo));
  const int32_t k32 = static_cast<int32_t>(l.integer("kernel")),
                s32 = static_cast<int32_t>(l.integer("stride")),
                p32 = static_cast<int32_t>(l.integer("padding"));
  plinth_pool2d_params pp{sizeof(plinth_pool2d_params), Fn, k32, k32, s32, s32, p32, p32, 1};
  out = g.add_value(name + ".out", PLINTH_DTYPE_F32, {geo.B, geo.C, geo.OH, geo.OW}, Role::activation);
  std::vector<int> outs{out};
  if (Fn == PLINTH_POOL_MAX && c.opt.training)
    outs.push_back(
        g.add_value(name + ".argmax", PLINTH_DTYPE_I32, {geo.B, geo.C, geo.OH, geo.OW}, Role::activation));
  g.forward.push_back({PLINTH_OP_POOL2D, {geo.x}, outs, pp, name, pool_backward});
  return {};
}

// (B, C, H, W) -> (B, C, 1, 1) by an average over the whole H x W plane,
// read as (B, C); backward spreads dy evenly over the plane.
Status build_global(Context& c, const LayerSpec& l, const std::string& name, std::span<const int> in,
                    int& out) {
  Graph& g = c.g;
  const std::vector<int64_t> xs = g.values[in[0]].shape;
  if (xs.size() != 4)
    return c.err(l, "expects (B, C, H, W) images from " + input_name(l, 0) + ", got " + shape_str(xs));
  const int64_t B = xs[0], C = xs[1], H = xs[2], W = xs[3];
  if (H > 1 << 20 || W > 1 << 20 || H < 1 || W < 1)
    return c.err(l, "the plane " + num(H) + " x " + num(W) + " is outside 1..1048576 per side");
  const int32_t h32 = static_cast<int32_t>(H), w32 = static_cast<int32_t>(W);
  plinth_pool2d_params pp{sizeof(plinth_pool2d_params), PLINTH_POOL_AVG, h32, w32, h32, w32, 0, 0, 1};
  const int y = g.add_value(name + ".out4d", PLINTH_DTYPE_F32, {B, C, 1, 1}, Role::activation);
  g.forward.push_back({PLINTH_OP_POOL2D, {in[0]}, {y}, pp, name, pool_backward});
  out = g.add_view(y, {B, C}, name + ".out");
  return {};
}

// ONNX: MaxPool (padding never the maximum, as here) or AveragePool with
// count_include_pad = 1, floor rounding (ceil_mode 0) as the output size here.
template <plinth_pool_fn Fn>
Status onnx(OnnxContext& x, Context& c, const LayerSpec& l, const std::string& name, std::span<const int> in,
            int out) {
  auto img = onnx_image(x, c, in[0], name);
  if (!img) return img.status();
  const int64_t k = l.integer("kernel"), s = l.integer("stride"), p = l.integer("padding");
  std::vector<OnnxAttr> attrs{{"kernel_shape", std::vector<int64_t>{k, k}},
                              {"strides", std::vector<int64_t>{s, s}},
                              {"pads", std::vector<int64_t>{p, p, p, p}}};
  if (Fn == PLINTH_POOL_AVG) attrs.push_back({"count_include_pad", int64_t{1}});
  x.bind(out, x.node(Fn == PLINTH_POOL_MAX ? "MaxPool" : "AveragePool", {*img}, name + ".out", attrs));
  return {};
}

// ONNX: GlobalAveragePool (B, C, 1, 1), then Flatten to (B, C).
Status onnx_global(OnnxContext& x, Context&, const LayerSpec&, const std::string& name,
                   std::span<const int> in, int out) {
  auto t = x.tensor(in[0]);
  if (!t) return t.status();
  const std::string y = x.node("GlobalAveragePool", {*t}, name + ".out4d");
  x.bind(out, x.node("Flatten", {y}, name + ".out", {{"axis", int64_t{1}}}));
  return {};
}

}  // namespace

const LayerKind kMaxpool{
    "maxpool", kKeys, 1, 1, finish, build<PLINTH_POOL_MAX>, false, onnx<PLINTH_POOL_MAX>};
const LayerKind kAvgpool{
    "avgpool", kKeys, 1, 1, finish, build<PLINTH_POOL_AVG>, false, onnx<PLINTH_POOL_AVG>};
const LayerKind kGlobalAvgpool{"global_avgpool", {}, 1, 1, nullptr, build_global, false, onnx_global};

}  // namespace plinth::graph
