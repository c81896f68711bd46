// ops.cpp — supports() and launch() of the GPU backend: each op's checks (the
// CPU backend's rules, backends/cpu/ops/, so the two accept the same
// launches), then the descriptors the kernels take (kernels.hpp) and, for
// MATMUL on CUDA, the cuBLAS call. Every op of ABI 1.1 runs here; what the
// kernels do not cover (e.g. FILL/CAST dtypes the CPU backend lacks too)
// is refused with PLINTH_ERR_UNSUPPORTED, and the core falls back to the CPU.
#include <cmath>
#include <cstring>
#include <limits>

#include "backend.hpp"
#include "plinth/ops.hpp"

namespace plinth::gpu {

namespace {

// ---------------------------------------------------------------------------
// Checks shared by the ops.
// ---------------------------------------------------------------------------

struct check {
  plinth_status code = PLINTH_OK;
  std::string msg;
  bool ok() const { return code == PLINTH_OK; }
  bool fail(plinth_status c, std::string m) {
    if (code == PLINTH_OK) {
      code = c;
      msg = std::move(m);
    }
    return false;
  }
  bool bad(std::string m) { return fail(PLINTH_ERR_INVALID_ARGUMENT, std::move(m)); }
  bool unsupported(std::string m) { return fail(PLINTH_ERR_UNSUPPORTED, std::move(m)); }
};

template <class E>
int32_t raw_enum(const E& e) {
  static_assert(sizeof(E) == sizeof(int32_t));
  int32_t v;
  std::memcpy(&v, &e, sizeof v);
  return v;
}

const char* dtype_name(plinth_dtype d) {
  static const char* names[] = {"f32", "f16", "bf16", "f64", "i32", "i64", "u8", "u16"};
  return unsigned(d) < 8 ? names[d] : "unknown-dtype";
}
size_t dtype_size(plinth_dtype d) { return sdk::dtype_size(d); }

int64_t numel(const plinth_tensor& t) {
  int64_t n = 1;
  for (int i = 0; i < t.ndim; ++i) n *= t.shape[i];
  return n;
}

bool is_contiguous(const plinth_tensor& t) {
  int64_t expect = 1;
  for (int i = t.ndim - 1; i >= 0; --i) {
    if (t.shape[i] != 1 && t.strides[i] != expect) return false;
    expect *= t.shape[i];
  }
  return true;
}

std::string shape_str(const plinth_tensor& t) {
  std::string s = "(";
  for (int i = 0; i < t.ndim; ++i) s += (i ? ", " : "") + std::to_string(t.shape[i]);
  return s + ")";
}

bool same_shape(const plinth_tensor& a, const plinth_tensor& b) {
  if (a.ndim != b.ndim) return false;
  for (int i = 0; i < a.ndim; ++i)
    if (a.shape[i] != b.shape[i]) return false;
  return true;
}

std::string range(int lo, int hi) {
  return lo == hi ? std::to_string(lo) : std::to_string(lo) + ".." + std::to_string(hi);
}

bool counts(const plinth_op& op, int in_lo, int in_hi, int out_lo, int out_hi, check& c) {
  if (op.num_inputs < in_lo || op.num_inputs > in_hi)
    return c.bad("takes " + range(in_lo, in_hi) + " inputs, got " + std::to_string(op.num_inputs));
  if (op.num_outputs < out_lo || op.num_outputs > out_hi)
    return c.bad("takes " + range(out_lo, out_hi) + " outputs, got " + std::to_string(op.num_outputs));
  return true;
}

bool dtype_is(const plinth_tensor& t, plinth_dtype d, const std::string& what, check& c) {
  if (t.dtype != d) return c.unsupported(what + " must be " + dtype_name(d) + ", got " + dtype_name(t.dtype));
  return true;
}
bool contiguous(const plinth_tensor& t, const std::string& what, check& c) {
  if (!is_contiguous(t)) return c.unsupported(what + " must be contiguous row-major");
  return true;
}
bool f32c(const plinth_tensor& t, const std::string& what, check& c) {
  return dtype_is(t, PLINTH_DTYPE_F32, what, c) && contiguous(t, what, c);
}
bool numel_is(const plinth_tensor& t, int64_t n, const std::string& what, check& c) {
  if (numel(t) != n)
    return c.bad(what + " " + shape_str(t) + " must have " + std::to_string(n) + " elements");
  return true;
}
bool shape_as(const plinth_tensor& t, const plinth_tensor& ref, const std::string& what, const char* ref_name,
              check& c) {
  if (!same_shape(t, ref)) return c.bad(what + " " + shape_str(t) + " != " + ref_name + " " + shape_str(ref));
  return true;
}

template <class P>
const P* params_of(const plinth_op& op, size_t min_size, const char* type_name, check& c) {
  const P* p = static_cast<const P*>(op.params);
  if (!p) {
    c.bad(std::string("params missing (expected ") + type_name + ")");
    return nullptr;
  }
  if (p->struct_size < min_size) {
    c.bad(std::string("params struct_size ") + std::to_string(p->struct_size) + " is smaller than " +
          type_name + "'s " + std::to_string(min_size));
    return nullptr;
  }
  return p;
}
#define PARAMS(T, SIZE) params_of<T>(op, SIZE, #T, c)

bool check_tensor(const plinth_tensor& t, const std::string& what, check& c) {
  if (t.struct_size < PLINTH_TENSOR_STRUCT_SIZE)
    return c.bad(what + ": tensor struct_size " + std::to_string(t.struct_size) + " is too small");
  if (t.ndim < 0 || t.ndim > PLINTH_MAX_DIMS)
    return c.bad(what + ": ndim " + std::to_string(t.ndim) + " out of range");
  if (unsigned(t.dtype) >= PLINTH_DTYPE_COUNT_V1)
    return c.bad(what + ": unknown dtype " + std::to_string(int(t.dtype)));
  for (int i = 0; i < t.ndim; ++i) {
    if (t.shape[i] < 0) return c.bad(what + ": negative size in dim " + std::to_string(i));
    if (t.strides[i] < 0) return c.unsupported(what + ": negative stride in dim " + std::to_string(i));
  }
  return true;
}

bool check_buffer(const plinth_tensor& t, const std::string& what, check& c) {
  const int64_t n = numel(t);
  if (n == 0) return true;
  if (!t.buffer) return c.bad(what + ": buffer is NULL for a tensor of " + std::to_string(n) + " elements");
  uint64_t last = 0;
  for (int i = 0; i < t.ndim; ++i) last += uint64_t(t.shape[i] - 1) * uint64_t(t.strides[i]);
  const uint64_t end = t.offset + (last + 1) * dtype_size(t.dtype);
  if (end > t.buffer->size || t.offset > t.buffer->size)
    return c.bad(what + ": view " + shape_str(t) + " at offset " + std::to_string(t.offset) +
                 " ends at byte " + std::to_string(end) + ", past the buffer's " +
                 std::to_string(t.buffer->size) + " bytes");
  if (t.offset % dtype_size(t.dtype) != 0)
    return c.unsupported(what + ": offset " + std::to_string(t.offset) +
                         " is not a multiple of the element size");
  return true;
}

template <class T = void>
T* dev(const plinth_tensor& t) {
  if (!t.buffer || !t.buffer->ptr) return nullptr;
  return reinterpret_cast<T*>(static_cast<char*>(t.buffer->ptr) + t.offset);
}

// ---------------------------------------------------------------------------
// Elementwise: broadcasting and the launch descriptor.
// ---------------------------------------------------------------------------

bool broadcast_strides(const plinth_tensor& t, const plinth_tensor& out, int64_t* s) {
  if (t.ndim > out.ndim) return false;
  const int lead = out.ndim - t.ndim;
  for (int d = 0; d < out.ndim; ++d) {
    if (d < lead) {
      s[d] = 0;
      continue;
    }
    const int64_t n = t.shape[d - lead];
    if (n == out.shape[d])
      s[d] = n == 1 ? 0 : t.strides[d - lead];
    else if (n == 1)
      s[d] = 0;
    else
      return false;
  }
  return true;
}

bool output_overlaps(const plinth_tensor& t) {
  for (int d = 0; d < t.ndim; ++d)
    if (t.shape[d] > 1 && t.strides[d] == 0) return true;
  return false;
}

// Drops size-1 dims and merges dims every view walks contiguously.
k::ew_desc make_ew(const plinth_tensor& out, const plinth_tensor* const* ins, int nins) {
  k::ew_desc e;
  e.nops = 1 + nins;
  e.n = numel(out);
  int64_t s[4][PLINTH_MAX_DIMS] = {};
  for (int d = 0; d < out.ndim; ++d) s[0][d] = out.shape[d] == 1 ? 0 : out.strides[d];
  for (int i = 0; i < nins; ++i) broadcast_strides(*ins[i], out, s[i + 1]);
  int nd = 0;
  for (int d = 0; d < out.ndim; ++d) {
    if (out.shape[d] == 1) continue;
    if (nd > 0) {
      bool merge = true;
      for (int i = 0; i < e.nops; ++i)
        if (e.st[i][nd - 1] != s[i][d] * out.shape[d]) merge = false;
      if (merge) {
        e.shape[nd - 1] *= out.shape[d];
        for (int i = 0; i < e.nops; ++i) e.st[i][nd - 1] = s[i][d];
        continue;
      }
    }
    e.shape[nd] = out.shape[d];
    for (int i = 0; i < e.nops; ++i) e.st[i][nd] = s[i][d];
    ++nd;
  }
  if (nd == 0) {
    e.shape[0] = 1;
    for (int i = 0; i < e.nops; ++i) e.st[i][0] = 0;
    nd = 1;
  }
  e.nd = nd;
  return e;
}

bool validate_map(const plinth_op& op, int nins, bool f32_only, check& c) {
  if (!counts(op, nins, nins, 1, 1, c)) return false;
  const plinth_tensor& out = op.outputs[0];
  if (output_overlaps(out)) return c.unsupported("out[0] has a stride-0 dim of size > 1");
  for (int i = 0; i < nins; ++i) {
    int64_t s[PLINTH_MAX_DIMS];
    if (!broadcast_strides(op.inputs[i], out, s))
      return c.bad("in[" + std::to_string(i) + "] " + shape_str(op.inputs[i]) +
                   " does not broadcast to out[0] " + shape_str(out));
    if (f32_only && !dtype_is(op.inputs[i], PLINTH_DTYPE_F32, "in[" + std::to_string(i) + "]", c))
      return false;
  }
  if (f32_only && !dtype_is(out, PLINTH_DTYPE_F32, "out[0]", c)) return false;
  return true;
}

bool cast_supported(plinth_dtype from, plinth_dtype to) {
  if (from == to) return true;
  auto is_float = [](plinth_dtype d) {
    return d == PLINTH_DTYPE_F32 || d == PLINTH_DTYPE_F16 || d == PLINTH_DTYPE_BF16 || d == PLINTH_DTYPE_F64;
  };
  if (is_float(from) && is_float(to)) return true;
  if (to == PLINTH_DTYPE_F32)
    return from == PLINTH_DTYPE_I32 || from == PLINTH_DTYPE_I64 || from == PLINTH_DTYPE_U8 ||
           from == PLINTH_DTYPE_U16;
  return false;
}

// FILL's element bits, converted on the host as the CPU backend converts.
uint16_t f32_to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x0040u);
  u += 0x7fffu + ((u >> 16) & 1u);
  return uint16_t(u >> 16);
}
uint16_t f32_to_f16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  const uint16_t sign = uint16_t((u >> 16) & 0x8000u);
  const uint32_t a = u & 0x7fffffffu;
  if (a > 0x7f800000u) return uint16_t(sign | 0x7e00u | ((a >> 13) & 0x3ffu));
  if (a >= 0x477ff000u) return uint16_t(sign | 0x7c00u);
  if (a < 0x38800000u) {
    if (a < 0x33000000u) return sign;
    const uint32_t e = a >> 23;
    const uint32_t m = (a & 0x7fffffu) | 0x800000u;
    const int shift = int(126 - e);
    uint32_t r = m >> shift;
    const uint32_t rem = m & ((1u << shift) - 1);
    const uint32_t half = 1u << (shift - 1);
    if (rem > half || (rem == half && (r & 1u))) ++r;
    return uint16_t(sign | r);
  }
  uint32_t r = a - 0x38000000u;
  r += 0xfffu + ((r >> 13) & 1u);
  return uint16_t(sign | (r >> 13));
}
template <class T>
T saturate(double v) {
  if (std::isnan(v)) return T(0);
  const double lo = double(std::numeric_limits<T>::lowest()), hi = double(std::numeric_limits<T>::max());
  if (v <= lo) return std::numeric_limits<T>::lowest();
  if (v >= hi) return std::numeric_limits<T>::max();
  return T(v);
}
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
  const int nd = out.ndim;
  if (nd < 2) return c.bad("out[0] must have at least 2 dims, got " + shape_str(out));
  if (a.ndim < 2 || a.ndim > nd)
    return c.bad("in[0] " + shape_str(a) + " must have 2.." + std::to_string(nd) + " dims");
  if (b.ndim < 2 || b.ndim > nd)
    return c.bad("in[1] " + shape_str(b) + " must have 2.." + std::to_string(nd) + " dims");
  int64_t ad[PLINTH_MAX_DIMS], as[PLINTH_MAX_DIMS], bd[PLINTH_MAX_DIMS], bs[PLINTH_MAX_DIMS];
  mm_operand(a, p->trans_a != 0, nd, ad, as);
  mm_operand(b, p->trans_b != 0, nd, bd, bs);
  k::matmul_desc& d = pr.d;
  d.M = out.shape[nd - 2];
  d.N = out.shape[nd - 1];
  d.K = ad[nd - 1];
  if (ad[nd - 2] != d.M || bd[nd - 1] != d.N || bd[nd - 2] != d.K)
    return c.bad("shapes do not chain: op(in[0]) is (" + std::to_string(ad[nd - 2]) + ", " +
                 std::to_string(d.K) + "), op(in[1]) is (" + std::to_string(bd[nd - 2]) + ", " +
                 std::to_string(bd[nd - 1]) + "), out[0] is " + shape_str(out));
  d.nb = nd - 2;
  d.batch = 1;
  for (int i = 0; i < nd - 2; ++i) {
    if (out.shape[i] > 1 && out.strides[i] == 0) return c.unsupported("out[0] has a stride-0 batch dim");
    if ((ad[i] != 1 && ad[i] != out.shape[i]) || (bd[i] != 1 && bd[i] != out.shape[i]))
      return c.bad("batch dim " + std::to_string(i) + " of in[0] " + shape_str(a) + " / in[1] " +
                   shape_str(b) + " does not broadcast to out[0] " + shape_str(out));
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
// Per-op validation.
// ---------------------------------------------------------------------------

bool v_fill(const plinth_op& op, check& c) {
  if (!counts(op, 0, 0, 1, 1, c) || !PARAMS(plinth_fill_params, PLINTH_FILL_PARAMS_STRUCT_SIZE)) return false;
  if (output_overlaps(op.outputs[0])) return c.unsupported("out[0] has a stride-0 dim of size > 1");
  return true;
}
bool v_cast(const plinth_op& op, check& c) {
  if (!validate_map(op, 1, false, c)) return false;
  if (!cast_supported(op.inputs[0].dtype, op.outputs[0].dtype))
    return c.unsupported(std::string("cast ") + dtype_name(op.inputs[0].dtype) + " -> " +
                         dtype_name(op.outputs[0].dtype) + " is not supported");
  return true;
}
bool v_unary(const plinth_op& op, int nins, check& c) {
  if (!validate_map(op, nins, true, c)) return false;
  const auto* p = PARAMS(plinth_unary_params, PLINTH_UNARY_PARAMS_STRUCT_SIZE);
  if (!p) return false;
  if (raw_enum(p->fn) < 0 || raw_enum(p->fn) > PLINTH_UNARY_GELU_ERF)
    return c.unsupported("unknown unary fn " + std::to_string(raw_enum(p->fn)));
  return true;
}
bool v_binary(const plinth_op& op, check& c) {
  if (!validate_map(op, 2, true, c)) return false;
  const auto* p = PARAMS(plinth_binary_params, PLINTH_BINARY_PARAMS_STRUCT_SIZE);
  if (!p) return false;
  if (raw_enum(p->fn) < 0 || raw_enum(p->fn) > PLINTH_BINARY_MIN)
    return c.unsupported("unknown binary fn " + std::to_string(raw_enum(p->fn)));
  return true;
}
bool v_axpby(const plinth_op& op, check& c) {
  return validate_map(op, 2, true, c) && PARAMS(plinth_axpby_params, PLINTH_AXPBY_PARAMS_STRUCT_SIZE);
}
bool v_matmul(const plinth_op& op, check& c) {
  if (!counts(op, 2, 3, 1, 1, c) || !PARAMS(plinth_matmul_params, PLINTH_MATMUL_PARAMS_STRUCT_SIZE))
    return false;
  const plinth_tensor &a = op.inputs[0], &b = op.inputs[1], &out = op.outputs[0];
  auto lowp = [](plinth_dtype d) {
    return d == PLINTH_DTYPE_F32 || d == PLINTH_DTYPE_BF16 || d == PLINTH_DTYPE_F16;
  };
  if (a.dtype != b.dtype || !lowp(a.dtype))
    return c.unsupported(std::string("inputs must both be f32, bf16 or f16, got ") + dtype_name(a.dtype) +
                         " and " + dtype_name(b.dtype));
  if (!lowp(out.dtype))
    return c.unsupported(std::string("out[0] must be f32, bf16 or f16, got ") + dtype_name(out.dtype));
  mm_problem pr;
  if (!build_mm(op, pr, c)) return false;
  if (pr.bias) {
    if (!f32c(op.inputs[2], "in[2] bias", c)) return false;
    if (numel(op.inputs[2]) != pr.d.N)
      return c.bad("in[2] bias " + shape_str(op.inputs[2]) + " must have N = " + std::to_string(pr.d.N) +
                   " elements");
  }
  return true;
}
bool v_reduce(const plinth_op& op, check& c) {
  if (!counts(op, 1, 1, 1, 1, c)) return false;
  const auto* p = PARAMS(plinth_reduce_params, PLINTH_REDUCE_PARAMS_STRUCT_SIZE);
  if (!p) return false;
  if (raw_enum(p->fn) < 0 || raw_enum(p->fn) > PLINTH_REDUCE_MIN)
    return c.unsupported("unknown reduce fn " + std::to_string(raw_enum(p->fn)));
  const plinth_tensor &in = op.inputs[0], &out = op.outputs[0];
  if (!dtype_is(in, PLINTH_DTYPE_F32, "in[0]", c) || !dtype_is(out, PLINTH_DTYPE_F32, "out[0]", c))
    return false;
  if (in.ndim != out.ndim)
    return c.bad("out[0] " + shape_str(out) + " must have in[0]'s ndim " + std::to_string(in.ndim) +
                 " (size 1 in reduced dims)");
  for (int d = 0; d < in.ndim; ++d)
    if (out.shape[d] != 1 && out.shape[d] != in.shape[d])
      return c.bad("out[0] " + shape_str(out) + " dim " + std::to_string(d) + " must be 1 or " +
                   std::to_string(in.shape[d]));
  if (output_overlaps(out)) return c.unsupported("out[0] has a stride-0 dim of size > 1");
  return true;
}
bool v_argmax(const plinth_op& op, check& c) {
  if (!counts(op, 1, 1, 1, 1, c)) return false;
  const plinth_tensor &in = op.inputs[0], &out = op.outputs[0];
  if (!f32c(in, "in[0]", c) || !dtype_is(out, PLINTH_DTYPE_I32, "out[0]", c) || !contiguous(out, "out[0]", c))
    return false;
  if (in.ndim < 1) return c.bad("in[0] must have at least 1 dim");
  if (in.shape[in.ndim - 1] == 0 && numel(out) > 0) return c.bad("argmax over an empty last dim");
  if (numel(out) * in.shape[in.ndim - 1] != numel(in))
    return c.bad("out[0] " + shape_str(out) + " must hold one index per row of in[0] " + shape_str(in));
  return true;
}
bool v_rows(const plinth_op& op, int nins, check& c) {
  if (!counts(op, nins, nins, 1, 1, c)) return false;
  const plinth_tensor& ref = op.inputs[0];
  if (ref.ndim < 1) return c.bad("in[0] must have at least 1 dim");
  for (int i = 0; i < nins; ++i) {
    const std::string w = "in[" + std::to_string(i) + "]";
    if (!f32c(op.inputs[i], w, c) || !shape_as(op.inputs[i], ref, w, "in[0]", c)) return false;
  }
  return f32c(op.outputs[0], "out[0]", c) && shape_as(op.outputs[0], ref, "out[0]", "in[0]", c);
}
bool v_xent_common(const plinth_op& op, const plinth_tensor& rows, const plinth_tensor& targets, check& c) {
  if (!PARAMS(plinth_xent_params, PLINTH_XENT_PARAMS_STRUCT_SIZE)) return false;
  if (rows.ndim < 1) return c.bad("logits/probs must have at least 1 dim");
  if (!dtype_is(targets, PLINTH_DTYPE_I32, "targets", c) || !contiguous(targets, "targets", c)) return false;
  const int64_t C = rows.shape[rows.ndim - 1];
  if (numel(targets) * C != numel(rows) || (C == 0 && numel(targets) != 0))
    return c.bad("targets " + shape_str(targets) + " must hold one class per row of " + shape_str(rows));
  return true;
}
bool v_xent(const plinth_op& op, check& c) {
  if (!counts(op, 2, 2, 2, 2, c)) return false;
  const plinth_tensor& x = op.inputs[0];
  return f32c(x, "in[0] logits", c) && v_xent_common(op, x, op.inputs[1], c) &&
         f32c(op.outputs[0], "out[0] losses", c) &&
         numel_is(op.outputs[0], numel(op.inputs[1]), "out[0] losses", c) &&
         f32c(op.outputs[1], "out[1] probs", c) && shape_as(op.outputs[1], x, "out[1] probs", "logits", c);
}
bool v_xent_bwd(const plinth_op& op, check& c) {
  if (!counts(op, 2, 3, 1, 1, c)) return false;
  const plinth_tensor& probs = op.inputs[0];
  if (!f32c(probs, "in[0] probs", c) || !v_xent_common(op, probs, op.inputs[1], c)) return false;
  if (op.num_inputs == 3 && (!f32c(op.inputs[2], "in[2] dloss", c) ||
                             !numel_is(op.inputs[2], numel(op.inputs[1]), "in[2] dloss", c)))
    return false;
  return f32c(op.outputs[0], "out[0]", c) && shape_as(op.outputs[0], probs, "out[0]", "probs", c);
}
bool v_layernorm(const plinth_op& op, check& c) {
  if (!counts(op, 3, 3, 3, 3, c) || !PARAMS(plinth_layernorm_params, PLINTH_LAYERNORM_PARAMS_STRUCT_SIZE))
    return false;
  const plinth_tensor& x = op.inputs[0];
  if (x.ndim < 1) return c.bad("in[0] x must have at least 1 dim");
  const int64_t C = x.shape[x.ndim - 1], N = C ? numel(x) / C : 0;
  return f32c(x, "in[0] x", c) && f32c(op.inputs[1], "in[1] gamma", c) &&
         numel_is(op.inputs[1], C, "in[1] gamma", c) && f32c(op.inputs[2], "in[2] beta", c) &&
         numel_is(op.inputs[2], C, "in[2] beta", c) && f32c(op.outputs[0], "out[0] y", c) &&
         shape_as(op.outputs[0], x, "out[0] y", "x", c) && f32c(op.outputs[1], "out[1] mean", c) &&
         numel_is(op.outputs[1], N, "out[1] mean", c) && f32c(op.outputs[2], "out[2] rstd", c) &&
         numel_is(op.outputs[2], N, "out[2] rstd", c);
}
bool v_layernorm_bwd(const plinth_op& op, check& c) {
  if (!counts(op, 5, 5, 3, 3, c) || !PARAMS(plinth_layernorm_params, PLINTH_LAYERNORM_PARAMS_STRUCT_SIZE))
    return false;
  const plinth_tensor& x = op.inputs[1];
  if (x.ndim < 1) return c.bad("in[1] x must have at least 1 dim");
  const int64_t C = x.shape[x.ndim - 1], N = C ? numel(x) / C : 0;
  return f32c(op.inputs[0], "in[0] dy", c) && shape_as(op.inputs[0], x, "in[0] dy", "x", c) &&
         f32c(x, "in[1] x", c) && f32c(op.inputs[2], "in[2] gamma", c) &&
         numel_is(op.inputs[2], C, "in[2] gamma", c) && f32c(op.inputs[3], "in[3] mean", c) &&
         numel_is(op.inputs[3], N, "in[3] mean", c) && f32c(op.inputs[4], "in[4] rstd", c) &&
         numel_is(op.inputs[4], N, "in[4] rstd", c) && f32c(op.outputs[0], "out[0] dx", c) &&
         shape_as(op.outputs[0], x, "out[0] dx", "x", c) && f32c(op.outputs[1], "out[1] dgamma", c) &&
         numel_is(op.outputs[1], C, "out[1] dgamma", c) && f32c(op.outputs[2], "out[2] dbeta", c) &&
         numel_is(op.outputs[2], C, "out[2] dbeta", c);
}
bool v_ids(const plinth_tensor& ids, check& c) {
  if (ids.dtype != PLINTH_DTYPE_I32 && ids.dtype != PLINTH_DTYPE_I64)
    return c.unsupported(std::string("ids must be i32 or i64, got ") + dtype_name(ids.dtype));
  return contiguous(ids, "ids", c);
}
bool v_table(const plinth_tensor& t, const char* what, check& c) {
  if (!f32c(t, what, c)) return false;
  if (t.ndim != 2) return c.bad(std::string(what) + " must be (V, C), got " + shape_str(t));
  return true;
}
bool v_rows_of(const plinth_tensor& rows, const plinth_tensor& ids, const plinth_tensor& table,
               const char* what, check& c) {
  if (!f32c(rows, what, c)) return false;
  bool ok = rows.ndim == ids.ndim + 1 && rows.shape[rows.ndim - 1] == table.shape[1];
  for (int d = 0; ok && d < ids.ndim; ++d) ok = rows.shape[d] == ids.shape[d];
  if (!ok)
    return c.bad(std::string(what) + " " + shape_str(rows) + " must be ids " + shape_str(ids) + " + (" +
                 std::to_string(table.shape[1]) + ")");
  return true;
}
bool v_embedding(const plinth_op& op, check& c) {
  return counts(op, 2, 2, 1, 1, c) && v_ids(op.inputs[0], c) && v_table(op.inputs[1], "in[1] table", c) &&
         v_rows_of(op.outputs[0], op.inputs[0], op.inputs[1], "out[0]", c);
}
bool v_embedding_bwd(const plinth_op& op, check& c) {
  return counts(op, 2, 2, 1, 1, c) && v_ids(op.inputs[1], c) && v_table(op.outputs[0], "out[0] dtable", c) &&
         v_rows_of(op.inputs[0], op.inputs[1], op.outputs[0], "in[0] dout", c);
}
bool v_bhtd(const plinth_tensor& t, const plinth_tensor& ref, const std::string& what, check& c) {
  if (!dtype_is(t, PLINTH_DTYPE_F32, what, c)) return false;
  if (t.ndim == 4 && t.shape[3] > 1 && t.strides[3] != 1)
    return c.bad(what + ": the last dim (D) must be contiguous (stride 1)");
  return shape_as(t, ref, what, "q", c);
}
bool v_lse(const plinth_tensor& t, const plinth_tensor& q, const char* what, check& c) {
  if (!f32c(t, what, c)) return false;
  if (t.ndim != 3 || t.shape[0] != q.shape[0] || t.shape[1] != q.shape[1] || t.shape[2] != q.shape[2])
    return c.bad(std::string(what) + " " + shape_str(t) + " must be (B, H, T) of q " + shape_str(q));
  return true;
}
bool v_attention(const plinth_op& op, check& c) {
  if (!counts(op, 3, 3, 2, 2, c) || !PARAMS(plinth_attention_params, PLINTH_ATTENTION_PARAMS_STRUCT_SIZE))
    return false;
  const plinth_tensor& q = op.inputs[0];
  if (q.ndim != 4) return c.bad("q must be (B, H, T, D), got " + shape_str(q));
  return v_bhtd(q, q, "in[0] q", c) && v_bhtd(op.inputs[1], q, "in[1] k", c) &&
         v_bhtd(op.inputs[2], q, "in[2] v", c) && v_bhtd(op.outputs[0], q, "out[0] y", c) &&
         v_lse(op.outputs[1], q, "out[1] logsumexp", c);
}
bool v_attention_bwd(const plinth_op& op, check& c) {
  if (!counts(op, 6, 6, 3, 3, c) || !PARAMS(plinth_attention_params, PLINTH_ATTENTION_PARAMS_STRUCT_SIZE))
    return false;
  const plinth_tensor& q = op.inputs[1];
  if (q.ndim != 4) return c.bad("q must be (B, H, T, D), got " + shape_str(q));
  return v_bhtd(op.inputs[0], q, "in[0] dy", c) && v_bhtd(q, q, "in[1] q", c) &&
         v_bhtd(op.inputs[2], q, "in[2] k", c) && v_bhtd(op.inputs[3], q, "in[3] v", c) &&
         v_bhtd(op.inputs[4], q, "in[4] y", c) && v_lse(op.inputs[5], q, "in[5] logsumexp", c) &&
         v_bhtd(op.outputs[0], q, "out[0] dq", c) && v_bhtd(op.outputs[1], q, "out[1] dk", c) &&
         v_bhtd(op.outputs[2], q, "out[2] dv", c);
}
bool v_dropout_params(const plinth_op& op, check& c) {
  const auto* p = PARAMS(plinth_dropout_params, PLINTH_DROPOUT_PARAMS_STRUCT_SIZE);
  if (!p) return false;
  if (!(p->p >= 0.0f && p->p < 1.0f)) return c.bad("p = " + std::to_string(p->p) + " is outside [0, 1)");
  return true;
}
bool v_like(const plinth_tensor& t, const plinth_tensor& ref, plinth_dtype d, const char* what, check& c) {
  return dtype_is(t, d, what, c) && contiguous(t, what, c) && numel_is(t, numel(ref), what, c);
}
bool v_dropout(const plinth_op& op, check& c) {
  if (!counts(op, 1, 1, 1, 2, c) || !v_dropout_params(op, c)) return false;
  const plinth_tensor& x = op.inputs[0];
  return v_like(x, x, PLINTH_DTYPE_F32, "in[0]", c) &&
         v_like(op.outputs[0], x, PLINTH_DTYPE_F32, "out[0]", c) &&
         (op.num_outputs < 2 || v_like(op.outputs[1], x, PLINTH_DTYPE_U8, "out[1] mask", c));
}
bool v_dropout_bwd(const plinth_op& op, check& c) {
  if (!counts(op, 1, 2, 1, 1, c) || !v_dropout_params(op, c)) return false;
  const plinth_tensor& g = op.inputs[0];
  return v_like(g, g, PLINTH_DTYPE_F32, "in[0] dy", c) &&
         v_like(op.outputs[0], g, PLINTH_DTYPE_F32, "out[0]", c) &&
         (op.num_inputs < 2 || v_like(op.inputs[1], g, PLINTH_DTYPE_U8, "in[1] mask", c));
}
bool v_to_scalar(const plinth_op& op, check& c) {
  if (op.num_inputs < 1) return c.bad("takes at least 1 input, got " + std::to_string(op.num_inputs));
  if (op.num_outputs != 1) return c.bad("takes 1 output, got " + std::to_string(op.num_outputs));
  for (int i = 0; i < op.num_inputs; ++i)
    if (!f32c(op.inputs[i], "in[" + std::to_string(i) + "]", c)) return false;
  return dtype_is(op.outputs[0], PLINTH_DTYPE_F32, "out[0]", c) && numel_is(op.outputs[0], 1, "out[0]", c);
}
bool v_adamw(const plinth_op& op, check& c) {
  if (!counts(op, 2, 4, 3, 3, c)) return false;
  if (op.num_inputs == 3) return c.bad("takes 2 (param, grad) or 4 (param, grad, m, v) inputs, got 3");
  const auto* p = PARAMS(plinth_adamw_params, PLINTH_ADAMW_PARAMS_STRUCT_SIZE);
  if (!p) return false;
  if (p->step < 1) return c.bad("step must be >= 1 (1-based), got " + std::to_string(p->step));
  const plinth_tensor& w = op.inputs[0];
  static const char* in_names[] = {"in[0] param", "in[1] grad", "in[2] m", "in[3] v"};
  static const char* out_names[] = {"out[0] param", "out[1] m", "out[2] v"};
  for (int i = 0; i < op.num_inputs; ++i)
    if (!f32c(op.inputs[i], in_names[i], c) || !numel_is(op.inputs[i], numel(w), in_names[i], c))
      return false;
  for (int i = 0; i < 3; ++i)
    if (!f32c(op.outputs[i], out_names[i], c) || !numel_is(op.outputs[i], numel(w), out_names[i], c))
      return false;
  return true;
}
bool v_sgd(const plinth_op& op, check& c) {
  if (!counts(op, 2, 3, 1, 2, c)) return false;
  const auto* p = PARAMS(plinth_sgd_params, PLINTH_SGD_PARAMS_STRUCT_SIZE);
  if (!p) return false;
  if (p->step < 1) return c.bad("step must be >= 1 (1-based), got " + std::to_string(p->step));
  if (p->nesterov && (p->momentum <= 0.0f || p->dampening != 0.0f))
    return c.bad("nesterov needs momentum > 0 and dampening 0 (as torch.optim.SGD)");
  if (p->momentum != 0.0f && op.num_outputs < 2)
    return c.bad("momentum != 0 needs out[1], the momentum buffer");
  const plinth_tensor& w = op.inputs[0];
  static const char* in_names[] = {"in[0] param", "in[1] grad", "in[2] momentum"};
  static const char* out_names[] = {"out[0] param", "out[1] momentum"};
  for (int i = 0; i < op.num_inputs; ++i)
    if (!f32c(op.inputs[i], in_names[i], c) || !numel_is(op.inputs[i], numel(w), in_names[i], c))
      return false;
  for (int i = 0; i < op.num_outputs; ++i)
    if (!f32c(op.outputs[i], out_names[i], c) || !numel_is(op.outputs[i], numel(w), out_names[i], c))
      return false;
  return true;
}

bool conv_shapes(const plinth_tensor& x, const plinth_tensor& w, const plinth_tensor& y, const char* y_name,
                 const plinth_conv2d_params& p, k::conv_desc& s, check& c) {
  if (p.stride_h < 1 || p.stride_w < 1 || p.dilation_h < 1 || p.dilation_w < 1 || p.pad_h < 0 || p.pad_w < 0)
    return c.bad("params: stride and dilation must be >= 1, padding >= 0");
  if (x.ndim != 4) return c.bad("in x " + shape_str(x) + " must be (N, C, H, W)");
  if (w.ndim != 4) return c.bad("weight " + shape_str(w) + " must be (O, C, KH, KW)");
  if (y.ndim != 4) return c.bad(std::string(y_name) + " " + shape_str(y) + " must be (N, O, OH, OW)");
  s = k::conv_desc{x.shape[0], x.shape[1], x.shape[2], x.shape[3], w.shape[0], w.shape[2],   w.shape[3],  0,
                   0,          p.stride_h, p.stride_w, p.pad_h,    p.pad_w,    p.dilation_h, p.dilation_w};
  if (w.shape[1] != s.C)
    return c.bad("weight " + shape_str(w) + " has " + std::to_string(w.shape[1]) + " input channels, x " +
                 shape_str(x) + " has " + std::to_string(s.C));
  if (s.KH < 1 || s.KW < 1) return c.bad("weight " + shape_str(w) + " has an empty kernel");
  const int64_t eh = s.dh * (s.KH - 1) + 1, ew = s.dw * (s.KW - 1) + 1;
  if (eh > s.H + 2 * s.ph || ew > s.W + 2 * s.pw)
    return c.bad("kernel (dilated) is larger than the padded input of x " + shape_str(x));
  s.OH = (s.H + 2 * s.ph - eh) / s.sh + 1;
  s.OW = (s.W + 2 * s.pw - ew) / s.sw + 1;
  if (y.shape[0] != s.N || y.shape[1] != s.O || y.shape[2] != s.OH || y.shape[3] != s.OW)
    return c.bad(std::string(y_name) + " " + shape_str(y) + " must be (" + std::to_string(s.N) + ", " +
                 std::to_string(s.O) + ", " + std::to_string(s.OH) + ", " + std::to_string(s.OW) + ")");
  return true;
}
bool v_conv(const plinth_op& op, check& c) {
  if (!counts(op, 2, 3, 1, 1, c)) return false;
  const auto* p = PARAMS(plinth_conv2d_params, PLINTH_CONV2D_PARAMS_STRUCT_SIZE);
  if (!p) return false;
  k::conv_desc s;
  if (!f32c(op.inputs[0], "in[0] x", c) || !f32c(op.inputs[1], "in[1] weight", c) ||
      !f32c(op.outputs[0], "out[0] y", c) ||
      !conv_shapes(op.inputs[0], op.inputs[1], op.outputs[0], "out[0] y", *p, s, c))
    return false;
  return op.num_inputs < 3 ||
         (f32c(op.inputs[2], "in[2] bias", c) && numel_is(op.inputs[2], s.O, "in[2] bias", c));
}
bool v_conv_bwd(const plinth_op& op, check& c) {
  if (!counts(op, 3, 3, 1, 3, c)) return false;
  const auto* p = PARAMS(plinth_conv2d_params, PLINTH_CONV2D_PARAMS_STRUCT_SIZE);
  if (!p) return false;
  const plinth_tensor &dy = op.inputs[0], &x = op.inputs[1], &w = op.inputs[2];
  k::conv_desc s;
  if (!f32c(dy, "in[0] dy", c) || !f32c(x, "in[1] x", c) || !f32c(w, "in[2] weight", c) ||
      !conv_shapes(x, w, dy, "in[0] dy", *p, s, c))
    return false;
  if (numel(op.outputs[0]) != 0 &&
      (!f32c(op.outputs[0], "out[0] dx", c) || !shape_as(op.outputs[0], x, "out[0] dx", "x", c)))
    return false;
  if (op.num_outputs >= 2 && (!f32c(op.outputs[1], "out[1] dweight", c) ||
                              !shape_as(op.outputs[1], w, "out[1] dweight", "weight", c)))
    return false;
  if (op.num_outputs == 3 &&
      (!f32c(op.outputs[2], "out[2] dbias", c) || !numel_is(op.outputs[2], s.O, "out[2] dbias", c)))
    return false;
  return true;
}

bool pool_shapes(const plinth_tensor& x, const char* x_name, const plinth_tensor& y, const char* y_name,
                 const plinth_pool2d_params& p, k::pool_desc& s, check& c) {
  const int32_t fn = raw_enum(p.fn);
  if (fn != PLINTH_POOL_MAX && fn != PLINTH_POOL_AVG)
    return c.bad("params: unknown pool fn " + std::to_string(fn));
  if (p.kernel_h < 1 || p.kernel_w < 1 || p.stride_h < 1 || p.stride_w < 1)
    return c.bad("params: kernel and stride must be >= 1");
  if (p.pad_h < 0 || p.pad_w < 0 || 2 * int64_t(p.pad_h) > p.kernel_h || 2 * int64_t(p.pad_w) > p.kernel_w)
    return c.bad("params: padding must be between 0 and half the kernel");
  if (x.ndim != 4) return c.bad(std::string(x_name) + " " + shape_str(x) + " must be (N, C, H, W)");
  if (y.ndim != 4) return c.bad(std::string(y_name) + " " + shape_str(y) + " must be (N, C, OH, OW)");
  s = k::pool_desc{x.shape[0],
                   x.shape[1],
                   x.shape[2],
                   x.shape[3],
                   0,
                   0,
                   p.kernel_h,
                   p.kernel_w,
                   p.stride_h,
                   p.stride_w,
                   p.pad_h,
                   p.pad_w,
                   fn == PLINTH_POOL_MAX ? 1 : 0,
                   p.count_include_pad != 0 ? 1 : 0};
  if (s.kh > s.H + 2 * s.ph || s.kw > s.W + 2 * s.pw)
    return c.bad("kernel is larger than the padded input of " + std::string(x_name) + " " + shape_str(x));
  s.OH = (s.H + 2 * s.ph - s.kh) / s.sh + 1;
  s.OW = (s.W + 2 * s.pw - s.kw) / s.sw + 1;
  if (y.shape[0] != s.N || y.shape[1] != s.C || y.shape[2] != s.OH || y.shape[3] != s.OW)
    return c.bad(std::string(y_name) + " " + shape_str(y) + " must be (" + std::to_string(s.N) + ", " +
                 std::to_string(s.C) + ", " + std::to_string(s.OH) + ", " + std::to_string(s.OW) + ")");
  return true;
}
bool v_argmax_of(const plinth_tensor& t, const plinth_tensor& y, const char* what, check& c) {
  return dtype_is(t, PLINTH_DTYPE_I32, what, c) && contiguous(t, what, c) && shape_as(t, y, what, "y", c);
}
bool v_pool(const plinth_op& op, check& c) {
  if (!counts(op, 1, 1, 1, 2, c)) return false;
  const auto* p = PARAMS(plinth_pool2d_params, PLINTH_POOL2D_PARAMS_STRUCT_SIZE);
  if (!p) return false;
  k::pool_desc s;
  if (!f32c(op.inputs[0], "in[0] x", c) || !f32c(op.outputs[0], "out[0] y", c) ||
      !pool_shapes(op.inputs[0], "in[0] x", op.outputs[0], "out[0] y", *p, s, c))
    return false;
  if (op.num_outputs == 2) {
    if (!s.max) return c.bad("average pooling takes 1 output (no argmax), got 2");
    return v_argmax_of(op.outputs[1], op.outputs[0], "out[1] argmax", c);
  }
  return true;
}
bool v_pool_bwd(const plinth_op& op, check& c) {
  if (!counts(op, 1, 2, 1, 1, c)) return false;
  const auto* p = PARAMS(plinth_pool2d_params, PLINTH_POOL2D_PARAMS_STRUCT_SIZE);
  if (!p) return false;
  k::pool_desc s;
  if (!f32c(op.inputs[0], "in[0] dy", c) || !f32c(op.outputs[0], "out[0] dx", c) ||
      !pool_shapes(op.outputs[0], "out[0] dx", op.inputs[0], "in[0] dy", *p, s, c))
    return false;
  if (s.max) {
    if (op.num_inputs != 2) return c.bad("max pooling backward takes 2 inputs (dy, argmax), got 1");
    return v_argmax_of(op.inputs[1], op.inputs[0], "in[1] argmax", c);
  }
  if (op.num_inputs != 1) return c.bad("average pooling backward takes 1 input (dy), got 2");
  return true;
}

bool validate(const plinth_op& op, check& c) {
  if (op.struct_size < PLINTH_OP_STRUCT_SIZE) return c.bad("op struct_size is too small");
  if (op.num_inputs < 0 || op.num_outputs < 0) return c.bad("negative tensor count");
  if (op.num_inputs > 0 && !op.inputs) return c.bad("inputs is NULL");
  if (op.num_outputs > 0 && !op.outputs) return c.bad("outputs is NULL");
  for (int i = 0; i < op.num_inputs; ++i)
    if (!check_tensor(op.inputs[i], "in[" + std::to_string(i) + "]", c)) return false;
  for (int i = 0; i < op.num_outputs; ++i)
    if (!check_tensor(op.outputs[i], "out[" + std::to_string(i) + "]", c)) return false;
  switch (raw_enum(op.kind)) {
    case PLINTH_OP_FILL:
      return v_fill(op, c);
    case PLINTH_OP_CAST:
      return v_cast(op, c);
    case PLINTH_OP_UNARY:
      return v_unary(op, 1, c);
    case PLINTH_OP_UNARY_BACKWARD:
      return v_unary(op, 2, c);
    case PLINTH_OP_BINARY:
      return v_binary(op, c);
    case PLINTH_OP_AXPBY:
      return v_axpby(op, c);
    case PLINTH_OP_MATMUL:
      return v_matmul(op, c);
    case PLINTH_OP_REDUCE:
      return v_reduce(op, c);
    case PLINTH_OP_SOFTMAX:
      return v_rows(op, 1, c);
    case PLINTH_OP_SOFTMAX_BACKWARD:
      return v_rows(op, 2, c);
    case PLINTH_OP_CROSS_ENTROPY:
      return v_xent(op, c);
    case PLINTH_OP_CROSS_ENTROPY_BACKWARD:
      return v_xent_bwd(op, c);
    case PLINTH_OP_LAYERNORM:
      return v_layernorm(op, c);
    case PLINTH_OP_LAYERNORM_BACKWARD:
      return v_layernorm_bwd(op, c);
    case PLINTH_OP_EMBEDDING:
      return v_embedding(op, c);
    case PLINTH_OP_EMBEDDING_BACKWARD:
      return v_embedding_bwd(op, c);
    case PLINTH_OP_ATTENTION:
      return v_attention(op, c);
    case PLINTH_OP_ATTENTION_BACKWARD:
      return v_attention_bwd(op, c);
    case PLINTH_OP_DROPOUT:
      return v_dropout(op, c);
    case PLINTH_OP_DROPOUT_BACKWARD:
      return v_dropout_bwd(op, c);
    case PLINTH_OP_SQUARED_NORM:
    case PLINTH_OP_IS_FINITE:
      return v_to_scalar(op, c);
    case PLINTH_OP_ARGMAX:
      return v_argmax(op, c);
    case PLINTH_OP_ADAMW_STEP:
      return v_adamw(op, c);
    case PLINTH_OP_SGD_STEP:
      return v_sgd(op, c);
    case PLINTH_OP_CONV2D:
      return v_conv(op, c);
    case PLINTH_OP_CONV2D_BACKWARD:
      return v_conv_bwd(op, c);
    case PLINTH_OP_POOL2D:
      return v_pool(op, c);
    case PLINTH_OP_POOL2D_BACKWARD:
      return v_pool_bwd(op, c);
    default:
      return c.unsupported("unknown op kind " + std::to_string(raw_enum(op.kind)));
  }
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
                      dev<float>(out[0]), p->alpha, p->beta);
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
                              p->ignore_index, dev<float>(out[0]), dev<float>(out[1]));
    }
    case PLINTH_OP_CROSS_ENTROPY_BACKWARD: {
      const auto* p = static_cast<const plinth_xent_params*>(op.params);
      const int64_t C = in[0].shape[in[0].ndim - 1];
      return k::cross_entropy_backward(s, numel(in[1]), C, dev<const float>(in[0]), dev<const int32_t>(in[1]),
                                       op.num_inputs == 3 ? dev<const float>(in[2]) : nullptr, p->scale,
                                       p->ignore_index, dev<float>(out[0]));
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
    case PLINTH_OP_CONV2D: {
      check c;
      k::conv_desc d;
      conv_shapes(in[0], in[1], out[0], "out[0] y", *static_cast<const plinth_conv2d_params*>(op.params), d,
                  c);
      return k::conv2d(s, d, dev<const float>(in[0]), dev<const float>(in[1]),
                       op.num_inputs == 3 ? dev<const float>(in[2]) : nullptr, dev<float>(out[0]));
    }
    case PLINTH_OP_CONV2D_BACKWARD: {
      check c;
      const auto* p = static_cast<const plinth_conv2d_params*>(op.params);
      k::conv_desc d;
      conv_shapes(in[1], in[2], in[0], "in[0] dy", *p, d, c);
      return k::conv2d_backward(s, d, dev<const float>(in[0]), dev<const float>(in[1]),
                                dev<const float>(in[2]), numel(out[0]) ? dev<float>(out[0]) : nullptr,
                                op.num_outputs >= 2 ? dev<float>(out[1]) : nullptr,
                                op.num_outputs == 3 ? dev<float>(out[2]) : nullptr, p->beta);
    }
    case PLINTH_OP_POOL2D: {
      check c;
      k::pool_desc d;
      pool_shapes(in[0], "in[0] x", out[0], "out[0] y", *static_cast<const plinth_pool2d_params*>(op.params),
                  d, c);
      return k::pool2d(s, d, dev<const float>(in[0]), dev<float>(out[0]),
                       op.num_outputs == 2 ? dev<int32_t>(out[1]) : nullptr);
    }
    case PLINTH_OP_POOL2D_BACKWARD: {
      check c;
      k::pool_desc d;
      pool_shapes(out[0], "out[0] dx", in[0], "in[0] dy",
                  *static_cast<const plinth_pool2d_params*>(op.params), d, c);
      return k::pool2d_backward(s, d, dev<const float>(in[0]), d.max ? dev<const int32_t>(in[1]) : nullptr,
                                dev<float>(out[0]));
    }
    default:
      return "unknown op";
  }
}

const char* op_name(int32_t k) {
  const char* n = sdk::op_name(k);
  return n ? n : "UNKNOWN_OP";
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
    if (validate(*op, c)) {
      for (int i = 0; i < op->num_inputs && c.ok(); ++i)
        check_buffer(op->inputs[i], "in[" + std::to_string(i) + "]", c);
      for (int i = 0; i < op->num_outputs && c.ok(); ++i)
        check_buffer(op->outputs[i], "out[" + std::to_string(i) + "]", c);
    }
    if (!c.ok()) return sdk::fail(h, c.code, who + " " + op_name(raw_enum(op->kind)) + ": " + c.msg);
    (void)rt::set_device(ctx->device);
    if (rt::err e = run(ctx, stream_of(ctx, stream), *op))
      return sdk::fail(h, PLINTH_ERR_INTERNAL, who + " " + op_name(raw_enum(op->kind)) + ": " + e);
    return PLINTH_OK;
  });
}

}  // namespace plinth::gpu
