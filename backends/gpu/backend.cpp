// backend.cpp — the GPU backend's plugin: descriptor, score, devices, the
// instance, buffers (a caching allocator with size-binned free lists),
// copies, streams and events, over runtime.hpp. Ops are in ops.cpp.
#include "backend.hpp"

#include <cstring>
#include <memory>

namespace plinth::gpu {

const plinth_host* g_host = nullptr;

namespace {

const plinth_host* host_of(plinth_backend_ctx* ctx) { return ctx ? ctx->host : g_host; }

std::string prefix() { return std::string(k_component) + " "; }

plinth_status rt_fail(plinth_backend_ctx* ctx, const char* what, rt::err e,
                      plinth_status code = PLINTH_ERR_INTERNAL) {
  return sdk::fail(host_of(ctx), code, prefix() + what + ": " + e);
}

// Size bins: 512-byte steps up to 64 KiB, then 4 steps per power of two, so a
// cached block is at most 25% larger than the request.
uint64_t bin_of(uint64_t n) {
  if (n <= 65536) return (n + 511) / 512 * 512;
  int lg = 63 - __builtin_clzll(n - 1);  // 2^lg < n <= 2^(lg+1)
  const uint64_t step = uint64_t(1) << (lg - 2);
  return (n + step - 1) / step * step;
}

void release_cache(plinth_backend_ctx* ctx) {
  for (auto& [bin, list] : ctx->free_blocks)
    for (void* p : list) rt::dev_free(p);
  ctx->free_blocks.clear();
  ctx->cached_bytes = 0;
}

plinth_status init(const plinth_host* host) {
  g_host = host;
  return PLINTH_OK;
}

plinth_status device_count(int32_t* out) {
  if (!out) return sdk::fail(g_host, PLINTH_ERR_INVALID_ARGUMENT, prefix() + "device_count: out is NULL");
  std::string why;
  *out = rt::device_count(why);
  if (*out == 0) return sdk::fail(g_host, PLINTH_ERR_UNAVAILABLE, why);
  return PLINTH_OK;
}

plinth_status device_properties(int32_t index, plinth_device_properties* out) {
  return sdk::guard(g_host, [&]() -> plinth_status {
    if (!out)
      return sdk::fail(g_host, PLINTH_ERR_INVALID_ARGUMENT, prefix() + "device_properties: out is NULL");
    std::string why;
    const int n = rt::device_count(why);
    if (n == 0) return sdk::fail(g_host, PLINTH_ERR_UNAVAILABLE, why);
    if (index < 0 || index >= n)
      return sdk::failf(g_host, PLINTH_ERR_NOT_FOUND, "%sdevice_properties: no device %d (0..%d)",
                        prefix().c_str(), index, n - 1);
    rt::device_info info;
    if (rt::err e = rt::device_info_of(index, info)) return rt_fail(nullptr, "device_properties", e);
    const size_t have = out->struct_size;
    plinth_device_properties p{};
    p.struct_size = have;
    std::snprintf(p.name, sizeof p.name, "%s (%s)", info.name.c_str(), info.arch.c_str());
    p.memory_kind = k_memory_kind;
    p.total_memory = info.total_memory;
    p.compute_units = info.compute_units;
    p.has_bf16 = info.has_bf16;
    p.has_fp16 = info.has_fp16;
    p.host_visible = 0;
    const size_t n_copy = have < sizeof p ? have : sizeof p;
    if (n_copy > sizeof(size_t))
      std::memcpy(reinterpret_cast<char*>(out) + sizeof(size_t),
                  reinterpret_cast<const char*>(&p) + sizeof(size_t), n_copy - sizeof(size_t));
    return PLINTH_OK;
  });
}

plinth_status create(const plinth_host* host, const plinth_config* cfg, int32_t device,
                     plinth_backend_ctx** out) {
  if (!g_host) g_host = host;
  return sdk::guard(host, [&]() -> plinth_status {
    if (!out) return sdk::fail(host, PLINTH_ERR_INVALID_ARGUMENT, prefix() + "create: out is NULL");
    *out = nullptr;
    if (!host) return PLINTH_ERR_INVALID_ARGUMENT;
    std::string why;
    const int n = rt::device_count(why);
    if (n == 0) return sdk::fail(host, PLINTH_ERR_UNAVAILABLE, prefix() + "backend: " + why);
    int64_t dev = device;
    if (plinth_status s = sdk::config_int(host, cfg, "device", dev); s != PLINTH_OK) return s;
    if (dev < 0 || dev >= n)
      return sdk::failf(host, PLINTH_ERR_NOT_FOUND, "%sbackend: device %lld does not exist (0..%d)",
                        prefix().c_str(), static_cast<long long>(dev), n - 1);
    bool use_blas = true;
    if (plinth_status s = sdk::config_bool(host, cfg, "blas", use_blas); s != PLINTH_OK) return s;
    int64_t cache_mib = 4096;
    if (plinth_status s = sdk::config_int(host, cfg, "cache_mib", cache_mib); s != PLINTH_OK) return s;
    if (cache_mib < 0)
      return sdk::failf(host, PLINTH_ERR_INVALID_ARGUMENT, "%sbackend: cache_mib = %lld must be >= 0",
                        prefix().c_str(), static_cast<long long>(cache_mib));
    std::string name = k_component;
    if (plinth_status s = sdk::config_string(host, cfg, "name", name); s != PLINTH_OK) return s;

    auto ctx = std::make_unique<plinth_backend_ctx>();
    ctx->host = host;
    ctx->device = int(dev);
    ctx->name = name;
    ctx->cache_limit = uint64_t(cache_mib) << 20;
    if (rt::err e = rt::set_device(ctx->device)) return rt_fail(nullptr, "create: set device", e);
    if (rt::err e = rt::stream_create(&ctx->default_stream.s)) return rt_fail(nullptr, "create: stream", e);
    std::string blas_why = "disabled by blas = false";
    if (use_blas) ctx->blas = rt::blas_open(blas_why);
    sdk::log(host, ctx->blas ? PLINTH_LOG_DEBUG : PLINTH_LOG_INFO, k_plugin_name,
             prefix() + "backend: device " + std::to_string(dev) + ", matmul " +
                 (ctx->blas ? std::string(rt::blas_name(ctx->blas)) : "own kernel (" + blas_why + ")"));
    *out = ctx.release();
    return PLINTH_OK;
  });
}

void destroy(plinth_backend_ctx* ctx) {
  if (!ctx) return;
  (void)rt::set_device(ctx->device);
  (void)rt::device_synchronize();
  rt::blas_close(ctx->blas);
  rt::dev_free(ctx->default_stream.tmp.p);
  rt::stream_destroy(ctx->default_stream.s);
  release_cache(ctx);
  delete ctx;
}

plinth_status buffer_alloc(plinth_backend_ctx* ctx, uint64_t size, plinth_buffer** out) {
  const plinth_host* h = host_of(ctx);
  return sdk::guard(h, [&]() -> plinth_status {
    if (!ctx || !out)
      return sdk::fail(h, PLINTH_ERR_INVALID_ARGUMENT, prefix() + "buffer_alloc: NULL argument");
    *out = nullptr;
    auto b = std::make_unique<plinth_buffer>();
    b->size = size;
    if (size > 0) {
      if (size > (uint64_t(1) << 48))
        return sdk::failf(h, PLINTH_ERR_OUT_OF_MEMORY, "%sbuffer_alloc: %llu bytes is too large",
                          prefix().c_str(), static_cast<unsigned long long>(size));
      if (rt::err e = device_alloc(ctx, size, &b->ptr, &b->bin))
        return sdk::failf(h, PLINTH_ERR_OUT_OF_MEMORY, "%sbuffer_alloc: %llu bytes: %s", prefix().c_str(),
                          static_cast<unsigned long long>(size), e);
    }
    *out = b.release();
    return PLINTH_OK;
  });
}

void buffer_free(plinth_backend_ctx* ctx, plinth_buffer* buf) {
  if (!buf) return;
  if (buf->ptr && ctx) device_release(ctx, buf->ptr, buf->bin);
  delete buf;
}

bool in_bounds(const plinth_buffer* b, uint64_t offset, uint64_t size) {
  return offset <= b->size && size <= b->size - offset;
}

plinth_status copy_check(plinth_backend_ctx* ctx, const char* what, const plinth_buffer* b, uint64_t off,
                         uint64_t size) {
  if (!in_bounds(b, off, size))
    return sdk::failf(host_of(ctx), PLINTH_ERR_INVALID_ARGUMENT,
                      "%s%s: %llu bytes at offset %llu exceed the buffer's %llu bytes", prefix().c_str(),
                      what, static_cast<unsigned long long>(size), static_cast<unsigned long long>(off),
                      static_cast<unsigned long long>(b->size));
  return PLINTH_OK;
}

plinth_status copy_h2d(plinth_backend_ctx* ctx, plinth_stream* s, plinth_buffer* dst, uint64_t dst_offset,
                       const void* src, uint64_t size) {
  if (size == 0) return PLINTH_OK;
  if (!ctx || !dst || !src)
    return sdk::fail(host_of(ctx), PLINTH_ERR_INVALID_ARGUMENT, prefix() + "copy_h2d: NULL argument");
  if (plinth_status st = copy_check(ctx, "copy_h2d", dst, dst_offset, size); st != PLINTH_OK) return st;
  (void)rt::set_device(ctx->device);
  if (rt::err e = rt::copy_h2d(static_cast<char*>(dst->ptr) + dst_offset, src, size, stream_of(ctx, s)->s))
    return rt_fail(ctx, "copy_h2d", e);
  return PLINTH_OK;
}

plinth_status copy_d2h(plinth_backend_ctx* ctx, plinth_stream* s, void* dst, plinth_buffer* src,
                       uint64_t src_offset, uint64_t size) {
  if (size == 0) return PLINTH_OK;
  if (!ctx || !dst || !src)
    return sdk::fail(host_of(ctx), PLINTH_ERR_INVALID_ARGUMENT, prefix() + "copy_d2h: NULL argument");
  if (plinth_status st = copy_check(ctx, "copy_d2h", src, src_offset, size); st != PLINTH_OK) return st;
  (void)rt::set_device(ctx->device);
  if (rt::err e =
          rt::copy_d2h(dst, static_cast<const char*>(src->ptr) + src_offset, size, stream_of(ctx, s)->s))
    return rt_fail(ctx, "copy_d2h", e);
  return PLINTH_OK;
}

plinth_status copy_d2d(plinth_backend_ctx* ctx, plinth_stream* s, plinth_buffer* dst, uint64_t dst_offset,
                       plinth_buffer* src, uint64_t src_offset, uint64_t size) {
  if (size == 0) return PLINTH_OK;
  if (!ctx || !dst || !src)
    return sdk::fail(host_of(ctx), PLINTH_ERR_INVALID_ARGUMENT, prefix() + "copy_d2d: NULL argument");
  if (plinth_status st = copy_check(ctx, "copy_d2d (dst)", dst, dst_offset, size); st != PLINTH_OK) return st;
  if (plinth_status st = copy_check(ctx, "copy_d2d (src)", src, src_offset, size); st != PLINTH_OK) return st;
  (void)rt::set_device(ctx->device);
  if (rt::err e = rt::copy_d2d(static_cast<char*>(dst->ptr) + dst_offset,
                               static_cast<const char*>(src->ptr) + src_offset, size, stream_of(ctx, s)->s))
    return rt_fail(ctx, "copy_d2d", e);
  return PLINTH_OK;
}

plinth_status stream_create(plinth_backend_ctx* ctx, plinth_stream** out) {
  return sdk::guard(host_of(ctx), [&]() -> plinth_status {
    if (!ctx || !out)
      return sdk::fail(host_of(ctx), PLINTH_ERR_INVALID_ARGUMENT, prefix() + "stream_create: NULL");
    (void)rt::set_device(ctx->device);
    auto s = std::make_unique<plinth_stream>();
    if (rt::err e = rt::stream_create(&s->s)) return rt_fail(ctx, "stream_create", e);
    *out = s.release();
    return PLINTH_OK;
  });
}

void stream_destroy(plinth_backend_ctx* ctx, plinth_stream* s) {
  if (!s) return;
  if (ctx) (void)rt::set_device(ctx->device);
  (void)rt::stream_synchronize(s->s);  // its scratch may still be in use
  rt::dev_free(s->tmp.p);
  rt::stream_destroy(s->s);
  delete s;
}

plinth_status stream_synchronize(plinth_backend_ctx* ctx, plinth_stream* s) {
  if (!ctx)
    return sdk::fail(g_host, PLINTH_ERR_INVALID_ARGUMENT, prefix() + "stream_synchronize: instance is NULL");
  (void)rt::set_device(ctx->device);
  if (rt::err e = rt::stream_synchronize(stream_of(ctx, s)->s))
    return rt_fail(ctx, "stream_synchronize", e, PLINTH_ERR_UNAVAILABLE);
  return PLINTH_OK;
}

plinth_status event_create(plinth_backend_ctx* ctx, plinth_event** out) {
  return sdk::guard(host_of(ctx), [&]() -> plinth_status {
    if (!ctx || !out)
      return sdk::fail(host_of(ctx), PLINTH_ERR_INVALID_ARGUMENT, prefix() + "event_create: NULL");
    (void)rt::set_device(ctx->device);
    auto ev = std::make_unique<plinth_event>();
    if (rt::err e = rt::event_create(&ev->e)) return rt_fail(ctx, "event_create", e);
    *out = ev.release();
    return PLINTH_OK;
  });
}

void event_destroy(plinth_backend_ctx*, plinth_event* ev) {
  if (!ev) return;
  rt::event_destroy(ev->e);
  delete ev;
}

plinth_status event_record(plinth_backend_ctx* ctx, plinth_event* ev, plinth_stream* s) {
  if (!ctx || !ev)
    return sdk::fail(host_of(ctx), PLINTH_ERR_INVALID_ARGUMENT, prefix() + "event_record: NULL");
  (void)rt::set_device(ctx->device);
  if (rt::err e = rt::event_record(ev->e, stream_of(ctx, s)->s)) return rt_fail(ctx, "event_record", e);
  return PLINTH_OK;
}

plinth_status stream_wait_event(plinth_backend_ctx* ctx, plinth_stream* s, plinth_event* ev) {
  if (!ctx || !ev)
    return sdk::fail(host_of(ctx), PLINTH_ERR_INVALID_ARGUMENT, prefix() + "stream_wait_event: NULL");
  (void)rt::set_device(ctx->device);
  if (rt::err e = rt::stream_wait_event(stream_of(ctx, s)->s, ev->e))
    return rt_fail(ctx, "stream_wait_event", e);
  return PLINTH_OK;
}

plinth_status event_synchronize(plinth_backend_ctx* ctx, plinth_event* ev) {
  if (!ctx || !ev)
    return sdk::fail(host_of(ctx), PLINTH_ERR_INVALID_ARGUMENT, prefix() + "event_synchronize: NULL");
  if (rt::err e = rt::event_synchronize(ev->e))
    return rt_fail(ctx, "event_synchronize", e, PLINTH_ERR_UNAVAILABLE);
  return PLINTH_OK;
}

constexpr plinth_backend_v1 k_table = {
    .struct_size = PLINTH_BACKEND_V1_STRUCT_SIZE,
    .device_count = device_count,
    .device_properties = device_properties,
    .create = create,
    .destroy = destroy,
    .buffer_alloc = buffer_alloc,
    .buffer_free = buffer_free,
    .buffer_host_ptr = nullptr,
    .copy_h2d = copy_h2d,
    .copy_d2h = copy_d2h,
    .copy_d2d = copy_d2d,
    .stream_create = stream_create,
    .stream_destroy = stream_destroy,
    .stream_synchronize = stream_synchronize,
    .event_create = event_create,
    .event_destroy = event_destroy,
    .event_record = event_record,
    .stream_wait_event = stream_wait_event,
    .event_synchronize = event_synchronize,
    .supports = supports,
    .launch = launch,
    .num_threads = nullptr,
};

constexpr const char* k_config_keys[] = {"name", "device", "blas", "cache_mib", "allow_fallback", nullptr};

#if defined(PLINTH_GPU_CUDA)
constexpr const char* k_description =
    "NVIDIA GPUs through the CUDA runtime: the project's kernels, cuBLAS matmul";
#elif defined(PLINTH_GPU_HIP)
constexpr const char* k_description = "AMD GPUs through the ROCm HIP runtime: the project's kernels";
#else
constexpr const char* k_description =
    "The GPU backend's kernels run serially on the host: a test fixture that checks them without a GPU";
#endif

constexpr plinth_component k_components[] = {{
    .struct_size = PLINTH_COMPONENT_STRUCT_SIZE,
    .kind = PLINTH_KIND_BACKEND,
    .name = k_component,
    .description = k_description,
    .table = &k_table,
    .config_keys = k_config_keys,
}};

constexpr plinth_plugin k_plugin = {
    .struct_size = PLINTH_PLUGIN_STRUCT_SIZE,
    .abi_major = PLINTH_ABI_MAJOR,
    .abi_minor = PLINTH_ABI_MINOR,
    .name = k_plugin_name,
    .version = "0.1.0",
    .vendor = "Plinth",
    .num_components = 1,
    .components = k_components,
    .init = init,
    .shutdown = nullptr,
};

}  // namespace

rt::err device_alloc(plinth_backend_ctx* ctx, uint64_t bytes, void** p, uint64_t* bin) {
  const uint64_t b = bin_of(bytes);
  *bin = b;
  {
    std::lock_guard<std::mutex> lock(ctx->alloc_mu);
    auto it = ctx->free_blocks.find(b);
    if (it != ctx->free_blocks.end() && !it->second.empty()) {
      *p = it->second.back();
      it->second.pop_back();
      ctx->cached_bytes -= b;
      return nullptr;
    }
  }
  (void)rt::set_device(ctx->device);
  if (!rt::dev_malloc(p, b)) return nullptr;
  // Out of memory (or another failure): give the cached blocks back and retry once.
  (void)rt::device_synchronize();
  {
    std::lock_guard<std::mutex> lock(ctx->alloc_mu);
    release_cache(ctx);
  }
  return rt::dev_malloc(p, b);
}

void device_release(plinth_backend_ctx* ctx, void* p, uint64_t bin) {
  (void)rt::set_device(ctx->device);
  // Queued work on any stream may still use the block; the ABI's buffers are
  // long-lived (the core plans memory once), so waiting here is rare and cheap.
  (void)rt::device_synchronize();
  std::lock_guard<std::mutex> lock(ctx->alloc_mu);
  if (ctx->cached_bytes + bin > ctx->cache_limit) {
    rt::dev_free(p);
    return;
  }
  ctx->free_blocks[bin].push_back(p);
  ctx->cached_bytes += bin;
}

rt::err scratch_of(plinth_backend_ctx* ctx, plinth_stream* s, size_t bytes, void** out) {
  if (s->tmp.cap < bytes) {
    // The old scratch may be read by work still queued on this stream.
    if (s->tmp.p) {
      if (rt::err e = rt::stream_synchronize(s->s)) return e;
      rt::dev_free(s->tmp.p);
      s->tmp = {};
    }
    const size_t cap = bytes < 4096 ? 4096 : bytes;
    if (rt::err e = rt::dev_malloc(&s->tmp.p, cap)) return e;
    s->tmp.cap = cap;
  }
  (void)ctx;
  *out = s->tmp.p;
  return nullptr;
}

}  // namespace plinth::gpu

extern "C" PLINTH_EXPORT const plinth_plugin* plinth_plugin_get(void) { return &plinth::gpu::k_plugin; }

// 0 where no device can run (the reason is device_count's error); the
// emulation scores 1, below every real device.
extern "C" PLINTH_EXPORT int32_t plinth_plugin_score(void) {
  std::string why;
  if (plinth::gpu::rt::device_count(why) == 0) return 0;
#if defined(PLINTH_GPU_CUDA)
  return 100;
#elif defined(PLINTH_GPU_HIP)
  return 90;
#else
  return 1;
#endif
}
