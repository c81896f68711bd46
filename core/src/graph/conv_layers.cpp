// conv_layers.cpp — conv2d (PyTorch's nn.Conv2d, cross-correlation, weight
// (O, C, k, k), kaiming-uniform a = sqrt(5) init: U(±1/sqrt(C k k)) for weight
// and bias), maxpool and avgpool (nn.MaxPool2d / nn.AvgPool2d with
// count_include_pad) as CONV2D / POOL2D nodes. Output sizes round down.
//
// Notation: B batch, C input channels, H W input size, O output channels,
// k kernel, OH OW output size.
#include "graph/conv_layers.hpp"

#include <cmath>

namespace plinth::graph {

namespace {

std::string dims(const std::vector<int64_t>& s) {
  std::string o = "(";
  for (size_t i = 0; i < s.size(); ++i) o += (i ? ", " : "") + std::to_string(s[i]);
  return o + ")";
}

}  // namespace

Status image_layer(Graph& g, const config::LayerSpec& l, const std::string& name, bool training, int& h,
                   const std::function<Status(const std::string&)>& err) {
  std::vector<int64_t> xs = g.values[h].shape;  // a copy: add_value may reallocate
  if (xs.size() == 3) {                         // (B, H, W): one channel
    xs = {xs[0], 1, xs[1], xs[2]};
    h = g.add_view(h, xs, name + ".in");
  }
  if (xs.size() != 4) return err("expects (B, C, H, W) or (B, H, W), got " + dims(xs));
  const int64_t B = xs[0], C = xs[1], H = xs[2], W = xs[3];
  const int64_t k = l.kernel, s = l.stride, pad = l.padding;
  if (k > H + 2 * pad || k > W + 2 * pad)
    return err("kernel " + std::to_string(k) + "x" + std::to_string(k) + " does not fit the input " +
               dims(xs) + " padded by " + std::to_string(pad) + " (" + std::to_string(H + 2 * pad) + "x" +
               std::to_string(W + 2 * pad) + ")");
  const int64_t OH = (H + 2 * pad - k) / s + 1, OW = (W + 2 * pad - k) / s + 1;
  const int32_t k32 = static_cast<int32_t>(k), s32 = static_cast<int32_t>(s), p32 = static_cast<int32_t>(pad);

  if (l.type == "conv2d") {
    const int64_t O = l.out;
    const double bound = 1.0 / std::sqrt(static_cast<double>(C * k * k));  // kaiming_uniform(a=sqrt 5)
    int w = g.add_value(name + ".weight", PLINTH_DTYPE_F32, {O, C, k, k}, Role::param);
    g.params.push_back({w, {ParamInit::uniform, bound}, true});
    std::vector<int> ins{h, w};
    if (l.bias) {
      int b = g.add_value(name + ".bias", PLINTH_DTYPE_F32, {O}, Role::param);
      g.params.push_back({b, {ParamInit::uniform, bound}, false});
      ins.push_back(b);
    }
    int y = g.add_value(name + ".out", PLINTH_DTYPE_F32, {B, O, OH, OW}, Role::activation);
    g.forward.push_back({PLINTH_OP_CONV2D,
                         ins,
                         {y},
                         plinth_conv2d_params{sizeof(plinth_conv2d_params), s32, s32, p32, p32, 1, 1, 0.f},
                         name});
    h = y;
    return {};
  }
  // maxpool / avgpool
  const bool max = l.type == "maxpool";
  plinth_pool2d_params pp{
      sizeof(plinth_pool2d_params), max ? PLINTH_POOL_MAX : PLINTH_POOL_AVG, k32, k32, s32, s32, p32, p32, 1};
  int y = g.add_value(name + ".out", PLINTH_DTYPE_F32, {B, C, OH, OW}, Role::activation);
  std::vector<int> outs{y};
  if (max && training)
    outs.push_back(g.add_value(name + ".argmax", PLINTH_DTYPE_I32, {B, C, OH, OW}, Role::activation));
  g.forward.push_back({PLINTH_OP_POOL2D, {h}, outs, pp, name});
  h = y;
  return {};
}

}  // namespace plinth::graph
