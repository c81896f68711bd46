// backend.cpp — vendor-matmul: an out-of-tree Plinth backend built only
// against the installed SDK, on the SDK's backend template: this file holds
// the functions and names of backend.hpp, the template's plugin.cpp publishes
// them (CMakeLists.txt). Its "device" is a worker thread per instance:
// copies and launches are queued and run asynchronously, in submission
// order, and synchronize calls report the first failure. Its buffers are
// host memory (host-visible, memory kind OTHER: only this backend reads them
// in order with its queue). It runs f32 MATMUL only; supports() declines
// every other op, which the core then runs on the CPU backend with copies
// in between.
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "backend.hpp"
#include "matmul.hpp"
#include "plinth/plugin.hpp"
#include "worker.hpp"

struct plinth_buffer {
  char* data;
  uint64_t size;
};
struct plinth_backend_ctx {
  const plinth_host* host;
  vendor::worker queue;  // destroyed (drained, joined) with the instance
};
struct plinth_stream {};  // all streams share the instance's FIFO queue
struct plinth_event {
  uint64_t ticket = 0;  // the last task queued when the event was recorded
};

namespace backend {

const char k_name[] = "vendor-matmul";
const char k_version[] = "1.0.0";
const char k_vendor[] = "Example Vendor";
const char k_description[] = "f32 MATMUL on a worker thread; every other op falls back to the CPU";
const char* const k_config_keys[] = {nullptr};

namespace {

using plinth::sdk::fail;
using plinth::sdk::failf;
using plinth::sdk::guard;

// A failed queued task's message goes to the thread that synchronizes.
plinth_status wait_for(plinth_backend_ctx* ctx, uint64_t ticket) {
  std::string error;
  const plinth_status s = ctx->queue.wait(ticket, &error);
  return s == PLINTH_OK ? s : fail(ctx->host, s, "vendor-matmul: queued work failed: " + error);
}

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
  plinth_device_properties p{};
  std::strncpy(p.name, "vendor-matmul worker thread", sizeof p.name - 1);
  p.memory_kind = PLINTH_MEMORY_OTHER;
  p.compute_units = 1;
  p.host_visible = 1;
  const size_t caller_size = out->struct_size;  // may be an older, shorter struct
  std::memcpy(out, &p, caller_size < sizeof p ? caller_size : sizeof p);
  out->struct_size = caller_size;
  return PLINTH_OK;
}

// --- instance ----------------------------------------------------------------

plinth_status create(const plinth_host* host, const plinth_config*, int32_t device,
                     plinth_backend_ctx** out) {
  return guard(host, [&]() -> plinth_status {
    if (!out) return fail(host, PLINTH_ERR_INVALID_ARGUMENT, "vendor-matmul: NULL output handle");
    if (device != 0) return failf(host, PLINTH_ERR_NOT_FOUND, "vendor-matmul: no device %d (only 0)", device);
    *out = new plinth_backend_ctx{host, {}};
    plinth::sdk::log(host, PLINTH_LOG_DEBUG, k_name, "worker thread started");
    return PLINTH_OK;
  });
}

void destroy(plinth_backend_ctx* ctx) { delete ctx; }

// --- buffers -----------------------------------------------------------------

plinth_status buffer_alloc(plinth_backend_ctx* ctx, uint64_t size, plinth_buffer** out) {
  return guard(ctx->host, [&]() -> plinth_status {
    if (!out) return fail(ctx->host, PLINTH_ERR_INVALID_ARGUMENT, "vendor-matmul: NULL output handle");
    const uint64_t rounded = size == 0 ? 64 : (size + 63) / 64 * 64;
    void* p = std::aligned_alloc(64, rounded);
    if (!p)
      return failf(ctx->host, PLINTH_ERR_OUT_OF_MEMORY, "vendor-matmul: cannot allocate %llu bytes",
                   static_cast<unsigned long long>(size));
    *out = new plinth_buffer{static_cast<char*>(p), size};
    return PLINTH_OK;
  });
}

void buffer_free(plinth_backend_ctx* ctx, plinth_buffer* buf) {
  if (!buf) return;
  // Queued work may still use it: let the queue drain first.
  std::string ignored;
  ctx->queue.wait(ctx->queue.last_ticket(), &ignored);
  std::free(buf->data);
  delete buf;
}

// The source is copied at call time (as CUDA does for pageable memory), so
// the caller may reuse it at once; the device-side write is queued.
// Host-visible: the core may write a buffer through this address before it
// queues work on it (e.g. zeroing at allocation); reads need a synchronize.
void* buffer_host_ptr(plinth_backend_ctx*, plinth_buffer* buf) { return buf ? buf->data : nullptr; }

plinth_status copy_h2d(plinth_backend_ctx* ctx, plinth_stream*, plinth_buffer* dst, uint64_t dst_offset,
                       const void* src, uint64_t size) {
  return guard(ctx->host, [&]() -> plinth_status {
    if (!in_range(dst, dst_offset, size) || (size && !src))
      return fail(ctx->host, PLINTH_ERR_INVALID_ARGUMENT, "vendor-matmul: copy_h2d outside the buffer");
    if (size) {
      auto snapshot = std::make_shared<std::vector<char>>(static_cast<const char*>(src),
                                                          static_cast<const char*>(src) + size);
      ctx->queue.submit([=](std::string*) {
        std::memcpy(dst->data + dst_offset, snapshot->data(), size);
        return PLINTH_OK;
      });
    }
    return PLINTH_OK;
  });
}

// `dst` is written when the queue reaches the copy: synchronize before reading it.
plinth_status copy_d2h(plinth_backend_ctx* ctx, plinth_stream*, void* dst, plinth_buffer* src,
                       uint64_t src_offset, uint64_t size) {
  return guard(ctx->host, [&]() -> plinth_status {
    if (!in_range(src, src_offset, size) || (size && !dst))
      return fail(ctx->host, PLINTH_ERR_INVALID_ARGUMENT, "vendor-matmul: copy_d2h outside the buffer");
    if (size)
      ctx->queue.submit([=](std::string*) {
        std::memcpy(dst, src->data + src_offset, size);
        return PLINTH_OK;
      });
    return PLINTH_OK;
  });
}

plinth_status copy_d2d(plinth_backend_ctx* ctx, plinth_stream*, plinth_buffer* dst, uint64_t dst_offset,
                       plinth_buffer* src, uint64_t src_offset, uint64_t size) {
  return guard(ctx->host, [&]() -> plinth_status {
    if (!in_range(dst, dst_offset, size) || !in_range(src, src_offset, size))
      return fail(ctx->host, PLINTH_ERR_INVALID_ARGUMENT, "vendor-matmul: copy_d2d outside a buffer");
    if (size)
      ctx->queue.submit([=](std::string*) {
        std::memmove(dst->data + dst_offset, src->data + src_offset, size);
        return PLINTH_OK;
      });
    return PLINTH_OK;
  });
}

// --- streams and events --------------------------------------------------------

plinth_status stream_create(plinth_backend_ctx* ctx, plinth_stream** out) {
  return guard(ctx->host, [&]() -> plinth_status {
    *out = new plinth_stream{};
    return PLINTH_OK;
  });
}
void stream_destroy(plinth_backend_ctx*, plinth_stream* s) { delete s; }
// One queue: waiting for all work submitted so far covers any stream.
plinth_status stream_synchronize(plinth_backend_ctx* ctx, plinth_stream*) {
  return wait_for(ctx, ctx->queue.last_ticket());
}
plinth_status event_create(plinth_backend_ctx* ctx, plinth_event** out) {
  return guard(ctx->host, [&]() -> plinth_status {
    *out = new plinth_event{};
    return PLINTH_OK;
  });
}
void event_destroy(plinth_backend_ctx*, plinth_event* e) { delete e; }
plinth_status event_record(plinth_backend_ctx* ctx, plinth_event* e, plinth_stream*) {
  if (!e) return fail(ctx->host, PLINTH_ERR_INVALID_ARGUMENT, "vendor-matmul: NULL event");
  e->ticket = ctx->queue.last_ticket();
  return PLINTH_OK;
}
// Work submitted later runs after the event's work anyway (one FIFO queue).
plinth_status stream_wait_event(plinth_backend_ctx*, plinth_stream*, plinth_event*) { return PLINTH_OK; }
plinth_status event_synchronize(plinth_backend_ctx* ctx, plinth_event* e) {
  if (!e) return fail(ctx->host, PLINTH_ERR_INVALID_ARGUMENT, "vendor-matmul: NULL event");
  return wait_for(ctx, e->ticket);
}

// --- ops -----------------------------------------------------------------------

int32_t supports(plinth_backend_ctx*, const plinth_op* op) {
  std::string why;
  return op && op->struct_size >= PLINTH_OP_STRUCT_SIZE && vendor::matmul_check(*op, &why) ? 1 : 0;
}

namespace {

// Resolve `t` to a host address after checking its extent lies in its buffer.
bool resolve(const plinth_tensor& t, vendor::view* v) {
  v->ndim = t.ndim;
  int64_t last = 0, n = 1;
  for (int d = 0; d < t.ndim; ++d) {
    v->shape[d] = t.shape[d];
    v->strides[d] = t.strides[d];
    n *= t.shape[d];
    if (t.shape[d] > 0) last += (t.shape[d] - 1) * t.strides[d];
  }
  if (n == 0) return true;  // nothing is read or written
  if (!in_range(t.buffer, t.offset, uint64_t(last + 1) * sizeof(float))) return false;
  v->data = reinterpret_cast<float*>(t.buffer->data + t.offset);
  return true;
}

}  // namespace

plinth_status launch(plinth_backend_ctx* ctx, plinth_stream*, const plinth_op* op) {
  return guard(ctx->host, [&]() -> plinth_status {
    std::string why;
    if (!op || op->struct_size < PLINTH_OP_STRUCT_SIZE)
      return fail(ctx->host, PLINTH_ERR_INVALID_ARGUMENT, "vendor-matmul: malformed plinth_op");
    if (!vendor::matmul_check(*op, &why))
      return failf(ctx->host, PLINTH_ERR_UNSUPPORTED, "vendor-matmul: op %d: %s",
                   plinth::sdk::raw_enum(op->kind), why.c_str());
    // The op's views are valid during this call only: copy what the task needs.
    const auto* p = static_cast<const plinth_matmul_params*>(op->params);
    vendor::matmul_job job;
    job.trans_a = p->trans_a != 0;
    job.trans_b = p->trans_b != 0;
    job.alpha = p->alpha;
    job.beta = p->beta;
    if (!resolve(op->inputs[0], &job.a) || !resolve(op->inputs[1], &job.b) ||
        !resolve(op->outputs[0], &job.out) || (op->num_inputs == 3 && !resolve(op->inputs[2], &job.bias)))
      return fail(ctx->host, PLINTH_ERR_INVALID_ARGUMENT,
                  "vendor-matmul: a tensor reaches outside its buffer");
    if (!job.out.data) return PLINTH_OK;  // empty output
    ctx->queue.submit([job](std::string*) {
      vendor::matmul_run(job);
      return PLINTH_OK;
    });
    return PLINTH_OK;
  });
}

int32_t num_threads(plinth_backend_ctx*) { return 0; }  // one worker thread, not a compute pool

}  // namespace backend
