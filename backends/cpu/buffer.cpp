// buffer.cpp — host buffers (64-byte aligned, zero-size allowed; from 2 MiB
// on, 2 MiB aligned on transparent huge pages) and the three copies, which
// run immediately with bounds checks. No pooling: the core's memory planner
// allocates once per run.
#include <sys/mman.h>

#include <cstdlib>

#include "cpu_backend.hpp"

namespace plinth::cpu {

namespace {
const plinth_host* host_of(plinth_backend_ctx* ctx) { return ctx ? ctx->host : g_host; }

bool in_bounds(const plinth_buffer* b, uint64_t offset, uint64_t size) {
  return offset <= b->size && size <= b->size - offset;
}
}  // namespace

plinth_status buffer_alloc(plinth_backend_ctx* ctx, uint64_t size, plinth_buffer** out) {
  const plinth_host* h = host_of(ctx);
  return sdk::guard(h, [&]() -> plinth_status {
    if (!out) return sdk::fail(h, PLINTH_ERR_INVALID_ARGUMENT, "cpu buffer_alloc: out is NULL");
    *out = nullptr;
    auto b = std::make_unique<plinth_buffer>();
    b->size = size;
    if (size > 0) {
      if (size > (uint64_t(1) << 48))
        return sdk::failf(h, PLINTH_ERR_OUT_OF_MEMORY, "cpu buffer_alloc: %llu bytes is too large",
                          static_cast<unsigned long long>(size));
      // Large buffers (the store's groups, the arenas) on huge pages: first
      // touching them then faults once per 2 MiB instead of once per 4 KiB,
      // which is most of the cost of zeroing them at start-up.
      constexpr uint64_t huge = uint64_t{1} << 21;
      const uint64_t align = size >= huge ? huge : 64;
      const uint64_t rounded = (size + align - 1) / align * align;
      b->data = std::aligned_alloc(align, rounded);
      if (b->data && align == huge)
        ::madvise(b->data, rounded, MADV_HUGEPAGE);  // advice: failure is harmless
      if (!b->data)
        return sdk::failf(h, PLINTH_ERR_OUT_OF_MEMORY,
                          "cpu buffer_alloc: out of memory allocating %llu bytes",
                          static_cast<unsigned long long>(size));
    }
    *out = b.release();
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
  if (size == 0) return PLINTH_OK;
  if (!dst || !src)
    return sdk::fail(host_of(ctx), PLINTH_ERR_INVALID_ARGUMENT, "cpu copy_h2d: NULL buffer or source");
  if (!in_bounds(dst, dst_offset, size))
    return sdk::failf(host_of(ctx), PLINTH_ERR_INVALID_ARGUMENT,
                      "cpu copy_h2d: %llu bytes at offset %llu exceed the buffer's %llu bytes",
                      static_cast<unsigned long long>(size), static_cast<unsigned long long>(dst_offset),
                      static_cast<unsigned long long>(dst->size));
  std::memcpy(static_cast<char*>(dst->data) + dst_offset, src, size);
  return PLINTH_OK;
}

plinth_status copy_d2h(plinth_backend_ctx* ctx, plinth_stream*, void* dst, plinth_buffer* src,
                       uint64_t src_offset, uint64_t size) {
  if (size == 0) return PLINTH_OK;
  if (!dst || !src)
    return sdk::fail(host_of(ctx), PLINTH_ERR_INVALID_ARGUMENT, "cpu copy_d2h: NULL buffer or destination");
  if (!in_bounds(src, src_offset, size))
    return sdk::failf(host_of(ctx), PLINTH_ERR_INVALID_ARGUMENT,
                      "cpu copy_d2h: %llu bytes at offset %llu exceed the buffer's %llu bytes",
                      static_cast<unsigned long long>(size), static_cast<unsigned long long>(src_offset),
                      static_cast<unsigned long long>(src->size));
  std::memcpy(dst, static_cast<const char*>(src->data) + src_offset, size);
  return PLINTH_OK;
}

plinth_status copy_d2d(plinth_backend_ctx* ctx, plinth_stream*, plinth_buffer* dst, uint64_t dst_offset,
                       plinth_buffer* src, uint64_t src_offset, uint64_t size) {
  if (size == 0) return PLINTH_OK;
  if (!dst || !src) return sdk::fail(host_of(ctx), PLINTH_ERR_INVALID_ARGUMENT, "cpu copy_d2d: NULL buffer");
  if (!in_bounds(dst, dst_offset, size) || !in_bounds(src, src_offset, size))
    return sdk::failf(
        host_of(ctx), PLINTH_ERR_INVALID_ARGUMENT,
        "cpu copy_d2d: %llu bytes exceed a buffer (dst %llu+%llu of %llu, src %llu+%llu of %llu)",
        static_cast<unsigned long long>(size), static_cast<unsigned long long>(dst_offset),
        static_cast<unsigned long long>(size), static_cast<unsigned long long>(dst->size),
        static_cast<unsigned long long>(src_offset), static_cast<unsigned long long>(size),
        static_cast<unsigned long long>(src->size));
  std::memmove(static_cast<char*>(dst->data) + dst_offset, static_cast<const char*>(src->data) + src_offset,
               size);
  return PLINTH_OK;
}

}  // namespace plinth::cpu
