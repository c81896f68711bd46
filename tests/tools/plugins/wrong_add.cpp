// wrong_add.cpp — deliberately broken test backends for plinth-plugin-check:
// host memory, one device, FILL f32 and BINARY ADD f32 on contiguous tensors
// of one shape, broken in one way picked at build time:
//   (default)             ADD computes a - b: the kit must report BINARY failing;
//   BROKEN_ADD_ERRORS     ADD is claimed by supports() but its launch returns
//                         an error: the kit must report the claimed case failing;
//   BROKEN_COPY_TRUNCATES copies (h2d, d2h, d2d) move at most 4 KiB: the kit
//                         must report the copy checks failing.
// BROKEN_NAME is the plugin and component name. Everything else (streams,
// errors) follows the contract.
#include <unistd.h>
#include <cstdlib>

#include <csignal>
#include <cstring>
#include <new>

#include "plinth/backend.h"
#include "plinth/plugin.hpp"

#ifndef BROKEN_NAME
#define BROKEN_NAME "wrong-add"
#endif

struct plinth_backend_ctx {
  int device;
};
struct plinth_buffer {
  unsigned char* data;
  uint64_t size;
};

namespace {

const plinth_host* g_host = nullptr;
int g_token;

plinth_status fail(plinth_status code, const char* msg) { return plinth::sdk::fail(g_host, code, msg); }

plinth_status device_count(int32_t* out) {
  *out = 1;
  return PLINTH_OK;
}
plinth_status device_properties(int32_t index, plinth_device_properties* out) {
  return plinth::sdk::guard(g_host, [&] {
    if (index != 0) return fail(PLINTH_ERR_INVALID_ARGUMENT, BROKEN_NAME ": no such device");
    std::memset(out->name, 0, sizeof out->name);
    std::strcpy(out->name, BROKEN_NAME " host device");
    out->memory_kind = PLINTH_MEMORY_HOST;
    out->total_memory = 0;
    out->compute_units = 1;
    out->has_bf16 = out->has_fp16 = 0;
    out->host_visible = 1;
    return PLINTH_OK;
  });
}
plinth_status create(const plinth_host*, const plinth_config*, int32_t device, plinth_backend_ctx** out) {
  if (device != 0) return fail(PLINTH_ERR_INVALID_ARGUMENT, BROKEN_NAME ": no such device");
  *out = new (std::nothrow) plinth_backend_ctx{device};
  return *out ? PLINTH_OK : PLINTH_ERR_OUT_OF_MEMORY;
}
void destroy(plinth_backend_ctx* ctx) { delete ctx; }
plinth_status buffer_alloc(plinth_backend_ctx*, uint64_t size, plinth_buffer** out) {
  auto* b = new (std::nothrow) plinth_buffer{nullptr, size};
  if (!b) return PLINTH_ERR_OUT_OF_MEMORY;
  b->data = static_cast<unsigned char*>(std::aligned_alloc(64, (size + 63) / 64 * 64 + 64));
  if (!b->data) {
    delete b;
    return fail(PLINTH_ERR_OUT_OF_MEMORY, BROKEN_NAME ": out of memory");
  }
  *out = b;
  return PLINTH_OK;
}
void buffer_free(plinth_backend_ctx*, plinth_buffer* b) {
  if (!b) return;
  std::free(b->data);
  delete b;
}
void* buffer_host_ptr(plinth_backend_ctx*, plinth_buffer* b) { return b ? b->data : nullptr; }
// How many of `size` bytes a copy moves.
uint64_t copied(uint64_t size) {
#if defined(BROKEN_COPY_TRUNCATES)
  return size < 4096 ? size : 4096;  // the deliberate bug: large copies stop at 4 KiB
#else
  return size;
#endif
}

plinth_status copy_h2d(plinth_backend_ctx*, plinth_stream*, plinth_buffer* dst, uint64_t off, const void* src,
                       uint64_t size) {
  if (!dst || off + size > dst->size)
    return fail(PLINTH_ERR_INVALID_ARGUMENT, BROKEN_NAME ": copy out of range");
  if (size) std::memcpy(dst->data + off, src, copied(size));
  return PLINTH_OK;
}
plinth_status copy_d2h(plinth_backend_ctx*, plinth_stream*, void* dst, plinth_buffer* src, uint64_t off,
                       uint64_t size) {
  if (!src || off + size > src->size)
    return fail(PLINTH_ERR_INVALID_ARGUMENT, BROKEN_NAME ": copy out of range");
  if (size) std::memcpy(dst, src->data + off, copied(size));
  return PLINTH_OK;
}
plinth_status copy_d2d(plinth_backend_ctx*, plinth_stream*, plinth_buffer* dst, uint64_t doff,
                       plinth_buffer* src, uint64_t soff, uint64_t size) {
  if (!dst || !src || doff + size > dst->size || soff + size > src->size)
    return fail(PLINTH_ERR_INVALID_ARGUMENT, BROKEN_NAME ": copy out of range");
  if (size) std::memmove(dst->data + doff, src->data + soff, copied(size));
  return PLINTH_OK;
}
plinth_status stream_create(plinth_backend_ctx*, plinth_stream** out) {
  *out = reinterpret_cast<plinth_stream*>(&g_token);
  return PLINTH_OK;
}
void stream_destroy(plinth_backend_ctx*, plinth_stream*) {}
plinth_status stream_synchronize(plinth_backend_ctx*, plinth_stream*) { return PLINTH_OK; }
plinth_status event_create(plinth_backend_ctx*, plinth_event** out) {
  *out = reinterpret_cast<plinth_event*>(&g_token);
  return PLINTH_OK;
}
void event_destroy(plinth_backend_ctx*, plinth_event*) {}
plinth_status event_record(plinth_backend_ctx*, plinth_event*, plinth_stream*) { return PLINTH_OK; }
plinth_status stream_wait_event(plinth_backend_ctx*, plinth_stream*, plinth_event*) { return PLINTH_OK; }
plinth_status event_synchronize(plinth_backend_ctx*, plinth_event*) { return PLINTH_OK; }

// Contiguous f32 with `n` elements; false on anything else.
bool plain_f32(const plinth_tensor& t, int64_t* n) {
  if (t.struct_size < PLINTH_TENSOR_STRUCT_SIZE || t.dtype != PLINTH_DTYPE_F32 || t.ndim < 0 ||
      t.ndim > PLINTH_MAX_DIMS)
    return false;
  int64_t acc = 1;
  for (int32_t i = t.ndim - 1; i >= 0; --i) {
    if (t.shape[i] < 0 || (t.shape[i] > 1 && t.strides[i] != acc)) return false;
    acc *= t.shape[i];
  }
  *n = acc;
  return true;
}
bool same_shape(const plinth_tensor& a, const plinth_tensor& b) {
  if (a.ndim != b.ndim) return false;
  for (int32_t i = 0; i < a.ndim; ++i)
    if (a.shape[i] != b.shape[i] || a.strides[i] != b.strides[i]) return false;
  return true;
}

int32_t supports(plinth_backend_ctx*, const plinth_op* op) {
  if (!op || op->struct_size < PLINTH_OP_STRUCT_SIZE || !op->params) return 0;
  int64_t n = 0;
  if (plinth::sdk::raw_enum(op->kind) == PLINTH_OP_FILL) {
    const auto* p = static_cast<const plinth_fill_params*>(op->params);
    return op->num_inputs == 0 && op->num_outputs == 1 && p->struct_size >= PLINTH_FILL_PARAMS_STRUCT_SIZE &&
           plain_f32(op->outputs[0], &n);
  }
  if (plinth::sdk::raw_enum(op->kind) == PLINTH_OP_BINARY) {
    const auto* p = static_cast<const plinth_binary_params*>(op->params);
    return op->num_inputs == 2 && op->num_outputs == 1 &&
           p->struct_size >= PLINTH_BINARY_PARAMS_STRUCT_SIZE &&
           plinth::sdk::raw_enum(p->fn) == PLINTH_BINARY_ADD && p->beta == 0 &&
           plain_f32(op->outputs[0], &n) && plain_f32(op->inputs[0], &n) && plain_f32(op->inputs[1], &n) &&
           same_shape(op->inputs[0], op->outputs[0]) && same_shape(op->inputs[1], op->outputs[0]);
  }
  return 0;
}

float* data_of(const plinth_tensor& t, int64_t n) {
  if (n == 0) return nullptr;
  if (!t.buffer || t.offset + uint64_t(n) * 4 > t.buffer->size) return nullptr;
  return reinterpret_cast<float*>(t.buffer->data + t.offset);
}

plinth_status launch(plinth_backend_ctx* ctx, plinth_stream*, const plinth_op* op) {
  return plinth::sdk::guard(g_host, [&] {
    if (!supports(ctx, op))
      return fail(PLINTH_ERR_UNSUPPORTED, BROKEN_NAME ": only FILL and BINARY ADD, f32");
    int64_t n = 0;
    plain_f32(op->outputs[0], &n);
    float* out = data_of(op->outputs[0], n);
    if (n > 0 && !out) return fail(PLINTH_ERR_INVALID_ARGUMENT, BROKEN_NAME ": output out of range");
    if (plinth::sdk::raw_enum(op->kind) == PLINTH_OP_FILL) {
      const float v = float(static_cast<const plinth_fill_params*>(op->params)->value);
      for (int64_t i = 0; i < n; ++i) out[i] = v;
      return PLINTH_OK;
    }
    const float* a = data_of(op->inputs[0], n);
    const float* b = data_of(op->inputs[1], n);
    if (n > 0 && (!a || !b)) return fail(PLINTH_ERR_INVALID_ARGUMENT, BROKEN_NAME ": input out of range");
#if defined(BROKEN_ADD_CRASHES) || defined(BROKEN_ADD_HANGS)
    // The deliberate bug: an ADD of more than 32 elements crashes (hangs).
    if (n > 32) {
#if defined(BROKEN_ADD_CRASHES)
      ::raise(SIGSEGV);
#else
      for (;;) ::pause();
#endif
    }
    for (int64_t i = 0; i < n; ++i) out[i] = a[i] + b[i];
    return PLINTH_OK;
#elif defined(BROKEN_ADD_ERRORS)
    (void)a;
    (void)b;
    // The deliberate bug: supports() said yes, the launch says no.
    return fail(PLINTH_ERR_INTERNAL, BROKEN_NAME ": ADD kernel failed to launch");
#elif defined(BROKEN_COPY_TRUNCATES)
    for (int64_t i = 0; i < n; ++i) out[i] = a[i] + b[i];
    return PLINTH_OK;
#else
    for (int64_t i = 0; i < n; ++i) out[i] = a[i] - b[i];  // the deliberate bug: ADD subtracts
    return PLINTH_OK;
#endif
  });
}

const plinth_backend_v1 g_backend = {PLINTH_BACKEND_V1_STRUCT_SIZE,
                                     device_count,
                                     device_properties,
                                     create,
                                     destroy,
                                     buffer_alloc,
                                     buffer_free,
                                     buffer_host_ptr,
                                     copy_h2d,
                                     copy_d2h,
                                     copy_d2d,
                                     stream_create,
                                     stream_destroy,
                                     stream_synchronize,
                                     event_create,
                                     event_destroy,
                                     event_record,
                                     stream_wait_event,
                                     event_synchronize,
                                     supports,
                                     launch,
                                     nullptr};

const plinth_component g_components[] = {{PLINTH_COMPONENT_STRUCT_SIZE, PLINTH_KIND_BACKEND, BROKEN_NAME,
                                          "deliberately broken (test)", &g_backend, nullptr}};

plinth_status init(const plinth_host* host) {
  g_host = host;
  return PLINTH_OK;
}

const plinth_plugin g_plugin = {PLINTH_PLUGIN_STRUCT_SIZE,
                                PLINTH_ABI_MAJOR,
                                PLINTH_ABI_MINOR,
                                BROKEN_NAME,
                                "1.0.0",
                                "Plinth tests",
                                1,
                                g_components,
                                init,
                                nullptr};

}  // namespace

extern "C" PLINTH_EXPORT const plinth_plugin* plinth_plugin_get(void) { return &g_plugin; }
