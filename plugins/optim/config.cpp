// config.cpp — the optimizers' shared pieces: op launch wrappers over
// plinth_optim_ops, step-argument checks, validated config reads. No update
// rule lives here.
#include <cmath>

#include "optim.hpp"

namespace plinth::optim {

plinth_status op_launcher::axpby(const plinth_tensor& out, const plinth_tensor& a, double alpha,
                                 const plinth_tensor& b, double beta, plinth_unary_fn fn) const {
  plinth_axpby_params prm{PLINTH_AXPBY_PARAMS_STRUCT_SIZE, static_cast<float>(alpha),
                          static_cast<float>(beta), fn};
  plinth_tensor in[2] = {a, b};
  plinth_op op{PLINTH_OP_STRUCT_SIZE, PLINTH_OP_AXPBY, 2, in, 1, &out, &prm};
  return ops->launch(ops->ctx, &op);
}

plinth_status op_launcher::binary(plinth_binary_fn fn, const plinth_tensor& out, const plinth_tensor& a,
                                  const plinth_tensor& b) const {
  plinth_binary_params prm{PLINTH_BINARY_PARAMS_STRUCT_SIZE, fn, 0.0f};
  plinth_tensor in[2] = {a, b};
  plinth_op op{PLINTH_OP_STRUCT_SIZE, PLINTH_OP_BINARY, 2, in, 1, &out, &prm};
  return ops->launch(ops->ctx, &op);
}

plinth_status op_launcher::unary(plinth_unary_fn fn, const plinth_tensor& out, const plinth_tensor& in,
                                 double alpha, double beta) const {
  plinth_unary_params prm{PLINTH_UNARY_PARAMS_STRUCT_SIZE, fn, static_cast<float>(alpha),
                          static_cast<float>(beta)};
  plinth_op op{PLINTH_OP_STRUCT_SIZE, PLINTH_OP_UNARY, 1, &in, 1, &out, &prm};
  return ops->launch(ops->ctx, &op);
}

plinth_status op_launcher::try_fused(const plinth_op& op, bool* launched) const {
  *launched = false;
  if (!ops->supports || !ops->supports(ops->ctx, &op)) return PLINTH_OK;
  *launched = true;
  return ops->launch(ops->ctx, &op);
}

plinth_status check_step_args(const plinth_optimizer* opt, const plinth_optim_ops* ops,
                              const plinth_optim_param* p, const plinth_optim_step_info* info, int slots,
                              int scratch) {
  const plinth_host* h = opt->host;
  if (!ops || !ops->launch || !p || !info)
    return sdk::failf(h, PLINTH_ERR_INVALID_ARGUMENT, "%s step: NULL ops, parameter or step info",
                      opt->component);
  const char* name = p->name ? p->name : "(unnamed)";
  if (!PLINTH_HAS_FIELD(p, plinth_optim_param, apply_weight_decay))
    return sdk::failf(h, PLINTH_ERR_INVALID_ARGUMENT,
                      "%s step '%s': plinth_optim_param struct_size %zu too small", opt->component, name,
                      p->struct_size);
  if ((slots > 0 && !p->state) || (scratch > 0 && !p->scratch))
    return sdk::failf(h, PLINTH_ERR_INVALID_ARGUMENT,
                      "%s step '%s': needs %d state and %d scratch tensors, got NULL", opt->component, name,
                      slots, scratch);
  if (p->param.dtype != PLINTH_DTYPE_F32 || p->grad.dtype != PLINTH_DTYPE_F32)
    return sdk::failf(h, PLINTH_ERR_INVALID_ARGUMENT, "%s step '%s': parameter and gradient must be f32",
                      opt->component, name);
  if (info->step < 1)
    return sdk::failf(h, PLINTH_ERR_INVALID_ARGUMENT, "%s step '%s': step count %lld must be >= 1",
                      opt->component, name, static_cast<long long>(info->step));
  if (!(info->lr >= 0.0) || !std::isfinite(info->lr))
    return sdk::failf(h, PLINTH_ERR_INVALID_ARGUMENT,
                      "%s step '%s': learning rate %g must be finite and >= 0", opt->component, name,
                      info->lr);
  return PLINTH_OK;
}

plinth_status read_positive(const plinth_host* h, const plinth_config* c, const char* comp, const char* key,
                            double& out) {
  plinth_status s = sdk::config_float(h, c, key, out);
  if (s != PLINTH_OK) return s;
  if (!(out > 0.0) || !std::isfinite(out))
    return sdk::failf(h, PLINTH_ERR_INVALID_ARGUMENT, "%s: '%s' must be a finite number > 0, got %g", comp,
                      key, out);
  return PLINTH_OK;
}

plinth_status read_nonnegative(const plinth_host* h, const plinth_config* c, const char* comp,
                               const char* key, double& out) {
  plinth_status s = sdk::config_float(h, c, key, out);
  if (s != PLINTH_OK) return s;
  if (!(out >= 0.0) || !std::isfinite(out))
    return sdk::failf(h, PLINTH_ERR_INVALID_ARGUMENT, "%s: '%s' must be a finite number >= 0, got %g", comp,
                      key, out);
  return PLINTH_OK;
}

plinth_status read_betas(const plinth_host* h, const plinth_config* c, const char* comp, double& beta1,
                         double& beta2) {
  if (c) {
    size_t n = 0;
    plinth_status s = h->config_array_size(h->ctx, c, "betas", &n);
    if (s == PLINTH_OK) {
      if (n != 2)
        return sdk::failf(h, PLINTH_ERR_INVALID_ARGUMENT,
                          "%s: 'betas' must be an array of two numbers [beta1, beta2], got %zu", comp, n);
      if ((s = h->config_array_float(h->ctx, c, "betas", 0, &beta1)) != PLINTH_OK) return s;
      if ((s = h->config_array_float(h->ctx, c, "betas", 1, &beta2)) != PLINTH_OK) return s;
    } else if (s != PLINTH_ERR_NOT_FOUND) {
      return s;
    }
  }
  const double b[2] = {beta1, beta2};
  for (int i = 0; i < 2; ++i)
    if (!(b[i] >= 0.0 && b[i] < 1.0))
      return sdk::failf(h, PLINTH_ERR_INVALID_ARGUMENT, "%s: 'betas'[%d] must be in [0, 1), got %g", comp, i,
                        b[i]);
  return PLINTH_OK;
}

void optimizer_destroy(plinth_optimizer* opt) { delete opt; }
double optimizer_base_lr(const plinth_optimizer* opt) { return opt ? opt->lr : 0.0; }

}  // namespace plinth::optim
