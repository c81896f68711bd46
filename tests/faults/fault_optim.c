/* fault_optim.c — an optimizer plugin for fault tests: its step() leaves the
 * parameters as they are, and fails with a message of its own on the step
 * named by $PLINTH_FAULT_FAIL_AT_STEP (never when unset). Not a real
 * optimizer: it exists to check what the trainer does when a plugin call
 * fails in the middle of a run. */
#include <stdio.h>
#include <stdlib.h>

#include "plinth/optimizer.h"

struct plinth_optimizer {
  const plinth_host* host;
  long long fail_at;
};

static plinth_optimizer g_opt;

static plinth_status fo_create(const plinth_host* host, const plinth_config* cfg, plinth_optimizer** out) {
  (void)cfg;
  const char* s = getenv("PLINTH_FAULT_FAIL_AT_STEP");
  g_opt.host = host;
  g_opt.fail_at = s ? atoll(s) : -1;
  *out = &g_opt;
  return PLINTH_OK;
}
static void fo_destroy(plinth_optimizer* o) { (void)o; }
static double fo_base_lr(const plinth_optimizer* o) {
  (void)o;
  return 0.1;
}
static int32_t fo_num_state(const plinth_optimizer* o) {
  (void)o;
  return 0;
}
static const char* fo_slot_name(const plinth_optimizer* o, int32_t s) {
  (void)o;
  (void)s;
  return "";
}
static int32_t fo_num_scratch(const plinth_optimizer* o) {
  (void)o;
  return 0;
}
static plinth_status fo_step(plinth_optimizer* o, const plinth_optim_ops* ops, const plinth_optim_param* p,
                             const plinth_optim_step_info* info) {
  (void)ops;
  if (info->step == o->fail_at) {
    char msg[160];
    snprintf(msg, sizeof msg, "fault-optim: injected failure at step %lld on %s", (long long)info->step,
             p->name);
    return o->host->set_error(o->host->ctx, PLINTH_ERR_UNAVAILABLE, msg);
  }
  return PLINTH_OK;
}

static const plinth_optimizer_v1 g_table = {PLINTH_OPTIMIZER_V1_STRUCT_SIZE,
                                            fo_create,
                                            fo_destroy,
                                            fo_base_lr,
                                            fo_num_state,
                                            fo_slot_name,
                                            fo_num_scratch,
                                            fo_step};
static const char* const g_keys[] = {"lr", NULL};
static const plinth_component g_components[] = {
    {PLINTH_COMPONENT_STRUCT_SIZE, PLINTH_KIND_OPTIMIZER, "fault-sgd", "fails on demand", &g_table, g_keys}};
static const plinth_plugin g_plugin = {PLINTH_PLUGIN_STRUCT_SIZE,
                                       PLINTH_ABI_MAJOR,
                                       PLINTH_ABI_MINOR,
                                       "fault-optim",
                                       "0.0.1",
                                       "Plinth tests",
                                       1,
                                       g_components,
                                       NULL,
                                       NULL};

PLINTH_EXPORT const plinth_plugin* plinth_plugin_get(void) { return &g_plugin; }
