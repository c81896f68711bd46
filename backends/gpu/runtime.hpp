// runtime.hpp — the device runtime as the GPU backend's host code sees it:
// device discovery, memory, copies, streams, events and the vendor GEMM,
// implemented in runtime.cu once per target (CUDA runtime, HIP runtime, or
// plain host memory for the emulation). Plain C++, no vendor headers.
// Streams and events are opaque pointers (cudaStream_t / hipStream_t ...).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace plinth::gpu::rt {

using err = const char*;  // nullptr: success; else the runtime's message

// "cuda", "hip" or "gpu-emu".
const char* target();

// Devices usable here. 0 with `why` set to one line when there are none:
// "CUDA driver not found (libcuda.so.1: ...)", "no CUDA device", ...
// Probed once per process.
int device_count(std::string& why);

struct device_info {
  std::string name;
  uint64_t total_memory = 0;
  int compute_units = 0;
  int has_bf16 = 0, has_fp16 = 0;
  std::string arch;  // "sm_90", "gfx90a", "host"
};
err device_info_of(int dev, device_info& out);

err set_device(int dev);
err device_synchronize();
err dev_malloc(void** p, size_t n);
void dev_free(void* p);
err copy_h2d(void* dst, const void* src, size_t n, void* stream);
err copy_d2h(void* dst, const void* src, size_t n, void* stream);
err copy_d2d(void* dst, const void* src, size_t n, void* stream);
err stream_create(void** s);
void stream_destroy(void* s);
err stream_synchronize(void* s);
err event_create(void** e);
void event_destroy(void* e);
err event_record(void* e, void* stream);
err stream_wait_event(void* stream, void* e);
err event_synchronize(void* e);

// The vendor GEMM (cuBLAS, loaded with dlopen when the instance is made).
// Column-major, as the library sees it: C (m, n) = alpha op(X) op(Y) + beta C,
// strided batches; dtypes as plinth_dtype (inputs f32/f16/bf16, C f32/f16/bf16),
// f32 accumulation.
struct gemm_args {
  int trans_x = 0, trans_y = 0;
  int64_t m = 0, n = 0, k = 0;
  const void* x = nullptr;
  int64_t ldx = 0, stride_x = 0;
  const void* y = nullptr;
  int64_t ldy = 0, stride_y = 0;
  void* c = nullptr;
  int64_t ldc = 0, stride_c = 0;
  int64_t batch = 1;
  int in_dtype = 0, out_dtype = 0;
  float alpha = 1, beta = 0;
};
struct blas;
// nullptr when the target has no vendor GEMM or it cannot be loaded (`why` says which).
blas* blas_open(std::string& why);
void blas_close(blas* b);
const char* blas_name(blas* b);  // "cuBLAS 13 (libcublas.so.13)"
err blas_gemm(blas* b, void* stream, const gemm_args& a);

}  // namespace plinth::gpu::rt
