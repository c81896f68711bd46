// plugin.cpp — example-lion: the Lion optimizer (Chen et al. 2023, "Symbolic
// Discovery of Optimization Algorithms", Algorithm 2, decoupled weight decay)
// written as a plugin author outside Plinth would: from the SDK's template
// optimizer and the backend's generic ops only, three launches per parameter:
//   s0 = sign(b1*m + (1-b1)*g)    AXPBY with fn = SIGN on its result (ABI 1.2)
//   p  = (1 - lr*wd)*p - lr*s0    AXPBY (in[1] may alias out[0])
//   m  = b2*m + (1-b2)*g          AXPBY
// One state slot (exp_avg, saved in checkpoints), one scratch tensor. With a
// backend built against ABI 1.0 or 1.1 the core runs the AXPBY with a
// function on its CPU fallback (the older backend would not see fn). The stock `lion`
// of plinth-optim-std has the same rule and a fused CPU kernel; this one
// shows what composing costs (bench/optimizer_phase.sh).
// Config ([optimizer] table): lr (> 0, default 1e-4), betas ([0.9, 0.99],
// each in [0, 1)), weight_decay (>= 0, default 0).
#include <cmath>

#include "plinth/optimizer.h"
#include "plinth/plugin.hpp"

struct plinth_optimizer {
  const plinth_host* host;
  double lr, beta1, beta2, weight_decay;
};

