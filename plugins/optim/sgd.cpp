// sgd.cpp — the `sgd` optimizer with torch.optim.SGD semantics (PyTorch docs,
// "SGD" algorithm box): L2 weight decay added to the gradient, a momentum
// buffer set to the gradient on step 1 and then b = mu*b + (1-dampening)*g,
// optional Nesterov (g + mu*b), then p -= lr * update. Launches the fused
// PLINTH_OP_SGD_STEP when the backend has it, else composes AXPBY ops.
#include <memory>

#include "optim.hpp"

namespace plinth::optim {

namespace {

plinth_status sgd_create(const plinth_host* h, const plinth_config* cfg, plinth_optimizer** out) {
  return sdk::guard(h, [&]() -> plinth_status {
    if (!out) return sdk::fail(h, PLINTH_ERR_INVALID_ARGUMENT, "sgd: NULL output handle");
    *out = nullptr;
    auto o = std::make_unique<plinth_optimizer>();
    o->host = h;
    o->component = "sgd";
    o->lr = 0.01;
    plinth_status s;
    if ((s = read_positive(h, cfg, "sgd", "lr", o->lr)) != PLINTH_OK) return s;
    if ((s = read_nonnegative(h, cfg, "sgd", "momentum", o->momentum)) != PLINTH_OK) return s;
    if ((s = read_nonnegative(h, cfg, "sgd", "dampening", o->dampening)) != PLINTH_OK) return s;
    if ((s = read_nonnegative(h, cfg, "sgd", "weight_decay", o->weight_decay)) != PLINTH_OK) return s;
    if ((s = sdk::config_bool(h, cfg, "nesterov", o->nesterov)) != PLINTH_OK) return s;
    if (o->dampening > 1.0)
      return sdk::failf(h, PLINTH_ERR_INVALID_ARGUMENT, "sgd: 'dampening' must be in [0, 1], got %g",
                        o->dampening);
    if (o->nesterov && (o->momentum <= 0.0 || o->dampening != 0.0))
      return sdk::failf(
          h, PLINTH_ERR_INVALID_ARGUMENT,
          "sgd: 'nesterov' = true requires 'momentum' > 0 and 'dampening' = 0 (got momentum %g, "
          "dampening %g)",
          o->momentum, o->dampening);
    *out = o.release();
    return PLINTH_OK;
  });
}

int32_t sgd_num_state_slots(const plinth_optimizer* o) { return o && o->momentum != 0.0 ? 1 : 0; }

const char* sgd_state_slot_name(const plinth_optimizer* o, int32_t slot) {
  return slot == 0 && sgd_num_state_slots(o) == 1 ? "momentum_buffer" : nullptr;
}

// One scratch tensor holds g + wd * p when weight decay is on.
int32_t sgd_num_scratch_slots(const plinth_optimizer* o) { return o && o->weight_decay != 0.0 ? 1 : 0; }

plinth_status sgd_step(plinth_optimizer* o, const plinth_optim_ops* ops, const plinth_optim_param* p,
                       const plinth_optim_step_info* info) {
  const plinth_host* h = o ? o->host : nullptr;
  return sdk::guard(h, [&]() -> plinth_status {
    if (!o) return PLINTH_ERR_INVALID_ARGUMENT;
    const int slots = sgd_num_state_slots(o), scratch = sgd_num_scratch_slots(o);
    plinth_status s = check_step_args(o, ops, p, info, slots, scratch);
    if (s != PLINTH_OK) return s;
    const double lr = info->lr;
    const double wd = p->apply_weight_decay ? o->weight_decay : 0.0;
    const double mu = o->momentum;
    op_launcher run{ops};

    // Fused: in[0] param, in[1] grad; out[0] param, out[1] momentum buffer.
    plinth_sgd_params prm{};
    prm.struct_size = PLINTH_SGD_PARAMS_STRUCT_SIZE;
    prm.lr = static_cast<float>(lr);
    prm.momentum = static_cast<float>(mu);
    prm.dampening = static_cast<float>(o->dampening);
    prm.weight_decay = static_cast<float>(wd);
    prm.nesterov = o->nesterov ? 1 : 0;
    prm.step = info->step;
    plinth_tensor fin[2] = {p->param, p->grad};
    plinth_tensor fout[2] = {p->param, slots ? p->state[0] : p->param};
    plinth_op fused{PLINTH_OP_STRUCT_SIZE, PLINTH_OP_SGD_STEP, 2, fin, slots ? 2 : 1, fout, &prm};
    bool launched = false;
    if ((s = run.try_fused(fused, &launched)) != PLINTH_OK || launched) return s;

    // Unfused. d = g + wd * p (PyTorch: d_p = d_p.add(p, alpha=weight_decay)).
    const plinth_tensor* d = &p->grad;
    if (wd != 0.0) {
      if ((s = run.axpby(p->scratch[0], p->param, wd, p->grad, 1.0)) != PLINTH_OK) return s;
      d = &p->scratch[0];
    }
    if (mu == 0.0) return run.axpby(p->param, *d, -lr, p->param, 1.0);  // p -= lr * d

    const plinth_tensor& buf = p->state[0];
    if (info->step == 1) {
      // buf = clone(d): beta 0 with in[1] = d so buf's old bytes are not read.
      if ((s = run.axpby(buf, *d, 1.0, *d, 0.0)) != PLINTH_OK) return s;
    } else {
      // buf = mu * buf + (1 - dampening) * d
      if ((s = run.axpby(buf, *d, 1.0 - o->dampening, buf, mu)) != PLINTH_OK) return s;
    }
    if (o->nesterov) {
      // p -= lr * (d + mu * buf)
      if ((s = run.axpby(p->param, *d, -lr, p->param, 1.0)) != PLINTH_OK) return s;
      return run.axpby(p->param, buf, -lr * mu, p->param, 1.0);
    }
    return run.axpby(p->param, buf, -lr, p->param, 1.0);  // p -= lr * buf
  });
}

}  // namespace

const char* const sgd_keys[] = {"lr", "momentum", "dampening", "nesterov", "weight_decay", nullptr};

const plinth_optimizer_v1 sgd_table = {
    .struct_size = PLINTH_OPTIMIZER_V1_STRUCT_SIZE,
    .create = sgd_create,
    .destroy = optimizer_destroy,
    .base_lr = optimizer_base_lr,
    .num_state_slots = sgd_num_state_slots,
    .state_slot_name = sgd_state_slot_name,
    .num_scratch_slots = sgd_num_scratch_slots,
    .step = sgd_step,
};

}  // namespace plinth::optim
