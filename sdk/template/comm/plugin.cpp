// plugin.cpp — template-comm: the smallest complete Plinth communicator. Its
// world is this one process (rank 0 of 1), so every collective is a copy of
// the caller's own data, which is the right answer for one rank: a sum or
// mean over one rank is the value, a gather is the send buffer. It reads host
// memory only (supports_memory), so the core stages device data through the
// host for it. What a real communicator adds is the transport: replace the
// copies with your library's collectives, and take rank and size from the
// launcher's environment in create().
// Every call checks its arguments the way plinth/comm.h and
// plinth-plugin-check expect: an error with a message, never a crash.
// Config ([distributed] table): timeout_s (float > 0, default 60; there are
// no peers to wait for, so it is only checked).
#include <cstdlib>
#include <cstring>
#include <new>

#include "plinth/comm.h"
#include "plinth/ops.hpp"
#include "plinth/plugin.hpp"

struct plinth_comm {
  const plinth_host* host;
};

namespace {

using plinth::sdk::fail;
using plinth::sdk::failf;

constexpr const char* k_name = "template-comm";

// A launcher that started more than one process: this communicator would
// give each its own world of one, and the ranks would train apart.
int launcher_world_size() {
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "SLURM_NTASKS"})
    if (const char* v = std::getenv(var); v && std::atoi(v) > 1) return std::atoi(v);
  return 1;
}

plinth_status create(const plinth_host* h, const plinth_config* cfg, plinth_comm** out) {
  if (!out) return fail(h, PLINTH_ERR_INVALID_ARGUMENT, "template-comm: NULL output handle");
  *out = nullptr;
  double timeout = 60;
  if (plinth_status s = plinth::sdk::config_float(h, cfg, "timeout_s", timeout); s != PLINTH_OK) return s;
  if (!(timeout > 0)) return failf(h, PLINTH_ERR_INVALID_ARGUMENT, "template-comm: 'timeout_s' must be > 0");
  if (const int n = launcher_world_size(); n > 1)
    return failf(h, PLINTH_ERR_UNSUPPORTED,
                 "template-comm: one process only, and the launcher started %d; use a communicator with a "
                 "transport (mpi, nccl)",
                 n);
  *out = new (std::nothrow) plinth_comm{h};
  return *out ? PLINTH_OK : fail(h, PLINTH_ERR_OUT_OF_MEMORY, "template-comm: out of memory");
}

void destroy(plinth_comm* c) { delete c; }

plinth_status info(const plinth_comm* c, plinth_comm_info* out) {
  if (!c || !out) return PLINTH_ERR_INVALID_ARGUMENT;
  if (out->struct_size < PLINTH_COMM_INFO_STRUCT_SIZE)
    return fail(c->host, PLINTH_ERR_INVALID_ARGUMENT, "template-comm: plinth_comm_info too small");
  out->rank = 0;
  out->size = 1;
  out->local_rank = 0;
  out->local_size = 1;
  return PLINTH_OK;
}

int32_t supports_memory(const plinth_comm*, plinth_memory_kind kind) {
  return kind == PLINTH_MEMORY_HOST ? 1 : 0;
}

// The checks every collective shares; `op` < 0: the collective has none.
plinth_status check(const plinth_comm* c, const void* send, const void* recv, uint64_t count,
                    plinth_dtype dtype, int op, plinth_memory_kind kind, const char* what) {
  if (!c) return PLINTH_ERR_INVALID_ARGUMENT;
  if (kind != PLINTH_MEMORY_HOST)
    return failf(c->host, PLINTH_ERR_UNSUPPORTED, "template-comm: %s: host memory only", what);
  if (dtype < PLINTH_DTYPE_F32 || dtype > PLINTH_DTYPE_U16)
    return failf(c->host, PLINTH_ERR_UNSUPPORTED, "template-comm: %s: unknown dtype %d", what, int(dtype));
  if (op >= 0 && op > PLINTH_REDUCE_OP_MIN)
    return failf(c->host, PLINTH_ERR_INVALID_ARGUMENT, "template-comm: %s: unknown reduce op %d", what, op);
  if (count > (uint64_t{1} << 40))
    return failf(c->host, PLINTH_ERR_INVALID_ARGUMENT, "template-comm: %s: count %llu too large", what,
                 static_cast<unsigned long long>(count));
  if (count > 0 && (!send || !recv))
    return failf(c->host, PLINTH_ERR_INVALID_ARGUMENT, "template-comm: %s: NULL buffer", what);
  return PLINTH_OK;
}

// recv = send (count elements): the result of any collective over one rank.
void copy(void* recv, const void* send, uint64_t count, plinth_dtype dtype) {
  const uint64_t bytes = count * plinth::sdk::dtype_size(dtype);
  if (bytes && recv != send) std::memmove(recv, send, bytes);
}

plinth_status all_reduce(plinth_comm* c, const void* send, void* recv, uint64_t count, plinth_dtype dtype,
                         plinth_reduce_op op, plinth_memory_kind kind, void*) {
  if (plinth_status s = check(c, send, recv, count, dtype, int(op), kind, "all_reduce"); s != PLINTH_OK)
    return s;
  copy(recv, send, count, dtype);
  return PLINTH_OK;
}

plinth_status broadcast(plinth_comm* c, void* buf, uint64_t count, plinth_dtype dtype, int32_t root,
                        plinth_memory_kind kind, void*) {
  if (plinth_status s = check(c, buf, buf, count, dtype, -1, kind, "broadcast"); s != PLINTH_OK) return s;
  if (root != 0)
    return failf(c->host, PLINTH_ERR_INVALID_ARGUMENT, "template-comm: broadcast: root %d of 1", root);
  return PLINTH_OK;  // the root's buffer is already everyone's
}

plinth_status all_gather(plinth_comm* c, const void* send, void* recv, uint64_t count, plinth_dtype dtype,
                         plinth_memory_kind kind, void*) {
  if (plinth_status s = check(c, send, recv, count, dtype, -1, kind, "all_gather"); s != PLINTH_OK) return s;
  copy(recv, send, count, dtype);
  return PLINTH_OK;
}

plinth_status reduce_scatter(plinth_comm* c, const void* send, void* recv, uint64_t count, plinth_dtype dtype,
                             plinth_reduce_op op, plinth_memory_kind kind, void*) {
  if (plinth_status s = check(c, send, recv, count, dtype, int(op), kind, "reduce_scatter"); s != PLINTH_OK)
    return s;
  copy(recv, send, count, dtype);  // block 0 of send, the only block
  return PLINTH_OK;
}

plinth_status barrier(plinth_comm* c) { return c ? PLINTH_OK : PLINTH_ERR_INVALID_ARGUMENT; }

const plinth_comm_v1 k_table = {
    .struct_size = PLINTH_COMM_V1_STRUCT_SIZE,
    .create = create,
    .destroy = destroy,
    .info = info,
    .supports_memory = supports_memory,
    .all_reduce = all_reduce,
    .broadcast = broadcast,
    .all_gather = all_gather,
    .reduce_scatter = reduce_scatter,
    .barrier = barrier,
};

const char* const k_config_keys[] = {"timeout_s", nullptr};

const plinth_component k_components[] = {{
    .struct_size = PLINTH_COMPONENT_STRUCT_SIZE,
    .kind = PLINTH_KIND_COMM,
    .name = k_name,
    .description = "one process: every collective a copy",
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
