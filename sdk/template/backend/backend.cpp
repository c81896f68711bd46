// backend.cpp — template-backend: the smallest complete Plinth backend. One
// device whose buffers are host memory; streams and events exist but every
// call runs synchronously. Ops: FILL and BINARY ADD on dense (row-major,
// contiguous) f32 tensors of equal shape. supports() says no to everything
// else, so the core runs those ops on the CPU backend instead. The table and
// descriptor that publish these functions: plugin.cpp.
#include <cstdlib>
#include <cstring>
#include <new>

#include "backend.hpp"
#include "plinth/plugin.hpp"

struct plinth_backend_ctx {
  const plinth_host* host;
};
struct plinth_buffer {
  void* data;
  uint64_t size;
};
struct plinth_stream {};  // work runs on the calling thread: nothing to keep
struct plinth_event {};

namespace backend {

// What plugin.cpp publishes about this backend.
const char k_name[] = "template-backend";
const char k_version[] = "0.1.0";
const char k_vendor[] = "Example Vendor";
const char k_description[] = "host memory; FILL and BINARY ADD on dense f32";
// This backend reads no keys from [backend]: an empty list makes the core
// reject any key written there.
const char* const k_config_keys[] = {nullptr};

namespace {

using plinth::sdk::fail;
using plinth::sdk::guard;

bool in_range(const plinth_buffer* b, uint64_t off, uint64_t size) {
  return b && off <= b->size && size <= b->size - off;
}

}  // namespace

// --- devices -----------------------------------------------------------------

plinth_status device_count(int32_t* out) {
  if (!out) return PLINTH_ERR_INVALID_ARGUMENT;
  *out = 1;
  return PLINTH_OK;
}

plinth_status device_properties(int32_t index, plinth_device_properties* out) {
  if (!out || index != 0) return PLINTH_ERR_INVALID_ARGUMENT;
  // Write only the fields the caller's struct_size covers (it may be older).
  plinth_device_properties p{};
  p.struct_size = PLINTH_DEVICE_PROPERTIES_STRUCT_SIZE;
  std::strncpy(p.name, "template host device", sizeof p.name - 1);
  p.memory_kind = PLINTH_MEMORY_HOST;
  p.compute_units = 1;
  p.host_visible = 1;
  const size_t n = out->struct_size < sizeof p ? out->struct_size : sizeof p;
  const size_t caller_size = out->struct_size;
  std::memcpy(out, &p, n);
  out->struct_size = caller_size;
  return PLINTH_OK;
}

// --- instance ----------------------------------------------------------------

plinth_status create(const plinth_host* host, const plinth_config*, int32_t device,
                     plinth_backend_ctx** out) {
  return guard(host, [&]() -> plinth_status {
    if (!out) return fail(host, PLINTH_ERR_INVALID_ARGUMENT, "template-backend: NULL output handle");
    if (device != 0) return fail(host, PLINTH_ERR_NOT_FOUND, "template-backend: only device 0 exists");
    *out = new plinth_backend_ctx{host};
    return PLINTH_OK;
  });
}

void destroy(plinth_backend_ctx* ctx) { delete ctx; }

// --- buffers -----------------------------------------------------------------

plinth_status buffer_alloc(plinth_backend_ctx* ctx, uint64_t size, plinth_buffer** out) {
  return guard(ctx->host, [&]() -> plinth_status {
    // aligned_alloc needs a multiple of the alignment; size 0 still gets 64 bytes.
    const uint64_t rounded = (size + 63) / 64 * 64 + (size == 0 ? 64 : 0);
    void* p = std::aligned_alloc(64, rounded);
    if (!p) return fail(ctx->host, PLINTH_ERR_OUT_OF_MEMORY, "template-backend: out of host memory");
    *out = new plinth_buffer{p, size};
    return PLINTH_OK;
  });
}

void buffer_free(plinth_backend_ctx*, plinth_buffer* buf) {
  if (!buf) return;
  std::free(buf->data);
  delete buf;
}

void* buffer_host_ptr(plinth_backend_ctx*, plinth_buffer* buf) { return buf ? buf->data : nullptr; }

plinth_status copy_h2d(plinth_backend_ctx* ctx, plinth_stream*, plinth_buffer* dst, uint64_t dst_offset,
                       const void* src, uint64_t size) {
  if (!in_range(dst, dst_offset, size) || (size && !src))
    return fail(ctx->host, PLINTH_ERR_INVALID_ARGUMENT, "template-backend: copy_h2d out of range");
  if (size) std::memcpy(static_cast<char*>(dst->data) + dst_offset, src, size);
  return PLINTH_OK;
}

plinth_status copy_d2h(plinth_backend_ctx* ctx, plinth_stream*, void* dst, plinth_buffer* src,
                       uint64_t src_offset, uint64_t size) {
  if (!in_range(src, src_offset, size) || (size && !dst))
    return fail(ctx->host, PLINTH_ERR_INVALID_ARGUMENT, "template-backend: copy_d2h out of range");
  if (size) std::memcpy(dst, static_cast<const char*>(src->data) + src_offset, size);
  return PLINTH_OK;
}

plinth_status copy_d2d(plinth_backend_ctx* ctx, plinth_stream*, plinth_buffer* dst, uint64_t dst_offset,
                       plinth_buffer* src, uint64_t src_offset, uint64_t size) {
  if (!in_range(dst, dst_offset, size) || !in_range(src, src_offset, size))
    return fail(ctx->host, PLINTH_ERR_INVALID_ARGUMENT, "template-backend: copy_d2d out of range");
  if (size)
    std::memmove(static_cast<char*>(dst->data) + dst_offset, static_cast<const char*>(src->data) + src_offset,
                 size);
  return PLINTH_OK;
}

// --- streams and events: everything already ran when a call returns ---------

plinth_status stream_create(plinth_backend_ctx* ctx, plinth_stream** out) {
  return guard(ctx->host, [&]() -> plinth_status {
    *out = new plinth_stream{};
    return PLINTH_OK;
  });
}
void stream_destroy(plinth_backend_ctx*, plinth_stream* s) { delete s; }
plinth_status stream_synchronize(plinth_backend_ctx*, plinth_stream*) { return PLINTH_OK; }
plinth_status event_create(plinth_backend_ctx* ctx, plinth_event** out) {
  return guard(ctx->host, [&]() -> plinth_status {
    *out = new plinth_event{};
    return PLINTH_OK;
  });
}
void event_destroy(plinth_backend_ctx*, plinth_event* e) { delete e; }
plinth_status event_record(plinth_backend_ctx*, plinth_event*, plinth_stream*) { return PLINTH_OK; }
plinth_status stream_wait_event(plinth_backend_ctx*, plinth_stream*, plinth_event*) { return PLINTH_OK; }
plinth_status event_synchronize(plinth_backend_ctx*, plinth_event*) { return PLINTH_OK; }

// --- ops -----------------------------------------------------------------------

namespace {

int64_t numel(const plinth_tensor& t) {
  int64_t n = 1;
  for (int d = 0; d < t.ndim; ++d) n *= t.shape[d];
  return n;
}

// Row-major and contiguous: strides are what a packed array of this shape has.
bool dense_f32(const plinth_tensor& t) {
  if (t.dtype != PLINTH_DTYPE_F32 || t.ndim < 0 || t.ndim > PLINTH_MAX_DIMS) return false;
  int64_t expect = 1;
  for (int d = t.ndim - 1; d >= 0; --d) {
    if (t.shape[d] < 0) return false;
    if (t.shape[d] != 1 && t.strides[d] != expect) return false;
    expect *= t.shape[d];
  }
  return true;
}

bool same_shape(const plinth_tensor& a, const plinth_tensor& b) {
  if (a.ndim != b.ndim) return false;
  for (int d = 0; d < a.ndim; ++d)
    if (a.shape[d] != b.shape[d]) return false;
  return true;
}

template <class P>
const P* params_of(const plinth_op* op, size_t min_size) {
  const auto* p = static_cast<const P*>(op->params);
  return p && p->struct_size >= min_size ? p : nullptr;
}

float* f32(const plinth_tensor& t) {
  return reinterpret_cast<float*>(static_cast<char*>(t.buffer->data) + t.offset);
}

}  // namespace

// Exactly the ops launch() runs. Buffers may be NULL here.
int32_t supports(plinth_backend_ctx*, const plinth_op* op) {
  if (!op || op->struct_size < PLINTH_OP_STRUCT_SIZE) return 0;
  switch (plinth::sdk::raw_enum(op->kind)) {  // raw: a caller may pass any value
    case PLINTH_OP_FILL:
      return op->num_inputs == 0 && op->num_outputs == 1 &&
             params_of<plinth_fill_params>(op, PLINTH_FILL_PARAMS_STRUCT_SIZE) && dense_f32(op->outputs[0]);
    case PLINTH_OP_BINARY: {
      const auto* p = params_of<plinth_binary_params>(op, PLINTH_BINARY_PARAMS_STRUCT_SIZE);
      if (!p || plinth::sdk::raw_enum(p->fn) != PLINTH_BINARY_ADD || op->num_inputs != 2 ||
          op->num_outputs != 1)
        return 0;
      const plinth_tensor& o = op->outputs[0];
      return dense_f32(o) && dense_f32(op->inputs[0]) && dense_f32(op->inputs[1]) &&
             same_shape(o, op->inputs[0]) && same_shape(o, op->inputs[1]);
    }
    default:
      return 0;
  }
}

plinth_status launch(plinth_backend_ctx* ctx, plinth_stream*, const plinth_op* op) {
  return guard(ctx->host, [&]() -> plinth_status {
    if (!supports(ctx, op))
      return plinth::sdk::failf(ctx->host, PLINTH_ERR_UNSUPPORTED,
                                "template-backend: op %d with these dtypes/layouts is not supported",
                                op ? plinth::sdk::raw_enum(op->kind) : -1);
    const plinth_tensor& out = op->outputs[0];
    const int64_t n = numel(out);
    if (n == 0) return PLINTH_OK;
    for (int i = 0; i < op->num_inputs; ++i)
      if (!in_range(op->inputs[i].buffer, op->inputs[i].offset, uint64_t(n) * 4))
        return fail(ctx->host, PLINTH_ERR_INVALID_ARGUMENT, "template-backend: input outside its buffer");
    if (!in_range(out.buffer, out.offset, uint64_t(n) * 4))
      return fail(ctx->host, PLINTH_ERR_INVALID_ARGUMENT, "template-backend: output outside its buffer");
    float* o = f32(out);
    if (plinth::sdk::raw_enum(op->kind) == PLINTH_OP_FILL) {
      const float v = static_cast<float>(static_cast<const plinth_fill_params*>(op->params)->value);
      for (int64_t i = 0; i < n; ++i) o[i] = v;
      return PLINTH_OK;
    }
    // BINARY ADD: out = a + b, or beta * out + (a + b) when beta != 0.
    const float beta = static_cast<const plinth_binary_params*>(op->params)->beta;
    const float* a = f32(op->inputs[0]);
    const float* b = f32(op->inputs[1]);
    for (int64_t i = 0; i < n; ++i) o[i] = (beta != 0.0f ? beta * o[i] : 0.0f) + (a[i] + b[i]);
    return PLINTH_OK;
  });
}

int32_t num_threads(plinth_backend_ctx*) { return 1; }

}  // namespace backend
