// op_contract.hpp — the rules of each op kind that sdk/include/plinth/backend.h
// sets (counts, params, shapes and the tensor structs), checked once for
// every backend the project builds. A rule broken is PLINTH_ERR_INVALID_ARGUMENT
// (`bad`): no backend may run the op. A layout or dtype the backends cannot
// run is PLINTH_ERR_UNSUPPORTED (`unsupported`), so the core falls back to
// another backend. The restrictions the CPU and GPU backends share (f32,
// contiguous rows) are checked here too, in one fixed order, so the two
// backends give the same answer and message for an op unless one adds a rule
// of its own (oneDNN's coverage, its MATMUL layout and output dtypes) through
// op_rules.
// Internal to the backends: not installed, nothing here crosses the ABI.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "plinth/backend.h"
#include "plinth/ops.hpp"
#include "plinth/plugin.hpp"

namespace plinth::contract {

// Result of validating an op: code PLINTH_OK, or the first error and its message.
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

// An ABI enum field as its raw int (plinth/plugin.hpp).
using sdk::raw_enum;

// A dtype's element size and name (plinth/ops.hpp).
using sdk::dtype_name;
using sdk::dtype_size;
const char* op_name(int32_t k);  // "UNKNOWN_OP" for none

inline int64_t numel(const plinth_tensor& t) {
  int64_t n = 1;
  for (int i = 0; i < t.ndim; ++i) n *= t.shape[i];
  return n;
}

// Row-major with unit last stride (size-1 dims may have any stride).
inline bool is_contiguous(const plinth_tensor& t) {
  int64_t expect = 1;
  for (int i = t.ndim - 1; i >= 0; --i) {
    if (t.shape[i] != 1 && t.strides[i] != expect) return false;
    expect *= t.shape[i];
  }
  return true;
}

std::string shape_str(const plinth_tensor& t);
bool same_shape(const plinth_tensor& a, const plinth_tensor& b);

// Input `t` viewed with out's shape: its dims align to the right of out's; a
// dim of size 1 (or missing) where out's is larger broadcasts (stride 0).
// Returns false when a dim neither matches nor is 1.
bool broadcast_strides(const plinth_tensor& t, const plinth_tensor& out, int64_t* s);
// An output view may not write one element twice.
bool output_has_overlap(const plinth_tensor& t);

// The views of an elementwise op as it walks them: out (view 0) and up to
// three inputs broadcast to its shape, size-1 dims dropped, and a dim merged
// into the next where every view walks the two contiguously (at least 1 dim).
struct strided_views {
  int ndim = 0;
  int nops = 0;
  int64_t shape[PLINTH_MAX_DIMS] = {};
  int64_t strides[4][PLINTH_MAX_DIMS] = {};
};
// Assumes the op's checks passed (every input broadcasts to out).
strided_views coalesce(const plinth_tensor& out, const plinth_tensor* const* ins, int nins);

// Checks the op's input/output counts (inclusive ranges).
bool expect_counts(const plinth_op& op, int in_min, int in_max, int out_min, int out_max, check& c);
// Checks `t` has dtype `d` (else unsupported), naming it `what` in the message.
// "in[i]" or "out[i]", without building a string for i < 16.
std::string_view tensor_name(bool output, int i);
bool expect_dtype(const plinth_tensor& t, plinth_dtype d, std::string_view what, check& c);
bool expect_contiguous(const plinth_tensor& t, std::string_view what, check& c);
bool expect_f32c(const plinth_tensor& t, std::string_view what, check& c);  // f32 and contiguous
bool expect_numel(const plinth_tensor& t, int64_t n, std::string_view what, check& c);

// Returns the op's params as P when present and large enough, else nullptr
// with a message in `c`.
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

// The op struct and every tensor struct it points to (not the buffers).
bool check_op(const plinth_op& op, check& c);
// The tensor's bytes lie inside its buffer of buffer_size bytes (and it has
// one, has_buffer, when non-empty).
bool check_view(const plinth_tensor& t, std::string_view what, bool has_buffer, uint64_t buffer_size,
                check& c);
// check_view for every input and output: launch() runs it after validate().
// plinth_buffer is each backend's own struct, complete only in its sources:
// B defers reading its size to there.
template <class B = plinth_buffer>
bool check_buffers(const plinth_op& op, check& c) {
  auto one = [&c](const plinth_tensor& t, bool output, int i) {
    const B* b = t.buffer;
    return check_view(t, tensor_name(output, i), b != nullptr, b ? b->size : 0, c);
  };
  for (int i = 0; i < op.num_inputs; ++i)
    if (!one(op.inputs[i], false, i)) return false;
  for (int i = 0; i < op.num_outputs; ++i)
    if (!one(op.outputs[i], true, i)) return false;
  return true;
}

// ---------------------------------------------------------------------------
// Shapes the backends also run with.
// ---------------------------------------------------------------------------

struct conv2d_dims {
  int64_t N = 0, C = 0, H = 0, W = 0, O = 0, KH = 0, KW = 0, OH = 0, OW = 0;
  int64_t sh = 1, sw = 1, ph = 0, pw = 0, dh = 1, dw = 1;
};
// Shapes of x, weight and y (= dy) checked against each other and the params.
bool conv2d_shapes(const plinth_tensor& x, const plinth_tensor& w, const plinth_tensor& y, const char* y_name,
                   const plinth_conv2d_params& p, conv2d_dims& s, check& c);

struct pool2d_dims {
  int64_t N = 0, C = 0, H = 0, W = 0, OH = 0, OW = 0;
  int64_t kh = 1, kw = 1, sh = 1, sw = 1, ph = 0, pw = 0;
  bool max = true, include_pad = true;
};
// Shapes of x (= dx) and y (= dy) checked against each other and the params.
bool pool2d_shapes(const plinth_tensor& x, const char* x_name, const plinth_tensor& y, const char* y_name,
                   const plinth_pool2d_params& p, pool2d_dims& s, check& c);

// BATCHNORM's x viewed as (N, C, S): S the product of the dims after C (1
// for (N, C) features).
struct batchnorm_dims {
  int64_t N = 0, C = 0, S = 1;
};

// CROSS_ENTROPY's label smoothing: the ABI 1.2 field when the caller's
// struct covers it, else 0 (plain cross-entropy).
// AXPBY's function on its result (ABI 1.2); IDENTITY for an older caller's struct.
inline int axpby_fn(const plinth_axpby_params& p) {
  return p.struct_size >= PLINTH_AXPBY_PARAMS_STRUCT_SIZE ? static_cast<int>(p.fn) : 0;
}

inline float xent_label_smoothing(const plinth_xent_params& p) {
  return p.struct_size >= PLINTH_XENT_PARAMS_STRUCT_SIZE ? p.label_smoothing : 0.0f;
}

// MATMUL's checks before and after a backend lays out its problem (the
// layout, its chaining and batch broadcasting are the backend's, whose
// representation differs): counts, params, dtypes and ranks; then the bias.
// `lowp_out`: the backend writes bf16/f16 outputs too, not only f32.
bool matmul_operands(const plinth_op& op, bool lowp_out, check& c);
bool matmul_bias(const plinth_op& op, check& c);
// The messages of a problem whose op(in[0]) (am, ak) and op(in[1]) (bk, bn)
// do not chain into out[0], or whose batch dim d does not broadcast.
bool matmul_no_chain(const plinth_op& op, int64_t am, int64_t ak, int64_t bk, int64_t bn, check& c);
bool matmul_no_broadcast(const plinth_op& op, int d, check& c);

// ---------------------------------------------------------------------------
// Each op kind.
// ---------------------------------------------------------------------------

bool validate_fill(const plinth_op& op, check& c);
bool validate_cast(const plinth_op& op, check& c);
bool validate_unary(const plinth_op& op, check& c);
bool validate_unary_backward(const plinth_op& op, check& c);
bool validate_binary(const plinth_op& op, check& c);
bool validate_axpby(const plinth_op& op, check& c);
bool validate_select(const plinth_op& op, check& c);
bool validate_reduce(const plinth_op& op, check& c);
bool validate_argmax(const plinth_op& op, check& c);
bool validate_softmax(const plinth_op& op, check& c);
bool validate_softmax_backward(const plinth_op& op, check& c);
bool validate_cross_entropy(const plinth_op& op, check& c);
bool validate_cross_entropy_backward(const plinth_op& op, check& c);
bool validate_layernorm(const plinth_op& op, check& c);
bool validate_layernorm_backward(const plinth_op& op, check& c);
bool validate_embedding(const plinth_op& op, check& c);
bool validate_embedding_backward(const plinth_op& op, check& c);
bool validate_attention(const plinth_op& op, check& c);
bool validate_attention_backward(const plinth_op& op, check& c);
bool validate_dropout(const plinth_op& op, check& c);
bool validate_dropout_backward(const plinth_op& op, check& c);
bool validate_squared_norm(const plinth_op& op, check& c);
bool validate_is_finite(const plinth_op& op, check& c);
bool validate_adamw_step(const plinth_op& op, check& c);
bool validate_sgd_step(const plinth_op& op, check& c);
bool validate_lion_step(const plinth_op& op, check& c);
bool validate_conv2d(const plinth_op& op, conv2d_dims& s, check& c);
bool validate_conv2d_backward(const plinth_op& op, conv2d_dims& s, check& c);
bool validate_pool2d(const plinth_op& op, check& c);
bool validate_pool2d_backward(const plinth_op& op, check& c);
// x, the per-channel tensors and the outputs of each mode; training needs
// N * S > 1 (the unbiased variance). Backward is training mode only.
bool validate_batchnorm(const plinth_op& op, batchnorm_dims& d, check& c);
bool validate_batchnorm_backward(const plinth_op& op, batchnorm_dims& d, check& c);

// What a backend decides itself: MATMUL whole (see matmul_operands), and
// what it adds to the contract of CONV2D and CONV2D_BACKWARD (called once
// the contract holds, with the shapes it found).
class op_rules {
 public:
  virtual bool matmul(const plinth_op& op, check& c) const = 0;
  virtual bool conv2d(const plinth_op&, const conv2d_dims&, check&) const { return true; }
  virtual bool conv2d_backward(const plinth_op&, const conv2d_dims&, check&) const { return true; }

 protected:
  ~op_rules() = default;
};

// Everything but the buffers (supports() and launch()): check_op, then the
// op kind's checks; an unknown kind is unsupported.
bool validate(const plinth_op& op, const op_rules& rules, check& c);

}  // namespace plinth::contract
