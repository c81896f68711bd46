// attention.cpp — scaled dot-product attention, forward and backward, on
// f32 (B, H, T, D) tensors whose D is contiguous (B, H and T may be strided:
// heads read straight out of a fused (B, T, 3C) projection), causal or not.
// The forward saves logsumexp (B, H, T); the backward recomputes
// probabilities from it. Two paths, each writing every output element from
// one thread, so results are deterministic for any thread count:
//  - slices (ops/attention_kernels.inc): one (batch, head) slice per task,
//    its products as register-tiled matrix products over a T x T scratch,
//    exp by polynomial, vectorised for the host ISA; the backward computes
//    each probability once for dq, dk and dv.
//  - rows (below): one query row at a time (a T-length score buffer per
//    thread, never T x T); the backward in two passes (dq by query row; dk,
//    dv by key row), so it parallelises over B H T rows, not B H slices.
// The path depends on the shapes alone (use_slices), never on the thread
// count, so a result is the same whatever the threads.
#include <cmath>
#include <memory>
#include <vector>

#include "../cpu_backend.hpp"

namespace plinth::cpu {

namespace {

// Rows of a (B, H, T, D) tensor by (b*H + h, t), whatever its B, H, T strides.
template <typename F>
struct Rows {
  F* base;
  int64_t H, sb, sh, st;
  Rows(const plinth_tensor& t)
      : base(data_of<F>(t)), H(t.shape[1]), sb(t.strides[0]), sh(t.strides[1]), st(t.strides[2]) {}
  F* operator()(int64_t bh, int64_t i) const { return base + (bh / H) * sb + (bh % H) * sh + i * st; }
};

// 8 partial sums in a fixed order: vectorisable, and the same result for any thread count.
inline float dot(const float* a, const float* b, int64_t n) {
  float l[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) l[j] += a[i + j] * b[i + j];
  for (int j = 0; i < n; ++i, ++j) l[j] += a[i] * b[i];
  return ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]));
}

// The slice path needs 2 T x T + 6 T D floats of scratch per thread (about
// 5 MiB at T = 512, D = 256) and has only B H tasks. Above T = 512 or
// D = 256 the scratch outgrows the caches and the rows path is used. Below 8
// slices it would leave the threads of most machines idle where the rows
// path splits B H T rows, so it is used there only for T <= 64, where the
// whole op is small enough for one thread (the char-GPT shape, B H = 48,
// T = 64, takes the slice path either way).
bool use_slices(int64_t BH, int64_t T, int64_t D) { return T <= 512 && D <= 256 && (BH >= 8 || T <= 64); }

// Slice bh of q, k and v with the op's shape and params: what the forward
// and the backward kernels both read.
attention_slice qkv_slice(int64_t bh, int64_t T, int64_t D, const plinth_attention_params& p,
                          const Rows<const float>& q, const Rows<const float>& k,
                          const Rows<const float>& v) {
  attention_slice s;
  s.T = T;
  s.D = D;
  s.scale = p.scale;
  s.causal = p.causal != 0;
  s.q = q(bh, 0);
  s.k = k(bh, 0);
  s.v = v(bh, 0);
  s.sq = q.st;
  s.sk = k.st;
  s.sv = v.st;
  return s;
}

}  // namespace

plinth_status run_attention(plinth_backend_ctx* ctx, const plinth_op& op) {
  const auto* p = static_cast<const plinth_attention_params*>(op.params);
  const plinth_tensor& qt = op.inputs[0];
  const int64_t BH = qt.shape[0] * qt.shape[1], T = qt.shape[2], D = qt.shape[3];
  const Rows<const float> q(qt), k(op.inputs[1]), v(op.inputs[2]);
  const Rows<float> y(op.outputs[0]);
  float* lse = data_of<float>(op.outputs[1]);
  const float scale = p->scale;
  const bool causal = p->causal != 0;
  if (use_slices(BH, T, D)) {
    const int64_t nscratch = attention_scratch_floats(T, D, false);
    auto fwd = kernels().attention_forward;
    parallel_for(ctx, BH, T * T * D * 2, [&](int64_t lo, int64_t hi) {
      std::unique_ptr<float[]> w(new float[size_t(nscratch)]);
      for (int64_t bh = lo; bh < hi; ++bh) {
        attention_slice s = qkv_slice(bh, T, D, *p, q, k, v);
        s.y = y(bh, 0);
        s.sy = y.st;
        s.lse = lse + bh * T;
        fwd(s, w.get());
      }
    });
    return PLINTH_OK;
  }
  parallel_for(ctx, BH * T, T * D * 2, [&](int64_t lo, int64_t hi) {
    std::vector<float> s(size_t(T > 0 ? T : 1));
    for (int64_t row = lo; row < hi; ++row) {
      const int64_t bh = row / T, t = row % T;
      const float* qr = q(bh, t);
      const int64_t J = causal ? t + 1 : T;
      float mx = -INFINITY;
      for (int64_t j = 0; j < J; ++j) {
        s[size_t(j)] = scale * dot(qr, k(bh, j), D);
        mx = s[size_t(j)] > mx ? s[size_t(j)] : mx;
      }
      double sum = 0;
      for (int64_t j = 0; j < J; ++j) {
        s[size_t(j)] = std::exp(s[size_t(j)] - mx);
        sum += s[size_t(j)];
      }
      const float inv = float(1.0 / sum);
      float* yr = y(bh, t);
      for (int64_t d = 0; d < D; ++d) yr[d] = 0.0f;
      for (int64_t j = 0; j < J; ++j) {
        const float pj = s[size_t(j)] * inv;
        const float* vr = v(bh, j);
        for (int64_t d = 0; d < D; ++d) yr[d] += pj * vr[d];
      }
      lse[row] = J > 0 ? float(double(mx) + std::log(sum)) : -INFINITY;
    }
  });
  return PLINTH_OK;
}

