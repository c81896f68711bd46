// batchnorm.cpp — BATCHNORM forward (training and eval) and
// BATCHNORM_BACKWARD (training mode) with torch's BatchNorm1d/2d semantics,
// f32, contiguous. Not here: the layer, momentum = None (cumulative average)
// and affine = False (the caller passes gamma = 1, beta = 0).
//
// Notation: x viewed as (N, C, S) (S = H * W for images, 1 for (N, C)
// features); M = N * S values per channel.
//
// Each channel is computed by one thread from start to end, and its sums run
// in a fixed order (for each n, the S values of the row in 8 double lanes,
// lane s % 8; lanes added in a fixed order at the end), so results do not
// depend on the thread count. Threads take contiguous ranges of channels and
// walk the rows of the range in memory order, which keeps S = 1 as
// contiguous as large S.
#include <algorithm>
#include <cmath>
#include <vector>

#include "../cpu_backend.hpp"

namespace plinth::cpu {

namespace {

constexpr int k_lanes = 8;

inline double lanes_total(const double* l) {
  return ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]));
}

// acc[s % 8] += r[s] for s in [0, S).
inline void add_row(const float* r, int64_t S, double* acc) {
  int64_t s = 0;
  for (; s + k_lanes <= S; s += k_lanes)
    for (int j = 0; j < k_lanes; ++j) acc[j] += double(r[s + j]);
  for (int j = 0; s < S; ++s, ++j) acc[j] += double(r[s]);
}

// acc[s % 8] += (r[s] - m)^2 for s in [0, S).
inline void add_row_sq(const float* r, int64_t S, double m, double* acc) {
  int64_t s = 0;
  for (; s + k_lanes <= S; s += k_lanes)
    for (int j = 0; j < k_lanes; ++j) {
      const double d = double(r[s + j]) - m;
      acc[j] += d * d;
    }
  for (int j = 0; s < S; ++s, ++j) {
    const double d = double(r[s]) - m;
    acc[j] += d * d;
  }
}

// y = (x - m) * r * g + b over the rows of channels [lo, hi): the one
// formula of training and eval mode.
void normalise(const float* x, float* y, int64_t N, int64_t C, int64_t S, int64_t lo, int64_t hi,
               const float* m, const float* r, const float* g, const float* b) {
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = lo; c < hi; ++c) {
      const float* xr = x + (n * C + c) * S;
      float* yr = y + (n * C + c) * S;
      const float mc = m[c], rc = r[c], gc = g[c], bc = b[c];
      for (int64_t s = 0; s < S; ++s) yr[s] = (xr[s] - mc) * rc * gc + bc;
    }
}

}  // namespace

plinth_status run_batchnorm(plinth_backend_ctx* ctx, const plinth_op& op) {
  const auto* p = static_cast<const plinth_batchnorm_params*>(op.params);
  check chk;
  contract::batchnorm_dims d;
  contract::validate_batchnorm(op, d, chk);  // passed in launch(); gives the dims
  const int64_t N = d.N, C = d.C, S = d.S, M = N * S;
  if (M == 0 || C == 0) return PLINTH_OK;
  const float* x = data_of<float>(op.inputs[0]);
  const float* g = data_of<float>(op.inputs[1]);
  const float* b = data_of<float>(op.inputs[2]);
  const float* rm_in = data_of<float>(op.inputs[3]);
  const float* rv_in = data_of<float>(op.inputs[4]);
  float* y = data_of<float>(op.outputs[0]);
  const double eps = double(p->eps);

  if (!p->training) {
    // Eval: the running statistics, rstd = 1 / sqrt(running_var + eps).
    std::vector<float> r(static_cast<size_t>(C));
    for (int64_t c = 0; c < C; ++c) r[size_t(c)] = float(1.0 / std::sqrt(double(rv_in[c]) + eps));
    parallel_for(ctx, C, M * 2,
                 [&](int64_t lo, int64_t hi) { normalise(x, y, N, C, S, lo, hi, rm_in, r.data(), g, b); });
    return PLINTH_OK;
  }

  float* mean = data_of<float>(op.outputs[1]);
  float* rstd = data_of<float>(op.outputs[2]);
  float* rm_out = op.num_outputs == 5 ? data_of<float>(op.outputs[3]) : nullptr;
  float* rv_out = op.num_outputs == 5 ? data_of<float>(op.outputs[4]) : nullptr;
  const double mom = double(p->momentum);
  parallel_for(ctx, C, M * 4, [&](int64_t lo, int64_t hi) {
    const int64_t nc = hi - lo;
    std::vector<double> acc(static_cast<size_t>(nc * k_lanes), 0.0), md(static_cast<size_t>(nc));
    // Pass 1: mean = sum x / M.
    for (int64_t n = 0; n < N; ++n)
      for (int64_t c = lo; c < hi; ++c) add_row(x + (n * C + c) * S, S, acc.data() + (c - lo) * k_lanes);
    for (int64_t c = lo; c < hi; ++c)
      md[size_t(c - lo)] = lanes_total(acc.data() + (c - lo) * k_lanes) / double(M);
    // Pass 2: biased var = sum (x - mean)^2 / M (two passes: no cancellation).
    std::fill(acc.begin(), acc.end(), 0.0);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t c = lo; c < hi; ++c)
        add_row_sq(x + (n * C + c) * S, S, md[size_t(c - lo)], acc.data() + (c - lo) * k_lanes);
    for (int64_t c = lo; c < hi; ++c) {
      const double m = md[size_t(c - lo)];
      const double var = lanes_total(acc.data() + (c - lo) * k_lanes) / double(M);
      mean[c] = float(m);
      rstd[c] = float(1.0 / std::sqrt(var + eps));
      if (rm_out) {
        // torch: running = (1 - momentum) running + momentum batch, the
        // variance unbiased (M / (M - 1)). Read before written: in place.
        const double rm = double(rm_in[c]), rv = double(rv_in[c]);
        rm_out[c] = float((1.0 - mom) * rm + mom * m);
        rv_out[c] = float((1.0 - mom) * rv + mom * var * double(M) / double(M - 1));
      }
    }
    normalise(x, y, N, C, S, lo, hi, mean, rstd, g, b);
  });
  return PLINTH_OK;
}

