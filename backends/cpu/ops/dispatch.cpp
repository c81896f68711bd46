// dispatch.cpp — supports() and launch(): the checks every op shares (counts,
// tensor structs, dtypes, buffer bounds) and the switch to each op's
// validate_*/run_* pair. Ops run synchronously on the caller's thread (and
// the instance's pool); streams are ignored.
#include "../cpu_backend.hpp"
#include "plinth/ops.hpp"

namespace plinth::cpu {

size_t dtype_size(plinth_dtype d) { return sdk::dtype_size(d); }

const char* dtype_name(plinth_dtype d) {
  static const char* names[] = {"f32", "f16", "bf16", "f64", "i32", "i64", "u8", "u16"};
  return unsigned(d) < 8 ? names[d] : "unknown-dtype";
}

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

bool expect_counts(const plinth_op& op, int in_min, int in_max, int out_min, int out_max, check& c) {
  if (op.num_inputs < in_min || op.num_inputs > in_max)
    return c.bad(
        "takes " +
        (in_min == in_max ? std::to_string(in_min) : std::to_string(in_min) + ".." + std::to_string(in_max)) +
        " inputs, got " + std::to_string(op.num_inputs));
  if (op.num_outputs < out_min || op.num_outputs > out_max)
    return c.bad("takes " +
                 (out_min == out_max ? std::to_string(out_min)
                                     : std::to_string(out_min) + ".." + std::to_string(out_max)) +
                 " outputs, got " + std::to_string(op.num_outputs));
  return true;
}

bool expect_dtype(const plinth_tensor& t, plinth_dtype d, const char* what, check& c) {
  if (t.dtype != d)
    return c.unsupported(std::string(what) + " must be " + dtype_name(d) + ", got " + dtype_name(t.dtype));
  return true;
}

bool expect_contiguous(const plinth_tensor& t, const char* what, check& c) {
  if (!is_contiguous(t)) return c.unsupported(std::string(what) + " must be contiguous row-major");
  return true;
}

namespace {

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

// The tensor's bytes lie inside its buffer (and it has one when non-empty).
bool check_buffer(const plinth_tensor& t, const std::string& what, check& c) {
  const int64_t n = numel(t);
  if (n == 0) return true;
  if (!t.buffer) return c.bad(what + ": buffer is NULL for a tensor of " + std::to_string(n) + " elements");
  uint64_t last = 0;  // element offset of the last element
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

bool validate_common(const plinth_op& op, check& c) {
  if (op.struct_size < PLINTH_OP_STRUCT_SIZE) return c.bad("op struct_size is too small");
  if (op.num_inputs < 0 || op.num_outputs < 0) return c.bad("negative tensor count");
  if (op.num_inputs > 0 && !op.inputs) return c.bad("inputs is NULL");
  if (op.num_outputs > 0 && !op.outputs) return c.bad("outputs is NULL");
  for (int i = 0; i < op.num_inputs; ++i)
    if (!check_tensor(op.inputs[i], "in[" + std::to_string(i) + "]", c)) return false;
  for (int i = 0; i < op.num_outputs; ++i)
    if (!check_tensor(op.outputs[i], "out[" + std::to_string(i) + "]", c)) return false;
  return true;
}

bool validate_op(plinth_backend_ctx* ctx, const plinth_op& op, check& c) {
  if (!validate_common(op, c)) return false;
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
      return validate_matmul(ctx, op, c);
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
    case PLINTH_OP_CONV2D:
      return validate_conv2d(ctx, op, c);
    case PLINTH_OP_CONV2D_BACKWARD:
      return validate_conv2d_backward(ctx, op, c);
    case PLINTH_OP_POOL2D:
      return validate_pool2d(op, c);
    case PLINTH_OP_POOL2D_BACKWARD:
      return validate_pool2d_backward(op, c);
    default:
      return c.unsupported("unknown op kind " + std::to_string(raw_enum(op.kind)));
  }
}

plinth_status run_op(plinth_backend_ctx* ctx, const plinth_op& op) {
  switch (op.kind) {
    case PLINTH_OP_FILL:
      return run_fill(ctx, op);
    case PLINTH_OP_CAST:
      return run_cast(ctx, op);
    case PLINTH_OP_UNARY:
      return run_unary(ctx, op);
    case PLINTH_OP_UNARY_BACKWARD:
      return run_unary_backward(ctx, op);
    case PLINTH_OP_BINARY:
      return run_binary(ctx, op);
    case PLINTH_OP_AXPBY:
      return run_axpby(ctx, op);
    case PLINTH_OP_MATMUL:
      return run_matmul(ctx, op);
    case PLINTH_OP_REDUCE:
      return run_reduce(ctx, op);
    case PLINTH_OP_SOFTMAX:
      return run_softmax(ctx, op);
    case PLINTH_OP_SOFTMAX_BACKWARD:
      return run_softmax_backward(ctx, op);
    case PLINTH_OP_CROSS_ENTROPY:
      return run_cross_entropy(ctx, op);
    case PLINTH_OP_CROSS_ENTROPY_BACKWARD:
      return run_cross_entropy_backward(ctx, op);
    case PLINTH_OP_LAYERNORM:
      return run_layernorm(ctx, op);
    case PLINTH_OP_LAYERNORM_BACKWARD:
      return run_layernorm_backward(ctx, op);
    case PLINTH_OP_EMBEDDING:
      return run_embedding(ctx, op);
    case PLINTH_OP_EMBEDDING_BACKWARD:
      return run_embedding_backward(ctx, op);
    case PLINTH_OP_ATTENTION:
      return run_attention(ctx, op);
    case PLINTH_OP_ATTENTION_BACKWARD:
      return run_attention_backward(ctx, op);
    case PLINTH_OP_DROPOUT:
      return run_dropout(ctx, op);
    case PLINTH_OP_DROPOUT_BACKWARD:
      return run_dropout_backward(ctx, op);
    case PLINTH_OP_SQUARED_NORM:
      return run_squared_norm(ctx, op);
    case PLINTH_OP_IS_FINITE:
      return run_is_finite(ctx, op);
    case PLINTH_OP_ARGMAX:
      return run_argmax(ctx, op);
    case PLINTH_OP_ADAMW_STEP:
      return run_adamw_step(ctx, op);
    case PLINTH_OP_SGD_STEP:
      return run_sgd_step(ctx, op);
    case PLINTH_OP_CONV2D:
      return run_conv2d(ctx, op);
    case PLINTH_OP_CONV2D_BACKWARD:
      return run_conv2d_backward(ctx, op);
    case PLINTH_OP_POOL2D:
      return run_pool2d(ctx, op);
    case PLINTH_OP_POOL2D_BACKWARD:
      return run_pool2d_backward(ctx, op);
    default:
      return PLINTH_ERR_UNSUPPORTED;
  }
}

}  // namespace

int32_t supports(plinth_backend_ctx* ctx, const plinth_op* op) {
  if (!ctx || !op) return 0;
  try {
    check c;
    return validate_op(ctx, *op, c) ? 1 : 0;
  } catch (...) {
    return 0;
  }
}

plinth_status launch(plinth_backend_ctx* ctx, plinth_stream*, const plinth_op* op) {
  const plinth_host* h = ctx ? ctx->host : g_host;
  return sdk::guard(h, [&]() -> plinth_status {
    if (!ctx) return sdk::fail(h, PLINTH_ERR_INVALID_ARGUMENT, "cpu launch: instance is NULL");
    if (!op) return sdk::fail(h, PLINTH_ERR_INVALID_ARGUMENT, "cpu launch: op is NULL");
    check c;
    if (validate_op(ctx, *op, c)) {
      for (int i = 0; i < op->num_inputs && c.ok(); ++i)
        check_buffer(op->inputs[i], "in[" + std::to_string(i) + "]", c);
      for (int i = 0; i < op->num_outputs && c.ok(); ++i)
        check_buffer(op->outputs[i], "out[" + std::to_string(i) + "]", c);
    }
    if (!c.ok())
      return sdk::fail(h, c.code, std::string("cpu launch ") + op_name(raw_enum(op->kind)) + ": " + c.msg);
    return run_op(ctx, *op);
  });
}

}  // namespace plinth::cpu
