// elementwise.cpp — FILL, CAST, UNARY, UNARY_BACKWARD, BINARY, AXPBY and SELECT on
// strided views (inputs broadcast through size-1/stride-0 dims). Contiguous
// f32 runs go through the vector kernels of simd.cpp; transcendental
// functions use the C library in f32, but SiLU, whose vector kernel is the
// only one taking any alpha/beta, uses that kernel's polynomial exp on every
// path. FILL and CAST cover every dtype pair
// listed in cast_supported (backends/common/op_contract.cpp); the other ops are f32 only.
#include <cmath>
#include <limits>

#include "strided.hpp"

namespace plinth::cpu {

namespace {

// SiLU uses the vector kernels' polynomial exp on every path (see
// simd_kernels.inc), so a strided view gets the bits of a contiguous one.
#include "exp_poly.inc"

inline float unary_silu(float u) { return u / (1.0f + exp_poly(-u)); }
inline float unary_silu_df(float u) {
  const float s = 1.0f / (1.0f + exp_poly(-u));
  return s * (1.0f + u * (1.0f - s));
}

// ---------------------------------------------------------------------------
// Shared validation: out[0] f32 (or any dtype for FILL/CAST), inputs
// broadcastable to it, no overlapping output.
// ---------------------------------------------------------------------------

using numfmt::saturate;

// ---------------------------------------------------------------------------
// CAST kernels: load as the source type, convert once, store.
// ---------------------------------------------------------------------------

template <class S, class D, class Conv>
void cast_run(plinth_backend_ctx* ctx, const plinth_tensor& in, const plinth_tensor& out, Conv conv) {
  const plinth_tensor* ins[1] = {&in};
  strided_iter it = make_iter(out, ins, 1);
  D* o = data_of<D>(out);
  const S* x = data_of<S>(in);
  for_each_run(ctx, it, 1, [&](int64_t n, const int64_t* off, const int64_t* st) {
    D* od = o + off[0];
    const S* xs = x + off[1];
    if (st[0] == 1 && st[1] == 1) {
      for (int64_t i = 0; i < n; ++i) od[i] = conv(xs[i]);
    } else {
      for (int64_t i = 0; i < n; ++i) od[i * st[0]] = conv(xs[i * st[1]]);
    }
  });
}

// f32 <-> bf16/f16: contiguous runs through the vector kernels (the same
// bits as `conv`), strided ones element by element.
template <class S, class D, class Conv>
void cast_run_vec(plinth_backend_ctx* ctx, const plinth_tensor& in, const plinth_tensor& out,
                  void (*vec)(int64_t, const S*, D*), Conv conv) {
  const plinth_tensor* ins[1] = {&in};
  strided_iter it = make_iter(out, ins, 1);
  D* o = data_of<D>(out);
  const S* x = data_of<S>(in);
  for_each_run(ctx, it, 1, [&](int64_t n, const int64_t* off, const int64_t* st) {
    D* od = o + off[0];
    const S* xs = x + off[1];
    if (st[0] == 1 && st[1] == 1) {
      vec(n, xs, od);
    } else {
      for (int64_t i = 0; i < n; ++i) od[i * st[0]] = conv(xs[i * st[1]]);
    }
  });
}

template <class T>
void copy_run(plinth_backend_ctx* ctx, const plinth_tensor& in, const plinth_tensor& out) {
  cast_run<T, T>(ctx, in, out, [](T v) { return v; });
}

// ---------------------------------------------------------------------------
// UNARY functions, f(u) and f'(u), in f32.
// ---------------------------------------------------------------------------

constexpr float k_sqrt_2_over_pi = 0.7978845608028654f;
constexpr float k_gelu_c = 0.044715f;
constexpr float k_inv_sqrt2 = 0.7071067811865476f;
constexpr float k_inv_sqrt_2pi = 0.3989422804014327f;

inline float unary_f(int fn, float u) {
  switch (fn) {
    case PLINTH_UNARY_IDENTITY:
      return u;
    case PLINTH_UNARY_RELU:
      return u > 0.0f ? u : 0.0f;
    case PLINTH_UNARY_GELU_TANH:
      return 0.5f * u * (1.0f + std::tanh(k_sqrt_2_over_pi * (u + k_gelu_c * u * u * u)));
    case PLINTH_UNARY_TANH:
      return std::tanh(u);
    case PLINTH_UNARY_SIGMOID:
      return 1.0f / (1.0f + std::exp(-u));
    case PLINTH_UNARY_EXP:
      return std::exp(u);
    case PLINTH_UNARY_LOG:
      return std::log(u);
    case PLINTH_UNARY_SQRT:
      return std::sqrt(u);
    case PLINTH_UNARY_RSQRT:
      return 1.0f / std::sqrt(u);
    case PLINTH_UNARY_SQUARE:
      return u * u;
    case PLINTH_UNARY_ABS:
      return std::fabs(u);
    case PLINTH_UNARY_RECIPROCAL:
      return 1.0f / u;
    case PLINTH_UNARY_GELU_ERF:
      return 0.5f * u * (1.0f + std::erf(u * k_inv_sqrt2));
    case PLINTH_UNARY_SILU:
      return unary_silu(u);
    case PLINTH_UNARY_SIGN:
      return u > 0.0f ? 1.0f : (u < 0.0f ? -1.0f : u);
    default:
      return u;
  }
}

inline float unary_df(int fn, float u) {
  switch (fn) {
    case PLINTH_UNARY_IDENTITY:
      return 1.0f;
    case PLINTH_UNARY_RELU:
      return u > 0.0f ? 1.0f : 0.0f;
    case PLINTH_UNARY_GELU_TANH: {
      const float inner = k_sqrt_2_over_pi * (u + k_gelu_c * u * u * u);
      const float t = std::tanh(inner);
      const float dinner = k_sqrt_2_over_pi * (1.0f + 3.0f * k_gelu_c * u * u);
      return 0.5f * (1.0f + t) + 0.5f * u * (1.0f - t * t) * dinner;
    }
    case PLINTH_UNARY_TANH: {
      const float t = std::tanh(u);
      return 1.0f - t * t;
    }
    case PLINTH_UNARY_SIGMOID: {
      const float s = 1.0f / (1.0f + std::exp(-u));
      return s * (1.0f - s);
    }
    case PLINTH_UNARY_EXP:
      return std::exp(u);
    case PLINTH_UNARY_LOG:
      return 1.0f / u;
    case PLINTH_UNARY_SQRT:
      return 0.5f / std::sqrt(u);
    case PLINTH_UNARY_RSQRT:
      return -0.5f / (u * std::sqrt(u));
    case PLINTH_UNARY_SQUARE:
      return 2.0f * u;
    case PLINTH_UNARY_ABS:
      return u > 0.0f ? 1.0f : (u < 0.0f ? -1.0f : 0.0f);
    case PLINTH_UNARY_RECIPROCAL:
      return -1.0f / (u * u);
    case PLINTH_UNARY_GELU_ERF:
      return 0.5f * (1.0f + std::erf(u * k_inv_sqrt2)) + u * k_inv_sqrt_2pi * std::exp(-0.5f * u * u);
    case PLINTH_UNARY_SILU:
      return unary_silu_df(u);
    case PLINTH_UNARY_SIGN:
      return 0.0f;
    default:
      return 1.0f;
  }
}

inline float binary_f(int fn, float x, float y) {
  switch (fn) {
    case PLINTH_BINARY_ADD:
      return x + y;
    case PLINTH_BINARY_SUB:
      return x - y;
    case PLINTH_BINARY_MUL:
      return x * y;
    case PLINTH_BINARY_DIV:
      return x / y;
    case PLINTH_BINARY_MAX:
      return x > y ? x : (y > x ? y : (x != x ? x : y));
    case PLINTH_BINARY_MIN:
      return x < y ? x : (y < x ? y : (x != x ? x : y));
    case PLINTH_BINARY_GT:
      return x > y ? 1.0f : 0.0f;
    case PLINTH_BINARY_GE:
      return x >= y ? 1.0f : 0.0f;
    case PLINTH_BINARY_LT:
      return x < y ? 1.0f : 0.0f;
    case PLINTH_BINARY_LE:
      return x <= y ? 1.0f : 0.0f;
    case PLINTH_BINARY_EQ:
      return x == y ? 1.0f : 0.0f;
    case PLINTH_BINARY_NE:
      return x != y ? 1.0f : 0.0f;
    default:
      return 0.0f;
  }
}

}  // namespace

// ---------------------------------------------------------------------------
// FILL
// ---------------------------------------------------------------------------

plinth_status run_fill(plinth_backend_ctx* ctx, const plinth_op& op) {
  const double v = static_cast<const plinth_fill_params*>(op.params)->value;
  const plinth_tensor& out = op.outputs[0];
  strided_iter it = make_iter(out, nullptr, 0);
  auto fill_as = [&](auto value) {
    using T = decltype(value);
    T* o = data_of<T>(out);
    for_each_run(ctx, it, 1, [&](int64_t n, const int64_t* off, const int64_t* st) {
      T* p = o + off[0];
      for (int64_t i = 0; i < n; ++i) p[i * st[0]] = value;
    });
  };
  switch (out.dtype) {
    case PLINTH_DTYPE_F32:
      fill_as(float(v));
      break;
    case PLINTH_DTYPE_F64:
      fill_as(v);
      break;
    case PLINTH_DTYPE_F16:
      fill_as(f32_to_f16(float(v)));
      break;
    case PLINTH_DTYPE_BF16:
      fill_as(f32_to_bf16(float(v)));
      break;
    case PLINTH_DTYPE_I32:
      fill_as(saturate<int32_t>(v));
      break;
    case PLINTH_DTYPE_I64:
      fill_as(saturate<int64_t>(v));
      break;
    case PLINTH_DTYPE_U8:
      fill_as(saturate<uint8_t>(v));
      break;
    case PLINTH_DTYPE_U16:
      fill_as(saturate<uint16_t>(v));
      break;
    default:
      return sdk::fail(ctx->host, PLINTH_ERR_UNSUPPORTED, "cpu launch FILL: unknown dtype");
  }
  return PLINTH_OK;
}

// ---------------------------------------------------------------------------
// CAST
// ---------------------------------------------------------------------------

plinth_status run_cast(plinth_backend_ctx* ctx, const plinth_op& op) {
  const plinth_tensor& in = op.inputs[0];
  const plinth_tensor& out = op.outputs[0];
  const plinth_dtype from = in.dtype, to = out.dtype;
  if (from == to) {
    switch (dtype_size(from)) {
      case 1:
        copy_run<uint8_t>(ctx, in, out);
        break;
      case 2:
        copy_run<uint16_t>(ctx, in, out);
        break;
      case 4:
        copy_run<uint32_t>(ctx, in, out);
        break;
      default:
        copy_run<uint64_t>(ctx, in, out);
        break;
    }
    return PLINTH_OK;
  }
  if (to == PLINTH_DTYPE_F32) {
    switch (from) {
      case PLINTH_DTYPE_F16:
        cast_run_vec<uint16_t, float>(ctx, in, out, kernels().from_f16, f16_to_f32);
        break;
      case PLINTH_DTYPE_BF16:
        cast_run_vec<uint16_t, float>(ctx, in, out, kernels().from_bf16, bf16_to_f32);
        break;
      case PLINTH_DTYPE_F64:
        cast_run<double, float>(ctx, in, out, [](double v) { return float(v); });
        break;
      case PLINTH_DTYPE_I32:
        cast_run<int32_t, float>(ctx, in, out, [](int32_t v) { return float(v); });
        break;
      case PLINTH_DTYPE_I64:
        cast_run<int64_t, float>(ctx, in, out, [](int64_t v) { return float(v); });
        break;
      case PLINTH_DTYPE_U8:
        cast_run<uint8_t, float>(ctx, in, out, [](uint8_t v) { return float(v); });
        break;
      case PLINTH_DTYPE_U16:
        cast_run<uint16_t, float>(ctx, in, out, [](uint16_t v) { return float(v); });
        break;
      default:
        break;
    }
    return PLINTH_OK;
  }
  if (to == PLINTH_DTYPE_F64) {
    switch (from) {
      case PLINTH_DTYPE_F32:
        cast_run<float, double>(ctx, in, out, [](float v) { return double(v); });
        break;
      case PLINTH_DTYPE_F16:
        cast_run<uint16_t, double>(ctx, in, out, [](uint16_t v) { return double(f16_to_f32(v)); });
        break;
      case PLINTH_DTYPE_BF16:
        cast_run<uint16_t, double>(ctx, in, out, [](uint16_t v) { return double(bf16_to_f32(v)); });
        break;
      default:
        break;
    }
    return PLINTH_OK;
  }
  // to f16 / bf16 from a float type: through f32 (exact for f16/bf16 sources;
  // f64 sources round to f32 first).
  const auto store = to == PLINTH_DTYPE_F16 ? f32_to_f16 : f32_to_bf16;
  switch (from) {
    case PLINTH_DTYPE_F32:
      if (to == PLINTH_DTYPE_F16)
        cast_run_vec<float, uint16_t>(ctx, in, out, kernels().to_f16, f32_to_f16);
      else
        cast_run_vec<float, uint16_t>(ctx, in, out, kernels().to_bf16, f32_to_bf16);
      break;
    case PLINTH_DTYPE_F64:
      cast_run<double, uint16_t>(ctx, in, out, [&](double v) { return store(float(v)); });
      break;
    case PLINTH_DTYPE_F16:
    case PLINTH_DTYPE_BF16: {
      const auto load = from == PLINTH_DTYPE_F16 ? f16_to_f32 : bf16_to_f32;
      cast_run<uint16_t, uint16_t>(ctx, in, out, [&](uint16_t v) { return store(load(v)); });
      break;
    }
    default:
      break;
  }
  return PLINTH_OK;
}

// ---------------------------------------------------------------------------
// UNARY / UNARY_BACKWARD
// ---------------------------------------------------------------------------

plinth_status run_unary(plinth_backend_ctx* ctx, const plinth_op& op) {
  const auto* p = static_cast<const plinth_unary_params*>(op.params);
  const plinth_tensor* ins[1] = {&op.inputs[0]};
  strided_iter it = make_iter(op.outputs[0], ins, 1);
  float* o = data_of<float>(op.outputs[0]);
  const float* x = data_of<float>(op.inputs[0]);
  const int fn = p->fn;
  const float a = p->alpha, b = p->beta;
  const bool cheap = fn == PLINTH_UNARY_IDENTITY || fn == PLINTH_UNARY_RELU;
  const int64_t grain = cheap || fn == PLINTH_UNARY_SIGN ? 1 : 16;
  for_each_run(ctx, it, grain, [&](int64_t n, const int64_t* off, const int64_t* st) {
    float* od = o + off[0];
    const float* xs = x + off[1];
    if (cheap && st[0] == 1 && st[1] == 1) {
      kernels().affine(n, a, b, xs, od, fn == PLINTH_UNARY_RELU);
      return;
    }
    if (fn == PLINTH_UNARY_GELU_TANH && a == 1.0f && b == 0.0f && st[0] == 1 && st[1] == 1) {
      kernels().gelu_tanh(n, xs, od);
      return;
    }
    if (fn == PLINTH_UNARY_SILU && st[0] == 1 && st[1] == 1) {
      kernels().silu(n, a, b, xs, od);
      return;
    }
    if (fn == PLINTH_UNARY_SIGN && st[0] == 1 && st[1] == 1) {
      kernels().sign(n, a, b, xs, od);
      return;
    }
    for (int64_t i = 0; i < n; ++i) od[i * st[0]] = unary_f(fn, a * xs[i * st[1]] + b);
  });
  return PLINTH_OK;
}

plinth_status run_unary_backward(plinth_backend_ctx* ctx, const plinth_op& op) {
  const auto* p = static_cast<const plinth_unary_params*>(op.params);
  const plinth_tensor* ins[2] = {&op.inputs[0], &op.inputs[1]};
  strided_iter it = make_iter(op.outputs[0], ins, 2);
  float* o = data_of<float>(op.outputs[0]);
  const float* dy = data_of<float>(op.inputs[0]);
  const float* x = data_of<float>(op.inputs[1]);
  const int fn = p->fn;
  const float a = p->alpha, b = p->beta;
  // dL/dx = dy * f'(a x + b) * a
  for_each_run(ctx, it, 16, [&](int64_t n, const int64_t* off, const int64_t* st) {
    float* od = o + off[0];
    const float* g = dy + off[1];
    const float* xs = x + off[2];
    if (fn == PLINTH_UNARY_GELU_TANH && a == 1.0f && b == 0.0f && st[0] == 1 && st[1] == 1 && st[2] == 1) {
      kernels().gelu_tanh_backward(n, g, xs, od);
      return;
    }
    if (fn == PLINTH_UNARY_RELU && st[0] == 1 && st[1] == 1 && st[2] == 1) {
      kernels().relu_backward(n, g, xs, od, a, b);
      return;
    }
    if (fn == PLINTH_UNARY_SILU && st[0] == 1 && st[1] == 1 && st[2] == 1) {
      kernels().silu_backward(n, g, xs, od, a, b);
      return;
    }
    for (int64_t i = 0; i < n; ++i) od[i * st[0]] = g[i * st[1]] * unary_df(fn, a * xs[i * st[2]] + b) * a;
  });
  return PLINTH_OK;
}

// ---------------------------------------------------------------------------
// BINARY
// ---------------------------------------------------------------------------

plinth_status run_binary(plinth_backend_ctx* ctx, const plinth_op& op) {
  const auto* p = static_cast<const plinth_binary_params*>(op.params);
  const plinth_tensor* ins[2] = {&op.inputs[0], &op.inputs[1]};
  strided_iter it = make_iter(op.outputs[0], ins, 2);
  float* o = data_of<float>(op.outputs[0]);
  const float* a = data_of<float>(op.inputs[0]);
  const float* b = data_of<float>(op.inputs[1]);
  const int fn = p->fn;
  const float beta = p->beta;
  for_each_run(ctx, it, 1, [&](int64_t n, const int64_t* off, const int64_t* st) {
    float* od = o + off[0];
    const float* as = a + off[1];
    const float* bs = b + off[2];
    if (st[0] == 1 && st[1] == 1 && st[2] == 1) {
      kernels().binary(fn, n, as, bs, od, beta);
      return;
    }
    if (beta == 0.0f) {
      for (int64_t i = 0; i < n; ++i) od[i * st[0]] = binary_f(fn, as[i * st[1]], bs[i * st[2]]);
    } else {
      for (int64_t i = 0; i < n; ++i)
        od[i * st[0]] = beta * od[i * st[0]] + binary_f(fn, as[i * st[1]], bs[i * st[2]]);
    }
  });
  return PLINTH_OK;
}

// ---------------------------------------------------------------------------
// AXPBY
// ---------------------------------------------------------------------------

plinth_status run_axpby(plinth_backend_ctx* ctx, const plinth_op& op) {
  const auto* p = static_cast<const plinth_axpby_params*>(op.params);
  const plinth_tensor* ins[2] = {&op.inputs[0], &op.inputs[1]};
  strided_iter it = make_iter(op.outputs[0], ins, 2);
  float* o = data_of<float>(op.outputs[0]);
  const float* x = data_of<float>(op.inputs[0]);
  const float* y = data_of<float>(op.inputs[1]);
  const float alpha = p->alpha, beta = p->beta;
  const int fn = contract::axpby_fn(*p);
  for_each_run(ctx, it, fn == PLINTH_UNARY_IDENTITY ? 1 : 4,
               [&](int64_t n, const int64_t* off, const int64_t* st) {
                 float* od = o + off[0];
                 const float* xs = x + off[1];
                 const float* ys = y + off[2];
                 if (st[0] == 1 && st[1] == 1 && st[2] == 1) {
                   kernels().axpby(n, alpha, xs, beta, ys, od);
                   // The function on the run just written, while it is in cache (the
                   // vector kernels where UNARY has them, so the bits are UNARY's).
                   if (fn == PLINTH_UNARY_SIGN)
                     kernels().sign(n, 1.0f, 0.0f, od, od);
                   else if (fn == PLINTH_UNARY_SILU)
                     kernels().silu(n, 1.0f, 0.0f, od, od);
                   else if (fn == PLINTH_UNARY_GELU_TANH)
                     kernels().gelu_tanh(n, od, od);
                   else if (fn == PLINTH_UNARY_RELU)
                     kernels().affine(n, 1.0f, 0.0f, od, od, 1);
                   else if (fn != PLINTH_UNARY_IDENTITY)
                     for (int64_t i = 0; i < n; ++i) od[i] = unary_f(fn, od[i]);
                   return;
                 }
                 if (beta == 0.0f) {
                   for (int64_t i = 0; i < n; ++i) od[i * st[0]] = unary_f(fn, alpha * xs[i * st[1]]);
                 } else {
                   for (int64_t i = 0; i < n; ++i)
                     od[i * st[0]] = unary_f(fn, alpha * xs[i * st[1]] + beta * ys[i * st[2]]);
                 }
               });
  return PLINTH_OK;
}

// ---------------------------------------------------------------------------
// SELECT
// ---------------------------------------------------------------------------

plinth_status run_select(plinth_backend_ctx* ctx, const plinth_op& op) {
  const plinth_tensor* ins[3] = {&op.inputs[0], &op.inputs[1], &op.inputs[2]};
  strided_iter it = make_iter(op.outputs[0], ins, 3);
  float* o = data_of<float>(op.outputs[0]);
  const float* c = data_of<float>(op.inputs[0]);
  const float* a = data_of<float>(op.inputs[1]);
  const float* b = data_of<float>(op.inputs[2]);
  for_each_run(ctx, it, 1, [&](int64_t n, const int64_t* off, const int64_t* st) {
    float* od = o + off[0];
    const float* cs = c + off[1];
    const float* as = a + off[2];
    const float* bs = b + off[3];
    if (st[0] == 1 && st[1] == 1 && st[2] == 1 && st[3] == 1) {
      kernels().select(n, cs, as, bs, od);
      return;
    }
    for (int64_t i = 0; i < n; ++i) od[i * st[0]] = cs[i * st[1]] != 0.0f ? as[i * st[2]] : bs[i * st[3]];
  });
  return PLINTH_OK;
}

}  // namespace plinth::cpu
