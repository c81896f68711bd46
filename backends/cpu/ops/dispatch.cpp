// dispatch.cpp — supports() and launch(): the op checks of
// backends/common/op_contract.hpp with this backend's own rules, the buffer
// bounds, and the switch to each op's run_*. Ops run synchronously on the caller's thread (and
// the instance's pool); streams are ignored.
#include "../cpu_backend.hpp"
#include "plinth/ops.hpp"

namespace plinth::cpu {

namespace {

// What the CPU backend adds to the contract: oneDNN's coverage of matmul
// layouts and convolution shapes.
class cpu_rules final : public contract::op_rules {
 public:
  explicit cpu_rules(plinth_backend_ctx* ctx) : ctx_(ctx) {}
  bool matmul(const plinth_op& op, check& c) const override { return validate_matmul(ctx_, op, c); }
  bool conv2d(const plinth_op& op, const contract::conv2d_dims& s, check& c) const override {
    return conv2d_supported(ctx_, op, s, c);
  }
  bool conv2d_backward(const plinth_op& op, const contract::conv2d_dims& s, check& c) const override {
    return conv2d_backward_supported(ctx_, op, s, c);
  }

 private:
  plinth_backend_ctx* ctx_;
};

bool validate_op(plinth_backend_ctx* ctx, const plinth_op& op, check& c) {
  return contract::validate(op, cpu_rules(ctx), c);
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
    case PLINTH_OP_BATCHNORM:
      return run_batchnorm(ctx, op);
    case PLINTH_OP_BATCHNORM_BACKWARD:
      return run_batchnorm_backward(ctx, op);
    case PLINTH_OP_SELECT:
      return run_select(ctx, op);
    case PLINTH_OP_LION_STEP:
      return run_lion_step(ctx, op);
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
    if (validate_op(ctx, *op, c)) contract::check_buffers(*op, c);
    if (!c.ok())
      return sdk::fail(h, c.code, std::string("cpu launch ") + op_name(raw_enum(op->kind)) + ": " + c.msg);
    return run_op(ctx, *op);
  });
}

}  // namespace plinth::cpu
