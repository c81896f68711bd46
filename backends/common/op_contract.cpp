// op_contract.cpp — the checks of op_contract.hpp. Each op's checks run in a
// fixed order and stop at the first failure, so a launch broken in two ways
// gets the same error on every backend.
#include "op_contract.hpp"

#include <cmath>

#include "plinth/ops.hpp"

namespace plinth::contract {

const char* op_name(int32_t k) {
  const char* n = sdk::op_name(k);
  return n ? n : "UNKNOWN_OP";
}

std::string shape_str(const plinth_tensor& t) {
  std::string s = "(";
  for (int i = 0; i < t.ndim; ++i) {
    if (i) s += ", ";
    s += std::to_string(t.shape[i]);
  }
  return s + ")";
}

bool same_shape(const plinth_tensor& a, const plinth_tensor& b) {
  if (a.ndim != b.ndim) return false;
  for (int i = 0; i < a.ndim; ++i)
    if (a.shape[i] != b.shape[i]) return false;
  return true;
}

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

bool output_has_overlap(const plinth_tensor& t) {
  for (int d = 0; d < t.ndim; ++d)
    if (t.shape[d] > 1 && t.strides[d] == 0) return true;
  return false;
}

strided_views coalesce(const plinth_tensor& out, const plinth_tensor* const* ins, int nins) {
  strided_views v;
  v.nops = 1 + nins;
  // The common case, dense tensors of one shape, is one run of numel
  // elements: what the general merge below gives, without its work.
  bool dense = is_contiguous(out);
  for (int k = 0; dense && k < nins; ++k) dense = is_contiguous(*ins[k]) && same_shape(*ins[k], out);
  if (const int64_t n = numel(out); dense && n > 1) {
    v.ndim = 1;
    v.shape[0] = n;
    for (int k = 0; k < v.nops; ++k) v.strides[k][0] = 1;
    return v;
  }
  int64_t s[4][PLINTH_MAX_DIMS] = {};
  for (int d = 0; d < out.ndim; ++d) s[0][d] = out.shape[d] == 1 ? 0 : out.strides[d];
  for (int k = 0; k < nins; ++k) broadcast_strides(*ins[k], out, s[k + 1]);
  int nd = 0;
  for (int d = 0; d < out.ndim; ++d) {
    if (out.shape[d] == 1) continue;
    if (nd > 0) {
      bool merge = true;
      for (int k = 0; k < v.nops; ++k)
        if (v.strides[k][nd - 1] != s[k][d] * out.shape[d]) merge = false;
      if (merge) {
        v.shape[nd - 1] *= out.shape[d];
        for (int k = 0; k < v.nops; ++k) v.strides[k][nd - 1] = s[k][d];
        continue;
      }
    }
    v.shape[nd] = out.shape[d];
    for (int k = 0; k < v.nops; ++k) v.strides[k][nd] = s[k][d];
    ++nd;
  }
  if (nd == 0) {
    v.shape[0] = 1;
    for (int k = 0; k < v.nops; ++k) v.strides[k][0] = 0;
    nd = 1;
  }
  v.ndim = nd;
  return v;
}

namespace {
// Names past the table (ops have fewer tensors; only a malformed op asks).
[[gnu::noinline]] std::string_view other_tensor_name(bool output, int i) {
  thread_local std::string name;
  name = (output ? "out[" : "in[") + std::to_string(i) + "]";
  return name;
}
}  // namespace

std::string_view tensor_name(bool output, int i) {
  // Literals: validation runs on every launch and must not build a string
  // unless it fails.
  static constexpr std::string_view in[] = {"in[0]",  "in[1]",  "in[2]",  "in[3]", "in[4]",  "in[5]",
                                            "in[6]",  "in[7]",  "in[8]",  "in[9]", "in[10]", "in[11]",
                                            "in[12]", "in[13]", "in[14]", "in[15]"};
  static constexpr std::string_view out[] = {"out[0]",  "out[1]",  "out[2]",  "out[3]", "out[4]",  "out[5]",
                                             "out[6]",  "out[7]",  "out[8]",  "out[9]", "out[10]", "out[11]",
                                             "out[12]", "out[13]", "out[14]", "out[15]"};
  if (i >= 0 && i < 16) return output ? out[i] : in[i];
  return other_tensor_name(output, i);
}

namespace {

std::string range(int lo, int hi) {
  return lo == hi ? std::to_string(lo) : std::to_string(lo) + ".." + std::to_string(hi);
}

std::string_view in_name(int i) { return tensor_name(false, i); }
std::string_view out_name(int i) { return tensor_name(true, i); }

bool check_tensor(const plinth_tensor& t, std::string_view what, check& c) {
  if (t.struct_size < PLINTH_TENSOR_STRUCT_SIZE)
    return c.bad(std::string(what) + ": tensor struct_size " + std::to_string(t.struct_size) +
                 " is too small");
  if (t.ndim < 0 || t.ndim > PLINTH_MAX_DIMS)
    return c.bad(std::string(what) + ": ndim " + std::to_string(t.ndim) + " out of range");
  if (unsigned(t.dtype) >= PLINTH_DTYPE_COUNT_V1)
    return c.bad(std::string(what) + ": unknown dtype " + std::to_string(int(t.dtype)));
  for (int i = 0; i < t.ndim; ++i) {
    if (t.shape[i] < 0) return c.bad(std::string(what) + ": negative size in dim " + std::to_string(i));
    if (t.strides[i] < 0)
      return c.unsupported(std::string(what) + ": negative stride in dim " + std::to_string(i));
  }
  return true;
}

}  // namespace

bool expect_counts(const plinth_op& op, int in_min, int in_max, int out_min, int out_max, check& c) {
  if (op.num_inputs < in_min || op.num_inputs > in_max)
    return c.bad("takes " + range(in_min, in_max) + " inputs, got " + std::to_string(op.num_inputs));
  if (op.num_outputs < out_min || op.num_outputs > out_max)
    return c.bad("takes " + range(out_min, out_max) + " outputs, got " + std::to_string(op.num_outputs));
  return true;
}

bool expect_dtype(const plinth_tensor& t, plinth_dtype d, std::string_view what, check& c) {
  if (t.dtype != d)
    return c.unsupported(std::string(what) + " must be " + dtype_name(d) + ", got " + dtype_name(t.dtype));
  return true;
}

bool expect_contiguous(const plinth_tensor& t, std::string_view what, check& c) {
  if (!is_contiguous(t)) return c.unsupported(std::string(what) + " must be contiguous row-major");
  return true;
}

bool expect_f32c(const plinth_tensor& t, std::string_view what, check& c) {
  return expect_dtype(t, PLINTH_DTYPE_F32, what, c) && expect_contiguous(t, what, c);
}

bool expect_numel(const plinth_tensor& t, int64_t n, std::string_view what, check& c) {
  if (numel(t) != n)
    return c.bad(std::string(what) + " " + shape_str(t) + " must have " + std::to_string(n) + " elements");
  return true;
}

bool check_op(const plinth_op& op, check& c) {
  if (op.struct_size < PLINTH_OP_STRUCT_SIZE) return c.bad("op struct_size is too small");
  if (op.num_inputs < 0 || op.num_outputs < 0) return c.bad("negative tensor count");
  if (op.num_inputs > 0 && !op.inputs) return c.bad("inputs is NULL");
  if (op.num_outputs > 0 && !op.outputs) return c.bad("outputs is NULL");
  for (int i = 0; i < op.num_inputs; ++i)
    if (!check_tensor(op.inputs[i], in_name(i), c)) return false;
  for (int i = 0; i < op.num_outputs; ++i)
    if (!check_tensor(op.outputs[i], out_name(i), c)) return false;
  return true;
}

bool check_view(const plinth_tensor& t, std::string_view what, bool has_buffer, uint64_t buffer_size,
                check& c) {
  const int64_t n = numel(t);
  if (n == 0) return true;
  if (!has_buffer)
    return c.bad(std::string(what) + ": buffer is NULL for a tensor of " + std::to_string(n) + " elements");
  uint64_t last = 0;  // element offset of the last element
  for (int i = 0; i < t.ndim; ++i) last += uint64_t(t.shape[i] - 1) * uint64_t(t.strides[i]);
  const uint64_t end = t.offset + (last + 1) * dtype_size(t.dtype);
  if (end > buffer_size || t.offset > buffer_size)
    return c.bad(std::string(what) + ": view " + shape_str(t) + " at offset " + std::to_string(t.offset) +
                 " ends at byte " + std::to_string(end) + ", past the buffer's " +
                 std::to_string(buffer_size) + " bytes");
  if (t.offset % dtype_size(t.dtype) != 0)
    return c.unsupported(std::string(what) + ": offset " + std::to_string(t.offset) +
                         " is not a multiple of the element size");
  return true;
}

// ---------------------------------------------------------------------------
// Elementwise: FILL, CAST, UNARY(_BACKWARD), BINARY, AXPBY.
// ---------------------------------------------------------------------------

namespace {

// nins inputs, each broadcasting to the single output.
bool validate_map(const plinth_op& op, int nins, bool f32_only, check& c) {
  if (!expect_counts(op, nins, nins, 1, 1, c)) return false;
  const plinth_tensor& out = op.outputs[0];
  if (output_has_overlap(out)) return c.unsupported("out[0] has a stride-0 dim of size > 1");
  for (int i = 0; i < nins; ++i) {
    int64_t s[PLINTH_MAX_DIMS];
    if (!broadcast_strides(op.inputs[i], out, s))
      return c.bad(std::string(in_name(i)) + " " + shape_str(op.inputs[i]) +
                   " does not broadcast to out[0] " + shape_str(out));
    if (f32_only && !expect_dtype(op.inputs[i], PLINTH_DTYPE_F32, in_name(i), c)) return false;
  }
  if (f32_only && !expect_dtype(out, PLINTH_DTYPE_F32, "out[0]", c)) return false;
  return true;
}

bool cast_supported(plinth_dtype from, plinth_dtype to) {
  if (from == to) return true;
  auto is_float = [](plinth_dtype d) {
    return d == PLINTH_DTYPE_F32 || d == PLINTH_DTYPE_F16 || d == PLINTH_DTYPE_BF16 || d == PLINTH_DTYPE_F64;
  };
  if (is_float(from) && is_float(to)) return true;  // through f32 (f64 <-> f32 directly)
  if (to == PLINTH_DTYPE_F32)
    return from == PLINTH_DTYPE_I32 || from == PLINTH_DTYPE_I64 || from == PLINTH_DTYPE_U8 ||
           from == PLINTH_DTYPE_U16;
  return false;
}

bool unary_params(const plinth_op& op, check& c) {
  const auto* p =
      params_of<plinth_unary_params>(op, PLINTH_UNARY_PARAMS_STRUCT_SIZE, "plinth_unary_params", c);
  if (!p) return false;
  if (raw_enum(p->fn) < 0 || raw_enum(p->fn) > PLINTH_UNARY_SIGN)
    return c.unsupported("unknown unary fn " + std::to_string(raw_enum(p->fn)));
  return true;
}

}  // namespace

bool validate_fill(const plinth_op& op, check& c) {
  if (!expect_counts(op, 0, 0, 1, 1, c)) return false;
  if (!params_of<plinth_fill_params>(op, PLINTH_FILL_PARAMS_STRUCT_SIZE, "plinth_fill_params", c))
    return false;
  if (output_has_overlap(op.outputs[0])) return c.unsupported("out[0] has a stride-0 dim of size > 1");
  return true;
}

bool validate_cast(const plinth_op& op, check& c) {
  if (!validate_map(op, 1, false, c)) return false;
  const plinth_dtype from = op.inputs[0].dtype, to = op.outputs[0].dtype;
  if (!cast_supported(from, to))
    return c.unsupported(std::string("cast ") + dtype_name(from) + " -> " + dtype_name(to) +
                         " is not supported");
  return true;
}

bool validate_unary(const plinth_op& op, check& c) {
  return validate_map(op, 1, true, c) && unary_params(op, c);
}

bool validate_unary_backward(const plinth_op& op, check& c) {
  return validate_map(op, 2, true, c) && unary_params(op, c);
}

bool validate_binary(const plinth_op& op, check& c) {
  if (!validate_map(op, 2, true, c)) return false;
  const auto* p =
      params_of<plinth_binary_params>(op, PLINTH_BINARY_PARAMS_STRUCT_SIZE, "plinth_binary_params", c);
  if (!p) return false;
  if (raw_enum(p->fn) < 0 || raw_enum(p->fn) > PLINTH_BINARY_NE)
    return c.unsupported("unknown binary fn " + std::to_string(raw_enum(p->fn)));
  return true;
}

bool validate_select(const plinth_op& op, check& c) { return validate_map(op, 3, true, c); }

bool validate_axpby(const plinth_op& op, check& c) {
  if (!validate_map(op, 2, true, c)) return false;
  // ABI 1.0/1.1 callers pass the struct without fn (read only when
  // struct_size covers it, see axpby_fn).
  const auto* p =
      params_of<plinth_axpby_params>(op, PLINTH_AXPBY_PARAMS_V1_STRUCT_SIZE, "plinth_axpby_params", c);
  if (!p) return false;
  const int fn = axpby_fn(*p);
  if (fn < 0 || fn > PLINTH_UNARY_SIGN)
    return c.unsupported("unknown unary fn " + std::to_string(fn) + " in params fn");
  return true;
}

// ---------------------------------------------------------------------------
// MATMUL (the parts every backend shares).
// ---------------------------------------------------------------------------

bool matmul_operands(const plinth_op& op, bool lowp_out, check& c) {
  if (!expect_counts(op, 2, 3, 1, 1, c)) return false;
  if (!params_of<plinth_matmul_params>(op, PLINTH_MATMUL_PARAMS_STRUCT_SIZE, "plinth_matmul_params", c))
    return false;
  const plinth_tensor &a = op.inputs[0], &b = op.inputs[1], &out = op.outputs[0];
  auto lowp = [](plinth_dtype d) {
    return d == PLINTH_DTYPE_F32 || d == PLINTH_DTYPE_BF16 || d == PLINTH_DTYPE_F16;
  };
  if (a.dtype != b.dtype || !lowp(a.dtype))
    return c.unsupported(std::string("inputs must both be f32, bf16 or f16, got ") + dtype_name(a.dtype) +
                         " and " + dtype_name(b.dtype));
  if (!lowp_out && !expect_dtype(out, PLINTH_DTYPE_F32, "out[0]", c)) return false;
  if (lowp_out && !lowp(out.dtype))
    return c.unsupported(std::string("out[0] must be f32, bf16 or f16, got ") + dtype_name(out.dtype));
  const int nd = out.ndim;
  if (nd < 2) return c.bad("out[0] must have at least 2 dims, got " + shape_str(out));
  if (a.ndim < 2 || a.ndim > nd)
    return c.bad("in[0] " + shape_str(a) + " must have 2.." + std::to_string(nd) + " dims");
  if (b.ndim < 2 || b.ndim > nd)
    return c.bad("in[1] " + shape_str(b) + " must have 2.." + std::to_string(nd) + " dims");
  return true;
}

bool matmul_no_chain(const plinth_op& op, int64_t am, int64_t ak, int64_t bk, int64_t bn, check& c) {
  return c.bad("shapes do not chain: op(in[0]) is (" + std::to_string(am) + ", " + std::to_string(ak) +
               "), op(in[1]) is (" + std::to_string(bk) + ", " + std::to_string(bn) + "), out[0] is " +
               shape_str(op.outputs[0]));
}

bool matmul_no_broadcast(const plinth_op& op, int d, check& c) {
  return c.bad("batch dim " + std::to_string(d) + " of in[0] " + shape_str(op.inputs[0]) + " / in[1] " +
               shape_str(op.inputs[1]) + " does not broadcast to out[0] " + shape_str(op.outputs[0]));
}

bool matmul_bias(const plinth_op& op, check& c) {
  if (op.num_inputs != 3) return true;
  const plinth_tensor& bias = op.inputs[2];
  const int64_t N = op.outputs[0].shape[op.outputs[0].ndim - 1];
  if (!expect_f32c(bias, "in[2] bias", c)) return false;
  if (numel(bias) != N)
    return c.bad("in[2] bias " + shape_str(bias) + " must have N = " + std::to_string(N) + " elements");
  return true;
}

// ---------------------------------------------------------------------------
// REDUCE, ARGMAX.
// ---------------------------------------------------------------------------

bool validate_reduce(const plinth_op& op, check& c) {
  if (!expect_counts(op, 1, 1, 1, 1, c)) return false;
  const auto* p =
      params_of<plinth_reduce_params>(op, PLINTH_REDUCE_PARAMS_STRUCT_SIZE, "plinth_reduce_params", c);
  if (!p) return false;
  if (raw_enum(p->fn) < 0 || raw_enum(p->fn) > PLINTH_REDUCE_MIN)
    return c.unsupported("unknown reduce fn " + std::to_string(raw_enum(p->fn)));
  const plinth_tensor &in = op.inputs[0], &out = op.outputs[0];
  if (!expect_dtype(in, PLINTH_DTYPE_F32, "in[0]", c) || !expect_dtype(out, PLINTH_DTYPE_F32, "out[0]", c))
    return false;
  if (in.ndim != out.ndim)
    return c.bad("out[0] " + shape_str(out) + " must have in[0]'s ndim " + std::to_string(in.ndim) +
                 " (size 1 in reduced dims)");
  for (int d = 0; d < in.ndim; ++d)
    if (out.shape[d] != 1 && out.shape[d] != in.shape[d])
      return c.bad("out[0] " + shape_str(out) + " dim " + std::to_string(d) + " must be 1 or " +
                   std::to_string(in.shape[d]));
  if (output_has_overlap(out)) return c.unsupported("out[0] has a stride-0 dim of size > 1");
  return true;
}

bool validate_argmax(const plinth_op& op, check& c) {
  if (!expect_counts(op, 1, 1, 1, 1, c)) return false;
  const plinth_tensor &in = op.inputs[0], &out = op.outputs[0];
  if (!expect_dtype(in, PLINTH_DTYPE_F32, "in[0]", c) || !expect_dtype(out, PLINTH_DTYPE_I32, "out[0]", c))
    return false;
  if (in.ndim < 1) return c.bad("in[0] must have at least 1 dim");
  if (!expect_contiguous(in, "in[0]", c) || !expect_contiguous(out, "out[0]", c)) return false;
  if (in.shape[in.ndim - 1] == 0 && numel(out) > 0) return c.bad("argmax over an empty last dim");
  if (numel(out) * in.shape[in.ndim - 1] != numel(in))
    return c.bad("out[0] " + shape_str(out) + " must hold one index per row of in[0] " + shape_str(in));
  return true;
}

// ---------------------------------------------------------------------------
// SOFTMAX, CROSS_ENTROPY (and backward).
// ---------------------------------------------------------------------------

namespace {

// nins inputs and one output, all f32, contiguous and of in[0]'s shape.
bool validate_rows(const plinth_op& op, int nins, check& c) {
  if (!expect_counts(op, nins, nins, 1, 1, c)) return false;
  const plinth_tensor& ref = op.inputs[0];
  if (ref.ndim < 1) return c.bad("in[0] must have at least 1 dim");
  for (int i = 0; i <= nins; ++i) {
    const plinth_tensor& t = i < nins ? op.inputs[i] : op.outputs[0];
    const std::string_view w = i < nins ? in_name(i) : out_name(0);
    if (!expect_f32c(t, w, c)) return false;
    if (!same_shape(t, ref))
      return c.bad(std::string(w) + " " + shape_str(t) + " != in[0] " + shape_str(ref));
  }
  return true;
}

bool validate_xent_common(const plinth_op& op, const plinth_tensor& rows, const plinth_tensor& targets,
                          check& c) {
  // ABI 1.0/1.1 callers pass the struct without label_smoothing (read only
  // when struct_size covers it, see xent_label_smoothing).
  const auto* p =
      params_of<plinth_xent_params>(op, PLINTH_XENT_PARAMS_V1_STRUCT_SIZE, "plinth_xent_params", c);
  if (!p) return false;
  const float s = xent_label_smoothing(*p);
  if (!(s >= 0.0f && s < 1.0f))
    return c.bad("params label_smoothing " + std::to_string(s) + " is outside [0, 1)");
  if (rows.ndim < 1) return c.bad("logits/probs must have at least 1 dim");
  if (!expect_dtype(targets, PLINTH_DTYPE_I32, "targets", c) || !expect_contiguous(targets, "targets", c))
    return false;
  const int64_t C = rows.shape[rows.ndim - 1];
  if (numel(targets) * C != numel(rows) || (C == 0 && numel(targets) != 0))
    return c.bad("targets " + shape_str(targets) + " must hold one class per row of " + shape_str(rows));
  return true;
}

}  // namespace

bool validate_softmax(const plinth_op& op, check& c) { return validate_rows(op, 1, c); }
bool validate_softmax_backward(const plinth_op& op, check& c) { return validate_rows(op, 2, c); }

bool validate_cross_entropy(const plinth_op& op, check& c) {
  if (!expect_counts(op, 2, 2, 2, 2, c)) return false;
  const plinth_tensor& x = op.inputs[0];
  if (!expect_f32c(x, "in[0] logits", c) || !validate_xent_common(op, x, op.inputs[1], c)) return false;
  const plinth_tensor &loss = op.outputs[0], &probs = op.outputs[1];
  if (!expect_f32c(loss, "out[0] losses", c)) return false;
  if (numel(loss) != numel(op.inputs[1]))
    return c.bad("out[0] losses " + shape_str(loss) + " must have one entry per row");
  if (!expect_f32c(probs, "out[1] probs", c)) return false;
  if (!same_shape(probs, x)) return c.bad("out[1] probs " + shape_str(probs) + " != logits " + shape_str(x));
  return true;
}

bool validate_cross_entropy_backward(const plinth_op& op, check& c) {
  if (!expect_counts(op, 2, 3, 1, 1, c)) return false;
  const plinth_tensor& probs = op.inputs[0];
  if (!expect_f32c(probs, "in[0] probs", c) || !validate_xent_common(op, probs, op.inputs[1], c))
    return false;
  if (op.num_inputs == 3) {
    const plinth_tensor& g = op.inputs[2];
    if (!expect_f32c(g, "in[2] dloss", c)) return false;
    if (numel(g) != numel(op.inputs[1]))
      return c.bad("in[2] dloss " + shape_str(g) + " must have one entry per row");
  }
  const plinth_tensor& dx = op.outputs[0];
  if (!expect_f32c(dx, "out[0]", c)) return false;
  if (!same_shape(dx, probs)) return c.bad("out[0] " + shape_str(dx) + " != probs " + shape_str(probs));
  return true;
}

// ---------------------------------------------------------------------------
// LAYERNORM (and backward).
// ---------------------------------------------------------------------------

namespace {

bool expect_shape_of_x(const plinth_tensor& t, const plinth_tensor& x, const char* what, check& c) {
  if (!same_shape(t, x)) return c.bad(std::string(what) + " " + shape_str(t) + " != x " + shape_str(x));
  return true;
}

}  // namespace

bool validate_layernorm(const plinth_op& op, check& c) {
  if (!expect_counts(op, 3, 3, 3, 3, c)) return false;
  if (!params_of<plinth_layernorm_params>(op, PLINTH_LAYERNORM_PARAMS_STRUCT_SIZE, "plinth_layernorm_params",
                                          c))
    return false;
  const plinth_tensor& x = op.inputs[0];
  if (x.ndim < 1) return c.bad("in[0] x must have at least 1 dim");
  const int64_t C = x.shape[x.ndim - 1];
  const int64_t N = C ? numel(x) / C : 0;
  return expect_f32c(x, "in[0] x", c) && expect_f32c(op.inputs[1], "in[1] gamma", c) &&
         expect_numel(op.inputs[1], C, "in[1] gamma", c) && expect_f32c(op.inputs[2], "in[2] beta", c) &&
         expect_numel(op.inputs[2], C, "in[2] beta", c) && expect_f32c(op.outputs[0], "out[0] y", c) &&
         expect_shape_of_x(op.outputs[0], x, "out[0] y", c) && expect_f32c(op.outputs[1], "out[1] mean", c) &&
         expect_numel(op.outputs[1], N, "out[1] mean", c) && expect_f32c(op.outputs[2], "out[2] rstd", c) &&
         expect_numel(op.outputs[2], N, "out[2] rstd", c);
}

bool validate_layernorm_backward(const plinth_op& op, check& c) {
  if (!expect_counts(op, 5, 5, 3, 3, c)) return false;
  if (!params_of<plinth_layernorm_params>(op, PLINTH_LAYERNORM_PARAMS_STRUCT_SIZE, "plinth_layernorm_params",
                                          c))
    return false;
  const plinth_tensor& x = op.inputs[1];
  if (x.ndim < 1) return c.bad("in[1] x must have at least 1 dim");
  const int64_t C = x.shape[x.ndim - 1];
  const int64_t N = C ? numel(x) / C : 0;
  return expect_f32c(op.inputs[0], "in[0] dy", c) && expect_shape_of_x(op.inputs[0], x, "in[0] dy", c) &&
         expect_f32c(x, "in[1] x", c) && expect_f32c(op.inputs[2], "in[2] gamma", c) &&
         expect_numel(op.inputs[2], C, "in[2] gamma", c) && expect_f32c(op.inputs[3], "in[3] mean", c) &&
         expect_numel(op.inputs[3], N, "in[3] mean", c) && expect_f32c(op.inputs[4], "in[4] rstd", c) &&
         expect_numel(op.inputs[4], N, "in[4] rstd", c) && expect_f32c(op.outputs[0], "out[0] dx", c) &&
         expect_shape_of_x(op.outputs[0], x, "out[0] dx", c) &&
         expect_f32c(op.outputs[1], "out[1] dgamma", c) &&
         expect_numel(op.outputs[1], C, "out[1] dgamma", c) &&
         expect_f32c(op.outputs[2], "out[2] dbeta", c) && expect_numel(op.outputs[2], C, "out[2] dbeta", c);
}

// ---------------------------------------------------------------------------
// BATCHNORM (and backward).
// ---------------------------------------------------------------------------

namespace {

const plinth_batchnorm_params* batchnorm_params(const plinth_op& op, check& c) {
  const auto* p = params_of<plinth_batchnorm_params>(op, PLINTH_BATCHNORM_PARAMS_STRUCT_SIZE,
                                                     "plinth_batchnorm_params", c);
  if (!p) return nullptr;
  if (!(p->eps >= 0.0f) || !std::isfinite(p->eps)) {
    c.bad("params eps " + std::to_string(p->eps) + " must be finite and >= 0");
    return nullptr;
  }
  if (!(p->momentum >= 0.0f && p->momentum <= 1.0f)) {
    c.bad("params momentum " + std::to_string(p->momentum) + " is outside [0, 1]");
    return nullptr;
  }
  return p;
}

// x (N, C, S...) f32 contiguous with at least 2 dims; `what` names it.
bool batchnorm_x(const plinth_tensor& x, const char* what, batchnorm_dims& d, check& c) {
  if (!expect_f32c(x, what, c)) return false;
  if (x.ndim < 2)
    return c.bad(std::string(what) + " " + shape_str(x) + " must be (N, C, ...) with 2 or more dims");
  d.N = x.shape[0];
  d.C = x.shape[1];
  d.S = 1;
  for (int i = 2; i < x.ndim; ++i) d.S *= x.shape[i];
  return true;
}

bool per_channel(const plinth_tensor& t, int64_t C, std::string_view what, check& c) {
  return expect_f32c(t, what, c) && expect_numel(t, C, what, c);
}

}  // namespace

bool validate_batchnorm(const plinth_op& op, batchnorm_dims& d, check& c) {
  if (!expect_counts(op, 5, 5, 1, 5, c)) return false;
  const plinth_batchnorm_params* p = batchnorm_params(op, c);
  if (!p) return false;
  const plinth_tensor& x = op.inputs[0];
  if (!batchnorm_x(x, "in[0] x", d, c)) return false;
  if (!per_channel(op.inputs[1], d.C, "in[1] gamma", c) || !per_channel(op.inputs[2], d.C, "in[2] beta", c) ||
      !per_channel(op.inputs[3], d.C, "in[3] running_mean", c) ||
      !per_channel(op.inputs[4], d.C, "in[4] running_var", c))
    return false;
  if (!expect_f32c(op.outputs[0], "out[0] y", c) || !expect_shape_of_x(op.outputs[0], x, "out[0] y", c))
    return false;
  if (!p->training) {
    if (op.num_outputs != 1)
      return c.bad("eval mode (training = 0) has 1 output (y), got " + std::to_string(op.num_outputs));
    return true;
  }
  if (op.num_outputs != 3 && op.num_outputs != 5)
    return c.bad("training mode has 3 outputs (y, mean, rstd) or 5 (and running_mean, running_var), got " +
                 std::to_string(op.num_outputs));
  if (!per_channel(op.outputs[1], d.C, "out[1] mean", c) ||
      !per_channel(op.outputs[2], d.C, "out[2] rstd", c))
    return false;
  if (op.num_outputs == 5 && (!per_channel(op.outputs[3], d.C, "out[3] running_mean", c) ||
                              !per_channel(op.outputs[4], d.C, "out[4] running_var", c)))
    return false;
  // torch: "Expected more than 1 value per channel when training".
  if (d.N * d.S == 1) return c.bad("training needs more than 1 value per channel, got x " + shape_str(x));
  return true;
}

bool validate_batchnorm_backward(const plinth_op& op, batchnorm_dims& d, check& c) {
  if (!expect_counts(op, 5, 5, 3, 3, c)) return false;
  const plinth_batchnorm_params* p = batchnorm_params(op, c);
  if (!p) return false;
  if (!p->training)
    return c.bad("BATCHNORM_BACKWARD is the training-mode backward: params training must be 1");
  const plinth_tensor& x = op.inputs[1];
  if (!batchnorm_x(x, "in[1] x", d, c)) return false;
  return expect_f32c(op.inputs[0], "in[0] dy", c) && expect_shape_of_x(op.inputs[0], x, "in[0] dy", c) &&
         per_channel(op.inputs[2], d.C, "in[2] gamma", c) &&
         per_channel(op.inputs[3], d.C, "in[3] mean", c) && per_channel(op.inputs[4], d.C, "in[4] rstd", c) &&
         expect_f32c(op.outputs[0], "out[0] dx", c) && expect_shape_of_x(op.outputs[0], x, "out[0] dx", c) &&
         per_channel(op.outputs[1], d.C, "out[1] dgamma", c) &&
         per_channel(op.outputs[2], d.C, "out[2] dbeta", c);
}

// ---------------------------------------------------------------------------
// EMBEDDING (and backward).
// ---------------------------------------------------------------------------

namespace {

bool validate_ids(const plinth_tensor& ids, check& c) {
  if (ids.dtype != PLINTH_DTYPE_I32 && ids.dtype != PLINTH_DTYPE_I64)
    return c.unsupported(std::string("ids must be i32 or i64, got ") + dtype_name(ids.dtype));
  return expect_contiguous(ids, "ids", c);
}

// rows is ids' shape + (C), C the table's row length.
bool validate_rows_of(const plinth_tensor& rows, const plinth_tensor& ids, const plinth_tensor& table,
                      const char* what, check& c) {
  if (!expect_f32c(rows, what, c)) return false;
  const int64_t C = table.shape[1];
  if (rows.ndim != ids.ndim + 1 || rows.shape[rows.ndim - 1] != C)
    return c.bad(std::string(what) + " " + shape_str(rows) + " must be ids " + shape_str(ids) + " + (" +
                 std::to_string(C) + ")");
  for (int d = 0; d < ids.ndim; ++d)
    if (rows.shape[d] != ids.shape[d])
      return c.bad(std::string(what) + " " + shape_str(rows) + " must be ids " + shape_str(ids) + " + (C)");
  return true;
}

bool validate_table(const plinth_tensor& t, const char* what, check& c) {
  if (!expect_f32c(t, what, c)) return false;
  if (t.ndim != 2) return c.bad(std::string(what) + " must be (V, C), got " + shape_str(t));
  return true;
}

}  // namespace

bool validate_embedding(const plinth_op& op, check& c) {
  if (!expect_counts(op, 2, 2, 1, 1, c)) return false;
  return validate_ids(op.inputs[0], c) && validate_table(op.inputs[1], "in[1] table", c) &&
         validate_rows_of(op.outputs[0], op.inputs[0], op.inputs[1], "out[0]", c);
}

bool validate_embedding_backward(const plinth_op& op, check& c) {
  if (!expect_counts(op, 2, 2, 1, 1, c)) return false;
  return validate_ids(op.inputs[1], c) && validate_table(op.outputs[0], "out[0] dtable", c) &&
         validate_rows_of(op.inputs[0], op.inputs[1], op.outputs[0], "in[0] dout", c);
}

// ---------------------------------------------------------------------------
// ATTENTION (and backward).
// ---------------------------------------------------------------------------

namespace {

// (B, H, T, D) of q's shape, f32; any strides but a contiguous last dim.
bool expect_bhtd(const plinth_tensor& t, const plinth_tensor& ref, const char* what, check& c) {
  if (!expect_dtype(t, PLINTH_DTYPE_F32, what, c)) return false;
  if (t.ndim == 4 && t.shape[3] > 1 && t.strides[3] != 1)
    return c.bad(std::string(what) + ": the last dim (D) must be contiguous (stride 1)");
  if (!same_shape(t, ref)) return c.bad(std::string(what) + " " + shape_str(t) + " != q " + shape_str(ref));
  return true;
}

bool expect_lse(const plinth_tensor& t, const plinth_tensor& q, const char* what, check& c) {
  if (!expect_f32c(t, what, c)) return false;
  if (t.ndim != 3 || t.shape[0] != q.shape[0] || t.shape[1] != q.shape[1] || t.shape[2] != q.shape[2])
    return c.bad(std::string(what) + " " + shape_str(t) + " must be (B, H, T) of q " + shape_str(q));
  return true;
}

bool attention_params(const plinth_op& op, check& c) {
  return params_of<plinth_attention_params>(op, PLINTH_ATTENTION_PARAMS_STRUCT_SIZE,
                                            "plinth_attention_params", c) != nullptr;
}

}  // namespace

bool validate_attention(const plinth_op& op, check& c) {
  if (!expect_counts(op, 3, 3, 2, 2, c) || !attention_params(op, c)) return false;
  const plinth_tensor& q = op.inputs[0];
  if (q.ndim != 4) return c.bad("q must be (B, H, T, D), got " + shape_str(q));
  return expect_bhtd(q, q, "in[0] q", c) && expect_bhtd(op.inputs[1], q, "in[1] k", c) &&
         expect_bhtd(op.inputs[2], q, "in[2] v", c) && expect_bhtd(op.outputs[0], q, "out[0] y", c) &&
         expect_lse(op.outputs[1], q, "out[1] logsumexp", c);
}

bool validate_attention_backward(const plinth_op& op, check& c) {
  if (!expect_counts(op, 6, 6, 3, 3, c) || !attention_params(op, c)) return false;
  const plinth_tensor& q = op.inputs[1];
  if (q.ndim != 4) return c.bad("q must be (B, H, T, D), got " + shape_str(q));
  return expect_bhtd(op.inputs[0], q, "in[0] dy", c) && expect_bhtd(q, q, "in[1] q", c) &&
         expect_bhtd(op.inputs[2], q, "in[2] k", c) && expect_bhtd(op.inputs[3], q, "in[3] v", c) &&
         expect_bhtd(op.inputs[4], q, "in[4] y", c) && expect_lse(op.inputs[5], q, "in[5] logsumexp", c) &&
         expect_bhtd(op.outputs[0], q, "out[0] dq", c) && expect_bhtd(op.outputs[1], q, "out[1] dk", c) &&
         expect_bhtd(op.outputs[2], q, "out[2] dv", c);
}

// ---------------------------------------------------------------------------
// DROPOUT (and backward).
// ---------------------------------------------------------------------------

namespace {

bool validate_dropout_params(const plinth_op& op, check& c) {
  const auto* p =
      params_of<plinth_dropout_params>(op, PLINTH_DROPOUT_PARAMS_STRUCT_SIZE, "plinth_dropout_params", c);
  if (!p) return false;
  if (!(p->p >= 0.0f && p->p < 1.0f)) return c.bad("p = " + std::to_string(p->p) + " is outside [0, 1)");
  return true;
}

// Dtype d, contiguous, as many elements as ref.
bool expect_like(const plinth_tensor& t, const plinth_tensor& ref, plinth_dtype d, const char* what,
                 check& c) {
  if (!expect_dtype(t, d, what, c) || !expect_contiguous(t, what, c)) return false;
  if (numel(t) != numel(ref)) return c.bad(std::string(what) + " " + shape_str(t) + " != " + shape_str(ref));
  return true;
}

}  // namespace

bool validate_dropout(const plinth_op& op, check& c) {
  if (!expect_counts(op, 1, 1, 1, 2, c) || !validate_dropout_params(op, c)) return false;
  const plinth_tensor& x = op.inputs[0];
  return expect_like(x, x, PLINTH_DTYPE_F32, "in[0]", c) &&
         expect_like(op.outputs[0], x, PLINTH_DTYPE_F32, "out[0]", c) &&
         (op.num_outputs < 2 || expect_like(op.outputs[1], x, PLINTH_DTYPE_U8, "out[1] mask", c));
}

bool validate_dropout_backward(const plinth_op& op, check& c) {
  if (!expect_counts(op, 1, 2, 1, 1, c) || !validate_dropout_params(op, c)) return false;
  const plinth_tensor& g = op.inputs[0];
  return expect_like(g, g, PLINTH_DTYPE_F32, "in[0] dy", c) &&
         expect_like(op.outputs[0], g, PLINTH_DTYPE_F32, "out[0]", c) &&
         (op.num_inputs < 2 || expect_like(op.inputs[1], g, PLINTH_DTYPE_U8, "in[1] mask", c));
}

// ---------------------------------------------------------------------------
// SQUARED_NORM, IS_FINITE: any number of f32 inputs to one f32 scalar.
// ---------------------------------------------------------------------------

namespace {

bool validate_all_f32_to_scalar(const plinth_op& op, check& c) {
  if (op.num_inputs < 1) return c.bad("takes at least 1 input, got " + std::to_string(op.num_inputs));
  if (op.num_outputs != 1) return c.bad("takes 1 output, got " + std::to_string(op.num_outputs));
  for (int i = 0; i < op.num_inputs; ++i)
    if (!expect_f32c(op.inputs[i], in_name(i), c)) return false;
  if (!expect_dtype(op.outputs[0], PLINTH_DTYPE_F32, "out[0]", c)) return false;
  if (numel(op.outputs[0]) != 1)
    return c.bad("out[0] must be a scalar (1 element), got " + shape_str(op.outputs[0]));
  return true;
}

}  // namespace

bool validate_squared_norm(const plinth_op& op, check& c) { return validate_all_f32_to_scalar(op, c); }
bool validate_is_finite(const plinth_op& op, check& c) { return validate_all_f32_to_scalar(op, c); }

// ---------------------------------------------------------------------------
// ADAMW_STEP, SGD_STEP.
// ---------------------------------------------------------------------------

namespace {

// f32, contiguous, as many elements as the param.
bool expect_param(const plinth_tensor& t, const plinth_tensor& ref, const char* what, check& c) {
  if (!expect_f32c(t, what, c)) return false;
  if (numel(t) != numel(ref))
    return c.bad(std::string(what) + " " + shape_str(t) + " != param " + shape_str(ref));
  return true;
}

}  // namespace

bool validate_adamw_step(const plinth_op& op, check& c) {
  if (!expect_counts(op, 2, 4, 3, 3, c)) return false;
  if (op.num_inputs == 3) return c.bad("takes 2 (param, grad) or 4 (param, grad, m, v) inputs, got 3");
  const auto* p =
      params_of<plinth_adamw_params>(op, PLINTH_ADAMW_PARAMS_STRUCT_SIZE, "plinth_adamw_params", c);
  if (!p) return false;
  if (p->step < 1) return c.bad("step must be >= 1 (1-based), got " + std::to_string(p->step));
  const plinth_tensor& w = op.inputs[0];
  static const char* in_names[] = {"in[0] param", "in[1] grad", "in[2] m", "in[3] v"};
  static const char* out_names[] = {"out[0] param", "out[1] m", "out[2] v"};
  for (int i = 0; i < op.num_inputs; ++i)
    if (!expect_param(op.inputs[i], w, in_names[i], c)) return false;
  for (int i = 0; i < 3; ++i)
    if (!expect_param(op.outputs[i], w, out_names[i], c)) return false;
  return true;
}

bool validate_sgd_step(const plinth_op& op, check& c) {
  if (!expect_counts(op, 2, 3, 1, 2, c)) return false;
  const auto* p = params_of<plinth_sgd_params>(op, PLINTH_SGD_PARAMS_STRUCT_SIZE, "plinth_sgd_params", c);
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
    if (!expect_param(op.inputs[i], w, in_names[i], c)) return false;
  for (int i = 0; i < op.num_outputs; ++i)
    if (!expect_param(op.outputs[i], w, out_names[i], c)) return false;
  return true;
}

// ---------------------------------------------------------------------------
// CONV2D (and backward).
// ---------------------------------------------------------------------------

bool conv2d_shapes(const plinth_tensor& x, const plinth_tensor& w, const plinth_tensor& y, const char* y_name,
                   const plinth_conv2d_params& p, conv2d_dims& s, check& c) {
  if (p.stride_h < 1 || p.stride_w < 1 || p.dilation_h < 1 || p.dilation_w < 1 || p.pad_h < 0 || p.pad_w < 0)
    return c.bad("params: stride (" + std::to_string(p.stride_h) + ", " + std::to_string(p.stride_w) +
                 ") and dilation (" + std::to_string(p.dilation_h) + ", " + std::to_string(p.dilation_w) +
                 ") must be >= 1, padding (" + std::to_string(p.pad_h) + ", " + std::to_string(p.pad_w) +
                 ") >= 0");
  if (x.ndim != 4) return c.bad("in x " + shape_str(x) + " must be (N, C, H, W)");
  if (w.ndim != 4) return c.bad("weight " + shape_str(w) + " must be (O, C, KH, KW)");
  if (y.ndim != 4) return c.bad(std::string(y_name) + " " + shape_str(y) + " must be (N, O, OH, OW)");
  s.N = x.shape[0];
  s.C = x.shape[1];
  s.H = x.shape[2];
  s.W = x.shape[3];
  s.O = w.shape[0];
  s.KH = w.shape[2];
  s.KW = w.shape[3];
  s.sh = p.stride_h;
  s.sw = p.stride_w;
  s.ph = p.pad_h;
  s.pw = p.pad_w;
  s.dh = p.dilation_h;
  s.dw = p.dilation_w;
  if (w.shape[1] != s.C)
    return c.bad("weight " + shape_str(w) + " has " + std::to_string(w.shape[1]) + " input channels, x " +
                 shape_str(x) + " has " + std::to_string(s.C));
  if (s.KH < 1 || s.KW < 1) return c.bad("weight " + shape_str(w) + " has an empty kernel");
  const int64_t eh = s.dh * (s.KH - 1) + 1, ew = s.dw * (s.KW - 1) + 1;
  if (eh > s.H + 2 * s.ph || ew > s.W + 2 * s.pw)
    return c.bad("kernel " + std::to_string(eh) + "x" + std::to_string(ew) +
                 " (dilated) is larger than the padded input " + std::to_string(s.H + 2 * s.ph) + "x" +
                 std::to_string(s.W + 2 * s.pw) + " of x " + shape_str(x));
  s.OH = (s.H + 2 * s.ph - eh) / s.sh + 1;
  s.OW = (s.W + 2 * s.pw - ew) / s.sw + 1;
  if (y.shape[0] != s.N || y.shape[1] != s.O || y.shape[2] != s.OH || y.shape[3] != s.OW)
    return c.bad(std::string(y_name) + " " + shape_str(y) + " must be (" + std::to_string(s.N) + ", " +
                 std::to_string(s.O) + ", " + std::to_string(s.OH) + ", " + std::to_string(s.OW) +
                 ") for x " + shape_str(x) + " and weight " + shape_str(w));
  return true;
}

namespace {

const plinth_conv2d_params* conv2d_params(const plinth_op& op, check& c) {
  return params_of<plinth_conv2d_params>(op, PLINTH_CONV2D_PARAMS_STRUCT_SIZE, "plinth_conv2d_params", c);
}

}  // namespace

bool validate_conv2d(const plinth_op& op, conv2d_dims& s, check& c) {
  if (!expect_counts(op, 2, 3, 1, 1, c)) return false;
  const plinth_conv2d_params* p = conv2d_params(op, c);
  if (!p) return false;
  const plinth_tensor &x = op.inputs[0], &w = op.inputs[1], &y = op.outputs[0];
  if (!expect_f32c(x, "in[0] x", c) || !expect_f32c(w, "in[1] weight", c) || !expect_f32c(y, "out[0] y", c))
    return false;
  if (!conv2d_shapes(x, w, y, "out[0] y", *p, s, c)) return false;
  if (op.num_inputs == 3) {
    const plinth_tensor& b = op.inputs[2];
    if (!expect_f32c(b, "in[2] bias", c)) return false;
    if (numel(b) != s.O)
      return c.bad("in[2] bias " + shape_str(b) + " must have O = " + std::to_string(s.O) + " elements");
  }
  return true;
}

bool validate_conv2d_backward(const plinth_op& op, conv2d_dims& s, check& c) {
  if (!expect_counts(op, 3, 3, 1, 3, c)) return false;
  const plinth_conv2d_params* p = conv2d_params(op, c);
  if (!p) return false;
  const plinth_tensor &dy = op.inputs[0], &x = op.inputs[1], &w = op.inputs[2];
  if (!expect_f32c(dy, "in[0] dy", c) || !expect_f32c(x, "in[1] x", c) || !expect_f32c(w, "in[2] weight", c))
    return false;
  if (!conv2d_shapes(x, w, dy, "in[0] dy", *p, s, c)) return false;
  const plinth_tensor& dx = op.outputs[0];
  if (numel(dx) != 0) {
    if (!expect_f32c(dx, "out[0] dx", c)) return false;
    if (!same_shape(dx, x))
      return c.bad("out[0] dx " + shape_str(dx) + " must match x " + shape_str(x) +
                   " (or have 0 elements to skip it)");
  }
  if (op.num_outputs >= 2) {
    const plinth_tensor& dw = op.outputs[1];
    if (!expect_f32c(dw, "out[1] dweight", c)) return false;
    if (!same_shape(dw, w))
      return c.bad("out[1] dweight " + shape_str(dw) + " must match weight " + shape_str(w));
  }
  if (op.num_outputs == 3) {
    const plinth_tensor& db = op.outputs[2];
    if (!expect_f32c(db, "out[2] dbias", c)) return false;
    if (numel(db) != s.O)
      return c.bad("out[2] dbias " + shape_str(db) + " must have O = " + std::to_string(s.O) + " elements");
  }
  return true;
}

// ---------------------------------------------------------------------------
// POOL2D (and backward).
// ---------------------------------------------------------------------------

bool pool2d_shapes(const plinth_tensor& x, const char* x_name, const plinth_tensor& y, const char* y_name,
                   const plinth_pool2d_params& p, pool2d_dims& s, check& c) {
  const int32_t fn = raw_enum(p.fn);
  if (fn != PLINTH_POOL_MAX && fn != PLINTH_POOL_AVG)
    return c.bad("params: unknown pool fn " + std::to_string(fn));
  if (p.kernel_h < 1 || p.kernel_w < 1 || p.stride_h < 1 || p.stride_w < 1)
    return c.bad("params: kernel (" + std::to_string(p.kernel_h) + ", " + std::to_string(p.kernel_w) +
                 ") and stride (" + std::to_string(p.stride_h) + ", " + std::to_string(p.stride_w) +
                 ") must be >= 1");
  if (p.pad_h < 0 || p.pad_w < 0 || 2 * int64_t(p.pad_h) > p.kernel_h || 2 * int64_t(p.pad_w) > p.kernel_w)
    return c.bad("params: padding (" + std::to_string(p.pad_h) + ", " + std::to_string(p.pad_w) +
                 ") must be between 0 and half the kernel (" + std::to_string(p.kernel_h) + ", " +
                 std::to_string(p.kernel_w) + ")");
  if (x.ndim != 4) return c.bad(std::string(x_name) + " " + shape_str(x) + " must be (N, C, H, W)");
  if (y.ndim != 4) return c.bad(std::string(y_name) + " " + shape_str(y) + " must be (N, C, OH, OW)");
  s.N = x.shape[0];
  s.C = x.shape[1];
  s.H = x.shape[2];
  s.W = x.shape[3];
  s.kh = p.kernel_h;
  s.kw = p.kernel_w;
  s.sh = p.stride_h;
  s.sw = p.stride_w;
  s.ph = p.pad_h;
  s.pw = p.pad_w;
  s.max = fn == PLINTH_POOL_MAX;
  s.include_pad = p.count_include_pad != 0;
  if (s.kh > s.H + 2 * s.ph || s.kw > s.W + 2 * s.pw)
    return c.bad("kernel " + std::to_string(s.kh) + "x" + std::to_string(s.kw) +
                 " is larger than the padded input " + std::to_string(s.H + 2 * s.ph) + "x" +
                 std::to_string(s.W + 2 * s.pw) + " of " + x_name + " " + shape_str(x));
  s.OH = (s.H + 2 * s.ph - s.kh) / s.sh + 1;
  s.OW = (s.W + 2 * s.pw - s.kw) / s.sw + 1;
  if (y.shape[0] != s.N || y.shape[1] != s.C || y.shape[2] != s.OH || y.shape[3] != s.OW)
    return c.bad(std::string(y_name) + " " + shape_str(y) + " must be (" + std::to_string(s.N) + ", " +
                 std::to_string(s.C) + ", " + std::to_string(s.OH) + ", " + std::to_string(s.OW) + ") for " +
                 x_name + " " + shape_str(x));
  return true;
}

namespace {

const plinth_pool2d_params* pool2d_params(const plinth_op& op, check& c) {
  return params_of<plinth_pool2d_params>(op, PLINTH_POOL2D_PARAMS_STRUCT_SIZE, "plinth_pool2d_params", c);
}

bool expect_argmax(const plinth_tensor& t, const plinth_tensor& y, const char* what, check& c) {
  if (!expect_dtype(t, PLINTH_DTYPE_I32, what, c) || !expect_contiguous(t, what, c)) return false;
  if (!same_shape(t, y)) return c.bad(std::string(what) + " " + shape_str(t) + " must match " + shape_str(y));
  return true;
}

}  // namespace

bool validate_pool2d(const plinth_op& op, check& c) {
  if (!expect_counts(op, 1, 1, 1, 2, c)) return false;
  const plinth_pool2d_params* p = pool2d_params(op, c);
  if (!p) return false;
  const plinth_tensor &x = op.inputs[0], &y = op.outputs[0];
  if (!expect_f32c(x, "in[0] x", c) || !expect_f32c(y, "out[0] y", c)) return false;
  pool2d_dims s;
  if (!pool2d_shapes(x, "in[0] x", y, "out[0] y", *p, s, c)) return false;
  if (op.num_outputs == 2) {
    if (!s.max) return c.bad("average pooling takes 1 output (no argmax), got 2");
    return expect_argmax(op.outputs[1], y, "out[1] argmax", c);
  }
  return true;
}

bool validate_pool2d_backward(const plinth_op& op, check& c) {
  if (!expect_counts(op, 1, 2, 1, 1, c)) return false;
  const plinth_pool2d_params* p = pool2d_params(op, c);
  if (!p) return false;
  const plinth_tensor &dy = op.inputs[0], &dx = op.outputs[0];
  if (!expect_f32c(dy, "in[0] dy", c) || !expect_f32c(dx, "out[0] dx", c)) return false;
  pool2d_dims s;
  if (!pool2d_shapes(dx, "out[0] dx", dy, "in[0] dy", *p, s, c)) return false;
  if (s.max) {
    if (op.num_inputs != 2) return c.bad("max pooling backward takes 2 inputs (dy, argmax), got 1");
    return expect_argmax(op.inputs[1], dy, "in[1] argmax", c);
  }
  if (op.num_inputs != 1) return c.bad("average pooling backward takes 1 input (dy), got 2");
  return true;
}

bool validate_lion_step(const plinth_op& op, check& c) {
  if (!expect_counts(op, 3, 3, 2, 2, c)) return false;
  if (!params_of<plinth_lion_params>(op, PLINTH_LION_PARAMS_STRUCT_SIZE, "plinth_lion_params", c))
    return false;
  const plinth_tensor& w = op.inputs[0];
  static const char* in_names[] = {"in[0] param", "in[1] grad", "in[2] m"};
  static const char* out_names[] = {"out[0] param", "out[1] m"};
  for (int i = 0; i < 3; ++i)
    if (!expect_param(op.inputs[i], w, in_names[i], c)) return false;
  for (int i = 0; i < 2; ++i)
    if (!expect_param(op.outputs[i], w, out_names[i], c)) return false;
  return true;
}

// ---------------------------------------------------------------------------
// Every op kind.
// ---------------------------------------------------------------------------

bool validate(const plinth_op& op, const op_rules& rules, check& c) {
  if (!check_op(op, c)) return false;
  switch (raw_enum(op.kind)) {
    case PLINTH_OP_FILL:
      return validate_fill(op, c);
    case PLINTH_OP_CAST:
      return validate_cast(op, c);
    case PLINTH_OP_UNARY:
      return validate_unary(op, c);
    case PLINTH_OP_UNARY_BACKWARD:
      return validate_unary_backward(op, c);
    case PLINTH_OP_BINARY:
      return validate_binary(op, c);
    case PLINTH_OP_AXPBY:
      return validate_axpby(op, c);
    case PLINTH_OP_MATMUL:
      return rules.matmul(op, c);
    case PLINTH_OP_REDUCE:
      return validate_reduce(op, c);
    case PLINTH_OP_SOFTMAX:
      return validate_softmax(op, c);
    case PLINTH_OP_SOFTMAX_BACKWARD:
      return validate_softmax_backward(op, c);
    case PLINTH_OP_CROSS_ENTROPY:
      return validate_cross_entropy(op, c);
    case PLINTH_OP_CROSS_ENTROPY_BACKWARD:
      return validate_cross_entropy_backward(op, c);
    case PLINTH_OP_LAYERNORM:
      return validate_layernorm(op, c);
    case PLINTH_OP_LAYERNORM_BACKWARD:
      return validate_layernorm_backward(op, c);
    case PLINTH_OP_EMBEDDING:
      return validate_embedding(op, c);
    case PLINTH_OP_EMBEDDING_BACKWARD:
      return validate_embedding_backward(op, c);
    case PLINTH_OP_ATTENTION:
      return validate_attention(op, c);
    case PLINTH_OP_ATTENTION_BACKWARD:
      return validate_attention_backward(op, c);
    case PLINTH_OP_DROPOUT:
      return validate_dropout(op, c);
    case PLINTH_OP_DROPOUT_BACKWARD:
      return validate_dropout_backward(op, c);
    case PLINTH_OP_SQUARED_NORM:
      return validate_squared_norm(op, c);
    case PLINTH_OP_IS_FINITE:
      return validate_is_finite(op, c);
    case PLINTH_OP_ARGMAX:
      return validate_argmax(op, c);
    case PLINTH_OP_ADAMW_STEP:
      return validate_adamw_step(op, c);
    case PLINTH_OP_SGD_STEP:
      return validate_sgd_step(op, c);
    case PLINTH_OP_CONV2D: {
      conv2d_dims s;
      return validate_conv2d(op, s, c) && rules.conv2d(op, s, c);
    }
    case PLINTH_OP_CONV2D_BACKWARD: {
      conv2d_dims s;
      return validate_conv2d_backward(op, s, c) && rules.conv2d_backward(op, s, c);
    }
    case PLINTH_OP_POOL2D:
      return validate_pool2d(op, c);
    case PLINTH_OP_POOL2D_BACKWARD:
      return validate_pool2d_backward(op, c);
    case PLINTH_OP_BATCHNORM: {
      batchnorm_dims d;
      return validate_batchnorm(op, d, c);
    }
    case PLINTH_OP_BATCHNORM_BACKWARD: {
      batchnorm_dims d;
      return validate_batchnorm_backward(op, d, c);
    }
    case PLINTH_OP_SELECT:
      return validate_select(op, c);
    case PLINTH_OP_LION_STEP:
      return validate_lion_step(op, c);
    default:
      return c.unsupported("unknown op kind " + std::to_string(raw_enum(op.kind)));
  }
}

}  // namespace plinth::contract