plinth_status run_batchnorm_backward(plinth_backend_ctx* ctx, const plinth_op& op) {
  check chk;
  contract::batchnorm_dims d;
  contract::validate_batchnorm_backward(op, d, chk);  // passed in launch(); gives the dims
  const int64_t N = d.N, C = d.C, S = d.S, M = N * S;
  if (M == 0 || C == 0) return PLINTH_OK;
  const float* dy = data_of<float>(op.inputs[0]);
  const float* x = data_of<float>(op.inputs[1]);
  const float* g = data_of<float>(op.inputs[2]);
  const float* mean = data_of<float>(op.inputs[3]);
  const float* rstd = data_of<float>(op.inputs[4]);
  float* dx = data_of<float>(op.outputs[0]);
  float* dg = data_of<float>(op.outputs[1]);
  float* db = data_of<float>(op.outputs[2]);
  // With xhat = (x - mean) rstd (Ioffe & Szegedy 2015, section 3):
  //   dbeta = sum dy, dgamma = sum dy xhat,
  //   dx = gamma rstd (dy - dbeta / M - xhat dgamma / M).
  parallel_for(ctx, C, M * 6, [&](int64_t lo, int64_t hi) {
    const int64_t nc = hi - lo;
    std::vector<double> s1(static_cast<size_t>(nc * k_lanes), 0.0), s2(s1.size(), 0.0);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t c = lo; c < hi; ++c) {
        const float* gr = dy + (n * C + c) * S;
        const float* xr = x + (n * C + c) * S;
        const float m = mean[c], r = rstd[c];
        double* a1 = s1.data() + (c - lo) * k_lanes;
        double* a2 = s2.data() + (c - lo) * k_lanes;
        int64_t s = 0;
        for (; s + k_lanes <= S; s += k_lanes)
          for (int j = 0; j < k_lanes; ++j) {
            a1[j] += double(gr[s + j]);
            a2[j] += double(gr[s + j]) * double((xr[s + j] - m) * r);
          }
        for (int j = 0; s < S; ++s, ++j) {
          a1[j] += double(gr[s]);
          a2[j] += double(gr[s]) * double((xr[s] - m) * r);
        }
      }
    std::vector<float> k(static_cast<size_t>(nc)), mdy(k.size()), mdyx(k.size());
    for (int64_t c = lo; c < hi; ++c) {
      const size_t i = size_t(c - lo);
      const double sdy = lanes_total(s1.data() + (c - lo) * k_lanes);
      const double sdyx = lanes_total(s2.data() + (c - lo) * k_lanes);
      db[c] += float(sdy);
      dg[c] += float(sdyx);
      k[i] = g[c] * rstd[c];
      mdy[i] = float(sdy / double(M));
      mdyx[i] = float(sdyx / double(M));
    }
    for (int64_t n = 0; n < N; ++n)
      for (int64_t c = lo; c < hi; ++c) {
        const size_t i = size_t(c - lo);
        const float* gr = dy + (n * C + c) * S;
        const float* xr = x + (n * C + c) * S;
        float* o = dx + (n * C + c) * S;
        const float m = mean[c], r = rstd[c], kc = k[i], a = mdy[i], bb = mdyx[i];
        for (int64_t s = 0; s < S; ++s) o[s] = kc * (gr[s] - a - (xr[s] - m) * r * bb);
      }
  });
  return PLINTH_OK;
}

}  // namespace plinth::cpu
