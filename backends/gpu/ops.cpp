// ops.cpp — supports() and launch() of the GPU backend: the op checks of
// backends/common/op_contract.hpp (the CPU backend's too, so the two accept
// the same launches) with this backend's MATMUL, then the descriptors the
// kernels take (kernels.hpp) and, for MATMUL on CUDA, the cuBLAS call. Every op of ABI 1.2 runs here; what
// the kernels do not cover (e.g. FILL/CAST dtypes the CPU backend lacks too) is refused with
// PLINTH_ERR_UNSUPPORTED, and the core falls back to the CPU.
#include <cmath>
#include <cstring>
#include <limits>

#include "../common/number_formats.hpp"
#include "backend.hpp"
#include "op_contract.hpp"
#include "plinth/ops.hpp"

namespace plinth::gpu {

namespace {

// The op checks and tensor helpers (backends/common/op_contract.hpp).
using contract::check;
using contract::dtype_name;
using contract::dtype_size;
using contract::numel;
using contract::raw_enum;
using contract::shape_str;

template <class T = void>
T* dev(const plinth_tensor& t) {
  if (!t.buffer || !t.buffer->ptr) return nullptr;
  return reinterpret_cast<T*>(static_cast<char*>(t.buffer->ptr) + t.offset);
}

// ---------------------------------------------------------------------------
// Elementwise: the launch descriptor.
// ---------------------------------------------------------------------------

// The views coalesced (contract::coalesce) as the kernels take them.
k::ew_desc make_ew(const plinth_tensor& out, const plinth_tensor* const* ins, int nins) {
  const contract::strided_views v = contract::coalesce(out, ins, nins);
  k::ew_desc e;
  e.nd = v.ndim;
  e.nops = v.nops;
  e.n = numel(out);
  for (int d = 0; d < v.ndim; ++d) {
    e.shape[d] = v.shape[d];
    for (int i = 0; i < v.nops; ++i) e.st[i][d] = v.strides[i][d];
  }
  return e;
}

// FILL's element bits, converted on the host as the CPU backend converts.
using numfmt::f32_to_bf16;
using numfmt::f32_to_f16;
using numfmt::saturate;
template <class T>
uint64_t bits_of(T v) {
  uint64_t b = 0;
  std::memcpy(&b, &v, sizeof v);
  return b;
}
uint64_t fill_bits(plinth_dtype d, double v) {
  switch (d) {
    case PLINTH_DTYPE_F32:
      return bits_of(float(v));
    case PLINTH_DTYPE_F64:
      return bits_of(v);
    case PLINTH_DTYPE_F16:
      return f32_to_f16(float(v));
    case PLINTH_DTYPE_BF16:
      return f32_to_bf16(float(v));
    case PLINTH_DTYPE_I32:
      return bits_of(saturate<int32_t>(v));
    case PLINTH_DTYPE_I64:
      return bits_of(saturate<int64_t>(v));
    case PLINTH_DTYPE_U8:
      return saturate<uint8_t>(v);
    default:
      return saturate<uint16_t>(v);
  }
}

// ---------------------------------------------------------------------------
// MATMUL problem (as the CPU backend reads it).
// ---------------------------------------------------------------------------

struct mm_problem {
  k::matmul_desc d;
  bool bias = false;
};

void mm_operand(const plinth_tensor& t, bool trans, int nd, int64_t* dims, int64_t* strides) {
  for (int d = 0; d < nd; ++d) dims[d] = 1, strides[d] = 0;
  const int lead = nd - t.ndim;
  for (int d = 0; d < t.ndim; ++d) {
    dims[lead + d] = t.shape[d];
    strides[lead + d] = t.strides[d];
  }
  if (trans) {
    std::swap(dims[nd - 1], dims[nd - 2]);
    std::swap(strides[nd - 1], strides[nd - 2]);
  }
  for (int d = 0; d < nd - 2; ++d)
    if (dims[d] == 1) strides[d] = 0;
}

bool build_mm(const plinth_op& op, mm_problem& pr, check& c) {
  const auto* p = static_cast<const plinth_matmul_params*>(op.params);
  const plinth_tensor &a = op.inputs[0], &b = op.inputs[1], &out = op.outputs[0];
  const int nd = out.ndim;  // ranks checked by contract::matmul_operands
  int64_t ad[PLINTH_MAX_DIMS], as[PLINTH_MAX_DIMS], bd[PLINTH_MAX_DIMS], bs[PLINTH_MAX_DIMS];
  mm_operand(a, p->trans_a != 0, nd, ad, as);
  mm_operand(b, p->trans_b != 0, nd, bd, bs);
  k::matmul_desc& d = pr.d;
  d.M = out.shape[nd - 2];
  d.N = out.shape[nd - 1];
  d.K = ad[nd - 1];
  if (ad[nd - 2] != d.M || bd[nd - 1] != d.N || bd[nd - 2] != d.K)
    return contract::matmul_no_chain(op, ad[nd - 2], d.K, bd[nd - 2], bd[nd - 1], c);
  d.nb = nd - 2;
  d.batch = 1;
  for (int i = 0; i < nd - 2; ++i) {
    if (out.shape[i] > 1 && out.strides[i] == 0) return c.unsupported("out[0] has a stride-0 batch dim");
    if ((ad[i] != 1 && ad[i] != out.shape[i]) || (bd[i] != 1 && bd[i] != out.shape[i]))
      return contract::matmul_no_broadcast(op, i, c);
    d.bshape[i] = out.shape[i];
    d.a_bs[i] = ad[i] == 1 ? 0 : as[i];
    d.b_bs[i] = bd[i] == 1 ? 0 : bs[i];
    d.c_bs[i] = out.strides[i];
    d.batch *= out.shape[i];
  }
  if ((d.M > 1 && out.strides[nd - 2] == 0) || (d.N > 1 && out.strides[nd - 1] == 0))
    return c.unsupported("out[0] has a stride-0 dim");
  d.a_m = as[nd - 2];
  d.a_k = as[nd - 1];
  d.b_k = bs[nd - 2];
  d.b_n = bs[nd - 1];
  d.c_m = out.strides[nd - 2];
  d.c_n = out.strides[nd - 1];
  d.alpha = p->alpha;
  d.beta = p->beta;
  pr.bias = op.num_inputs == 3;
  return true;
}

// One stride for all batch dims of an operand (offset = batch index * s), if any.
bool flat_batch(const k::matmul_desc& d, const int64_t* st, int64_t& s) {
  s = 0;
  int64_t inner = 1;
  bool set = false;
  for (int i = d.nb - 1; i >= 0; --i) {
    if (d.bshape[i] == 1) continue;
    if (!set) {
      if (st[i] % inner != 0) return false;
      s = st[i] / inner;
      set = true;
    }
    if (st[i] != s * inner) return false;
    inner *= d.bshape[i];
  }
  return true;
}

// The problem as one strided-batched column-major GEMM (C^T = op(B)^T op(A)^T).
bool as_gemm(const mm_problem& pr, int in_dt, int out_dt, rt::gemm_args& g) {
  k::matmul_desc d = pr.d;
  constexpr int64_t lim = std::numeric_limits<int32_t>::max();
  if (d.K == 0 || d.M > lim || d.N > lim || d.K > lim || d.batch > lim) return false;
  // Strides of size-1 dims are free: pick the ones that fit the library's layout.
  if (d.M == 1) d.a_m = 1, d.c_m = d.N;
  if (d.N == 1) d.b_n = 1, d.c_n = 1;
  if (d.K == 1) d.a_k = 1, d.b_k = d.N;
  if (d.c_n != 1 || d.c_m < d.N) return false;
  int64_t sa, sb, sc;
  if (!flat_batch(d, d.a_bs, sa) || !flat_batch(d, d.b_bs, sb) || !flat_batch(d, d.c_bs, sc)) return false;
  // X = op(B)^T (N x K).
  if (d.b_n == 1 && d.b_k >= d.N) {
    g.trans_x = 0;
    g.ldx = d.b_k;
  } else if (d.b_k == 1 && d.b_n >= d.K) {
    g.trans_x = 1;
    g.ldx = d.b_n;
  } else {
    return false;
  }
  // Y = op(A)^T (K x M).
  if (d.a_k == 1 && d.a_m >= d.K) {
    g.trans_y = 0;
    g.ldy = d.a_m;
  } else if (d.a_m == 1 && d.a_k >= d.M) {
    g.trans_y = 1;
    g.ldy = d.a_k;
  } else {
    return false;
  }
  if (g.ldx > lim || g.ldy > lim || d.c_m > lim) return false;
  g.m = d.N;
  g.n = d.M;
  g.k = d.K;
  g.stride_x = sb;
  g.stride_y = sa;
  g.ldc = d.c_m;
  g.stride_c = sc;
  g.batch = d.batch;
  g.in_dtype = in_dt;
  g.out_dtype = out_dt;
  g.alpha = d.alpha;
  g.beta = d.beta;
  return true;
}

// ---------------------------------------------------------------------------
// Validation: the contract, with MATMUL laid out as the kernels take it.
// ---------------------------------------------------------------------------

// The contract's MATMUL parts around build_mm; the kernels and cuBLAS write
// bf16/f16 outputs too.
bool v_matmul(const plinth_op& op, check& c) {
  mm_problem pr;
  return contract::matmul_operands(op, true, c) && build_mm(op, pr, c) && contract::matmul_bias(op, c);
}

class gpu_rules final : public contract::op_rules {
 public:
  bool matmul(const plinth_op& op, check& c) const override { return v_matmul(op, c); }
};

bool validate(const plinth_op& op, check& c) { return contract::validate(op, gpu_rules(), c); }

// The shapes the contract checked, as the kernels take them.
k::conv_desc conv_of(const plinth_tensor& x, const plinth_tensor& w, const plinth_tensor& y,
                     const char* y_name, const plinth_conv2d_params& p) {
  check c;
  contract::conv2d_dims s;
  contract::conv2d_shapes(x, w, y, y_name, p, s, c);
  return k::conv_desc{s.N, s.C, s.H, s.W, s.O, s.KH, s.KW, s.OH, s.OW, s.sh, s.sw, s.ph, s.pw, s.dh, s.dw};
}
k::pool_desc pool_of(const plinth_tensor& x, const char* x_name, const plinth_tensor& y, const char* y_name,
                     const plinth_pool2d_params& p) {
  check c;
  contract::pool2d_dims s;
  contract::pool2d_shapes(x, x_name, y, y_name, p, s, c);
  return k::pool_desc{s.N,  s.C,  s.H,  s.W,  s.OH, s.OW,          s.kh,
                      s.kw, s.sh, s.sw, s.ph, s.pw, s.max ? 1 : 0, s.include_pad ? 1 : 0};
}

// ---------------------------------------------------------------------------
// Running a validated op.
// ---------------------------------------------------------------------------

k::bhtd view4(const plinth_tensor& t) {
  return k::bhtd{dev<const float>(t), t.shape[1], t.strides[0], t.strides[1], t.strides[2]};
}

rt::err run(plinth_backend_ctx* ctx, plinth_stream* st, const plinth_op& op) {
  void* s = st->s;
  const plinth_tensor* in = op.inputs;
  const plinth_tensor* out = op.outputs;
  switch (op.kind) {
    case PLINTH_OP_FILL: {
      const double v = static_cast<const plinth_fill_params*>(op.params)->value;
      return k::fill(s, make_ew(out[0], nullptr, 0), dev(out[0]), int(dtype_size(out[0].dtype)),
                     fill_bits(out[0].dtype, v));
    }
    case PLINTH_OP_CAST: {
      const plinth_tensor* ins[1] = {&in[0]};
      return k::cast(s, make_ew(out[0], ins, 1), dev(in[0]), int(in[0].dtype), dev(out[0]),
                     int(out[0].dtype));
    }
    case PLINTH_OP_UNARY: {
      const auto* p = static_cast<const plinth_unary_params*>(op.params);
      const plinth_tensor* ins[1] = {&in[0]};
      return k::unary(s, make_ew(out[0], ins, 1), dev<const float>(in[0]), dev<float>(out[0]),
                      raw_enum(p->fn), p->alpha, p->beta);
    }
    case PLINTH_OP_UNARY_BACKWARD: {
      const auto* p = static_cast<const plinth_unary_params*>(op.params);
      const plinth_tensor* ins[2] = {&in[0], &in[1]};
      return k::unary_backward(s, make_ew(out[0], ins, 2), dev<const float>(in[0]), dev<const float>(in[1]),
                               dev<float>(out[0]), raw_enum(p->fn), p->alpha, p->beta);
    }
    case PLINTH_OP_BINARY: {
      const auto* p = static_cast<const plinth_binary_params*>(op.params);
      const plinth_tensor* ins[2] = {&in[0], &in[1]};
      return k::binary(s, make_ew(out[0], ins, 2), dev<const float>(in[0]), dev<const float>(in[1]),
                       dev<float>(out[0]), raw_enum(p->fn), p->beta);
    }
    case PLINTH_OP_AXPBY: {
      const auto* p = static_cast<const plinth_axpby_params*>(op.params);
      const plinth_tensor* ins[2] = {&in[0], &in[1]};
      return k::axpby(s, make_ew(out[0], ins, 2), dev<const float>(in[0]), dev<const float>(in[1]),
                      dev<float>(out[0]), p->alpha, p->beta, contract::axpby_fn(*p));
    }
    case PLINTH_OP_SELECT: {
      const plinth_tensor* ins[3] = {&in[0], &in[1], &in[2]};
      return k::select(s, make_ew(out[0], ins, 3), dev<const float>(in[0]), dev<const float>(in[1]),
                       dev<const float>(in[2]), dev<float>(out[0]));
    }
    case PLINTH_OP_MATMUL: {
      check c;
      mm_problem pr;
      build_mm(op, pr, c);
      if (pr.d.M == 0 || pr.d.N == 0 || pr.d.batch == 0) return nullptr;
      const float* bias = pr.bias ? dev<const float>(in[2]) : nullptr;
      rt::gemm_args g;
      if (ctx->blas && as_gemm(pr, int(in[0].dtype), int(out[0].dtype), g)) {
        g.x = dev(in[1]);
        g.y = dev(in[0]);
        g.c = dev(out[0]);
        if (rt::err e = rt::blas_gemm(ctx->blas, s, g)) return e;
        return bias ? k::add_bias(s, pr.d, bias, dev(out[0]), int(out[0].dtype)) : nullptr;
      }
      return k::matmul(s, pr.d, dev(in[0]), dev(in[1]), int(in[0].dtype), bias, dev(out[0]),
                       int(out[0].dtype));
    }
    case PLINTH_OP_REDUCE: {
      const auto* p = static_cast<const plinth_reduce_params*>(op.params);
      k::reduce_desc d;
      d.n_out = numel(out[0]);
      d.count = 1;
      for (int i = 0; i < in[0].ndim; ++i) {
        if (out[0].shape[i] == 1) {
          d.rshape[d.nr] = in[0].shape[i];
          d.rin[d.nr++] = in[0].strides[i];
          d.count *= in[0].shape[i];
        } else {
          d.kshape[d.nk] = in[0].shape[i];
          d.kin[d.nk] = in[0].strides[i];
          d.kout[d.nk++] = out[0].strides[i];
        }
      }
      return k::reduce(s, d, dev<const float>(in[0]), dev<float>(out[0]), raw_enum(p->fn), p->beta);
    }
    case PLINTH_OP_ARGMAX: {
      const int64_t C = in[0].shape[in[0].ndim - 1];
      return k::argmax(s, numel(out[0]), C, dev<const float>(in[0]), dev<int32_t>(out[0]));
    }
    case PLINTH_OP_SOFTMAX:
    case PLINTH_OP_SOFTMAX_BACKWARD: {
      const int64_t C = in[0].shape[in[0].ndim - 1];
      if (C == 0) return nullptr;
      const int64_t rows = numel(in[0]) / C;
      if (op.kind == PLINTH_OP_SOFTMAX)
        return k::softmax(s, rows, C, dev<const float>(in[0]), dev<float>(out[0]));
      return k::softmax_backward(s, rows, C, dev<const float>(in[0]), dev<const float>(in[1]),
                                 dev<float>(out[0]));
    }
    case PLINTH_OP_CROSS_ENTROPY: {
      const auto* p = static_cast<const plinth_xent_params*>(op.params);
      const int64_t C = in[0].shape[in[0].ndim - 1];
      return k::cross_entropy(s, numel(in[1]), C, dev<const float>(in[0]), dev<const int32_t>(in[1]),
                              p->ignore_index, contract::xent_label_smoothing(*p), dev<float>(out[0]),
                              dev<float>(out[1]));
    }
    case PLINTH_OP_CROSS_ENTROPY_BACKWARD: {
      const auto* p = static_cast<const plinth_xent_params*>(op.params);
      const int64_t C = in[0].shape[in[0].ndim - 1];
      return k::cross_entropy_backward(s, numel(in[1]), C, dev<const float>(in[0]), dev<const int32_t>(in[1]),
                                       op.num_inputs == 3 ? dev<const float>(in[2]) : nullptr, p->scale,
                                       p->ignore_index, contract::xent_label_smoothing(*p),
                                       dev<float>(out[0]));
    }
    case PLINTH_OP_LAYERNORM: {
      const int64_t C = in[0].shape[in[0].ndim - 1];
      if (C == 0) return nullptr;
      return k::layernorm(s, numel(in[0]) / C, C, dev<const float>(in[0]), dev<const float>(in[1]),
                          dev<const float>(in[2]),
                          static_cast<const plinth_layernorm_params*>(op.params)->eps, dev<float>(out[0]),
                          dev<float>(out[1]), dev<float>(out[2]));
    }
    case PLINTH_OP_LAYERNORM_BACKWARD: {
      const int64_t C = in[1].shape[in[1].ndim - 1];
      if (C == 0) return nullptr;
      return k::layernorm_backward(s, numel(in[1]) / C, C, dev<const float>(in[0]), dev<const float>(in[1]),
                                   dev<const float>(in[2]), dev<const float>(in[3]), dev<const float>(in[4]),
                                   dev<float>(out[0]), dev<float>(out[1]), dev<float>(out[2]));
    }
    case PLINTH_OP_EMBEDDING:
      return k::embedding(s, numel(in[0]), dev<const void>(in[0]), in[0].dtype == PLINTH_DTYPE_I64,
                          in[1].shape[0], in[1].shape[1], dev<const float>(in[1]), dev<float>(out[0]));
    case PLINTH_OP_EMBEDDING_BACKWARD:
      return k::embedding_backward(s, numel(in[1]), dev<const void>(in[1]), in[1].dtype == PLINTH_DTYPE_I64,
                                   out[0].shape[0], out[0].shape[1], dev<const float>(in[0]),
                                   dev<float>(out[0]));
    case PLINTH_OP_ATTENTION: {
      const auto* p = static_cast<const plinth_attention_params*>(op.params);
      const plinth_tensor& q = in[0];
      return k::attention(s, q.shape[0] * q.shape[1], q.shape[2], q.shape[3], view4(in[0]), view4(in[1]),
                          view4(in[2]), view4(out[0]), dev<float>(out[1]), p->causal, p->scale);
    }
    case PLINTH_OP_ATTENTION_BACKWARD: {
      const auto* p = static_cast<const plinth_attention_params*>(op.params);
      const plinth_tensor& q = in[1];
      const int64_t BH = q.shape[0] * q.shape[1], T = q.shape[2];
      void* tmp = nullptr;
      if (BH * T > 0)
        if (rt::err e = scratch_of(ctx, st, size_t(BH * T) * sizeof(float), &tmp)) return e;
      return k::attention_backward(s, BH, T, q.shape[3], view4(in[0]), view4(in[1]), view4(in[2]),
                                   view4(in[3]), view4(in[4]), dev<const float>(in[5]), view4(out[0]),
                                   view4(out[1]), view4(out[2]), p->causal, p->scale,
                                   static_cast<float*>(tmp));
    }
    case PLINTH_OP_DROPOUT: {
      const auto* p = static_cast<const plinth_dropout_params*>(op.params);
      return k::dropout(s, numel(in[0]), dev<const float>(in[0]), dev<float>(out[0]),
                        op.num_outputs == 2 ? dev<uint8_t>(out[1]) : nullptr, p->p, p->seed, p->offset);
    }
    case PLINTH_OP_DROPOUT_BACKWARD: {
      const auto* p = static_cast<const plinth_dropout_params*>(op.params);
      return k::dropout_backward(s, numel(in[0]), dev<const float>(in[0]),
                                 op.num_inputs == 2 ? dev<const uint8_t>(in[1]) : nullptr, dev<float>(out[0]),
                                 p->p, p->seed, p->offset);
    }
    case PLINTH_OP_SQUARED_NORM:
    case PLINTH_OP_IS_FINITE: {
      const bool norm = op.kind == PLINTH_OP_SQUARED_NORM;
      int64_t parts = 0;
      for (int i = 0; i < op.num_inputs; ++i) parts += (numel(in[i]) + k::k_norm_chunk - 1) / k::k_norm_chunk;
      void* tmp = nullptr;
      if (rt::err e = scratch_of(ctx, st, size_t(parts > 0 ? parts : 1) * 8, &tmp)) return e;
      int64_t at = 0;
      for (int i = 0; i < op.num_inputs; ++i) {
        const int64_t n = numel(in[i]);
        rt::err e = norm ? k::squared_norm_part(s, dev<const float>(in[i]), n, static_cast<double*>(tmp) + at)
                         : k::is_finite_part(s, dev<const float>(in[i]), n, static_cast<int32_t*>(tmp) + at);
        if (e) return e;
        at += (n + k::k_norm_chunk - 1) / k::k_norm_chunk;
      }
      return norm ? k::squared_norm_finish(s, static_cast<const double*>(tmp), parts, dev<float>(out[0]))
                  : k::is_finite_finish(s, static_cast<const int32_t*>(tmp), parts, dev<float>(out[0]));
    }
    case PLINTH_OP_ADAMW_STEP: {
      const auto* p = static_cast<const plinth_adamw_params*>(op.params);
      const double t = double(p->step);
      const double bc1 = 1.0 - std::pow(double(p->beta1), t), bc2 = 1.0 - std::pow(double(p->beta2), t);
      const bool four = op.num_inputs == 4;
      return k::adamw(s, numel(in[0]), dev<const float>(in[0]), dev<const float>(in[1]),
                      dev<const float>(four ? in[2] : out[1]), dev<const float>(four ? in[3] : out[2]),
                      dev<float>(out[0]), dev<float>(out[1]), dev<float>(out[2]),
                      1.0f - p->lr * p->weight_decay, p->beta1, p->beta2, float(double(p->lr) / bc1),
                      float(1.0 / std::sqrt(bc2)), p->eps);
    }
    case PLINTH_OP_SGD_STEP: {
      const auto* p = static_cast<const plinth_sgd_params*>(op.params);
      const bool mom = p->momentum != 0.0f;
      float* buf = mom ? dev<float>(out[1]) : nullptr;
      const float* bin = mom ? (op.num_inputs == 3 ? dev<const float>(in[2]) : buf) : nullptr;
      return k::sgd(s, numel(in[0]), dev<const float>(in[0]), dev<const float>(in[1]), bin,
                    dev<float>(out[0]), buf, p->lr, p->weight_decay, p->momentum, 1.0f - p->dampening,
                    p->nesterov, p->step == 1 ? 1 : 0);
    }
    case PLINTH_OP_LION_STEP: {
      const auto* p = static_cast<const plinth_lion_params*>(op.params);
      return k::lion(s, numel(in[0]), dev<const float>(in[0]), dev<const float>(in[1]),
                     dev<const float>(in[2]), dev<float>(out[0]), dev<float>(out[1]),
                     1.0f - p->lr * p->weight_decay, p->lr, p->beta1, p->beta2);
    }
    case PLINTH_OP_CONV2D: {
      const k::conv_desc d =
          conv_of(in[0], in[1], out[0], "out[0] y", *static_cast<const plinth_conv2d_params*>(op.params));
      return k::conv2d(s, d, dev<const float>(in[0]), dev<const float>(in[1]),
                       op.num_inputs == 3 ? dev<const float>(in[2]) : nullptr, dev<float>(out[0]));
    }
    case PLINTH_OP_CONV2D_BACKWARD: {
      const auto* p = static_cast<const plinth_conv2d_params*>(op.params);
      const k::conv_desc d = conv_of(in[1], in[2], in[0], "in[0] dy", *p);
      return k::conv2d_backward(s, d, dev<const float>(in[0]), dev<const float>(in[1]),
                                dev<const float>(in[2]), numel(out[0]) ? dev<float>(out[0]) : nullptr,
                                op.num_outputs >= 2 ? dev<float>(out[1]) : nullptr,
                                op.num_outputs == 3 ? dev<float>(out[2]) : nullptr, p->beta);
    }
    case PLINTH_OP_POOL2D: {
      const k::pool_desc d =
          pool_of(in[0], "in[0] x", out[0], "out[0] y", *static_cast<const plinth_pool2d_params*>(op.params));
      return k::pool2d(s, d, dev<const float>(in[0]), dev<float>(out[0]),
                       op.num_outputs == 2 ? dev<int32_t>(out[1]) : nullptr);
    }
    case PLINTH_OP_POOL2D_BACKWARD: {
      const k::pool_desc d = pool_of(out[0], "out[0] dx", in[0], "in[0] dy",
                                     *static_cast<const plinth_pool2d_params*>(op.params));
      return k::pool2d_backward(s, d, dev<const float>(in[0]), d.max ? dev<const int32_t>(in[1]) : nullptr,
                                dev<float>(out[0]));
    }
    case PLINTH_OP_BATCHNORM:
    case PLINTH_OP_BATCHNORM_BACKWARD: {
      const auto* p = static_cast<const plinth_batchnorm_params*>(op.params);
      const bool fwd = op.kind == PLINTH_OP_BATCHNORM;
      check c;
      contract::batchnorm_dims bd;
      if (fwd)
        contract::validate_batchnorm(op, bd, c);
      else
        contract::validate_batchnorm_backward(op, bd, c);
      k::bn_desc d{bd.N, bd.C, bd.S, p->eps, p->momentum, p->training ? 1 : 0};
      if (bd.N * bd.S == 0 || bd.C == 0) return nullptr;
      if (fwd) {
        // Eval needs C floats for rstd; training writes out[1], out[2].
        void* tmp = nullptr;
        if (!d.training)
          if (rt::err e = scratch_of(ctx, st, size_t(bd.C) * sizeof(float), &tmp)) return e;
        const bool running = d.training && op.num_outputs == 5;
        return k::batchnorm(s, d, dev<const float>(in[0]), dev<const float>(in[1]), dev<const float>(in[2]),
                            dev<const float>(in[3]), dev<const float>(in[4]), dev<float>(out[0]),
                            d.training ? dev<float>(out[1]) : nullptr,
                            d.training ? dev<float>(out[2]) : static_cast<float*>(tmp),
                            running ? dev<float>(out[3]) : nullptr, running ? dev<float>(out[4]) : nullptr);
      }
      void* tmp = nullptr;
      if (rt::err e = scratch_of(ctx, st, size_t(2 * bd.C) * sizeof(float), &tmp)) return e;
      return k::batchnorm_backward(s, d, dev<const float>(in[0]), dev<const float>(in[1]),
                                   dev<const float>(in[2]), dev<const float>(in[3]), dev<const float>(in[4]),
                                   dev<float>(out[0]), dev<float>(out[1]), dev<float>(out[2]),
                                   static_cast<float*>(tmp));
    }
    default:
      return "unknown op";
  }
}

}  // namespace

int32_t supports(plinth_backend_ctx* ctx, const plinth_op* op) {
  if (!ctx || !op) return 0;
  try {
    check c;
    return validate(*op, c) ? 1 : 0;
  } catch (...) {
    return 0;
  }
}

plinth_status launch(plinth_backend_ctx* ctx, plinth_stream* stream, const plinth_op* op) {
  const plinth_host* h = ctx ? ctx->host : g_host;
  return sdk::guard(h, [&]() -> plinth_status {
    const std::string who = std::string(k_component) + " launch";
    if (!ctx) return sdk::fail(h, PLINTH_ERR_INVALID_ARGUMENT, who + ": instance is NULL");
    if (!op) return sdk::fail(h, PLINTH_ERR_INVALID_ARGUMENT, who + ": op is NULL");
    check c;
    if (validate(*op, c)) contract::check_buffers(*op, c);
    if (!c.ok())
      return sdk::fail(h, c.code, who + " " + contract::op_name(raw_enum(op->kind)) + ": " + c.msg);
    (void)rt::set_device(ctx->device);
    if (rt::err e = run(ctx, stream_of(ctx, stream), *op))
      return sdk::fail(h, PLINTH_ERR_INTERNAL, who + " " + contract::op_name(raw_enum(op->kind)) + ": " + e);
    return PLINTH_OK;
  });
}

}  // namespace plinth::gpu
