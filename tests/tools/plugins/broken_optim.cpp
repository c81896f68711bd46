// broken_optim.cpp — a deliberately broken optimizer for plinth-plugin-check:
// an `sgd` component (momentum, dampening, Nesterov, L2 weight decay) that
// composes its update from AXPBY ops and checks its arguments as the header
// asks, but applies weight decay to every parameter, ignoring
// apply_weight_decay = 0. The kit must report the weight-decay cases,
// naming the parameter that should not have decayed. A second component,
// `counting-sgd` (no reference rule in the tool), scales its learning rate
// by a count of its own calls instead of using info->step: a resumed
// instance and another parameter order step differently, which the
// properties every optimizer must have catch. `crashing-sgd` dies of SIGSEGV
// and `hanging-sgd` never returns at step 5 of a parameter without weight
// decay: the kit names each case they end and goes on with the next.
#include <unistd.h>

#include <cmath>
#include <csignal>
#include <new>
#include <string>
#include <utility>

#include "plinth/optimizer.h"
#include "plinth/plugin.hpp"

struct plinth_optimizer {
  const plinth_host* host;
  double lr = 0.01, momentum = 0, dampening = 0, weight_decay = 0;
  bool nesterov = false;
  int mode = 0;  // which component: kSgd, kCounting, kCrashing, kHanging
  int64_t calls = 0;
};

