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

namespace {

struct pool_shape {
  int64_t N = 0, C = 0, H = 0, W = 0, OH = 0, OW = 0;
  int64_t kh = 1, kw = 1, sh = 1, sw = 1, ph = 0, pw = 0;
  bool max = true, include_pad = true;
};

bool expect_f32c(const plinth_tensor& t, const char* what, check& c) {
  return expect_dtype(t, PLINTH_DTYPE_F32, what, c) && expect_contiguous(t, what, c);
}

const plinth_pool2d_params* pool_params(const plinth_op& op, check& c) {
  return params_of<plinth_pool2d_params>(op, PLINTH_POOL2D_PARAMS_STRUCT_SIZE, "plinth_pool2d_params", c);
}

// Checks the params and x (N, C, H, W) against y (N, C, OH, OW).
bool pool_shapes(const plinth_tensor& x, const char* x_name, const plinth_tensor& y, const char* y_name,
                 const plinth_pool2d_params& p, pool_shape& s, check& c) {
  const int32_t fn = raw_enum(p.fn);
  if (fn != PLINTH_POOL_MAX && fn != PLINTH_POOL_AVG)
    return c.bad("params: unknown pool fn " + std::to_string(fn));
  if (p.kernel_h < 1 || p.kernel_w < 1 || p.stride_h < 1 || p.stride_w < 1)
    return c.bad("params: kernel (" + std::to_string(p.kernel_h) + ", " + std::to_string(p.kernel_w) +
                 ") and stride (" + std::to_string(p.stride_h) + ", " + std::to_string(p.stride_w) +
                 ") must be >= 1");
  if (p.pad_h < 0 || p.pad_w < 0 || 2 * int64_t(p.pad_h) > p.kernel_h || 2 * int64_t(p.pad_w) > p.kernel_w)
    return c.bad("params: padding (" + std::to_string(p.pad_h) + ", " + std::to_string(p.pad_w) +
                 ") must be between 0 and half the kernel (" + std::to_string(p.kernel_h) + ", " +
                 std::to_string(p.kernel_w) + ")");
  if (x.ndim != 4) return c.bad(std::string(x_name) + " " + shape_str(x) + " must be (N, C, H, W)");
  if (y.ndim != 4) return c.bad(std::string(y_name) + " " + shape_str(y) + " must be (N, C, OH, OW)");
  s.N = x.shape[0];
  s.C = x.shape[1];
  s.H = x.shape[2];
  s.W = x.shape[3];
  s.kh = p.kernel_h;
  s.kw = p.kernel_w;
  s.sh = p.stride_h;
  s.sw = p.stride_w;
  s.ph = p.pad_h;
  s.pw = p.pad_w;
  s.max = fn == PLINTH_POOL_MAX;
  s.include_pad = p.count_include_pad != 0;
  if (s.kh > s.H + 2 * s.ph || s.kw > s.W + 2 * s.pw)
    return c.bad("kernel " + std::to_string(s.kh) + "x" + std::to_string(s.kw) +
                 " is larger than the padded input " + std::to_string(s.H + 2 * s.ph) + "x" +
                 std::to_string(s.W + 2 * s.pw) + " of " + x_name + " " + shape_str(x));
  s.OH = (s.H + 2 * s.ph - s.kh) / s.sh + 1;
  s.OW = (s.W + 2 * s.pw - s.kw) / s.sw + 1;
  if (y.shape[0] != s.N || y.shape[1] != s.C || y.shape[2] != s.OH || y.shape[3] != s.OW)
    return c.bad(std::string(y_name) + " " + shape_str(y) + " must be (" + std::to_string(s.N) + ", " +
                 std::to_string(s.C) + ", " + std::to_string(s.OH) + ", " + std::to_string(s.OW) + ") for " +
                 x_name + " " + shape_str(x));
  return true;
}

bool expect_argmax(const plinth_tensor& t, const plinth_tensor& y, const char* what, check& c) {
  if (!expect_dtype(t, PLINTH_DTYPE_I32, what, c) || !expect_contiguous(t, what, c)) return false;
  if (!same_shape(t, y)) return c.bad(std::string(what) + " " + shape_str(t) + " must match " + shape_str(y));
  return true;
}

}  // namespace

bool validate_pool2d(const plinth_op& op, check& c) {
  if (!expect_counts(op, 1, 1, 1, 2, c)) return false;
  const plinth_pool2d_params* p = pool_params(op, c);
  if (!p) return false;
  const plinth_tensor &x = op.inputs[0], &y = op.outputs[0];
  if (!expect_f32c(x, "in[0] x", c) || !expect_f32c(y, "out[0] y", c)) return false;
  pool_shape s;
  if (!pool_shapes(x, "in[0] x", y, "out[0] y", *p, s, c)) return false;
  if (op.num_outputs == 2) {
    if (!s.max) return c.bad("average pooling takes 1 output (no argmax), got 2");
    return expect_argmax(op.outputs[1], y, "out[1] argmax", c);
  }
  return true;
}

plinth_status run_pool2d(plinth_backend_ctx* ctx, const plinth_op& op) {
  check c;
  pool_shape s;
  pool_shapes(op.inputs[0], "in[0] x", op.outputs[0], "out[0] y", *pool_params(op, c), s, c);
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

bool validate_pool2d_backward(const plinth_op& op, check& c) {
  if (!expect_counts(op, 1, 2, 1, 1, c)) return false;
  const plinth_pool2d_params* p = pool_params(op, c);
  if (!p) return false;
  const plinth_tensor &dy = op.inputs[0], &dx = op.outputs[0];
  if (!expect_f32c(dy, "in[0] dy", c) || !expect_f32c(dx, "out[0] dx", c)) return false;
  pool_shape s;
  if (!pool_shapes(dx, "out[0] dx", dy, "in[0] dy", *p, s, c)) return false;
  if (s.max) {
    if (op.num_inputs != 2) return c.bad("max pooling backward takes 2 inputs (dy, argmax), got 1");
    return expect_argmax(op.inputs[1], dy, "in[1] argmax", c);
  }
  if (op.num_inputs != 1) return c.bad("average pooling backward takes 1 input (dy), got 2");
  return true;
}

plinth_status run_pool2d_backward(plinth_backend_ctx* ctx, const plinth_op& op) {
  check c;
  pool_shape s;
  pool_shapes(op.outputs[0], "out[0] dx", op.inputs[0], "in[0] dy", *pool_params(op, c), s, c);
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
