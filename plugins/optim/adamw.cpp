// adamw.cpp — the `adamw` optimizer with torch.optim.AdamW semantics
// (Loshchilov & Hutter 2019; PyTorch docs "AdamW" algorithm box, amsgrad off):
//   p *= 1 - lr*wd;  m = b1*m + (1-b1)*g;  v = b2*v + (1-b2)*g^2;
//   p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps).
// Launches PLINTH_OP_ADAMW_STEP when the backend has it, else composes
// generic ops using two scratch tensors. No amsgrad, no maximize.
#include <cmath>
#include <memory>

#include "optim.hpp"

namespace plinth::optim {

namespace {

plinth_status adamw_create(const plinth_host* h, const plinth_config* cfg, plinth_optimizer** out) {
  return sdk::guard(h, [&]() -> plinth_status {
    if (!out) return sdk::fail(h, PLINTH_ERR_INVALID_ARGUMENT, "adamw: NULL output handle");
    *out = nullptr;
    auto o = std::make_unique<plinth_optimizer>();
    o->host = h;
    o->component = "adamw";
    o->lr = 1e-3;
    o->weight_decay = 0.01;
    plinth_status s;
    if ((s = read_positive(h, cfg, "adamw", "lr", o->lr)) != PLINTH_OK) return s;
    if ((s = read_positive(h, cfg, "adamw", "eps", o->eps)) != PLINTH_OK) return s;
    if ((s = read_nonnegative(h, cfg, "adamw", "weight_decay", o->weight_decay)) != PLINTH_OK) return s;
    if ((s = read_betas(h, cfg, "adamw", o->beta1, o->beta2)) != PLINTH_OK) return s;
    *out = o.release();
    return PLINTH_OK;
  });
}

int32_t adamw_num_state_slots(const plinth_optimizer*) { return 2; }

const char* adamw_state_slot_name(const plinth_optimizer*, int32_t slot) {
  return slot == 0 ? "exp_avg" : slot == 1 ? "exp_avg_sq" : nullptr;
}

int32_t adamw_num_scratch_slots(const plinth_optimizer*) { return 2; }

plinth_status adamw_step(plinth_optimizer* o, const plinth_optim_ops* ops, const plinth_optim_param* p,
                         const plinth_optim_step_info* info) {
  const plinth_host* h = o ? o->host : nullptr;
  return sdk::guard(h, [&]() -> plinth_status {
    if (!o) return PLINTH_ERR_INVALID_ARGUMENT;
    plinth_status s = check_step_args(o, ops, p, info, 2, 2);
    if (s != PLINTH_OK) return s;
    const double lr = info->lr;
    const double wd = p->apply_weight_decay ? o->weight_decay : 0.0;
    const double b1 = o->beta1, b2 = o->beta2;
    const plinth_tensor& m = p->state[0];
    const plinth_tensor& v = p->state[1];
    op_launcher run{ops};

    // Fused: in[0] param, in[1] grad, in[2] m, in[3] v; out[0] param,
    // out[1] m, out[2] v (outputs alias inputs).
    plinth_adamw_params prm{};
    prm.struct_size = PLINTH_ADAMW_PARAMS_STRUCT_SIZE;
    prm.lr = static_cast<float>(lr);
    prm.beta1 = static_cast<float>(b1);
    prm.beta2 = static_cast<float>(b2);
    prm.eps = static_cast<float>(o->eps);
    prm.weight_decay = static_cast<float>(wd);
    prm.step = info->step;
    plinth_tensor fin[4] = {p->param, p->grad, m, v};
    plinth_tensor fout[3] = {p->param, m, v};
    plinth_op fused{PLINTH_OP_STRUCT_SIZE, PLINTH_OP_ADAMW_STEP, 4, fin, 3, fout, &prm};
    bool launched = false;
    if ((s = run.try_fused(fused, &launched)) != PLINTH_OK || launched) return s;

    // Unfused, s0 and s1 scratch; no op's output aliases an input except
    // AXPBY's in[1], which the op contract allows.
    const plinth_tensor& s0 = p->scratch[0];
    const plinth_tensor& s1 = p->scratch[1];
    const double t = static_cast<double>(info->step);
    const double bc1 = 1.0 - std::pow(b1, t);  // bias corrections
    const double bc2 = 1.0 - std::pow(b2, t);
    // m = b1*m + (1-b1)*g
    if ((s = run.axpby(m, p->grad, 1.0 - b1, m, b1)) != PLINTH_OK) return s;
    // v = b2*v + (1-b2)*g*g
    if ((s = run.binary(PLINTH_BINARY_MUL, s0, p->grad, p->grad)) != PLINTH_OK) return s;
    if ((s = run.axpby(v, s0, 1.0 - b2, v, b2)) != PLINTH_OK) return s;
    // s1 = sqrt(v / bc2) + eps
    if ((s = run.unary(PLINTH_UNARY_SQRT, s0, v, 1.0 / bc2, 0.0)) != PLINTH_OK) return s;
    if ((s = run.unary(PLINTH_UNARY_IDENTITY, s1, s0, 1.0, o->eps)) != PLINTH_OK) return s;
    // s0 = m / s1
    if ((s = run.binary(PLINTH_BINARY_DIV, s0, m, s1)) != PLINTH_OK) return s;
    // p = (1 - lr*wd) * p - lr/bc1 * s0: the decoupled decay and the Adam
    // step in one op (the step does not depend on p, so the order is moot).
    return run.axpby(p->param, s0, -lr / bc1, p->param, 1.0 - lr * wd);
  });
}

}  // namespace

const char* const adamw_keys[] = {"lr", "betas", "eps", "weight_decay", nullptr};

const plinth_optimizer_v1 adamw_table = {
    .struct_size = PLINTH_OPTIMIZER_V1_STRUCT_SIZE,
    .create = adamw_create,
    .destroy = optimizer_destroy,
    .base_lr = optimizer_base_lr,
    .num_state_slots = adamw_num_state_slots,
    .state_slot_name = adamw_state_slot_name,
    .num_scratch_slots = adamw_num_scratch_slots,
    .step = adamw_step,
};

}  // namespace plinth::optim
