// layernorm.cpp — LAYERNORM forward/backward over the last dim C of
// contiguous f32 rows (leading dims flatten into N). Forward saves mean and
// rstd = 1/sqrt(var + eps) (biased variance). Backward follows llm.c's
// layernorm_backward; dgamma/dbeta accumulate (+=) column-parallel, each
// column summing rows in order, so results do not depend on thread count.
#include <cmath>
#include <vector>

#include "../cpu_backend.hpp"

namespace plinth::cpu {

namespace {}  // namespace

plinth_status run_layernorm(plinth_backend_ctx* ctx, const plinth_op& op) {
  const float eps = static_cast<const plinth_layernorm_params*>(op.params)->eps;
  const plinth_tensor& xt = op.inputs[0];
  const int64_t C = xt.shape[xt.ndim - 1];
  if (C == 0) return PLINTH_OK;
  const int64_t N = numel(xt) / C;
  const float* x = data_of<float>(xt);
  const float* w = data_of<float>(op.inputs[1]);
  const float* b = data_of<float>(op.inputs[2]);
  float* y = data_of<float>(op.outputs[0]);
  float* mean = data_of<float>(op.outputs[1]);
  float* rstd = data_of<float>(op.outputs[2]);
  parallel_for(ctx, N, C * 4, [&](int64_t lo, int64_t hi) {
    for (int64_t n = lo; n < hi; ++n) {
      const float* xr = x + n * C;
      double s = 0;
      for (int64_t c = 0; c < C; ++c) s += xr[c];
      const double m = s / double(C);
      double v = 0;
      for (int64_t c = 0; c < C; ++c) {
        const double d = xr[c] - m;
        v += d * d;
      }
      const float mf = float(m);
      const float r = float(1.0 / std::sqrt(v / double(C) + double(eps)));
      float* yr = y + n * C;
      for (int64_t c = 0; c < C; ++c) yr[c] = (xr[c] - mf) * r * w[c] + b[c];
      mean[n] = mf;
      rstd[n] = r;
    }
  });
  return PLINTH_OK;
}

plinth_status run_layernorm_backward(plinth_backend_ctx* ctx, const plinth_op& op) {
  const plinth_tensor& xt = op.inputs[1];
  const int64_t C = xt.shape[xt.ndim - 1];
  if (C == 0) return PLINTH_OK;
  const int64_t N = numel(xt) / C;
  const float* dy = data_of<float>(op.inputs[0]);
  const float* x = data_of<float>(xt);
  const float* w = data_of<float>(op.inputs[2]);
  const float* mean = data_of<float>(op.inputs[3]);
  const float* rstd = data_of<float>(op.inputs[4]);
  float* dx = data_of<float>(op.outputs[0]);
  float* dw = data_of<float>(op.outputs[1]);
  float* db = data_of<float>(op.outputs[2]);
  // dx = rstd * (dnorm - mean(dnorm) - norm * mean(dnorm * norm)), dnorm = dy * gamma
  parallel_for(ctx, N, C * 6, [&](int64_t lo, int64_t hi) {
    for (int64_t n = lo; n < hi; ++n) {
      const float* g = dy + n * C;
      const float* xr = x + n * C;
      const float m = mean[n], r = rstd[n];
      double s1 = 0, s2 = 0;
      for (int64_t c = 0; c < C; ++c) {
        const double norm = double((xr[c] - m) * r);
        const double dn = double(w[c]) * double(g[c]);
        s1 += dn;
        s2 += dn * norm;
      }
      const float mdn = float(s1 / double(C)), mdnn = float(s2 / double(C));
      float* d = dx + n * C;
      for (int64_t c = 0; c < C; ++c) {
        const float norm = (xr[c] - m) * r;
        d[c] = r * (w[c] * g[c] - mdn - norm * mdnn);
      }
    }
  });
  // dgamma += sum_n dy * norm, dbeta += sum_n dy; columns split across threads.
  constexpr int64_t k_cols = 256;
  const int64_t blocks = (C + k_cols - 1) / k_cols;
  parallel_for(ctx, blocks, N * k_cols * 2, [&](int64_t lo, int64_t hi) {
    std::vector<double> aw(static_cast<size_t>(k_cols)), ab(static_cast<size_t>(k_cols));
    for (int64_t blk = lo; blk < hi; ++blk) {
      const int64_t c0 = blk * k_cols, c1 = c0 + k_cols < C ? c0 + k_cols : C;
      std::fill(aw.begin(), aw.end(), 0.0);
      std::fill(ab.begin(), ab.end(), 0.0);
      for (int64_t n = 0; n < N; ++n) {
        const float m = mean[n], r = rstd[n];
        const float* g = dy + n * C;
        const float* xr = x + n * C;
        for (int64_t c = c0; c < c1; ++c) {
          aw[size_t(c - c0)] += double(g[c]) * double((xr[c] - m) * r);
          ab[size_t(c - c0)] += g[c];
        }
      }
      for (int64_t c = c0; c < c1; ++c) {
        dw[c] += float(aw[size_t(c - c0)]);
        db[c] += float(ab[size_t(c - c0)]);
      }
    }
  });
  return PLINTH_OK;
}

}  // namespace plinth::cpu