namespace {

using plinth::sdk::fail;
using plinth::sdk::failf;
using plinth::sdk::guard;

constexpr const char* k_name = "example-lion";

plinth_status create(const plinth_host* h, const plinth_config* cfg, plinth_optimizer** out) {
  return guard(h, [&]() -> plinth_status {
    if (!out) return fail(h, PLINTH_ERR_INVALID_ARGUMENT, "example-lion: NULL output handle");
    *out = nullptr;
    plinth_optimizer o{h, 1e-4, 0.9, 0.99, 0.0};
    plinth_status s;
    if ((s = plinth::sdk::config_float(h, cfg, "lr", o.lr)) != PLINTH_OK) return s;
    if ((s = plinth::sdk::config_float(h, cfg, "weight_decay", o.weight_decay)) != PLINTH_OK) return s;
    if (!(o.lr > 0.0) || !std::isfinite(o.lr))
      return failf(h, PLINTH_ERR_INVALID_ARGUMENT, "example-lion: 'lr' must be a finite number > 0, got %g",
                   o.lr);
    if (!(o.weight_decay >= 0.0) || !std::isfinite(o.weight_decay))
      return failf(h, PLINTH_ERR_INVALID_ARGUMENT, "example-lion: 'weight_decay' must be >= 0, got %g",
                   o.weight_decay);
    size_t n = 0;
    s = cfg ? h->config_array_size(h->ctx, cfg, "betas", &n) : PLINTH_ERR_NOT_FOUND;
    if (s == PLINTH_OK) {
      if (n != 2)
        return failf(h, PLINTH_ERR_INVALID_ARGUMENT, "example-lion: 'betas' needs 2 numbers, got %zu", n);
      if ((s = h->config_array_float(h->ctx, cfg, "betas", 0, &o.beta1)) != PLINTH_OK) return s;
      if ((s = h->config_array_float(h->ctx, cfg, "betas", 1, &o.beta2)) != PLINTH_OK) return s;
    } else if (s != PLINTH_ERR_NOT_FOUND) {
      return s;
    }
    if (!(o.beta1 >= 0.0 && o.beta1 < 1.0) || !(o.beta2 >= 0.0 && o.beta2 < 1.0))
      return failf(h, PLINTH_ERR_INVALID_ARGUMENT, "example-lion: 'betas' must be in [0, 1), got [%g, %g]",
                   o.beta1, o.beta2);
    *out = new plinth_optimizer(o);
    return PLINTH_OK;
  });
}

void destroy(plinth_optimizer* o) { delete o; }
double base_lr(const plinth_optimizer* o) { return o ? o->lr : 0.0; }
int32_t num_state_slots(const plinth_optimizer*) { return 1; }
const char* state_slot_name(const plinth_optimizer*, int32_t slot) { return slot == 0 ? "exp_avg" : nullptr; }
int32_t num_scratch_slots(const plinth_optimizer*) { return 1; }

bool same_shape(const plinth_tensor& a, const plinth_tensor& b) {
  if (a.ndim != b.ndim) return false;
  for (int32_t d = 0; d < a.ndim; ++d)
    if (a.shape[d] != b.shape[d]) return false;
  return true;
}

// out = fn(alpha * x + beta * y)
plinth_status axpby(const plinth_optim_ops* ops, const plinth_tensor& out, const plinth_tensor& x,
                    double alpha, const plinth_tensor& y, double beta,
                    plinth_unary_fn fn = PLINTH_UNARY_IDENTITY) {
  plinth_axpby_params prm{PLINTH_AXPBY_PARAMS_STRUCT_SIZE, static_cast<float>(alpha),
                          static_cast<float>(beta), fn};
  const plinth_tensor in[2] = {x, y};
  const plinth_op op{PLINTH_OP_STRUCT_SIZE, PLINTH_OP_AXPBY, 2, in, 1, &out, &prm};
  return ops->launch(ops->ctx, &op);
}

plinth_status step(plinth_optimizer* o, const plinth_optim_ops* ops, const plinth_optim_param* p,
                   const plinth_optim_step_info* info) {
  const plinth_host* h = o ? o->host : nullptr;
  return guard(h, [&]() -> plinth_status {
    // Malformed input as optimizer.h lists it: an error with a message and
    // the parameter untouched (plinth-plugin-check makes each of these calls).
    if (!o || !ops || !p || !info) return fail(h, PLINTH_ERR_INVALID_ARGUMENT, "example-lion: NULL argument");
    if (p->struct_size < PLINTH_STRUCT_SIZE(plinth_optim_param, apply_weight_decay) ||
        info->struct_size < PLINTH_STRUCT_SIZE(plinth_optim_step_info, step))
      return fail(h, PLINTH_ERR_INVALID_ARGUMENT, "example-lion: struct_size too small");
    if (info->step < 1)
      return failf(h, PLINTH_ERR_INVALID_ARGUMENT, "example-lion: step %lld (steps count from 1)",
                   static_cast<long long>(info->step));
    if (!std::isfinite(info->lr) || info->lr < 0)
      return failf(h, PLINTH_ERR_INVALID_ARGUMENT, "example-lion: lr %g", info->lr);
    if (!p->state || !p->scratch)
      return fail(h, PLINTH_ERR_INVALID_ARGUMENT,
                  "example-lion: needs 1 state and 1 scratch tensor, got NULL");
    if (p->param.dtype != PLINTH_DTYPE_F32 || p->grad.dtype != PLINTH_DTYPE_F32)
      return fail(h, PLINTH_ERR_UNSUPPORTED, "example-lion: parameter and gradient must be f32");
    if (!same_shape(p->param, p->grad))
      return fail(h, PLINTH_ERR_INVALID_ARGUMENT, "example-lion: gradient shape differs");
    const double lr = info->lr, wd = p->apply_weight_decay ? o->weight_decay : 0.0;
    const plinth_tensor &m = p->state[0], &s0 = p->scratch[0];
    plinth_status s;  // on failure the host already holds the message
    if ((s = axpby(ops, s0, p->grad, 1.0 - o->beta1, m, o->beta1, PLINTH_UNARY_SIGN)) != PLINTH_OK) return s;
    if ((s = axpby(ops, p->param, s0, -lr, p->param, 1.0 - lr * wd)) != PLINTH_OK) return s;
    return axpby(ops, m, p->grad, 1.0 - o->beta2, m, o->beta2);
  });
}

const plinth_optimizer_v1 k_table = {
    .struct_size = PLINTH_OPTIMIZER_V1_STRUCT_SIZE,
    .create = create,
    .destroy = destroy,
    .base_lr = base_lr,
    .num_state_slots = num_state_slots,
    .state_slot_name = state_slot_name,
    .num_scratch_slots = num_scratch_slots,
    .step = step,
};

const char* const k_config_keys[] = {"lr", "betas", "weight_decay", nullptr};

const plinth_component k_components[] = {{
    .struct_size = PLINTH_COMPONENT_STRUCT_SIZE,
    .kind = PLINTH_KIND_OPTIMIZER,
    .name = k_name,
    .description = "Lion: p -= lr * sign(b1 m + (1-b1) g), composed from three AXPBYs",
    .table = &k_table,
    .config_keys = k_config_keys,
}};

const plinth_plugin k_plugin = {
    .struct_size = PLINTH_PLUGIN_STRUCT_SIZE,
    .abi_major = PLINTH_ABI_MAJOR,
    .abi_minor = PLINTH_ABI_MINOR,
    .name = k_name,
    .version = "0.1.0",
    .vendor = "Example Vendor",
    .num_components = 1,
    .components = k_components,
    .init = nullptr,
    .shutdown = nullptr,
};

}  // namespace

extern "C" PLINTH_EXPORT const plinth_plugin* plinth_plugin_get(void) { return &k_plugin; }