namespace {

using plinth::sdk::fail;

plinth_status create(const plinth_host* h, const plinth_config* cfg, plinth_optimizer** out) {
  return plinth::sdk::guard(h, [&]() -> plinth_status {
    if (!out) return fail(h, PLINTH_ERR_INVALID_ARGUMENT, "broken sgd: out is NULL");
    plinth_optimizer o{h};
    plinth_status s;
    for (auto [key, val] : {std::pair<const char*, double*>{"lr", &o.lr},
                            {"momentum", &o.momentum},
                            {"dampening", &o.dampening},
                            {"weight_decay", &o.weight_decay}}) {
      if ((s = plinth::sdk::config_float(h, cfg, key, *val)) != PLINTH_OK) return s;
      if (!(*val >= 0) || !std::isfinite(*val))
        return fail(h, PLINTH_ERR_INVALID_ARGUMENT, std::string("broken sgd: bad ") + key);
    }
    if (!(o.lr > 0)) return fail(h, PLINTH_ERR_INVALID_ARGUMENT, "broken sgd: lr must be > 0");
    if ((s = plinth::sdk::config_bool(h, cfg, "nesterov", o.nesterov)) != PLINTH_OK) return s;
    *out = new plinth_optimizer(o);
    return PLINTH_OK;
  });
}
enum { kSgd, kCounting, kCrashing, kHanging };
template <int Mode>
plinth_status create_as(const plinth_host* h, const plinth_config* cfg, plinth_optimizer** out) {
  const plinth_status s = create(h, cfg, out);
  if (s == PLINTH_OK) (*out)->mode = Mode;
  return s;
}
void destroy(plinth_optimizer* o) { delete o; }
double base_lr(const plinth_optimizer* o) { return o->lr; }
int32_t num_state_slots(const plinth_optimizer* o) { return o->momentum != 0 ? 1 : 0; }
const char* state_slot_name(const plinth_optimizer* o, int32_t slot) {
  return slot == 0 && o->momentum != 0 ? "momentum_buffer" : nullptr;
}
int32_t num_scratch_slots(const plinth_optimizer* o) { return o->weight_decay != 0 ? 1 : 0; }

// out = alpha * a + beta * b
plinth_status axpby(const plinth_optim_ops* ops, const plinth_tensor& out, const plinth_tensor& a,
                    double alpha, const plinth_tensor& b, double beta) {
  plinth_axpby_params prm{PLINTH_AXPBY_PARAMS_STRUCT_SIZE, float(alpha), float(beta), PLINTH_UNARY_IDENTITY};
  plinth_tensor in[2] = {a, b};
  plinth_op op{PLINTH_OP_STRUCT_SIZE, PLINTH_OP_AXPBY, 2, in, 1, &out, &prm};
  return ops->launch(ops->ctx, &op);
}

plinth_status step(plinth_optimizer* o, const plinth_optim_ops* ops, const plinth_optim_param* p,
                   const plinth_optim_step_info* info) {
  const plinth_host* h = o->host;
  if (!ops || !ops->launch || !p || !info)
    return fail(h, PLINTH_ERR_INVALID_ARGUMENT, "broken sgd: NULL argument");
  if (p->struct_size < PLINTH_OPTIM_PARAM_STRUCT_SIZE)
    return fail(h, PLINTH_ERR_INVALID_ARGUMENT, "broken sgd: plinth_optim_param too small");
  if (p->param.dtype != PLINTH_DTYPE_F32 || p->grad.dtype != PLINTH_DTYPE_F32)
    return fail(h, PLINTH_ERR_INVALID_ARGUMENT, "broken sgd: f32 only");
  if (info->step < 1 || !(info->lr >= 0) || !std::isfinite(info->lr))
    return fail(h, PLINTH_ERR_INVALID_ARGUMENT, "broken sgd: bad step or lr");
  if ((num_state_slots(o) && !p->state) || (num_scratch_slots(o) && !p->scratch))
    return fail(h, PLINTH_ERR_INVALID_ARGUMENT, "broken sgd: NULL state or scratch");
  if ((o->mode == kCrashing || o->mode == kHanging) && info->step == 5 && !p->apply_weight_decay) {
    if (o->mode == kCrashing) ::raise(SIGSEGV);
    for (;;) ::pause();
  }
  // counting-sgd's bug: state kept in the instance, not in the state slots.
  const double lr = o->mode == kCounting ? info->lr / double(1 + o->calls++) : info->lr, mu = o->momentum;
  const double wd = o->weight_decay;  // the deliberate bug: p->apply_weight_decay is ignored
  plinth_status s;
  const plinth_tensor* d = &p->grad;
  if (wd != 0) {
    if ((s = axpby(ops, p->scratch[0], p->param, wd, p->grad, 1.0)) != PLINTH_OK) return s;
    d = &p->scratch[0];
  }
  if (mu == 0) return axpby(ops, p->param, *d, -lr, p->param, 1.0);
  const plinth_tensor& buf = p->state[0];
  if ((s = info->step == 1 ? axpby(ops, buf, *d, 1.0, *d, 0.0)
                           : axpby(ops, buf, *d, 1.0 - o->dampening, buf, mu)) != PLINTH_OK)
    return s;
  if (o->nesterov) {
    if ((s = axpby(ops, p->param, *d, -lr, p->param, 1.0)) != PLINTH_OK) return s;
    return axpby(ops, p->param, buf, -lr * mu, p->param, 1.0);
  }
  return axpby(ops, p->param, buf, -lr, p->param, 1.0);
}

const char* const g_keys[] = {"lr", "momentum", "dampening", "nesterov", "weight_decay", nullptr};
// unused-key-sgd declares a key its create() never reads.
const char* const g_unused_keys[] = {"lr",           "momentum", "dampening", "nesterov",
                                     "weight_decay", "warmup",   nullptr};

template <int Mode>
constexpr plinth_optimizer_v1 table_as() {
  return {PLINTH_OPTIMIZER_V1_STRUCT_SIZE,
          create_as<Mode>,
          destroy,
          base_lr,
          num_state_slots,
          state_slot_name,
          num_scratch_slots,
          step};
}
const plinth_optimizer_v1 g_table = table_as<kSgd>(), g_counting_table = table_as<kCounting>(),
                          g_crashing_table = table_as<kCrashing>(), g_hanging_table = table_as<kHanging>();

const plinth_component g_components[] = {
    {PLINTH_COMPONENT_STRUCT_SIZE, PLINTH_KIND_OPTIMIZER, "sgd", "SGD that decays every parameter (test)",
     &g_table, g_keys},
    {PLINTH_COMPONENT_STRUCT_SIZE, PLINTH_KIND_OPTIMIZER, "counting-sgd",
     "SGD whose rate counts its own calls (test)", &g_counting_table, g_keys},
    {PLINTH_COMPONENT_STRUCT_SIZE, PLINTH_KIND_OPTIMIZER, "crashing-sgd", "SGD that dies at step 5 (test)",
     &g_crashing_table, g_keys},
    {PLINTH_COMPONENT_STRUCT_SIZE, PLINTH_KIND_OPTIMIZER, "hanging-sgd",
     "SGD that never returns at step 5 (test)", &g_hanging_table, g_keys},
    {PLINTH_COMPONENT_STRUCT_SIZE, PLINTH_KIND_OPTIMIZER, "unused-key-sgd",
     "SGD declaring a key 'warmup' it never reads (test)", &g_table, g_unused_keys}};

const plinth_plugin g_plugin = {PLINTH_PLUGIN_STRUCT_SIZE,
                                PLINTH_ABI_MAJOR,
                                PLINTH_ABI_MINOR,
                                "broken-sgd",
                                "1.0.0",
                                "Plinth tests",
                                sizeof g_components / sizeof g_components[0],
                                g_components,
                                nullptr,
                                nullptr};

}  // namespace

extern "C" PLINTH_EXPORT const plinth_plugin* plinth_plugin_get(void) { return &g_plugin; }
