// optim.hpp — what the sgd, adamw and lion components share: the optimizer object
// (hyper-parameters read once at create), the op wrappers that launch generic
// backend ops through plinth_optim_ops, and the step-argument checks.
// The update rules themselves live in sgd.cpp, adamw.cpp and lion.cpp.
#pragma once

#include <string>

#include "plinth/optimizer.h"
#include "plinth/plugin.hpp"

// The opaque handle of optimizer.h, one struct for every component.
struct plinth_optimizer {
  const plinth_host* host = nullptr;
  const char* component = "";  // "sgd", "adamw" or "lion"
  double lr = 0.0;
  double weight_decay = 0.0;
  // sgd
  double momentum = 0.0;
  double dampening = 0.0;
  bool nesterov = false;
  // adamw and lion (lion: betas default [0.9, 0.99])
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
};

namespace plinth::optim {

// Launches generic ops on the parameter's backend. Each call returns the
// launch status (the host has recorded any message).
struct op_launcher {
  const plinth_optim_ops* ops;
  // out = fn(alpha * a + beta * b)   (b may alias out; fn other than
  // IDENTITY needs ABI 1.2, which the core gives older backends through its
  // CPU fallback)
  plinth_status axpby(const plinth_tensor& out, const plinth_tensor& a, double alpha, const plinth_tensor& b,
                      double beta, plinth_unary_fn fn = PLINTH_UNARY_IDENTITY) const;
  // out = a (fn) b   (out aliases neither)
  plinth_status binary(plinth_binary_fn fn, const plinth_tensor& out, const plinth_tensor& a,
                       const plinth_tensor& b) const;
  // out = fn(alpha * in + beta)   (out does not alias in)
  plinth_status unary(plinth_unary_fn fn, const plinth_tensor& out, const plinth_tensor& in, double alpha,
                      double beta) const;
  // Ask supports(); launch when supported. *launched says which happened.
  plinth_status try_fused(const plinth_op& op, bool* launched) const;
};

// Common checks of step()'s arguments; `slots`/`scratch` are what the
// optimizer declared. On failure records a message naming the parameter.
plinth_status check_step_args(const plinth_optimizer* opt, const plinth_optim_ops* ops,
                              const plinth_optim_param* p, const plinth_optim_step_info* info, int slots,
                              int scratch);

// Config readers with validation messages naming the key.
plinth_status read_positive(const plinth_host* h, const plinth_config* c, const char* comp, const char* key,
                            double& out);
plinth_status read_nonnegative(const plinth_host* h, const plinth_config* c, const char* comp,
                               const char* key, double& out);
// The optional 'betas' array: two numbers, each in [0, 1); the arguments keep
// their defaults when the key is absent.
plinth_status read_betas(const plinth_host* h, const plinth_config* c, const char* comp, double& beta1,
                         double& beta2);

extern const plinth_optimizer_v1 sgd_table;
extern const char* const sgd_keys[];
extern const plinth_optimizer_v1 adamw_table;
extern const char* const adamw_keys[];
extern const plinth_optimizer_v1 lion_table;
extern const char* const lion_keys[];

// Shared trivial entries.
void optimizer_destroy(plinth_optimizer* opt);
double optimizer_base_lr(const plinth_optimizer* opt);

}  // namespace plinth::optim
