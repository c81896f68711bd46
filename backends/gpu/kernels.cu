// kernels.cu — every kernel of the GPU backend, written once for CUDA, HIP
// and the host emulation (gpu_port.hpp). The rule that keeps the emulation
// exact: each thread computes its own outputs from inputs no other thread of
// the launch writes (one thread per element, per row, per column or per
// query), with no block-level cooperation. Row reductions run serially in one
// thread, in double where the CPU backend sums in double, so results match
// the reference closely; throughput is what a GPU gets from that layout.
// Not here: op validation (ops.cpp), buffers and streams (backend.cpp).
#include <cmath>
#include <cstring>

#include "gpu_port.hpp"
// The conversions in device code too (same bits as the CPU backend).
#define PLINTH_NUMFMT_HD PG_HD
#include "../common/number_formats.hpp"
#include "kernels.hpp"

namespace plinth::gpu::k {

namespace {

#if defined(PLINTH_GPU_CUDA)
err last_error() {
  cudaError_t e = cudaGetLastError();
  return e == cudaSuccess ? nullptr : cudaGetErrorString(e);
}
#elif defined(PLINTH_GPU_HIP)
err last_error() {
  hipError_t e = hipGetLastError();
  return e == hipSuccess ? nullptr : hipGetErrorString(e);
}
#else
err last_error() { return nullptr; }
#endif

// Launch over n items (nothing when n == 0), then report a launch error.
#define PG_RUN(n, kernel, stream, ...)                                           \
  do {                                                                           \
    if ((n) > 0) PG_LAUNCH(kernel, blocks_for(n), k_block, stream, __VA_ARGS__); \
    return last_error();                                                         \
  } while (0)

// --- number formats (bit for bit the CPU backend's conversions) -------------

using numfmt::bf16_to_f32;
using numfmt::f16_to_f32;
using numfmt::f32_to_bf16;
using numfmt::f32_to_f16;
PG_HD uint32_t f32_bits(float f) { return numfmt::f32_to_bits(f); }
PG_HD float bits_f32(uint32_t u) { return numfmt::bits_to_f32(u); }

PG_HD float nan_f32() { return bits_f32(0x7fc00000u); }
PG_HD float inf_f32() { return bits_f32(0x7f800000u); }

// Offsets of element i of an elementwise launch in each of its views.
PG_HD void ew_offsets(const ew_desc& d, int64_t i, int64_t* off) {
  for (int k = 0; k < d.nops; ++k) off[k] = 0;
  for (int dim = d.nd - 1; dim >= 0; --dim) {
    const int64_t j = i % d.shape[dim];
    i /= d.shape[dim];
    for (int k = 0; k < d.nops; ++k) off[k] += j * d.st[k][dim];
  }
}

// --- FILL / CAST --------------------------------------------------------------

PG_GLOBAL void k_fill(ew_desc d, char* out, int size, uint64_t bits) {
  const int64_t i = PG_INDEX();
  if (i >= d.n) return;
  int64_t off[4] = {0, 0, 0, 0};
  ew_offsets(d, i, off);
  char* p = out + off[0] * size;
  switch (size) {
    case 1:
      *reinterpret_cast<uint8_t*>(p) = uint8_t(bits);
      break;
    case 2:
      *reinterpret_cast<uint16_t*>(p) = uint16_t(bits);
      break;
    case 4:
      *reinterpret_cast<uint32_t*>(p) = uint32_t(bits);
      break;
    default:
      *reinterpret_cast<uint64_t*>(p) = bits;
      break;
  }
}

PG_HD int dtype_size(int dt) {
  switch (dt) {
    case 0:
    case 4:
      return 4;
    case 1:
    case 2:
    case 7:
      return 2;
    case 6:
      return 1;
    default:
      return 8;
  }
}

PG_GLOBAL void k_cast(ew_desc d, const char* in, int in_dt, char* out, int out_dt) {
  const int64_t i = PG_INDEX();
  if (i >= d.n) return;
  int64_t off[4] = {0, 0, 0, 0};
  ew_offsets(d, i, off);
  const char* s = in + off[1] * dtype_size(in_dt);
  char* o = out + off[0] * dtype_size(out_dt);
  if (in_dt == out_dt) {
    memcpy(o, s, size_t(dtype_size(in_dt)));
    return;
  }
  // Float sources load as f32 (f64 as double); integers convert straight to f32.
  float f = 0.0f;
  double dv = 0.0;
  bool is_double = false;
  switch (in_dt) {
    case 0:
      f = *reinterpret_cast<const float*>(s);
      break;
    case 1:
      f = f16_to_f32(*reinterpret_cast<const uint16_t*>(s));
      break;
    case 2:
      f = bf16_to_f32(*reinterpret_cast<const uint16_t*>(s));
      break;
    case 3:
      dv = *reinterpret_cast<const double*>(s);
      f = float(dv);
      is_double = true;
      break;
    case 4:
      f = float(*reinterpret_cast<const int32_t*>(s));
      break;
    case 5:
      f = float(*reinterpret_cast<const int64_t*>(s));
      break;
    case 6:
      f = float(*reinterpret_cast<const uint8_t*>(s));
      break;
    case 7:
      f = float(*reinterpret_cast<const uint16_t*>(s));
      break;
  }
  switch (out_dt) {
    case 0:
      *reinterpret_cast<float*>(o) = f;
      break;
    case 1:
      *reinterpret_cast<uint16_t*>(o) = f32_to_f16(f);
      break;
    case 2:
      *reinterpret_cast<uint16_t*>(o) = f32_to_bf16(f);
      break;
    case 3:
      *reinterpret_cast<double*>(o) = is_double ? dv : double(f);
      break;
  }
}

// --- UNARY / BINARY / AXPBY (f32) -------------------------------------------

constexpr float k_sqrt_2_over_pi = 0.7978845608028654f;
constexpr float k_gelu_c = 0.044715f;
constexpr float k_inv_sqrt2 = 0.7071067811865476f;
constexpr float k_inv_sqrt_2pi = 0.3989422804014327f;

PG_HD float unary_f(int fn, float u) {
  switch (fn) {
    case 1:
      return u > 0.0f ? u : 0.0f;
    case 2:
      return 0.5f * u * (1.0f + tanhf(k_sqrt_2_over_pi * (u + k_gelu_c * u * u * u)));
    case 3:
      return tanhf(u);
    case 4:
      return 1.0f / (1.0f + expf(-u));
    case 5:
      return expf(u);
    case 6:
      return logf(u);
    case 7:
      return sqrtf(u);
    case 8:
      return 1.0f / sqrtf(u);
    case 9:
      return u * u;
    case 10:
      return fabsf(u);
    case 11:
      return 1.0f / u;
    case 12:
      return 0.5f * u * (1.0f + erff(u * k_inv_sqrt2));
    case 13:  // SiLU; expf(-u) overflows to inf below about -88, giving u / inf = -0
      return u / (1.0f + expf(-u));
    case 14:  // SIGN: 0, -0 and NaN pass through (torch.sign)
      return u > 0.0f ? 1.0f : (u < 0.0f ? -1.0f : u);
    default:
      return u;
  }
}

PG_HD float unary_df(int fn, float u) {
  switch (fn) {
    case 1:
      return u > 0.0f ? 1.0f : 0.0f;
    case 2: {
      const float inner = k_sqrt_2_over_pi * (u + k_gelu_c * u * u * u);
      const float t = tanhf(inner);
      const float dinner = k_sqrt_2_over_pi * (1.0f + 3.0f * k_gelu_c * u * u);
      return 0.5f * (1.0f + t) + 0.5f * u * (1.0f - t * t) * dinner;
    }
    case 3: {
      const float t = tanhf(u);
      return 1.0f - t * t;
    }
    case 4: {
      const float s = 1.0f / (1.0f + expf(-u));
      return s * (1.0f - s);
    }
    case 5:
      return expf(u);
    case 6:
      return 1.0f / u;
    case 7:
      return 0.5f / sqrtf(u);
    case 8:
      return -0.5f / (u * sqrtf(u));
    case 9:
      return 2.0f * u;
    case 10:
      return u > 0.0f ? 1.0f : (u < 0.0f ? -1.0f : 0.0f);
    case 11:
      return -1.0f / (u * u);
    case 12:
      return 0.5f * (1.0f + erff(u * k_inv_sqrt2)) + u * k_inv_sqrt_2pi * expf(-0.5f * u * u);
    case 13: {  // SiLU: s (1 + u (1 - s)), s = sigmoid(u)
      const float sg = 1.0f / (1.0f + expf(-u));
      return sg * (1.0f + u * (1.0f - sg));
    }
    case 14:  // SIGN
      return 0.0f;
    default:
      return 1.0f;
  }
}

PG_HD float binary_f(int fn, float x, float y) {
  switch (fn) {
    case 0:
      return x + y;
    case 1:
      return x - y;
    case 2:
      return x * y;
    case 3:
      return x / y;
    case 4:
      return x > y ? x : (y > x ? y : (x != x ? x : y));
    case 5:
      return x < y ? x : (y < x ? y : (x != x ? x : y));
    case 6:
      return x > y ? 1.0f : 0.0f;
    case 7:
      return x >= y ? 1.0f : 0.0f;
    case 8:
      return x < y ? 1.0f : 0.0f;
    case 9:
      return x <= y ? 1.0f : 0.0f;
    case 10:
      return x == y ? 1.0f : 0.0f;
    case 11:
      return x != y ? 1.0f : 0.0f;
    default:
      return 0.0f;
  }
}

PG_GLOBAL void k_unary(ew_desc d, const float* x, float* out, int fn, float a, float b) {
  const int64_t i = PG_INDEX();
  if (i >= d.n) return;
  int64_t off[4] = {0, 0, 0, 0};
  ew_offsets(d, i, off);
  out[off[0]] = unary_f(fn, a * x[off[1]] + b);
}

PG_GLOBAL void k_unary_backward(ew_desc d, const float* dy, const float* x, float* out, int fn, float a,
                                float b) {
  const int64_t i = PG_INDEX();
  if (i >= d.n) return;
  int64_t off[4] = {0, 0, 0, 0};
  ew_offsets(d, i, off);
  out[off[0]] = dy[off[1]] * unary_df(fn, a * x[off[2]] + b) * a;
}

PG_GLOBAL void k_binary(ew_desc d, const float* a, const float* b, float* out, int fn, float beta) {
  const int64_t i = PG_INDEX();
  if (i >= d.n) return;
  int64_t off[4] = {0, 0, 0, 0};
  ew_offsets(d, i, off);
  const float r = binary_f(fn, a[off[1]], b[off[2]]);
  out[off[0]] = beta == 0.0f ? r : beta * out[off[0]] + r;
}

PG_GLOBAL void k_axpby(ew_desc d, const float* x, const float* y, float* out, float alpha, float beta,
                       int fn) {
  const int64_t i = PG_INDEX();
  if (i >= d.n) return;
  int64_t off[4] = {0, 0, 0, 0};
  ew_offsets(d, i, off);
  const float r = beta == 0.0f ? alpha * x[off[1]] : alpha * x[off[1]] + beta * y[off[2]];
  out[off[0]] = fn == 0 ? r : unary_f(fn, r);
}

PG_GLOBAL void k_select(ew_desc d, const float* c, const float* a, const float* b, float* out) {
  const int64_t i = PG_INDEX();
  if (i >= d.n) return;
  int64_t off[4] = {0, 0, 0, 0};
  ew_offsets(d, i, off);
  out[off[0]] = c[off[1]] != 0.0f ? a[off[2]] : b[off[3]];
}

// --- REDUCE / ARGMAX ----------------------------------------------------------

PG_GLOBAL void k_reduce(reduce_desc d, const float* x, float* out, int fn, float beta) {
  const int64_t oi = PG_INDEX();
  if (oi >= d.n_out) return;
  int64_t in_off = 0, out_off = 0, rem = oi;
  for (int k = d.nk - 1; k >= 0; --k) {
    const int64_t i = rem % d.kshape[k];
    rem /= d.kshape[k];
    in_off += i * d.kin[k];
    out_off += i * d.kout[k];
  }
  const bool is_max = fn == 2, is_min = fn == 3;
  double acc = is_max ? -double(inf_f32()) : (is_min ? double(inf_f32()) : 0.0);
  for (int64_t j = 0; j < d.count; ++j) {
    int64_t off = in_off, q = j;
    for (int k = d.nr - 1; k >= 0; --k) {
      off += (q % d.rshape[k]) * d.rin[k];
      q /= d.rshape[k];
    }
    const double v = x[off];
    if (is_max)
      acc = (v > acc || v != v) && acc == acc ? v : acc;
    else if (is_min)
      acc = (v < acc || v != v) && acc == acc ? v : acc;
    else
      acc += v;
  }
  if (fn == 1) acc = acc / double(d.count);
  const float r = float(acc);
  out[out_off] = beta == 0.0f ? r : beta * out[out_off] + r;
}

PG_GLOBAL void k_argmax(int64_t rows, int64_t C, const float* x, int32_t* out) {
  const int64_t n = PG_INDEX();
  if (n >= rows) return;
  const float* row = x + n * C;
  int64_t best = 0;
  float bv = row[0];
  for (int64_t c = 1; c < C; ++c)
    if (row[c] > bv || (bv != bv && row[c] == row[c])) {
      bv = row[c];
      best = c;
    }
  out[n] = int32_t(best);
}

// --- SOFTMAX / CROSS_ENTROPY (one thread per row) -----------------------------

// y = softmax(x row); returns the row's log-sum-exp.
PG_HD double softmax_row(const float* x, float* y, int64_t C) {
  float mx = -inf_f32();
  for (int64_t c = 0; c < C; ++c) mx = x[c] > mx ? x[c] : mx;
  double sum = 0;
  for (int64_t c = 0; c < C; ++c) {
    const float e = expf(x[c] - mx);
    y[c] = e;
    sum += e;
  }
  const float inv = float(1.0 / sum);
  for (int64_t c = 0; c < C; ++c) y[c] *= inv;
  return double(mx) + log(sum);
}

PG_GLOBAL void k_softmax(int64_t rows, int64_t C, const float* x, float* y) {
  const int64_t n = PG_INDEX();
  if (n >= rows) return;
  softmax_row(x + n * C, y + n * C, C);
}

PG_GLOBAL void k_softmax_backward(int64_t rows, int64_t C, const float* dy, const float* y, float* dx) {
  const int64_t n = PG_INDEX();
  if (n >= rows) return;
  const float* g = dy + n * C;
  const float* p = y + n * C;
  double dot = 0;
  for (int64_t c = 0; c < C; ++c) dot += double(g[c]) * double(p[c]);
  const float dd = float(dot);
  for (int64_t c = 0; c < C; ++c) dx[n * C + c] = p[c] * (g[c] - dd);
}

// With label smoothing ls: loss = lse - (1 - ls) x[t] - ls mean(x) (torch's
// (1 - ls) nll + ls mean_c(-log p_c)); dlogits = probs - (1 - ls) onehot - ls / C.
PG_GLOBAL void k_cross_entropy(int64_t rows, int64_t C, const float* x, const int32_t* t, int32_t ignore,
                               float ls, float* loss, float* probs) {
  const int64_t n = PG_INDEX();
  if (n >= rows) return;
  const int32_t tn = t[n];
  if (tn != ignore && (tn < 0 || tn >= C)) {
    loss[n] = nan_f32();
    for (int64_t c = 0; c < C; ++c) probs[n * C + c] = nan_f32();
    return;
  }
  const float* xr = x + n * C;
  const double lse = softmax_row(xr, probs + n * C, C);
  if (tn == ignore) {
    loss[n] = 0.0f;
  } else if (ls == 0.0f) {
    loss[n] = float(lse - double(xr[tn]));
  } else {
    double sum = 0;
    for (int64_t c = 0; c < C; ++c) sum += double(xr[c]);
    loss[n] = float(lse - (1.0 - double(ls)) * double(xr[tn]) - double(ls) * sum / double(C));
  }
}

PG_GLOBAL void k_cross_entropy_backward(int64_t rows, int64_t C, const float* probs, const int32_t* t,
                                        const float* dloss, float scale, int32_t ignore, float ls,
                                        float* dx) {
  const int64_t n = PG_INDEX();
  if (n >= rows) return;
  const int32_t tn = t[n];
  float* d = dx + n * C;
  if (tn == ignore) {
    for (int64_t c = 0; c < C; ++c) d[c] = 0.0f;
    return;
  }
  if (tn < 0 || tn >= C) {
    for (int64_t c = 0; c < C; ++c) d[c] = nan_f32();
    return;
  }
  const float s = dloss ? dloss[n] : scale;
  const float* pp = probs + n * C;
  if (ls == 0.0f) {
    for (int64_t c = 0; c < C; ++c) d[c] = (pp[c] - (c == tn ? 1.0f : 0.0f)) * s;
    return;
  }
  const float off = float(double(ls) / double(C)), on = float(1.0 - double(ls) + double(off));
  for (int64_t c = 0; c < C; ++c) d[c] = (pp[c] - (c == tn ? on : off)) * s;
}

// --- LAYERNORM ------------------------------------------------------------------

PG_GLOBAL void k_layernorm(int64_t rows, int64_t C, const float* x, const float* w, const float* b, float eps,
                           float* y, float* mean, float* rstd) {
  const int64_t n = PG_INDEX();
  if (n >= rows) return;
  const float* xr = x + n * C;
  double s = 0;
  for (int64_t c = 0; c < C; ++c) s += xr[c];
  const double m = s / double(C);
  double v = 0;
  for (int64_t c = 0; c < C; ++c) {
    const double dd = xr[c] - m;
    v += dd * dd;
  }
  const float mf = float(m);
  const float r = float(1.0 / sqrt(v / double(C) + double(eps)));
  float* yr = y + n * C;
  for (int64_t c = 0; c < C; ++c) yr[c] = (xr[c] - mf) * r * w[c] + b[c];
  mean[n] = mf;
  rstd[n] = r;
}

PG_GLOBAL void k_layernorm_backward_dx(int64_t rows, int64_t C, const float* dy, const float* x,
                                       const float* w, const float* mean, const float* rstd, float* dx) {
  const int64_t n = PG_INDEX();
  if (n >= rows) return;
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

// One thread per column: dgamma += sum_n dy * norm, dbeta += sum_n dy.
PG_GLOBAL void k_layernorm_backward_dw(int64_t rows, int64_t C, const float* dy, const float* x,
                                       const float* mean, const float* rstd, float* dw, float* db) {
  const int64_t c = PG_INDEX();
  if (c >= C) return;
  double aw = 0, ab = 0;
  for (int64_t n = 0; n < rows; ++n) {
    const float g = dy[n * C + c];
    aw += double(g) * double((x[n * C + c] - mean[n]) * rstd[n]);
    ab += g;
  }
  dw[c] += float(aw);
  db[c] += float(ab);
}

// --- BATCHNORM -----------------------------------------------------------------
// x viewed as (N, C, S), M = N * S values per channel. One thread per channel
// sums in double (n, then s, in order); one thread per element applies.

// Training: mean, rstd (biased variance) and, when rm_out, the running
// statistics (1 - momentum) running + momentum batch, the variance unbiased.
PG_GLOBAL void k_batchnorm_stats(int64_t N, int64_t C, int64_t S, const float* x, float eps, float momentum,
                                 const float* rm_in, const float* rv_in, float* mean, float* rstd,
                                 float* rm_out, float* rv_out) {
  const int64_t c = PG_INDEX();
  if (c >= C) return;
  const double M = double(N * S);
  double sum = 0;
  for (int64_t n = 0; n < N; ++n) {
    const float* xr = x + (n * C + c) * S;
    for (int64_t s = 0; s < S; ++s) sum += double(xr[s]);
  }
  const double m = sum / M;
  double v = 0;
  for (int64_t n = 0; n < N; ++n) {
    const float* xr = x + (n * C + c) * S;
    for (int64_t s = 0; s < S; ++s) {
      const double d = double(xr[s]) - m;
      v += d * d;
    }
  }
  v /= M;
  mean[c] = float(m);
  rstd[c] = float(1.0 / sqrt(v + double(eps)));
  if (rm_out) {
    const double mo = double(momentum), rm = double(rm_in[c]), rv = double(rv_in[c]);
    rm_out[c] = float((1.0 - mo) * rm + mo * m);
    rv_out[c] = float((1.0 - mo) * rv + mo * v * M / (M - 1.0));
  }
}

// Eval: rstd from the running variance.
PG_GLOBAL void k_batchnorm_eval_rstd(int64_t C, const float* rv, float eps, float* rstd) {
  const int64_t c = PG_INDEX();
  if (c >= C) return;
  rstd[c] = float(1.0 / sqrt(double(rv[c]) + double(eps)));
}

// y = (x - mean) rstd gamma + beta, the CPU backend's formula.
PG_GLOBAL void k_batchnorm_apply(int64_t total, int64_t C, int64_t S, const float* x, const float* mean,
                                 const float* rstd, const float* g, const float* b, float* y) {
  const int64_t i = PG_INDEX();
  if (i >= total) return;
  const int64_t c = (i / S) % C;
  y[i] = (x[i] - mean[c]) * rstd[c] * g[c] + b[c];
}

// Backward sums per channel: dbeta += sum dy, dgamma += sum dy xhat, and
// mean(dy), mean(dy xhat) into part (2 C) for the dx kernel.
PG_GLOBAL void k_batchnorm_backward_sums(int64_t N, int64_t C, int64_t S, const float* dy, const float* x,
                                         const float* mean, const float* rstd, float* dg, float* db,
                                         float* part) {
  const int64_t c = PG_INDEX();
  if (c >= C) return;
  const float m = mean[c], r = rstd[c];
  double s1 = 0, s2 = 0;
  for (int64_t n = 0; n < N; ++n) {
    const float* gr = dy + (n * C + c) * S;
    const float* xr = x + (n * C + c) * S;
    for (int64_t s = 0; s < S; ++s) {
      s1 += double(gr[s]);
      s2 += double(gr[s]) * double((xr[s] - m) * r);
    }
  }
  db[c] += float(s1);
  dg[c] += float(s2);
  const double M = double(N * S);
  part[c] = float(s1 / M);
  part[C + c] = float(s2 / M);
}

// dx = gamma rstd (dy - mean(dy) - xhat mean(dy xhat)).
PG_GLOBAL void k_batchnorm_backward_dx(int64_t total, int64_t C, int64_t S, const float* dy, const float* x,
                                       const float* g, const float* mean, const float* rstd,
                                       const float* part, float* dx) {
  const int64_t i = PG_INDEX();
  if (i >= total) return;
  const int64_t c = (i / S) % C;
  const float m = mean[c], r = rstd[c];
  dx[i] = (g[c] * r) * (dy[i] - part[c] - (x[i] - m) * r * part[C + c]);
}

// --- EMBEDDING ----------------------------------------------------------------

PG_HD int64_t id_at(const void* ids, bool ids64, int64_t i) {
  return ids64 ? static_cast<const int64_t*>(ids)[i] : int64_t(static_cast<const int32_t*>(ids)[i]);
}

PG_GLOBAL void k_embedding(int64_t n, const void* ids, bool ids64, int64_t V, int64_t C, const float* table,
                           float* out) {
  const int64_t i = PG_INDEX();
  if (i >= n * C) return;
  const int64_t row = i / C, c = i % C;
  const int64_t id = id_at(ids, ids64, row);
  out[i] = id >= 0 && id < V ? table[id * C + c] : nan_f32();
}

// One thread per column, ids in order: repeated ids add deterministically.
PG_GLOBAL void k_embedding_backward(int64_t n, const void* ids, bool ids64, int64_t V, int64_t C,
                                    const float* dout, float* dtable) {
  const int64_t c = PG_INDEX();
  if (c >= C) return;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t id = id_at(ids, ids64, i);
    if (id >= 0 && id < V) dtable[id * C + c] += dout[i * C + c];
  }
}

// --- ATTENTION (one thread per (batch, head, query); online softmax) ----------

PG_HD const float* row_of(const bhtd& t, int64_t bh, int64_t i) {
  return t.p + (bh / t.H) * t.sb + (bh % t.H) * t.sh + i * t.st;
}
PG_HD float* mrow_of(const bhtd& t, int64_t bh, int64_t i) { return const_cast<float*>(row_of(t, bh, i)); }

PG_HD float dot(const float* a, const float* b, int64_t n) {
  float s = 0.0f;
  for (int64_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

// y accumulates in place (unnormalised, rescaled when the running max grows),
// so no score row or D-sized local array is needed.
PG_GLOBAL void k_attention(int64_t BH, int64_t T, int64_t D, bhtd q, bhtd k, bhtd v, bhtd y, float* lse,
                           int causal, float scale) {
  const int64_t row = PG_INDEX();
  if (row >= BH * T) return;
  const int64_t bh = row / T, t = row % T;
  const float* qr = row_of(q, bh, t);
  float* yr = mrow_of(y, bh, t);
  for (int64_t d = 0; d < D; ++d) yr[d] = 0.0f;
  const int64_t J = causal ? t + 1 : T;
  float mx = -inf_f32();
  double sum = 0;
  for (int64_t j = 0; j < J; ++j) {
    const float s = scale * dot(qr, row_of(k, bh, j), D);
    if (s > mx) {
      const float corr = expf(mx - s);  // 0 on the first key
      sum *= corr;
      for (int64_t d = 0; d < D; ++d) yr[d] *= corr;
      mx = s;
    }
    const float e = expf(s - mx);
    sum += e;
    const float* vr = row_of(v, bh, j);
    for (int64_t d = 0; d < D; ++d) yr[d] += e * vr[d];
  }
  const float inv = J > 0 ? float(1.0 / sum) : 0.0f;
  for (int64_t d = 0; d < D; ++d) yr[d] *= inv;
  lse[row] = J > 0 ? float(double(mx) + log(sum)) : -inf_f32();
}

PG_GLOBAL void k_attention_dvec(int64_t BH, int64_t T, int64_t D, bhtd dy, bhtd y, float* dvec) {
  const int64_t r = PG_INDEX();
  if (r >= BH * T) return;
  dvec[r] = dot(row_of(dy, r / T, r % T), row_of(y, r / T, r % T), D);
}

// dq_i = scale sum_j P_ij (dy_i.v_j - D_i) k_j, one thread per query row.
PG_GLOBAL void k_attention_dq(int64_t BH, int64_t T, int64_t D, bhtd dy, bhtd q, bhtd k, bhtd v,
                              const float* lse, const float* dvec, bhtd dq, int causal, float scale) {
  const int64_t row = PG_INDEX();
  if (row >= BH * T) return;
  const int64_t bh = row / T, i = row % T;
  const float* qr = row_of(q, bh, i);
  const float* g = row_of(dy, bh, i);
  float* out = mrow_of(dq, bh, i);
  for (int64_t d = 0; d < D; ++d) out[d] = 0.0f;
  const int64_t J = causal ? i + 1 : T;
  for (int64_t j = 0; j < J; ++j) {
    const float* kr = row_of(k, bh, j);
    const float pij = expf(scale * dot(qr, kr, D) - lse[row]);
    const float ds = pij * (dot(g, row_of(v, bh, j), D) - dvec[row]);
    for (int64_t d = 0; d < D; ++d) out[d] += scale * ds * kr[d];
  }
}

// dk_j = scale sum_i dS_ij q_i, dv_j = sum_i P_ij dy_i, one thread per key row.
PG_GLOBAL void k_attention_dkv(int64_t BH, int64_t T, int64_t D, bhtd dy, bhtd q, bhtd k, bhtd v,
                               const float* lse, const float* dvec, bhtd dk, bhtd dv, int causal,
                               float scale) {
  const int64_t krow = PG_INDEX();
  if (krow >= BH * T) return;
  const int64_t bh = krow / T, j = krow % T;
  const float* kr = row_of(k, bh, j);
  const float* vr = row_of(v, bh, j);
  float* odk = mrow_of(dk, bh, j);
  float* odv = mrow_of(dv, bh, j);
  for (int64_t d = 0; d < D; ++d) odk[d] = odv[d] = 0.0f;
  for (int64_t i = causal ? j : 0; i < T; ++i) {
    const int64_t row = bh * T + i;
    const float* qr = row_of(q, bh, i);
    const float* g = row_of(dy, bh, i);
    const float pij = expf(scale * dot(qr, kr, D) - lse[row]);
    const float ds = pij * (dot(g, vr, D) - dvec[row]);
    for (int64_t d = 0; d < D; ++d) {
      odv[d] += pij * g[d];
      odk[d] += scale * ds * qr[d];
    }
  }
}

// --- DROPOUT (Philox-4x32-10, the mask every backend draws) --------------------

PG_HD bool keep(uint64_t seed, uint64_t counter, float p) {
  uint32_t c0 = uint32_t(counter), c1 = uint32_t(counter >> 32), c2 = 0, c3 = 0;
  uint32_t k0 = uint32_t(seed), k1 = uint32_t(seed >> 32);
  for (int r = 0; r < 10; ++r) {
    const uint64_t p0 = uint64_t(0xD2511F53u) * c0;
    const uint64_t p1 = uint64_t(0xCD9E8D57u) * c2;
    const uint32_t n0 = uint32_t(p1 >> 32) ^ c1 ^ k0;
    const uint32_t n2 = uint32_t(p0 >> 32) ^ c3 ^ k1;
    c1 = uint32_t(p1);
    c3 = uint32_t(p0);
    c0 = n0;
    c2 = n2;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  const float u = float(c0 >> 8) * 5.9604644775390625e-8f;  // 2^-24
  return u >= p;
}

PG_GLOBAL void k_dropout(int64_t n, const float* x, float* y, uint8_t* mask, float p, uint64_t seed,
                         uint64_t offset) {
  const int64_t i = PG_INDEX();
  if (i >= n) return;
  const bool kp = keep(seed, offset + uint64_t(i), p);
  const float s = 1.0f / (1.0f - p);
  y[i] = kp ? x[i] * s : 0.0f;
  if (mask) mask[i] = kp ? 1 : 0;
}

PG_GLOBAL void k_dropout_backward(int64_t n, const float* dy, const uint8_t* mask, float* dx, float p,
                                  uint64_t seed, uint64_t offset) {
  const int64_t i = PG_INDEX();
  if (i >= n) return;
  const bool kp = mask ? mask[i] != 0 : keep(seed, offset + uint64_t(i), p);
  const float s = 1.0f / (1.0f - p);
  dx[i] = kp ? dy[i] * s : 0.0f;
}

// --- SQUARED_NORM / IS_FINITE: per-chunk partials, then one thread in order ---

PG_GLOBAL void k_sqnorm_part(const float* x, int64_t n, double* part) {
  const int64_t ch = PG_INDEX();
  const int64_t b = ch * k_norm_chunk;
  if (b >= n) return;
  const int64_t e = b + k_norm_chunk < n ? b + k_norm_chunk : n;
  double s = 0;
  for (int64_t i = b; i < e; ++i) s += double(x[i]) * double(x[i]);
  part[ch] = s;
}

PG_GLOBAL void k_sqnorm_finish(const double* parts, int64_t n, float* out) {
  if (PG_INDEX() != 0) return;
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += parts[i];
  *out = float(s);
}

PG_GLOBAL void k_finite_part(const float* x, int64_t n, int32_t* part) {
  const int64_t ch = PG_INDEX();
  const int64_t b = ch * k_norm_chunk;
  if (b >= n) return;
  const int64_t e = b + k_norm_chunk < n ? b + k_norm_chunk : n;
  int32_t ok = 1;
  for (int64_t i = b; i < e; ++i) ok &= (f32_bits(x[i]) & 0x7f800000u) != 0x7f800000u;
  part[ch] = ok;
}

PG_GLOBAL void k_finite_finish(const int32_t* parts, int64_t n, float* out) {
  if (PG_INDEX() != 0) return;
  int32_t ok = 1;
  for (int64_t i = 0; i < n; ++i) ok &= parts[i];
  *out = ok ? 1.0f : 0.0f;
}

// --- optimizers ------------------------------------------------------------------

PG_GLOBAL void k_adamw(int64_t n, const float* pin, const float* g, const float* min, const float* vin,
                       float* p, float* m, float* v, float decay, float b1, float b2, float step_size,
                       float bc2_sqrt_inv, float eps) {
  const int64_t i = PG_INDEX();
  if (i >= n) return;
  const float gi = g[i];
  const float pi = pin[i] * decay;
  const float mi = b1 * min[i] + (1.0f - b1) * gi;
  const float vi = b2 * vin[i] + (1.0f - b2) * (gi * gi);
  const float denom = sqrtf(vi) * bc2_sqrt_inv + eps;
  p[i] = pi - step_size * (mi / denom);
  m[i] = mi;
  v[i] = vi;
}

PG_GLOBAL void k_lion(int64_t n, const float* pin, const float* g, const float* min, float* p, float* m,
                      float decay, float lr, float b1, float b2) {
  const int64_t i = PG_INDEX();
  if (i >= n) return;
  const float gi = g[i], mi = min[i];
  const float u = b1 * mi + (1.0f - b1) * gi;
  const float sg = u > 0.0f ? 1.0f : (u < 0.0f ? -1.0f : u);
  p[i] = pin[i] * decay - lr * sg;
  m[i] = b2 * mi + (1.0f - b2) * gi;
}

PG_GLOBAL void k_sgd(int64_t n, const float* pin, const float* g, const float* bin, float* p, float* buf,
                     float lr, float wd, float mom, float damp, int nesterov, int first) {
  const int64_t i = PG_INDEX();
  if (i >= n) return;
  const float w = pin[i];
  float d = g[i];
  if (wd != 0.0f) d = d + wd * w;
  if (buf) {
    const float b = first ? d : mom * bin[i] + damp * d;
    buf[i] = b;
    d = nesterov ? d + mom * b : b;
  }
  p[i] = w - lr * d;
}

// --- CONV2D (direct; one thread per output / gradient element) ------------------

PG_GLOBAL void k_conv2d(conv_desc s, const float* x, const float* w, const float* bias, float* y) {
  const int64_t i = PG_INDEX();
  if (i >= s.N * s.O * s.OH * s.OW) return;
  const int64_t ow = i % s.OW, oh = (i / s.OW) % s.OH, o = (i / (s.OW * s.OH)) % s.O,
                n = i / (s.OW * s.OH * s.O);
  float acc = 0.0f;
  for (int64_t c = 0; c < s.C; ++c)
    for (int64_t kh = 0; kh < s.KH; ++kh) {
      const int64_t h = oh * s.sh - s.ph + kh * s.dh;
      if (h < 0 || h >= s.H) continue;
      for (int64_t kw = 0; kw < s.KW; ++kw) {
        const int64_t ww = ow * s.sw - s.pw + kw * s.dw;
        if (ww < 0 || ww >= s.W) continue;
        acc += x[((n * s.C + c) * s.H + h) * s.W + ww] * w[((o * s.C + c) * s.KH + kh) * s.KW + kw];
      }
    }
  y[i] = acc + (bias ? bias[o] : 0.0f);
}

PG_GLOBAL void k_conv2d_dx(conv_desc s, const float* dy, const float* w, float* dx) {
  const int64_t i = PG_INDEX();
  if (i >= s.N * s.C * s.H * s.W) return;
  const int64_t ww = i % s.W, h = (i / s.W) % s.H, c = (i / (s.W * s.H)) % s.C, n = i / (s.W * s.H * s.C);
  float acc = 0.0f;
  for (int64_t o = 0; o < s.O; ++o)
    for (int64_t kh = 0; kh < s.KH; ++kh) {
      const int64_t th = h + s.ph - kh * s.dh;  // = oh * sh
      if (th < 0 || th % s.sh != 0 || th / s.sh >= s.OH) continue;
      const int64_t oh = th / s.sh;
      for (int64_t kw = 0; kw < s.KW; ++kw) {
        const int64_t tw = ww + s.pw - kw * s.dw;
        if (tw < 0 || tw % s.sw != 0 || tw / s.sw >= s.OW) continue;
        acc +=
            dy[((n * s.O + o) * s.OH + oh) * s.OW + tw / s.sw] * w[((o * s.C + c) * s.KH + kh) * s.KW + kw];
      }
    }
  dx[i] = acc;
}

PG_GLOBAL void k_conv2d_dw(conv_desc s, const float* dy, const float* x, float* dw, float beta) {
  const int64_t i = PG_INDEX();
  if (i >= s.O * s.C * s.KH * s.KW) return;
  const int64_t kw = i % s.KW, kh = (i / s.KW) % s.KH, c = (i / (s.KW * s.KH)) % s.C,
                o = i / (s.KW * s.KH * s.C);
  float acc = 0.0f;
  for (int64_t n = 0; n < s.N; ++n)
    for (int64_t oh = 0; oh < s.OH; ++oh) {
      const int64_t h = oh * s.sh - s.ph + kh * s.dh;
      if (h < 0 || h >= s.H) continue;
      for (int64_t ow = 0; ow < s.OW; ++ow) {
        const int64_t ww = ow * s.sw - s.pw + kw * s.dw;
        if (ww < 0 || ww >= s.W) continue;
        acc += dy[((n * s.O + o) * s.OH + oh) * s.OW + ow] * x[((n * s.C + c) * s.H + h) * s.W + ww];
      }
    }
  dw[i] = beta == 0.0f ? acc : beta * dw[i] + acc;
}

PG_GLOBAL void k_conv2d_db(conv_desc s, const float* dy, float* db, float beta) {
  const int64_t o = PG_INDEX();
  if (o >= s.O) return;
  float acc = 0.0f;
  const int64_t plane = s.OH * s.OW;
  for (int64_t n = 0; n < s.N; ++n)
    for (int64_t j = 0; j < plane; ++j) acc += dy[(n * s.O + o) * plane + j];
  db[o] = beta == 0.0f ? acc : beta * db[o] + acc;
}

// --- POOL2D ----------------------------------------------------------------------

PG_GLOBAL void k_pool2d(pool_desc s, const float* x, float* y, int32_t* arg) {
  const int64_t i = PG_INDEX();
  if (i >= s.N * s.C * s.OH * s.OW) return;
  const int64_t ow = i % s.OW, oh = (i / s.OW) % s.OH, pl = i / (s.OW * s.OH);
  const float* xp = x + pl * s.H * s.W;
  const int64_t h0 = oh * s.sh - s.ph, w0 = ow * s.sw - s.pw;
  const int64_t hs = h0 > 0 ? h0 : 0, he = h0 + s.kh < s.H ? h0 + s.kh : s.H;
  const int64_t ws = w0 > 0 ? w0 : 0, we = w0 + s.kw < s.W ? w0 + s.kw : s.W;
  if (s.max) {
    float best = -inf_f32();
    int64_t bi = hs * s.W + ws;
    for (int64_t h = hs; h < he; ++h)
      for (int64_t w = ws; w < we; ++w) {
        const float v = xp[h * s.W + w];
        if (v > best || v != v) {
          best = v;
          bi = h * s.W + w;
        }
      }
    y[i] = best;
    if (arg) arg[i] = int32_t(bi);
  } else {
    float sum = 0.0f;
    for (int64_t h = hs; h < he; ++h)
      for (int64_t w = ws; w < we; ++w) sum += xp[h * s.W + w];
    const int64_t count = s.include_pad ? s.kh * s.kw : (he - hs) * (we - ws);
    y[i] = sum / float(count);
  }
}

// One thread per input element, over the windows that hold it in output
// order (the order the CPU backend's scatter adds them).
PG_GLOBAL void k_pool2d_backward(pool_desc s, const float* dy, const int32_t* arg, float* dx) {
  const int64_t i = PG_INDEX();
  if (i >= s.N * s.C * s.H * s.W) return;
  const int64_t w = i % s.W, h = (i / s.W) % s.H, pl = i / (s.W * s.H);
  const float* dyp = dy + pl * s.OH * s.OW;
  const int32_t* ap = arg ? arg + pl * s.OH * s.OW : nullptr;
  // oh with oh*sh - ph <= h < oh*sh - ph + kh
  int64_t oh0 = h + s.ph - s.kh + 1;
  oh0 = oh0 <= 0 ? 0 : (oh0 + s.sh - 1) / s.sh;
  int64_t ow0 = w + s.pw - s.kw + 1;
  ow0 = ow0 <= 0 ? 0 : (ow0 + s.sw - 1) / s.sw;
  float acc = 0.0f;
  for (int64_t oh = oh0; oh < s.OH && oh * s.sh - s.ph <= h; ++oh)
    for (int64_t ow = ow0; ow < s.OW && ow * s.sw - s.pw <= w; ++ow) {
      const int64_t o = oh * s.OW + ow;
      if (s.max) {
        if (ap[o] == h * s.W + w) acc += dyp[o];
      } else {
        const int64_t h0 = oh * s.sh - s.ph, w0 = ow * s.sw - s.pw;
        const int64_t hs = h0 > 0 ? h0 : 0, he = h0 + s.kh < s.H ? h0 + s.kh : s.H;
        const int64_t ws = w0 > 0 ? w0 : 0, we = w0 + s.kw < s.W ? w0 + s.kw : s.W;
        const int64_t count = s.include_pad ? s.kh * s.kw : (he - hs) * (we - ws);
        acc += dyp[o] / float(count);
      }
    }
  dx[i] = acc;
}

// --- MATMUL (one thread per output element, f32 accumulation) ---------------------

template <class T>
PG_HD float load_in(const T* p, int64_t i);
template <>
PG_HD float load_in<float>(const float* p, int64_t i) {
  return p[i];
}
struct bf16_t {
  uint16_t v;
};
struct f16_t {
  uint16_t v;
};
template <>
PG_HD float load_in<bf16_t>(const bf16_t* p, int64_t i) {
  return bf16_to_f32(p[i].v);
}
template <>
PG_HD float load_in<f16_t>(const f16_t* p, int64_t i) {
  return f16_to_f32(p[i].v);
}

// out = (beta * out +) v in out's dtype (f32, or bf16/f16 rounded once).
PG_HD void store_out(void* out, int dt, int64_t off, float v, float beta, float extra) {
  if (dt == 0) {
    float* o = static_cast<float*>(out) + off;
    *o = (beta == 0.0f ? v : v + beta * *o) + extra;
    return;
  }
  uint16_t* o = static_cast<uint16_t*>(out) + off;
  float r = v;
  if (beta != 0.0f) r += beta * (dt == 2 ? bf16_to_f32(*o) : f16_to_f32(*o));
  r += extra;
  *o = dt == 2 ? f32_to_bf16(r) : f32_to_f16(r);
}

PG_HD void batch_offsets(const matmul_desc& d, int64_t bi, int64_t& ao, int64_t& bo, int64_t& co) {
  ao = bo = co = 0;
  for (int k = d.nb - 1; k >= 0; --k) {
    const int64_t j = bi % d.bshape[k];
    bi /= d.bshape[k];
    ao += j * d.a_bs[k];
    bo += j * d.b_bs[k];
    co += j * d.c_bs[k];
  }
}

template <class T>
PG_GLOBAL void k_matmul(matmul_desc d, const T* a, const T* b, const float* bias, void* out, int out_dt) {
  const int64_t i = PG_INDEX();
  if (i >= d.batch * d.M * d.N) return;
  const int64_t n = i % d.N, m = (i / d.N) % d.M, bi = i / (d.N * d.M);
  int64_t ao, bo, co;
  batch_offsets(d, bi, ao, bo, co);
  float acc = 0.0f;
  for (int64_t kk = 0; kk < d.K; ++kk)
    acc += load_in<T>(a, ao + m * d.a_m + kk * d.a_k) * load_in<T>(b, bo + kk * d.b_k + n * d.b_n);
  store_out(out, out_dt, co + m * d.c_m + n * d.c_n, d.alpha * acc, d.beta, bias ? bias[n] : 0.0f);
}

PG_GLOBAL void k_add_bias(matmul_desc d, const float* bias, void* out, int out_dt) {
  const int64_t i = PG_INDEX();
  if (i >= d.batch * d.M * d.N) return;
  const int64_t n = i % d.N, m = (i / d.N) % d.M, bi = i / (d.N * d.M);
  int64_t ao, bo, co;
  batch_offsets(d, bi, ao, bo, co);
  store_out(out, out_dt, co + m * d.c_m + n * d.c_n, bias[n], 1.0f, 0.0f);
}

}  // namespace

// --- host entry points ---------------------------------------------------------------

err fill(void* stream, const ew_desc& d, void* out, int elem_size, uint64_t bits) {
  PG_RUN(d.n, k_fill, stream, d, static_cast<char*>(out), elem_size, bits);
}
err cast(void* stream, const ew_desc& d, const void* in, int in_dtype, void* out, int out_dtype) {
  PG_RUN(d.n, k_cast, stream, d, static_cast<const char*>(in), in_dtype, static_cast<char*>(out), out_dtype);
}
err unary(void* stream, const ew_desc& d, const float* x, float* out, int fn, float alpha, float beta) {
  PG_RUN(d.n, k_unary, stream, d, x, out, fn, alpha, beta);
}
err unary_backward(void* stream, const ew_desc& d, const float* dy, const float* x, float* out, int fn,
                   float alpha, float beta) {
  PG_RUN(d.n, k_unary_backward, stream, d, dy, x, out, fn, alpha, beta);
}
err binary(void* stream, const ew_desc& d, const float* a, const float* b, float* out, int fn, float beta) {
  PG_RUN(d.n, k_binary, stream, d, a, b, out, fn, beta);
}
err axpby(void* stream, const ew_desc& d, const float* x, const float* y, float* out, float alpha, float beta,
          int fn) {
  PG_RUN(d.n, k_axpby, stream, d, x, y, out, alpha, beta, fn);
}
err select(void* stream, const ew_desc& d, const float* c, const float* a, const float* b, float* out) {
  PG_RUN(d.n, k_select, stream, d, c, a, b, out);
}
err reduce(void* stream, const reduce_desc& d, const float* x, float* out, int fn, float beta) {
  PG_RUN(d.n_out, k_reduce, stream, d, x, out, fn, beta);
}
err argmax(void* stream, int64_t rows, int64_t C, const float* x, int32_t* out) {
  PG_RUN(rows, k_argmax, stream, rows, C, x, out);
}
err softmax(void* stream, int64_t rows, int64_t C, const float* x, float* y) {
  PG_RUN(rows, k_softmax, stream, rows, C, x, y);
}
err softmax_backward(void* stream, int64_t rows, int64_t C, const float* dy, const float* y, float* dx) {
  PG_RUN(rows, k_softmax_backward, stream, rows, C, dy, y, dx);
}
err cross_entropy(void* stream, int64_t rows, int64_t C, const float* x, const int32_t* t, int32_t ignore,
                  float label_smoothing, float* loss, float* probs) {
  PG_RUN(rows, k_cross_entropy, stream, rows, C, x, t, ignore, label_smoothing, loss, probs);
}
err cross_entropy_backward(void* stream, int64_t rows, int64_t C, const float* probs, const int32_t* t,
                           const float* dloss, float scale, int32_t ignore, float label_smoothing,
                           float* dx) {
  PG_RUN(rows, k_cross_entropy_backward, stream, rows, C, probs, t, dloss, scale, ignore, label_smoothing,
         dx);
}
err layernorm(void* stream, int64_t rows, int64_t C, const float* x, const float* w, const float* b,
              float eps, float* y, float* mean, float* rstd) {
  PG_RUN(rows, k_layernorm, stream, rows, C, x, w, b, eps, y, mean, rstd);
}
err layernorm_backward(void* stream, int64_t rows, int64_t C, const float* dy, const float* x, const float* w,
                       const float* mean, const float* rstd, float* dx, float* dw, float* db) {
  if (rows > 0)
    PG_LAUNCH(k_layernorm_backward_dx, blocks_for(rows), k_block, stream, rows, C, dy, x, w, mean, rstd, dx);
  if (err e = last_error()) return e;
  PG_RUN(C, k_layernorm_backward_dw, stream, rows, C, dy, x, mean, rstd, dw, db);
}
err batchnorm(void* stream, const bn_desc& d, const float* x, const float* g, const float* b,
              const float* rm_in, const float* rv_in, float* y, float* mean, float* rstd, float* rm_out,
              float* rv_out) {
  if (d.N * d.S == 0 || d.C == 0) return nullptr;
  if (d.training) {
    PG_LAUNCH(k_batchnorm_stats, blocks_for(d.C), k_block, stream, d.N, d.C, d.S, x, d.eps, d.momentum, rm_in,
              rv_in, mean, rstd, rm_out, rv_out);
    if (err e = last_error()) return e;
    PG_RUN(d.N * d.C * d.S, k_batchnorm_apply, stream, d.N * d.C * d.S, d.C, d.S, x, mean, rstd, g, b, y);
  }
  PG_LAUNCH(k_batchnorm_eval_rstd, blocks_for(d.C), k_block, stream, d.C, rv_in, d.eps, rstd);
  if (err e = last_error()) return e;
  PG_RUN(d.N * d.C * d.S, k_batchnorm_apply, stream, d.N * d.C * d.S, d.C, d.S, x, rm_in, rstd, g, b, y);
}
err batchnorm_backward(void* stream, const bn_desc& d, const float* dy, const float* x, const float* g,
                       const float* mean, const float* rstd, float* dx, float* dg, float* db, float* part) {
  if (d.N * d.S == 0 || d.C == 0) return nullptr;
  PG_LAUNCH(k_batchnorm_backward_sums, blocks_for(d.C), k_block, stream, d.N, d.C, d.S, dy, x, mean, rstd, dg,
            db, part);
  if (err e = last_error()) return e;
  PG_RUN(d.N * d.C * d.S, k_batchnorm_backward_dx, stream, d.N * d.C * d.S, d.C, d.S, dy, x, g, mean, rstd,
         part, dx);
}
err embedding(void* stream, int64_t n_ids, const void* ids, bool ids64, int64_t V, int64_t C,
              const float* table, float* out) {
  PG_RUN(n_ids * C, k_embedding, stream, n_ids, ids, ids64, V, C, table, out);
}
err embedding_backward(void* stream, int64_t n_ids, const void* ids, bool ids64, int64_t V, int64_t C,
                       const float* dout, float* dtable) {
  PG_RUN(C, k_embedding_backward, stream, n_ids, ids, ids64, V, C, dout, dtable);
}
err attention(void* stream, int64_t BH, int64_t T, int64_t D, bhtd q, bhtd k, bhtd v, bhtd y, float* lse,
              int causal, float scale) {
  PG_RUN(BH * T, k_attention, stream, BH, T, D, q, k, v, y, lse, causal, scale);
}
err attention_backward(void* stream, int64_t BH, int64_t T, int64_t D, bhtd dy, bhtd q, bhtd k, bhtd v,
                       bhtd y, const float* lse, bhtd dq, bhtd dk, bhtd dv, int causal, float scale,
                       float* scratch) {
  const int64_t rows = BH * T;
  if (rows == 0) return nullptr;
  PG_LAUNCH(k_attention_dvec, blocks_for(rows), k_block, stream, BH, T, D, dy, y, scratch);
  if (err e = last_error()) return e;
  PG_LAUNCH(k_attention_dq, blocks_for(rows), k_block, stream, BH, T, D, dy, q, k, v, lse, scratch, dq,
            causal, scale);
  if (err e = last_error()) return e;
  PG_RUN(rows, k_attention_dkv, stream, BH, T, D, dy, q, k, v, lse, scratch, dk, dv, causal, scale);
}
err dropout(void* stream, int64_t n, const float* x, float* y, uint8_t* mask, float p, uint64_t seed,
            uint64_t offset) {
  PG_RUN(n, k_dropout, stream, n, x, y, mask, p, seed, offset);
}
err dropout_backward(void* stream, int64_t n, const float* dy, const uint8_t* mask, float* dx, float p,
                     uint64_t seed, uint64_t offset) {
  PG_RUN(n, k_dropout_backward, stream, n, dy, mask, dx, p, seed, offset);
}
err squared_norm_part(void* stream, const float* x, int64_t n, double* part) {
  const int64_t chunks = (n + k_norm_chunk - 1) / k_norm_chunk;
  PG_RUN(chunks, k_sqnorm_part, stream, x, n, part);
}
err squared_norm_finish(void* stream, const double* parts, int64_t n_parts, float* out) {
  PG_RUN(int64_t(1), k_sqnorm_finish, stream, parts, n_parts, out);
}
err is_finite_part(void* stream, const float* x, int64_t n, int32_t* part) {
  const int64_t chunks = (n + k_norm_chunk - 1) / k_norm_chunk;
  PG_RUN(chunks, k_finite_part, stream, x, n, part);
}
err is_finite_finish(void* stream, const int32_t* parts, int64_t n_parts, float* out) {
  PG_RUN(int64_t(1), k_finite_finish, stream, parts, n_parts, out);
}
err adamw(void* stream, int64_t n, const float* pin, const float* g, const float* min, const float* vin,
          float* p, float* m, float* v, float decay, float b1, float b2, float step_size, float bc2_sqrt_inv,
          float eps) {
  PG_RUN(n, k_adamw, stream, n, pin, g, min, vin, p, m, v, decay, b1, b2, step_size, bc2_sqrt_inv, eps);
}
err lion(void* stream, int64_t n, const float* pin, const float* g, const float* min, float* p, float* m,
         float decay, float lr, float b1, float b2) {
  PG_RUN(n, k_lion, stream, n, pin, g, min, p, m, decay, lr, b1, b2);
}
err sgd(void* stream, int64_t n, const float* pin, const float* g, const float* bin, float* p, float* buf,
        float lr, float wd, float momentum, float damp, int nesterov, int first) {
  PG_RUN(n, k_sgd, stream, n, pin, g, bin, p, buf, lr, wd, momentum, damp, nesterov, first);
}
err conv2d(void* stream, const conv_desc& s, const float* x, const float* w, const float* bias, float* y) {
  PG_RUN(s.N * s.O * s.OH * s.OW, k_conv2d, stream, s, x, w, bias, y);
}
err conv2d_backward(void* stream, const conv_desc& s, const float* dy, const float* x, const float* w,
                    float* dx, float* dw, float* db, float beta) {
  const int64_t nx = s.N * s.C * s.H * s.W, nw = s.O * s.C * s.KH * s.KW;
  if (dx && nx > 0) PG_LAUNCH(k_conv2d_dx, blocks_for(nx), k_block, stream, s, dy, w, dx);
  if (err e = last_error()) return e;
  if (dw && nw > 0) PG_LAUNCH(k_conv2d_dw, blocks_for(nw), k_block, stream, s, dy, x, dw, beta);
  if (err e = last_error()) return e;
  if (db && s.O > 0) PG_LAUNCH(k_conv2d_db, blocks_for(s.O), k_block, stream, s, dy, db, beta);
  return last_error();
}
err pool2d(void* stream, const pool_desc& s, const float* x, float* y, int32_t* argmax) {
  PG_RUN(s.N * s.C * s.OH * s.OW, k_pool2d, stream, s, x, y, argmax);
}
err pool2d_backward(void* stream, const pool_desc& s, const float* dy, const int32_t* argmax, float* dx) {
  PG_RUN(s.N * s.C * s.H * s.W, k_pool2d_backward, stream, s, dy, argmax, dx);
}
err matmul(void* stream, const matmul_desc& d, const void* a, const void* b, int in_dtype, const float* bias,
           void* out, int out_dtype) {
  const int64_t n = d.batch * d.M * d.N;
  if (in_dtype == 2)
    PG_RUN(n, k_matmul<bf16_t>, stream, d, static_cast<const bf16_t*>(a), static_cast<const bf16_t*>(b), bias,
           out, out_dtype);
  if (in_dtype == 1)
    PG_RUN(n, k_matmul<f16_t>, stream, d, static_cast<const f16_t*>(a), static_cast<const f16_t*>(b), bias,
           out, out_dtype);
  PG_RUN(n, k_matmul<float>, stream, d, static_cast<const float*>(a), static_cast<const float*>(b), bias, out,
         out_dtype);
}
err add_bias(void* stream, const matmul_desc& d, const float* bias, void* out, int out_dtype) {
  PG_RUN(d.batch * d.M * d.N, k_add_bias, stream, d, bias, out, out_dtype);
}

}  // namespace plinth::gpu::k
