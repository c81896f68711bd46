// plugin.cpp — template-optimizer: the smallest complete Plinth optimizer,
// plain SGD (p <- p - lr * g, no momentum, no weight decay). It keeps no
// state and launches one PLINTH_OP_AXPBY per parameter through the host's op
// table, so it runs on whatever backend holds the parameters.
// Config ([optimizer] table): lr (float > 0, default 0.01).
#include <cmath>
#include <memory>

#include "plinth/optimizer.h"
#include "plinth/plugin.hpp"

struct plinth_optimizer {
  const plinth_host* host;
  double lr;
};

namespace {

using plinth::sdk::fail;
using plinth::sdk::guard;

constexpr const char* k_name = "template-optimizer";

plinth_status create(const plinth_host* h, const plinth_config* cfg, plinth_optimizer** out) {
  return guard(h, [&]() -> plinth_status {
    if (!out) return fail(h, PLINTH_ERR_INVALID_ARGUMENT, "template-optimizer: NULL output handle");
    *out = nullptr;
    double lr = 0.01;
    if (plinth_status s = plinth::sdk::config_float(h, cfg, "lr", lr); s != PLINTH_OK) return s;
    if (!(lr > 0.0))
      return plinth::sdk::failf(h, PLINTH_ERR_INVALID_ARGUMENT,
                                "template-optimizer: 'lr' must be > 0, got %g", lr);
    *out = new plinth_optimizer{h, lr};
    return PLINTH_OK;
  });
}

void destroy(plinth_optimizer* o) { delete o; }
double base_lr(const plinth_optimizer* o) { return o ? o->lr : 0.0; }
int32_t num_state_slots(const plinth_optimizer*) { return 0; }
const char* state_slot_name(const plinth_optimizer*, int32_t) { return nullptr; }
int32_t num_scratch_slots(const plinth_optimizer*) { return 0; }

plinth_status step(plinth_optimizer* o, const plinth_optim_ops* ops, const plinth_optim_param* p,
                   const plinth_optim_step_info* info) {
  const plinth_host* h = o ? o->host : nullptr;
  return guard(h, [&]() -> plinth_status {
    // Malformed input as optimizer.h lists it: an error with a message and
    // the parameter untouched (plinth-plugin-check makes each of these calls).
    if (!o || !ops || !p || !info)
      return fail(h, PLINTH_ERR_INVALID_ARGUMENT, "template-optimizer: NULL argument");
    if (p->struct_size < PLINTH_STRUCT_SIZE(plinth_optim_param, grad) ||
        info->struct_size < PLINTH_STRUCT_SIZE(plinth_optim_step_info, step))
      return fail(h, PLINTH_ERR_INVALID_ARGUMENT, "template-optimizer: struct_size too small");
    if (info->step < 1)
      return plinth::sdk::failf(h, PLINTH_ERR_INVALID_ARGUMENT,
                                "template-optimizer: step %lld (steps count from 1)",
                                static_cast<long long>(info->step));
    if (!std::isfinite(info->lr) || info->lr < 0)
      return plinth::sdk::failf(h, PLINTH_ERR_INVALID_ARGUMENT, "template-optimizer: lr %g", info->lr);
    if (p->param.dtype != PLINTH_DTYPE_F32 || p->grad.dtype != PLINTH_DTYPE_F32)
      return fail(h, PLINTH_ERR_UNSUPPORTED, "template-optimizer: parameter and gradient must be f32");
    bool same = p->param.ndim == p->grad.ndim;
    for (int32_t d = 0; same && d < p->param.ndim; ++d) same = p->param.shape[d] == p->grad.shape[d];
    if (!same) return fail(h, PLINTH_ERR_INVALID_ARGUMENT, "template-optimizer: gradient shape differs");
    // param = (-lr) * grad + 1 * param; in[1] aliases out[0], which AXPBY allows.
    plinth_axpby_params prm{};
    prm.struct_size = PLINTH_AXPBY_PARAMS_STRUCT_SIZE;
    prm.alpha = static_cast<float>(-info->lr);  // info->lr: the scheduled rate for this step
    prm.beta = 1.0f;
    const plinth_tensor in[2] = {p->grad, p->param};
    plinth_op op{};
    op.struct_size = PLINTH_OP_STRUCT_SIZE;
    op.kind = PLINTH_OP_AXPBY;
    op.num_inputs = 2;
    op.inputs = in;
    op.num_outputs = 1;
    op.outputs = &p->param;
    op.params = &prm;
    return ops->launch(ops->ctx, &op);  // on failure the host already holds the message
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

const char* const k_config_keys[] = {"lr", nullptr};

const plinth_component k_components[] = {{
    .struct_size = PLINTH_COMPONENT_STRUCT_SIZE,
    .kind = PLINTH_KIND_OPTIMIZER,
    .name = k_name,
    .description = "plain SGD: p -= lr * g",
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
