// matmul.cpp — a cache-blocked f32 matmul over arbitrary non-negative
// strides. Notation: out (.., M, N) = alpha * op(A) (.., M, K) @ op(B)
// (.., K, N) + beta * out, then + bias (N), which alpha does not scale (as
// the CPU backend's oneDNN bias post-op). beta == 0 does not read out.
// Accumulates in f32 over tiles of MB x NB outputs and KB-long k blocks.
#include "matmul.hpp"

#include <algorithm>

namespace vendor {

namespace {

constexpr int64_t MB = 32, NB = 64, KB = 256;

int64_t numel(const plinth_tensor& t) {
  int64_t n = 1;
  for (int d = 0; d < t.ndim; ++d) n *= t.shape[d];
  return n;
}

bool dense(const plinth_tensor& t) {
  int64_t expect = 1;
  for (int d = t.ndim - 1; d >= 0; --d) {
    if (t.shape[d] != 1 && t.strides[d] != expect) return false;
    expect *= t.shape[d];
  }
  return true;
}

bool sane(const plinth_tensor& t, const char* what, std::string* why) {
  if (t.struct_size < PLINTH_TENSOR_STRUCT_SIZE || t.ndim < 0 || t.ndim > PLINTH_MAX_DIMS) {
    *why = std::string(what) + ": malformed tensor";
    return false;
  }
  if (t.dtype != PLINTH_DTYPE_F32) {
    *why = std::string(what) + ": only f32 is supported";
    return false;
  }
  for (int d = 0; d < t.ndim; ++d)
    if (t.shape[d] < 0 || t.strides[d] < 0) {
      *why = std::string(what) + ": negative shape or stride";
      return false;
    }
  return true;
}

// Rows/cols of op(t): the last two dims, swapped when transposed.
int64_t rows(const plinth_tensor& t, bool trans) { return t.shape[t.ndim - (trans ? 1 : 2)]; }
int64_t cols(const plinth_tensor& t, bool trans) { return t.shape[t.ndim - (trans ? 2 : 1)]; }

// Offset of batch `bi` (row-major over out's batch dims) in a view whose
// dims align to the right of out's; absent or size-1 dims broadcast.
int64_t batch_offset(const view& v, const view& out, int64_t bi) {
  int64_t off = 0;
  const int nb = out.ndim - 2, lead = out.ndim - v.ndim;
  for (int d = nb - 1; d >= 0; --d) {
    const int64_t idx = bi % out.shape[d];
    bi /= out.shape[d];
    const int dv = d - lead;
    if (dv >= 0 && v.shape[dv] != 1) off += idx * v.strides[dv];
  }
  return off;
}

}  // namespace

bool matmul_check(const plinth_op& op, std::string* why) {
  if (op.kind != PLINTH_OP_MATMUL) return (*why = "only MATMUL is supported", false);
  if ((op.num_inputs != 2 && op.num_inputs != 3) || op.num_outputs != 1 || !op.inputs || !op.outputs)
    return (*why = "MATMUL takes 2 or 3 inputs and 1 output", false);
  const auto* p = static_cast<const plinth_matmul_params*>(op.params);
  if (!p || p->struct_size < PLINTH_MATMUL_PARAMS_STRUCT_SIZE)
    return (*why = "missing plinth_matmul_params", false);
  const plinth_tensor &a = op.inputs[0], &b = op.inputs[1], &out = op.outputs[0];
  if (!sane(a, "in[0]", why) || !sane(b, "in[1]", why) || !sane(out, "out[0]", why)) return false;
  const int nd = out.ndim;
  if (nd < 2 || a.ndim < 2 || a.ndim > nd || b.ndim < 2 || b.ndim > nd)
    return (*why = "ranks must satisfy 2 <= in[0], in[1] <= out[0]", false);
  const bool ta = p->trans_a != 0, tb = p->trans_b != 0;
  const int64_t M = out.shape[nd - 2], N = out.shape[nd - 1], K = cols(a, ta);
  if (rows(a, ta) != M || rows(b, tb) != K || cols(b, tb) != N) return (*why = "shapes do not chain", false);
  if ((M > 1 && out.strides[nd - 2] == 0) || (N > 1 && out.strides[nd - 1] == 0))
    return (*why = "out[0] has a stride-0 dim", false);
  for (int d = 0; d < nd - 2; ++d) {
    if (out.shape[d] > 1 && out.strides[d] == 0) return (*why = "out[0] has a stride-0 batch dim", false);
    for (const plinth_tensor* t : {&a, &b}) {
      const int dt = d - (nd - t->ndim);
      if (dt >= 0 && t->shape[dt] != 1 && t->shape[dt] != out.shape[d])
        return (*why = "batch dims do not broadcast to out[0]", false);
    }
  }
  if (op.num_inputs == 3) {
    const plinth_tensor& bias = op.inputs[2];
    if (!sane(bias, "in[2] bias", why)) return false;
    if (!dense(bias) || numel(bias) != N) return (*why = "in[2] bias must be dense with N elements", false);
  }
  return true;
}

void matmul_run(const matmul_job& j) {
  const view& o = j.out;
  const int nd = o.ndim;
  const int64_t M = o.shape[nd - 2], N = o.shape[nd - 1];
  const int64_t K = j.a.shape[j.a.ndim - (j.trans_a ? 2 : 1)];
  int64_t batch = 1;
  for (int d = 0; d < nd - 2; ++d) batch *= o.shape[d];
  // Element (i, k) of op(A) is at i * a_si + k * a_sk; likewise for B and out.
  const int64_t a_si = j.a.strides[j.a.ndim - (j.trans_a ? 1 : 2)];
  const int64_t a_sk = j.a.strides[j.a.ndim - (j.trans_a ? 2 : 1)];
  const int64_t b_sk = j.b.strides[j.b.ndim - (j.trans_b ? 1 : 2)];
  const int64_t b_sj = j.b.strides[j.b.ndim - (j.trans_b ? 2 : 1)];
  const int64_t o_si = o.strides[nd - 2], o_sj = o.strides[nd - 1];
  float acc[MB][NB];

  for (int64_t bi = 0; bi < batch; ++bi) {
    const float* A = j.a.data + batch_offset(j.a, o, bi);
    const float* B = j.b.data + batch_offset(j.b, o, bi);
    float* C = o.data + batch_offset(o, o, bi);
    for (int64_t i0 = 0; i0 < M; i0 += MB) {
      const int64_t i1 = std::min(M, i0 + MB);
      for (int64_t j0 = 0; j0 < N; j0 += NB) {
        const int64_t j1 = std::min(N, j0 + NB);
        for (int64_t i = i0; i < i1; ++i)
          for (int64_t jj = j0; jj < j1; ++jj) acc[i - i0][jj - j0] = 0.0f;
        for (int64_t k0 = 0; k0 < K; k0 += KB) {
          const int64_t k1 = std::min(K, k0 + KB);
          for (int64_t i = i0; i < i1; ++i)
            for (int64_t k = k0; k < k1; ++k) {
              const float aik = A[i * a_si + k * a_sk];
              const float* brow = B + k * b_sk;
              float* row = acc[i - i0];
              for (int64_t jj = j0; jj < j1; ++jj) row[jj - j0] += aik * brow[jj * b_sj];
            }
        }
        for (int64_t i = i0; i < i1; ++i)
          for (int64_t jj = j0; jj < j1; ++jj) {
            float& c = C[i * o_si + jj * o_sj];
            float v = j.alpha * acc[i - i0][jj - j0];
            if (j.beta != 0.0f) v += j.beta * c;
            if (j.bias.data) v += j.bias.data[jj];
            c = v;
          }
      }
    }
  }
}

}  // namespace vendor
