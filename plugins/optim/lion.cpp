// lion.cpp — the `lion` optimizer (Chen et al. 2023, "Symbolic Discovery of
// Optimization Algorithms", Algorithm 2, with decoupled weight decay; the
// update of lucidrains/lion-pytorch, the implementation the paper's authors
// point PyTorch users to):
//   p *= 1 - lr*wd;  p -= lr * sign(b1*m + (1-b1)*g);  m = b2*m + (1-b2)*g
// with sign(0) = 0. One state slot (exp_avg). Launches PLINTH_OP_LION_STEP
// when the backend has it (the CPU backend does), else composes three AXPBYs
// (the first with ABI 1.2's SIGN on its result) using one scratch tensor.
#include <memory>

#include "optim.hpp"

namespace plinth::optim {

namespace {

plinth_status lion_create(const plinth_host* h, const plinth_config* cfg, plinth_optimizer** out) {
  return sdk::guard(h, [&]() -> plinth_status {
    if (!out) return sdk::fail(h, PLINTH_ERR_INVALID_ARGUMENT, "lion: NULL output handle");
    *out = nullptr;
    auto o = std::make_unique<plinth_optimizer>();
    o->host = h;
    o->component = "lion";
    o->lr = 1e-4;
    o->weight_decay = 0.0;
    o->beta1 = 0.9;
    o->beta2 = 0.99;
    plinth_status s;
    if ((s = read_positive(h, cfg, "lion", "lr", o->lr)) != PLINTH_OK) return s;
    if ((s = read_nonnegative(h, cfg, "lion", "weight_decay", o->weight_decay)) != PLINTH_OK) return s;
    if ((s = read_betas(h, cfg, "lion", o->beta1, o->beta2)) != PLINTH_OK) return s;
    *out = o.release();
    return PLINTH_OK;
  });
}

int32_t lion_num_state_slots(const plinth_optimizer*) { return 1; }

const char* lion_state_slot_name(const plinth_optimizer*, int32_t slot) {
  return slot == 0 ? "exp_avg" : nullptr;
}

int32_t lion_num_scratch_slots(const plinth_optimizer*) { return 1; }

plinth_status lion_step(plinth_optimizer* o, const plinth_optim_ops* ops, const plinth_optim_param* p,
                        const plinth_optim_step_info* info) {
  const plinth_host* h = o ? o->host : nullptr;
  return sdk::guard(h, [&]() -> plinth_status {
    if (!o) return PLINTH_ERR_INVALID_ARGUMENT;
    plinth_status s = check_step_args(o, ops, p, info, 1, 1);
    if (s != PLINTH_OK) return s;
    const double lr = info->lr;
    const double wd = p->apply_weight_decay ? o->weight_decay : 0.0;
    const plinth_tensor& m = p->state[0];
    op_launcher run{ops};

    // Fused: in[0] param, in[1] grad, in[2] m; out[0] param, out[1] m.
    plinth_lion_params prm{};
    prm.struct_size = PLINTH_LION_PARAMS_STRUCT_SIZE;
    prm.lr = static_cast<float>(lr);
    prm.beta1 = static_cast<float>(o->beta1);
    prm.beta2 = static_cast<float>(o->beta2);
    prm.weight_decay = static_cast<float>(wd);
    plinth_tensor fin[3] = {p->param, p->grad, m};
    plinth_tensor fout[2] = {p->param, m};
    plinth_op fused{PLINTH_OP_STRUCT_SIZE, PLINTH_OP_LION_STEP, 3, fin, 2, fout, &prm};
    bool launched = false;
    if ((s = run.try_fused(fused, &launched)) != PLINTH_OK || launched) return s;

    // Composed: s0 = sign(b1*m + (1-b1)*g); p = (1 - lr*wd)*p - lr*s0;
    // m = b2*m + (1-b2)*g.
    const plinth_tensor& s0 = p->scratch[0];
    if ((s = run.axpby(s0, p->grad, 1.0 - o->beta1, m, o->beta1, PLINTH_UNARY_SIGN)) != PLINTH_OK) return s;
    if ((s = run.axpby(p->param, s0, -lr, p->param, 1.0 - lr * wd)) != PLINTH_OK) return s;
    return run.axpby(m, p->grad, 1.0 - o->beta2, m, o->beta2);
  });
}

}  // namespace

const char* const lion_keys[] = {"lr", "betas", "weight_decay", nullptr};

const plinth_optimizer_v1 lion_table = {
    .struct_size = PLINTH_OPTIMIZER_V1_STRUCT_SIZE,
    .create = lion_create,
    .destroy = optimizer_destroy,
    .base_lr = optimizer_base_lr,
    .num_state_slots = lion_num_state_slots,
    .state_slot_name = lion_state_slot_name,
    .num_scratch_slots = lion_num_scratch_slots,
    .step = lion_step,
};

}  // namespace plinth::optim
