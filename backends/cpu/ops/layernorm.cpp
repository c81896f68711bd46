// layernorm.cpp — LAYERNORM forward/backward over the last dim C of
// contiguous f32 rows (leading dims flatten into N). Forward saves mean and
// rstd = 1/sqrt(var + eps) (biased variance). Backward follows llm.c's
// layernorm_backward; dgamma/dbeta accumulate (+=) from partial sums over
// fixed chunks of rows. Every sum has a fixed order (8 lanes per row, chunks
// in order), so results do not depend on the thread count.
#include <algorithm>
#include <cmath>
#include <vector>

#include "../cpu_backend.hpp"

namespace plinth::cpu {

namespace {

// Sums in 8 double lanes, element c in lane c % 8, lanes added in a fixed
// order at the end: vectorisable, and the same result for any thread count.
struct lanes {
  double l[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  double total() const { return ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7])); }
};

// dgamma / dbeta partial sums are taken over fixed chunks of rows, then the
// chunks are added in order: parallel over rows as well as columns, and
// independent of the thread count.
constexpr int64_t k_rows = 64;

}  // namespace

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
      lanes s;
      int64_t c = 0;
      for (; c + 8 <= C; c += 8)
        for (int j = 0; j < 8; ++j) s.l[j] += double(xr[c + j]);
      for (int j = 0; c < C; ++c, ++j) s.l[j] += double(xr[c]);
      const double m = s.total() / double(C);
      lanes v;
      for (c = 0; c + 8 <= C; c += 8)
        for (int j = 0; j < 8; ++j) {
          const double d = double(xr[c + j]) - m;
          v.l[j] += d * d;
        }
      for (int j = 0; c < C; ++c, ++j) {
        const double d = double(xr[c]) - m;
        v.l[j] += d * d;
      }
      const float mf = float(m);
      const float r = float(1.0 / std::sqrt(v.total() / double(C) + double(eps)));
      float* yr = y + n * C;
      for (c = 0; c < C; ++c) yr[c] = (xr[c] - mf) * r * w[c] + b[c];
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
      lanes s1, s2;
      int64_t c = 0;
      auto add = [&](int64_t k, int j) {
        const double norm = double((xr[k] - m) * r);
        const double dn = double(w[k]) * double(g[k]);
        s1.l[j] += dn;
        s2.l[j] += dn * norm;
      };
      for (; c + 8 <= C; c += 8)
        for (int j = 0; j < 8; ++j) add(c + j, j);
      for (int j = 0; c < C; ++c, ++j) add(c, j);
      const float mdn = float(s1.total() / double(C)), mdnn = float(s2.total() / double(C));
      float* d = dx + n * C;
      for (c = 0; c < C; ++c) {
        const float norm = (xr[c] - m) * r;
        d[c] = r * (w[c] * g[c] - mdn - norm * mdnn);
      }
    }
  });
  // dgamma += sum_n dy * norm, dbeta += sum_n dy: partial sums per chunk of
  // k_rows rows (in parallel), then the chunks in order per column.
  const int64_t chunks = (N + k_rows - 1) / k_rows;
  std::vector<double> pw(static_cast<size_t>(chunks * C)), pb(static_cast<size_t>(chunks * C));
  parallel_for(ctx, chunks, k_rows * C * 2, [&](int64_t lo, int64_t hi) {
    for (int64_t ch = lo; ch < hi; ++ch) {
      double* aw = pw.data() + ch * C;
      double* ab = pb.data() + ch * C;
      for (int64_t n = ch * k_rows, end = std::min(N, n + k_rows); n < end; ++n) {
        const float m = mean[n], r = rstd[n];
        const float* g = dy + n * C;
        const float* xr = x + n * C;
        for (int64_t c = 0; c < C; ++c) {
          aw[c] += double(g[c]) * double((xr[c] - m) * r);
          ab[c] += double(g[c]);
        }
      }
    }
  });
  parallel_for(ctx, C, chunks * 2, [&](int64_t lo, int64_t hi) {
    for (int64_t c = lo; c < hi; ++c) {
      double sw = 0, sb = 0;
      for (int64_t ch = 0; ch < chunks; ++ch) {
        sw += pw[size_t(ch * C + c)];
        sb += pb[size_t(ch * C + c)];
      }
      dw[c] += float(sw);
      db[c] += float(sb);
    }
  });
  return PLINTH_OK;
}

}  // namespace plinth::cpu
