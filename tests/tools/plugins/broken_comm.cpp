// broken_comm.cpp — a deliberately broken communicator for
// plinth-plugin-check: one rank only (it never looks at a launcher), host
// memory, every collective a copy (which is right for one rank), with two
// bugs the kit must report by case:
//   - collectives move at most 1 MiB, so the >1 MiB cases come back short;
//   - broadcast accepts any root, so "root = size" returns OK.
// With PLINTH_TEST_COMM_BUG=crash all_gather raises SIGSEGV; with =hang it
// never returns (the kit must name the case and reach its report).
// Everything else follows plinth/comm.h.
#include <signal.h>
#include <unistd.h>

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

constexpr uint64_t kCap = uint64_t(1) << 20;  // the deliberate bug: copies stop at 1 MiB

bool known_dtype(plinth_dtype d) { return d >= PLINTH_DTYPE_F32 && d <= PLINTH_DTYPE_U16; }
bool known_op(plinth_reduce_op op) { return op >= PLINTH_REDUCE_OP_SUM && op <= PLINTH_REDUCE_OP_MIN; }

plinth_status check(plinth_comm* c, const void* a, const void* b, uint64_t count, plinth_dtype d,
                    plinth_memory_kind kind, const char* what) {
  if (kind != PLINTH_MEMORY_HOST)
    return plinth::sdk::failf(c->host, PLINTH_ERR_UNSUPPORTED, "%s: host memory only", what);
  if (!known_dtype(d)) return plinth::sdk::failf(c->host, PLINTH_ERR_UNSUPPORTED, "%s: unknown dtype", what);
  if (count > 0 && (!a || !b))
    return plinth::sdk::failf(c->host, PLINTH_ERR_INVALID_ARGUMENT, "%s: NULL buffer", what);
  return PLINTH_OK;
}

void copy(void* dst, const void* src, uint64_t count, plinth_dtype d) {
  uint64_t bytes = count * plinth::sdk::dtype_size(d);
  if (bytes > kCap) bytes = kCap;
  if (bytes && dst != src) std::memmove(dst, src, bytes);
}

plinth_status create(const plinth_host* host, const plinth_config*, plinth_comm** out) {
  if (!out) return plinth::sdk::fail(host, PLINTH_ERR_INVALID_ARGUMENT, "broken-comm: out is NULL");
  *out = new (std::nothrow) plinth_comm{host};
  return *out ? PLINTH_OK : PLINTH_ERR_OUT_OF_MEMORY;
}
void destroy(plinth_comm* c) { delete c; }
plinth_status info(const plinth_comm* c, plinth_comm_info* out) {
  if (!out || out->struct_size < PLINTH_COMM_INFO_STRUCT_SIZE)
    return plinth::sdk::fail(c->host, PLINTH_ERR_INVALID_ARGUMENT, "broken-comm: info struct too small");
  out->rank = 0;
  out->size = 1;
  out->local_rank = 0;
  out->local_size = 1;
  return PLINTH_OK;
}
int32_t supports_memory(const plinth_comm*, plinth_memory_kind kind) { return kind == PLINTH_MEMORY_HOST; }
plinth_status all_reduce(plinth_comm* c, const void* send, void* recv, uint64_t count, plinth_dtype d,
                         plinth_reduce_op op, plinth_memory_kind kind, void*) {
  if (plinth_status s = check(c, send, recv, count, d, kind, "all_reduce"); s != PLINTH_OK) return s;
  if (!known_op(op)) return plinth::sdk::fail(c->host, PLINTH_ERR_INVALID_ARGUMENT, "all_reduce: unknown op");
  copy(recv, send, count, d);
  return PLINTH_OK;
}
plinth_status broadcast(plinth_comm* c, void* buf, uint64_t count, plinth_dtype d, int32_t,
                        plinth_memory_kind kind, void*) {
  // The deliberate bug: the root is not checked.
  return check(c, buf, buf, count, d, kind, "broadcast");
}
plinth_status all_gather(plinth_comm* c, const void* send, void* recv, uint64_t count, plinth_dtype d,
                         plinth_memory_kind kind, void*) {
  if (plinth_status s = check(c, send, recv, count, d, kind, "all_gather"); s != PLINTH_OK) return s;
  if (const char* bug = std::getenv("PLINTH_TEST_COMM_BUG")) {
    if (std::strcmp(bug, "crash") == 0) ::raise(SIGSEGV);
    if (std::strcmp(bug, "hang") == 0)
      for (;;) ::pause();
  }
  copy(recv, send, count, d);
  return PLINTH_OK;
}
plinth_status reduce_scatter(plinth_comm* c, const void* send, void* recv, uint64_t count, plinth_dtype d,
                             plinth_reduce_op op, plinth_memory_kind kind, void*) {
  if (plinth_status s = check(c, send, recv, count, d, kind, "reduce_scatter"); s != PLINTH_OK) return s;
  if (!known_op(op))
    return plinth::sdk::fail(c->host, PLINTH_ERR_INVALID_ARGUMENT, "reduce_scatter: unknown op");
  copy(recv, send, count, d);
  return PLINTH_OK;
}
plinth_status barrier(plinth_comm*) { return PLINTH_OK; }

const plinth_comm_v1 g_table = {PLINTH_COMM_V1_STRUCT_SIZE,
                                create,
                                destroy,
                                info,
                                supports_memory,
                                all_reduce,
                                broadcast,
                                all_gather,
                                reduce_scatter,
                                barrier};

const plinth_component g_components[] = {{PLINTH_COMPONENT_STRUCT_SIZE, PLINTH_KIND_COMM, "broken-comm",
                                          "deliberately broken one-rank communicator (test)", &g_table,
                                          nullptr}};

const plinth_plugin g_plugin = {PLINTH_PLUGIN_STRUCT_SIZE,
                                PLINTH_ABI_MAJOR,
                                PLINTH_ABI_MINOR,
                                "broken-comm",
                                "1.0.0",
                                "Plinth tests",
                                1,
                                g_components,
                                nullptr,
                                nullptr};

}  // namespace

extern "C" PLINTH_EXPORT const plinth_plugin* plinth_plugin_get(void) { return &g_plugin; }