plinth_status run_attention_backward(plinth_backend_ctx* ctx, const plinth_op& op) {
  const auto* p = static_cast<const plinth_attention_params*>(op.params);
  const plinth_tensor& qt = op.inputs[1];
  const int64_t BH = qt.shape[0] * qt.shape[1], T = qt.shape[2], D = qt.shape[3];
  const Rows<const float> dy(op.inputs[0]), q(qt), k(op.inputs[2]), v(op.inputs[3]), y(op.inputs[4]);
  const float* lse = data_of<float>(op.inputs[5]);
  const Rows<float> dq(op.outputs[0]), dk(op.outputs[1]), dv(op.outputs[2]);
  const float scale = p->scale;
  const bool causal = p->causal != 0;
  if (use_slices(BH, T, D)) {
    const int64_t nscratch = attention_scratch_floats(T, D, true);
    auto bwd = kernels().attention_backward;
    parallel_for(ctx, BH, T * T * D * 5, [&](int64_t lo, int64_t hi) {
      std::unique_ptr<float[]> w(new float[size_t(nscratch)]);
      for (int64_t bh = lo; bh < hi; ++bh) {
        attention_slice s = qkv_slice(bh, T, D, *p, q, k, v);
        s.y_in = y(bh, 0);
        s.sy = y.st;
        s.lse_in = lse + bh * T;
        s.dy = dy(bh, 0);
        s.sdy = dy.st;
        s.dq = dq(bh, 0);
        s.dk = dk(bh, 0);
        s.dv = dv(bh, 0);
        s.sdq = dq.st;
        s.sdk = dk.st;
        s.sdv = dv.st;
        bwd(s, w.get());
      }
    });
    return PLINTH_OK;
  }
  // Notation: P_ij = exp(S_ij - lse_i), S_ij = scale q_i.k_j; Di = dy_i.y_i;
  // dS_ij = P_ij (dy_i.v_j - Di); dq_i = scale sum_j dS_ij k_j;
  // dk_j = scale sum_i dS_ij q_i; dv_j = sum_i P_ij dy_i.
  std::vector<float> Dvec(size_t(BH * T));
  parallel_for(ctx, BH * T, D, [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) Dvec[size_t(r)] = dot(dy(r / T, r % T), y(r / T, r % T), D);
  });
  // Pass 1: dq by query row.
  parallel_for(ctx, BH * T, T * D * 3, [&](int64_t lo, int64_t hi) {
    for (int64_t row = lo; row < hi; ++row) {
      const int64_t bh = row / T, i = row % T;
      const float* qr = q(bh, i);
      const float* g = dy(bh, i);
      float* out = dq(bh, i);
      for (int64_t d = 0; d < D; ++d) out[d] = 0.0f;
      const int64_t J = causal ? i + 1 : T;
      for (int64_t j = 0; j < J; ++j) {
        const float* kr = k(bh, j);
        const float pij = std::exp(scale * dot(qr, kr, D) - lse[row]);
        const float ds = pij * (dot(g, v(bh, j), D) - Dvec[size_t(row)]);
        for (int64_t d = 0; d < D; ++d) out[d] += scale * ds * kr[d];
      }
    }
  });
  // Pass 2: dk, dv by key row.
  parallel_for(ctx, BH * T, T * D * 4, [&](int64_t lo, int64_t hi) {
    for (int64_t krow = lo; krow < hi; ++krow) {
      const int64_t bh = krow / T, j = krow % T;
      const float* kr = k(bh, j);
      const float* vr = v(bh, j);
      float* odk = dk(bh, j);
      float* odv = dv(bh, j);
      for (int64_t d = 0; d < D; ++d) odk[d] = odv[d] = 0.0f;
      for (int64_t i = causal ? j : 0; i < T; ++i) {
        const int64_t row = bh * T + i;
        const float* qr = q(bh, i);
        const float* g = dy(bh, i);
        const float pij = std::exp(scale * dot(qr, kr, D) - lse[row]);
        const float ds = pij * (dot(g, vr, D) - Dvec[size_t(row)]);
        for (int64_t d = 0; d < D; ++d) {
          odv[d] += pij * g[d];
          odk[d] += scale * ds * qr[d];
        }
      }
    }
  });
  return PLINTH_OK;
}

}  // namespace plinth::cpu
