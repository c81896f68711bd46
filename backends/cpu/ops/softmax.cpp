// softmax.cpp — SOFTMAX / SOFTMAX_BACKWARD over the last dim and the fused
// softmax cross-entropy forward/backward. Rows are contiguous f32 (leading
// dims flatten into N); each row is computed by one thread, max-subtracted,
// with sums in double.
#include <cmath>

#include "../cpu_backend.hpp"

namespace plinth::cpu {

namespace {

// probs = softmax(row); returns log-sum-exp of the row.
double softmax_row(const float* x, float* y, int64_t C) {
  float mx = -INFINITY;
  for (int64_t c = 0; c < C; ++c) mx = x[c] > mx ? x[c] : mx;
  double sum = 0;
  for (int64_t c = 0; c < C; ++c) {
    const float e = std::exp(x[c] - mx);
    y[c] = e;
    sum += e;
  }
  const float inv = float(1.0 / sum);
  for (int64_t c = 0; c < C; ++c) y[c] *= inv;
  return double(mx) + std::log(sum);
}

}  // namespace

plinth_status run_softmax(plinth_backend_ctx* ctx, const plinth_op& op) {
  const plinth_tensor& in = op.inputs[0];
  const int64_t C = in.shape[in.ndim - 1];
  if (C == 0) return PLINTH_OK;
  const int64_t N = numel(in) / C;
  const float* x = data_of<float>(in);
  float* y = data_of<float>(op.outputs[0]);
  parallel_for(ctx, N, C * 8, [&](int64_t lo, int64_t hi) {
    for (int64_t n = lo; n < hi; ++n) softmax_row(x + n * C, y + n * C, C);
  });
  return PLINTH_OK;
}

plinth_status run_softmax_backward(plinth_backend_ctx* ctx, const plinth_op& op) {
  const plinth_tensor& in = op.inputs[0];
  const int64_t C = in.shape[in.ndim - 1];
  if (C == 0) return PLINTH_OK;
  const int64_t N = numel(in) / C;
  const float* dy = data_of<float>(op.inputs[0]);
  const float* y = data_of<float>(op.inputs[1]);
  float* dx = data_of<float>(op.outputs[0]);
  // dx = y * (dy - sum(dy * y))
  parallel_for(ctx, N, C * 4, [&](int64_t lo, int64_t hi) {
    for (int64_t n = lo; n < hi; ++n) {
      const float* g = dy + n * C;
      const float* p = y + n * C;
      double dot = 0;
      for (int64_t c = 0; c < C; ++c) dot += double(g[c]) * double(p[c]);
      const float d = float(dot);
      for (int64_t c = 0; c < C; ++c) dx[n * C + c] = p[c] * (g[c] - d);
    }
  });
  return PLINTH_OK;
}

// ---------------------------------------------------------------------------
// CROSS_ENTROPY: in[0] logits (N, C), in[1] targets (N) i32 -> out[0] losses
// (N), out[1] probs (N, C). loss = logsumexp(row) - row[target]; with label
// smoothing s (ABI 1.2), torch's (1 - s) nll + s mean_c(-log p_c), which is
// logsumexp(row) - (1 - s) row[target] - s mean(row).
// ---------------------------------------------------------------------------

plinth_status run_cross_entropy(plinth_backend_ctx* ctx, const plinth_op& op) {
  const auto* p = static_cast<const plinth_xent_params*>(op.params);
  const plinth_tensor& in = op.inputs[0];
  const int64_t C = in.shape[in.ndim - 1];
  const int64_t N = numel(op.inputs[1]);
  const float* x = data_of<float>(in);
  const int32_t* t = data_of<int32_t>(op.inputs[1]);
  float* loss = data_of<float>(op.outputs[0]);
  float* probs = data_of<float>(op.outputs[1]);
  for (int64_t n = 0; n < N; ++n)
    if (t[n] != p->ignore_index && (t[n] < 0 || t[n] >= C))
      return sdk::failf(ctx->host, PLINTH_ERR_INVALID_ARGUMENT,
                        "cpu launch CROSS_ENTROPY: target %d of row %lld is outside [0, %lld)", t[n],
                        static_cast<long long>(n), static_cast<long long>(C));
  const double ls = double(contract::xent_label_smoothing(*p));
  parallel_for(ctx, N, C * 8, [&](int64_t lo, int64_t hi) {
    for (int64_t n = lo; n < hi; ++n) {
      const float* xr = x + n * C;
      const double lse = softmax_row(xr, probs + n * C, C);
      if (t[n] == p->ignore_index) {
        loss[n] = 0.0f;
      } else if (ls == 0.0) {
        loss[n] = float(lse - double(xr[t[n]]));
      } else {
        double sum = 0;
        for (int64_t c = 0; c < C; ++c) sum += double(xr[c]);
        loss[n] = float(lse - (1.0 - ls) * double(xr[t[n]]) - ls * sum / double(C));
      }
    }
  });
  return PLINTH_OK;
}

plinth_status run_cross_entropy_backward(plinth_backend_ctx* ctx, const plinth_op& op) {
  const auto* p = static_cast<const plinth_xent_params*>(op.params);
  const plinth_tensor& pr = op.inputs[0];
  const int64_t C = pr.shape[pr.ndim - 1];
  const int64_t N = numel(op.inputs[1]);
  const float* probs = data_of<float>(pr);
  const int32_t* t = data_of<int32_t>(op.inputs[1]);
  const float* g = op.num_inputs == 3 ? data_of<float>(op.inputs[2]) : nullptr;
  float* dx = data_of<float>(op.outputs[0]);
  for (int64_t n = 0; n < N; ++n)
    if (t[n] != p->ignore_index && (t[n] < 0 || t[n] >= C))
      return sdk::failf(ctx->host, PLINTH_ERR_INVALID_ARGUMENT,
                        "cpu launch CROSS_ENTROPY_BACKWARD: target %d of row %lld is outside [0, %lld)", t[n],
                        static_cast<long long>(n), static_cast<long long>(C));
  const float ls = contract::xent_label_smoothing(*p);
  const float off = C ? float(double(ls) / double(C)) : 0.0f;  // smoothed target of the other classes
  const float on = float(1.0 - double(ls) + double(off));      // and of the target class
  parallel_for(ctx, N, C, [&](int64_t lo, int64_t hi) {
    for (int64_t n = lo; n < hi; ++n) {
      float* d = dx + n * C;
      if (t[n] == p->ignore_index) {
        for (int64_t c = 0; c < C; ++c) d[c] = 0.0f;
        continue;
      }
      const float s = g ? g[n] : p->scale;
      const float* pp = probs + n * C;
      if (ls == 0.0f) {
        for (int64_t c = 0; c < C; ++c) d[c] = (pp[c] - (c == t[n] ? 1.0f : 0.0f)) * s;
      } else {
        // dlogits = probs - (1 - ls) onehot - ls / C
        for (int64_t c = 0; c < C; ++c) d[c] = (pp[c] - (c == t[n] ? on : off)) * s;
      }
    }
  });
  return PLINTH_OK;
}

}  // namespace plinth::cpu
