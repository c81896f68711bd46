// backend.hpp — internal declarations of the GPU backend's host code: the
// instance, buffers, streams and events behind the opaque handles, the
// caching allocator, and the op entry points (ops.cpp). The same sources
// build the CUDA, HIP and emulation plugins; PLINTH_GPU_CUDA / _HIP / _EMU
// choose names and the memory kind. Not installed.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "kernels.hpp"
#include "plinth/backend.h"
#include "plinth/plugin.hpp"
#include "runtime.hpp"

namespace plinth::gpu {

#if defined(PLINTH_GPU_CUDA)
inline constexpr const char* k_plugin_name = "plinth-backend-cuda";
inline constexpr const char* k_component = "cuda";
inline constexpr plinth_memory_kind k_memory_kind = PLINTH_MEMORY_CUDA;
#elif defined(PLINTH_GPU_HIP)
inline constexpr const char* k_plugin_name = "plinth-backend-hip";
inline constexpr const char* k_component = "hip";
inline constexpr plinth_memory_kind k_memory_kind = PLINTH_MEMORY_HIP;
#else
inline constexpr const char* k_plugin_name = "plinth-backend-gpu-emu";
inline constexpr const char* k_component = "gpu-emu";
// Host memory underneath, reported as a device's so the core copies as it would to a GPU.
inline constexpr plinth_memory_kind k_memory_kind = PLINTH_MEMORY_OTHER;
#endif

extern const plinth_host* g_host;

// Device memory of one scratch use, owned by a stream and reused only on it
// (stream order makes the reuse safe).
struct scratch {
  void* p = nullptr;
  size_t cap = 0;
};

}  // namespace plinth::gpu

struct plinth_buffer {
  void* ptr = nullptr;  // device pointer; nullptr when size == 0
  uint64_t size = 0;
  uint64_t bin = 0;  // the allocator's rounded size
};

struct plinth_stream {
  void* s = nullptr;
  plinth::gpu::scratch tmp;
};

struct plinth_event {
  void* e = nullptr;
};

struct plinth_backend_ctx {
  const plinth_host* host = nullptr;
  int device = 0;
  std::string name;
  plinth_stream default_stream;
  plinth::gpu::rt::blas* blas = nullptr;
  // Caching allocator: freed blocks wait in size-binned free lists.
  std::mutex alloc_mu;
  std::map<uint64_t, std::vector<void*>> free_blocks;
  uint64_t cached_bytes = 0;
  uint64_t cache_limit = 0;  // bytes kept at most in the free lists
};

namespace plinth::gpu {

// The stream a call names (nullptr: the instance's default stream).
inline plinth_stream* stream_of(plinth_backend_ctx* ctx, plinth_stream* s) {
  return s ? s : &ctx->default_stream;
}

// Device memory for `bytes` from the allocator (the cache first).
rt::err device_alloc(plinth_backend_ctx* ctx, uint64_t bytes, void** p, uint64_t* bin);
void device_release(plinth_backend_ctx* ctx, void* p, uint64_t bin);
// The stream's scratch of at least `bytes`.
rt::err scratch_of(plinth_backend_ctx* ctx, plinth_stream* s, size_t bytes, void** out);

int32_t supports(plinth_backend_ctx* ctx, const plinth_op* op);
plinth_status launch(plinth_backend_ctx* ctx, plinth_stream* stream, const plinth_op* op);

}  // namespace plinth::gpu
