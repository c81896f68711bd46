// pool.cpp — POOL2D and POOL2D_BACKWARD (max and average over H, W; NCHW,
// f32, contiguous). Each (n, c) plane is independent, so planes are split
// across threads and results do not depend on the thread count. Max pooling
// follows torch's CPU kernel: the first maximum of the window wins, a NaN
// replaces the running maximum, and the saved argmax (h * W + w inside the
// plane) drives backward (no recomputation). Average pooling divides by
// kernel_h * kernel_w (count_include_pad) or by the in-bounds count.
//
// Notation: N batch, C channels, H W input size, OH OW output size.
#include <algorithm>
#include <cmath>
#include <limits>

#include "../cpu_backend.hpp"

namespace plinth::cpu {

// The checks (backends/common/op_contract.cpp) also give the shapes run with.
using pool_shape = contract::pool2d_dims;

namespace {

const plinth_pool2d_params& pool_params(const plinth_op& op) {
  return *static_cast<const plinth_pool2d_params*>(op.params);
}

}  // namespace

plinth_status run_pool2d(plinth_backend_ctx* ctx, const plinth_op& op) {
  check c;
  pool_shape s;
  contract::pool2d_shapes(op.inputs[0], "in[0] x", op.outputs[0], "out[0] y", pool_params(op), s, c);
  const float* x = data_of<float>(op.inputs[0]);
  float* y = data_of<float>(op.outputs[0]);
  int32_t* arg = op.num_outputs == 2 ? data_of<int32_t>(op.outputs[1]) : nullptr;
  const int64_t in_plane = s.H * s.W, out_plane = s.OH * s.OW;
  parallel_for(ctx, s.N * s.C, out_plane * s.kh * s.kw, [&](int64_t lo, int64_t hi) {
    for (int64_t pl = lo; pl < hi; ++pl) {
      const float* xp = x + pl * in_plane;
      float* yp = y + pl * out_plane;
      int32_t* ap = arg ? arg + pl * out_plane : nullptr;
      for (int64_t oh = 0; oh < s.OH; ++oh) {
        const int64_t h0 = oh * s.sh - s.ph;
        const int64_t hs = std::max<int64_t>(h0, 0), he = std::min(h0 + s.kh, s.H);
        for (int64_t ow = 0; ow < s.OW; ++ow) {
          const int64_t w0 = ow * s.sw - s.pw;
          const int64_t ws = std::max<int64_t>(w0, 0), we = std::min(w0 + s.kw, s.W);
          if (s.max) {
            float best = -std::numeric_limits<float>::infinity();
            int64_t bi = hs * s.W + ws;
            for (int64_t h = hs; h < he; ++h)
              for (int64_t w = ws; w < we; ++w) {
                const float v = xp[h * s.W + w];
                if (v > best || std::isnan(v)) {
                  best = v;
                  bi = h * s.W + w;
                }
              }
            yp[oh * s.OW + ow] = best;
            if (ap) ap[oh * s.OW + ow] = int32_t(bi);
          } else {
            float sum = 0.0f;
            for (int64_t h = hs; h < he; ++h)
              for (int64_t w = ws; w < we; ++w) sum += xp[h * s.W + w];
            const int64_t count = s.include_pad ? s.kh * s.kw : (he - hs) * (we - ws);
            yp[oh * s.OW + ow] = sum / float(count);
          }
        }
      }
    }
  });
  return PLINTH_OK;
}

plinth_status run_pool2d_backward(plinth_backend_ctx* ctx, const plinth_op& op) {
  check c;
  pool_shape s;
  contract::pool2d_shapes(op.outputs[0], "out[0] dx", op.inputs[0], "in[0] dy", pool_params(op), s, c);
  const float* dy = data_of<float>(op.inputs[0]);
  const int32_t* arg = s.max ? data_of<int32_t>(op.inputs[1]) : nullptr;
  float* dx = data_of<float>(op.outputs[0]);
  const int64_t in_plane = s.H * s.W, out_plane = s.OH * s.OW;
  std::atomic<int64_t> bad{-1};
  parallel_for(ctx, s.N * s.C, out_plane * s.kh * s.kw, [&](int64_t lo, int64_t hi) {
    for (int64_t pl = lo; pl < hi; ++pl) {
      float* dxp = dx + pl * in_plane;
      const float* dyp = dy + pl * out_plane;
      std::memset(dxp, 0, size_t(in_plane) * 4);
      if (s.max) {
        const int32_t* ap = arg + pl * out_plane;
        for (int64_t i = 0; i < out_plane; ++i) {
          if (ap[i] < 0 || ap[i] >= in_plane) {
            bad.store(pl * out_plane + i);
            continue;
          }
          dxp[ap[i]] += dyp[i];
        }
        continue;
      }
      for (int64_t oh = 0; oh < s.OH; ++oh) {
        const int64_t h0 = oh * s.sh - s.ph;
        const int64_t hs = std::max<int64_t>(h0, 0), he = std::min(h0 + s.kh, s.H);
        for (int64_t ow = 0; ow < s.OW; ++ow) {
          const int64_t w0 = ow * s.sw - s.pw;
          const int64_t ws = std::max<int64_t>(w0, 0), we = std::min(w0 + s.kw, s.W);
          const int64_t count = s.include_pad ? s.kh * s.kw : (he - hs) * (we - ws);
          const float g = dyp[oh * s.OW + ow] / float(count);
          for (int64_t h = hs; h < he; ++h)
            for (int64_t w = ws; w < we; ++w) dxp[h * s.W + w] += g;
        }
      }
    }
  });
  if (bad.load() >= 0)
    return sdk::failf(ctx->host, PLINTH_ERR_INVALID_ARGUMENT,
                      "cpu launch POOL2D_BACKWARD: in[1] argmax element %lld is outside its %lldx%lld plane",
                      static_cast<long long>(bad.load()), static_cast<long long>(s.H),
                      static_cast<long long>(s.W));
  return PLINTH_OK;
}

}  // namespace plinth::cpu
