/*
 * plinth/optimizer.h — the optimizer table. An optimizer declares the state
 * slots it keeps per parameter and performs its update by launching backend
 * ops through a host-provided op table, so one optimizer runs on every
 * backend. Where the backend supports a fused op for it (PLINTH_OP_ADAMW_STEP,
 * PLINTH_OP_SGD_STEP), the optimizer should launch that instead: it asks
 * ops->supports() first.
 *
 * The core owns parameters, gradients and state tensors; it zero-fills state
 * before the first step and saves/restores it in checkpoints under
 * "<param>.<slot name>".
 */
#ifndef PLINTH_OPTIMIZER_H
#define PLINTH_OPTIMIZER_H

#include "plinth/backend.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct plinth_optimizer plinth_optimizer; /* one configured optimizer */

/* Ops on the parameters' backend, offered by the host during step(). */
typedef struct plinth_optim_ops {
  size_t struct_size;
  void* ctx; /* pass back as the first argument */
  /* 1 if launch(op) will run op on the parameters' backend (or the CPU
   * fallback the pipeline allows), else 0. */
  int32_t (*supports)(void* ctx, const plinth_op* op);
  /* Launch one op; ordered after the backward pass that produced the grad. */
  plinth_status (*launch)(void* ctx, const plinth_op* op);
} plinth_optim_ops;
#define PLINTH_OPTIM_OPS_STRUCT_SIZE PLINTH_STRUCT_SIZE(plinth_optim_ops, launch)

/* One parameter to update. Owned by the host, valid during step() only. */
typedef struct plinth_optim_param {
  size_t struct_size;
  const char* name;             /* "fc1.weight" */
  plinth_tensor param;          /* in/out, f32 master weights            */
  plinth_tensor grad;           /* in, f32, same shape; already averaged  */
  const plinth_tensor* state;   /* num_state_slots tensors, param's shape, f32 */
  const plinth_tensor* scratch; /* num_scratch_slots tensors, param's shape, f32 */
  int32_t apply_weight_decay;   /* 0 for parameters the pipeline excludes */
} plinth_optim_param;
#define PLINTH_OPTIM_PARAM_STRUCT_SIZE PLINTH_STRUCT_SIZE(plinth_optim_param, apply_weight_decay)

typedef struct plinth_optim_step_info {
  size_t struct_size;
  double lr;    /* the scheduled learning rate for this step */
  int64_t step; /* 1-based count of applied optimizer steps, this one included */
} plinth_optim_step_info;
#define PLINTH_OPTIM_STEP_INFO_STRUCT_SIZE PLINTH_STRUCT_SIZE(plinth_optim_step_info, step)

typedef struct plinth_optimizer_v1 {
  size_t struct_size;
  /* Create from the pipeline's [optimizer] table.
   * Malformed input, each an error status (with host->set_error naming the
   * key) and *out untouched or NULL, never a crash: out NULL
   * (PLINTH_ERR_INVALID_ARGUMENT); a key of the wrong type ("lr" = "fast")
   * or out of range (lr <= 0, NaN, infinite). plinth-plugin-check makes
   * these calls. */
  plinth_status (*create)(const plinth_host* host, const plinth_config* cfg, plinth_optimizer** out);
  void (*destroy)(plinth_optimizer* opt);
  /* The base learning rate the schedule scales (from config). */
  double (*base_lr)(const plinth_optimizer* opt);
  /* State kept per parameter: count and stable names ("exp_avg", ...). */
  int32_t (*num_state_slots)(const plinth_optimizer* opt);
  const char* (*state_slot_name)(const plinth_optimizer* opt, int32_t slot);
  /* Scratch tensors per parameter the unfused path needs (not saved). */
  int32_t (*num_scratch_slots)(const plinth_optimizer* opt);
  /* Update one parameter. Called once per parameter per step, from one
   * thread. Must not keep pointers from `p` past return.
   * Malformed input, each PLINTH_ERR_INVALID_ARGUMENT (or UNSUPPORTED for a
   * dtype) with a set_error message, the parameter and state unchanged,
   * never a crash: opt, ops, p or info NULL; info->step < 1; info->lr NaN,
   * infinite or negative; p->struct_size or info->struct_size 0 (smaller
   * than the fields read); param or grad not f32, or of other shapes; state
   * NULL when num_state_slots > 0, scratch NULL when num_scratch_slots > 0.
   * A larger struct_size than this header's (a newer host) is valid: read
   * only the fields you know. plinth-plugin-check makes these calls. */
  plinth_status (*step)(plinth_optimizer* opt, const plinth_optim_ops* ops, const plinth_optim_param* p,
                        const plinth_optim_step_info* info);
} plinth_optimizer_v1;

#define PLINTH_OPTIMIZER_V1_STRUCT_SIZE PLINTH_STRUCT_SIZE(plinth_optimizer_v1, step)
/* Every field is required in ABI 1.x. */
#define PLINTH_OPTIMIZER_V1_MIN_STRUCT_SIZE PLINTH_OPTIMIZER_V1_STRUCT_SIZE

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* PLINTH_OPTIMIZER_H */
