// softmax.cpp — SOFTMAX / SOFTMAX_BACKWARD over the last dim and the fused
// softmax cross-entropy forward/backward. Rows are contiguous f32 (leading
// dims flatten into N); each row is computed by one thread, max-subtracted,
// with sums in double.
#include <cmath>

#include "../cpu_backend.hpp"

namespace plinth::cpu {

namespace {

bool validate_rows(const plinth_op& op, int nins, int nouts, check& c) {
  if (!expect_counts(op, nins, nins, nouts, nouts, c)) return false;
  const plinth_tensor& ref = op.inputs[0];
  if (ref.ndim < 1) return c.bad("in[0] must have at least 1 dim");
  for (int i = 0; i < nins; ++i) {
    const std::string w = "in[" + std::to_string(i) + "]";
    if (!expect_dtype(op.inputs[i], PLINTH_DTYPE_F32, w.c_str(), c) ||
        !expect_contiguous(op.inputs[i], w.c_str(), c))
      return false;
    if (!same_shape(op.inputs[i], ref))
      return c.bad(w + " " + shape_str(op.inputs[i]) + " != in[0] " + shape_str(ref));
  }
  for (int i = 0; i < nouts; ++i) {
    const std::string w = "out[" + std::to_string(i) + "]";
    if (!expect_dtype(op.outputs[i], PLINTH_DTYPE_F32, w.c_str(), c) ||
        !expect_contiguous(op.outputs[i], w.c_str(), c))
      return false;
    if (!same_shape(op.outputs[i], ref))
      return c.bad(w + " " + shape_str(op.outputs[i]) + " != in[0] " + shape_str(ref));
  }
  return true;
}

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

bool validate_softmax(const plinth_op& op, check& c) { return validate_rows(op, 1, 1, c); }

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

bool validate_softmax_backward(const plinth_op& op, check& c) { return validate_rows(op, 2, 1, c); }

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
// (N), out[1] probs (N, C). loss = logsumexp(row) - row[target].
// ---------------------------------------------------------------------------

namespace {
bool validate_xent_common(const plinth_op& op, const plinth_tensor& rows, const plinth_tensor& targets,
                          check& c) {
  if (!params_of<plinth_xent_params>(op, PLINTH_XENT_PARAMS_STRUCT_SIZE, "plinth_xent_params", c))
    return false;
  if (rows.ndim < 1) return c.bad("logits/probs must have at least 1 dim");
  if (!expect_dtype(targets, PLINTH_DTYPE_I32, "targets", c) || !expect_contiguous(targets, "targets", c))
    return false;
  const int64_t C = rows.shape[rows.ndim - 1];
  if (numel(targets) * C != numel(rows) || (C == 0 && numel(targets) != 0))
    return c.bad("targets " + shape_str(targets) + " must hold one class per row of " + shape_str(rows));
  return true;
}
}  // namespace

bool validate_cross_entropy(const plinth_op& op, check& c) {
  if (!expect_counts(op, 2, 2, 2, 2, c)) return false;
  const plinth_tensor& x = op.inputs[0];
  if (!expect_dtype(x, PLINTH_DTYPE_F32, "in[0] logits", c) || !expect_contiguous(x, "in[0] logits", c))
    return false;
  if (!validate_xent_common(op, x, op.inputs[1], c)) return false;
  const plinth_tensor& loss = op.outputs[0];
  const plinth_tensor& probs = op.outputs[1];
  if (!expect_dtype(loss, PLINTH_DTYPE_F32, "out[0] losses", c) ||
      !expect_contiguous(loss, "out[0] losses", c))
    return false;
  if (numel(loss) != numel(op.inputs[1]))
    return c.bad("out[0] losses " + shape_str(loss) + " must have one entry per row");
  if (!expect_dtype(probs, PLINTH_DTYPE_F32, "out[1] probs", c) ||
      !expect_contiguous(probs, "out[1] probs", c))
    return false;
  if (!same_shape(probs, x)) return c.bad("out[1] probs " + shape_str(probs) + " != logits " + shape_str(x));
  return true;
}

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
  parallel_for(ctx, N, C * 8, [&](int64_t lo, int64_t hi) {
    for (int64_t n = lo; n < hi; ++n) {
      const double lse = softmax_row(x + n * C, probs + n * C, C);
      loss[n] = t[n] == p->ignore_index ? 0.0f : float(lse - double(x[n * C + t[n]]));
    }
  });
  return PLINTH_OK;
}

bool validate_cross_entropy_backward(const plinth_op& op, check& c) {
  if (!expect_counts(op, 2, 3, 1, 1, c)) return false;
  const plinth_tensor& probs = op.inputs[0];
  if (!expect_dtype(probs, PLINTH_DTYPE_F32, "in[0] probs", c) || !expect_contiguous(probs, "in[0] probs", c))
    return false;
  if (!validate_xent_common(op, probs, op.inputs[1], c)) return false;
  if (op.num_inputs == 3) {
    const plinth_tensor& g = op.inputs[2];
    if (!expect_dtype(g, PLINTH_DTYPE_F32, "in[2] dloss", c) || !expect_contiguous(g, "in[2] dloss", c))
      return false;
    if (numel(g) != numel(op.inputs[1]))
      return c.bad("in[2] dloss " + shape_str(g) + " must have one entry per row");
  }
  const plinth_tensor& dx = op.outputs[0];
  if (!expect_dtype(dx, PLINTH_DTYPE_F32, "out[0]", c) || !expect_contiguous(dx, "out[0]", c)) return false;
  if (!same_shape(dx, probs)) return c.bad("out[0] " + shape_str(dx) + " != probs " + shape_str(probs));
  return true;
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
  parallel_for(ctx, N, C, [&](int64_t lo, int64_t hi) {
    for (int64_t n = lo; n < hi; ++n) {
      float* d = dx + n * C;
      if (t[n] == p->ignore_index) {
        for (int64_t c = 0; c < C; ++c) d[c] = 0.0f;
        continue;
      }
      const float s = g ? g[n] : p->scale;
      const float* pp = probs + n * C;
      for (int64_t c = 0; c < C; ++c) d[c] = (pp[c] - (c == t[n] ? 1.0f : 0.0f)) * s;
    }
  });
  return PLINTH_OK;
}

}  // namespace plinth::cpu
