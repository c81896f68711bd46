// runtime.cu — runtime.hpp for each target: the CUDA runtime (linked
// statically, so the plugin loads where no CUDA toolkit is installed; the
// driver, libcuda.so.1, is probed before the first runtime call), the HIP
// runtime, and the emulation's host memory with synchronous "streams".
// cuBLAS is opened with dlopen so the plugin never needs it to load.
#include <dlfcn.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "gpu_port.hpp"
#include "runtime.hpp"

#if defined(PLINTH_GPU_CUDA)
#include <cublas_v2.h>
#endif

namespace plinth::gpu::rt {

#if defined(PLINTH_GPU_CUDA) || defined(PLINTH_GPU_HIP)

#if defined(PLINTH_GPU_CUDA)
#define RT(x) cuda##x
using rt_error = cudaError_t;
using rt_stream = cudaStream_t;
using rt_event = cudaEvent_t;
using rt_props = cudaDeviceProp;
constexpr rt_error k_ok = cudaSuccess;
const char* target() { return "cuda"; }
#else
#define RT(x) hip##x
using rt_error = hipError_t;
using rt_stream = hipStream_t;
using rt_event = hipEvent_t;
using rt_props = hipDeviceProp_t;
constexpr rt_error k_ok = hipSuccess;
const char* target() { return "hip"; }
#endif

namespace {
err check(rt_error e) { return e == k_ok ? nullptr : RT(GetErrorString)(e); }

#if defined(PLINTH_GPU_HIP)
// The HIP runtime allocates at load time and is not made to be unloaded: when
// the registry closes this plugin, libamdhip64 would go with it, and its
// load-time objects would show as leaks from an unnamed module. Marking it
// RTLD_NODELETE keeps it (and those objects, still referenced) for the process.
const bool g_pinned = [] {
  void* h = dlopen("libamdhip64.so.5", RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
  return h != nullptr;
}();
#endif
rt_stream S(void* s) { return static_cast<rt_stream>(s); }
}  // namespace

int device_count(std::string& why) {
  static std::once_flag once;
  static int count = 0;
  static std::string reason;
  std::call_once(once, [] {
#if defined(PLINTH_GPU_CUDA)
    // The static runtime would only say "driver version is insufficient";
    // loading the driver first names what is missing.
    if (void* h = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL)) {
      dlclose(h);
    } else {
      const char* e = dlerror();
      reason = std::string("CUDA driver not found (") + (e ? e : "libcuda.so.1") + ")";
      return;
    }
    const char* what = "CUDA";
#else
    if (access("/dev/kfd", R_OK | W_OK) != 0) {
      reason = std::string("ROCm kernel driver not usable (/dev/kfd: ") + std::strerror(errno) + ")";
      return;
    }
    const char* what = "ROCm";
#endif
    int n = 0;
    rt_error e = RT(GetDeviceCount)(&n);
    if (e != k_ok) {
      reason = std::string("no ") + what + " device (" + RT(GetErrorString)(e) + ")";
      return;
    }
    if (n == 0) {
      reason = std::string("no ") + what + " device";
      return;
    }
    count = n;
  });
  why = reason;
  return count;
}

err device_info_of(int dev, device_info& out) {
  rt_props p;
  std::memset(&p, 0, sizeof p);
  if (err e = check(RT(GetDeviceProperties)(&p, dev))) return e;
  out.name = p.name;
  out.total_memory = uint64_t(p.totalGlobalMem);
  out.compute_units = p.multiProcessorCount;
#if defined(PLINTH_GPU_CUDA)
  out.arch = "sm_" + std::to_string(p.major) + std::to_string(p.minor);
  out.has_fp16 = p.major >= 7 ? 1 : 0;  // tensor cores
  out.has_bf16 = p.major >= 8 ? 1 : 0;
#else
  out.arch = p.gcnArchName;
  out.has_fp16 = 1;
  out.has_bf16 = out.arch.rfind("gfx90a", 0) == 0 || out.arch.rfind("gfx94", 0) == 0 ? 1 : 0;
#endif
  return nullptr;
}

err set_device(int dev) { return check(RT(SetDevice)(dev)); }
err device_synchronize() { return check(RT(DeviceSynchronize)()); }
err dev_malloc(void** p, size_t n) { return check(RT(Malloc)(p, n)); }
void dev_free(void* p) {
  if (p) (void)RT(Free)(p);
}
err copy_h2d(void* dst, const void* src, size_t n, void* s) {
  return check(RT(MemcpyAsync)(dst, src, n, RT(MemcpyHostToDevice), S(s)));
}
err copy_d2h(void* dst, const void* src, size_t n, void* s) {
  return check(RT(MemcpyAsync)(dst, src, n, RT(MemcpyDeviceToHost), S(s)));
}
err copy_d2d(void* dst, const void* src, size_t n, void* s) {
  return check(RT(MemcpyAsync)(dst, src, n, RT(MemcpyDeviceToDevice), S(s)));
}
err stream_create(void** s) {
  rt_stream st = nullptr;
  if (err e = check(RT(StreamCreateWithFlags)(&st, RT(StreamNonBlocking)))) return e;
  *s = st;
  return nullptr;
}
void stream_destroy(void* s) {
  if (s) (void)RT(StreamDestroy)(S(s));
}
err stream_synchronize(void* s) { return check(RT(StreamSynchronize)(S(s))); }
err event_create(void** e) {
  rt_event ev = nullptr;
  if (err x = check(RT(EventCreateWithFlags)(&ev, RT(EventDisableTiming)))) return x;
  *e = ev;
  return nullptr;
}
void event_destroy(void* e) {
  if (e) (void)RT(EventDestroy)(static_cast<rt_event>(e));
}
err event_record(void* e, void* s) { return check(RT(EventRecord)(static_cast<rt_event>(e), S(s))); }
err stream_wait_event(void* s, void* e) {
  return check(RT(StreamWaitEvent)(S(s), static_cast<rt_event>(e), 0));
}
err event_synchronize(void* e) { return check(RT(EventSynchronize)(static_cast<rt_event>(e))); }

#else  // PLINTH_GPU_EMU: host memory, everything synchronous.

const char* target() { return "gpu-emu"; }
int device_count(std::string& why) {
  why.clear();
  return 1;
}
err device_info_of(int dev, device_info& out) {
  if (dev != 0) return "no such device";
  out.name = "GPU kernel emulation on the host (serial, for testing)";
  out.total_memory = 0;
  out.compute_units = 1;
  out.arch = "host";
  return nullptr;
}
err set_device(int) { return nullptr; }
err device_synchronize() { return nullptr; }
err dev_malloc(void** p, size_t n) {
  *p = std::aligned_alloc(256, (n + 255) / 256 * 256);
  return *p ? nullptr : "out of host memory";
}
void dev_free(void* p) { std::free(p); }
err copy_h2d(void* dst, const void* src, size_t n, void*) {
  std::memcpy(dst, src, n);
  return nullptr;
}
err copy_d2h(void* dst, const void* src, size_t n, void*) {
  std::memcpy(dst, src, n);
  return nullptr;
}
err copy_d2d(void* dst, const void* src, size_t n, void*) {
  std::memmove(dst, src, n);
  return nullptr;
}
namespace {
int g_token;  // streams and events are distinct non-null handles with nothing behind them
}
err stream_create(void** s) {
  *s = &g_token;
  return nullptr;
}
void stream_destroy(void*) {}
err stream_synchronize(void*) { return nullptr; }
err event_create(void** e) {
  *e = &g_token;
  return nullptr;
}
void event_destroy(void*) {}
err event_record(void*, void*) { return nullptr; }
err stream_wait_event(void*, void*) { return nullptr; }
err event_synchronize(void*) { return nullptr; }

#endif

// --- vendor GEMM -------------------------------------------------------------

#if defined(PLINTH_GPU_CUDA)

struct blas {
  void* lib = nullptr;
  std::string name;
  cublasHandle_t handle = nullptr;
  std::mutex mu;  // one handle, used from any thread
  decltype(&cublasCreate_v2) create = nullptr;
  decltype(&cublasDestroy_v2) destroy = nullptr;
  decltype(&cublasSetStream_v2) set_stream = nullptr;
  // The C entry point (cublas_api.h also declares a 64-bit-int C++ overload).
  using gemm_fn = cublasStatus_t (*)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int, int,
                                     const void*, const void*, cudaDataType, int, long long, const void*,
                                     cudaDataType, int, long long, const void*, void*, cudaDataType, int,
                                     long long, int, cublasComputeType_t, cublasGemmAlgo_t);
  gemm_fn gemm = nullptr;
};

blas* blas_open(std::string& why) {
  const std::string soname = "libcublas.so." + std::to_string(CUBLAS_VER_MAJOR);
  void* lib = dlopen(soname.c_str(), RTLD_NOW | RTLD_LOCAL);
  std::string err = lib ? "" : dlerror();
#if defined(PLINTH_CUDA_LIBDIR)
  // Not on the loader's path: the toolkit this was built with, where it usually stays.
  if (!lib) lib = dlopen((std::string(PLINTH_CUDA_LIBDIR) + "/" + soname).c_str(), RTLD_NOW | RTLD_LOCAL);
#endif
  if (!lib) {
    why = "cuBLAS not loaded (" + err + ")";
    return nullptr;
  }
  auto b = new blas;
  b->lib = lib;
  b->name = "cuBLAS (" + soname + ")";
  b->create = reinterpret_cast<decltype(b->create)>(dlsym(lib, "cublasCreate_v2"));
  b->destroy = reinterpret_cast<decltype(b->destroy)>(dlsym(lib, "cublasDestroy_v2"));
  b->set_stream = reinterpret_cast<decltype(b->set_stream)>(dlsym(lib, "cublasSetStream_v2"));
  b->gemm = reinterpret_cast<decltype(b->gemm)>(dlsym(lib, "cublasGemmStridedBatchedEx"));
  if (!b->create || !b->destroy || !b->set_stream || !b->gemm) {
    why = soname + " lacks cublasCreate_v2 / cublasGemmStridedBatchedEx";
    blas_close(b);
    return nullptr;
  }
  if (cublasStatus_t s = b->create(&b->handle); s != CUBLAS_STATUS_SUCCESS) {
    why = "cublasCreate failed (status " + std::to_string(int(s)) + ")";
    b->handle = nullptr;
    blas_close(b);
    return nullptr;
  }
  return b;
}

void blas_close(blas* b) {
  if (!b) return;
  if (b->handle && b->destroy) b->destroy(b->handle);
  if (b->lib) dlclose(b->lib);
  delete b;
}

const char* blas_name(blas* b) { return b ? b->name.c_str() : "none"; }

namespace {
cudaDataType_t cuda_type(int dt) {
  switch (dt) {
    case 1:
      return CUDA_R_16F;
    case 2:
      return CUDA_R_16BF;
    default:
      return CUDA_R_32F;
  }
}
}  // namespace

err blas_gemm(blas* b, void* stream, const gemm_args& a) {
  std::lock_guard<std::mutex> lock(b->mu);
  if (b->set_stream(b->handle, S(stream)) != CUBLAS_STATUS_SUCCESS) return "cublasSetStream failed";
  // 16-bit inputs run on tensor cores with f32 accumulation (CUBLAS_COMPUTE_32F).
  const cublasStatus_t s = b->gemm(
      b->handle, a.trans_x ? CUBLAS_OP_T : CUBLAS_OP_N, a.trans_y ? CUBLAS_OP_T : CUBLAS_OP_N, int(a.m),
      int(a.n), int(a.k), &a.alpha, a.x, cuda_type(a.in_dtype), int(a.ldx), (long long)a.stride_x, a.y,
      cuda_type(a.in_dtype), int(a.ldy), (long long)a.stride_y, &a.beta, a.c, cuda_type(a.out_dtype),
      int(a.ldc), (long long)a.stride_c, int(a.batch), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
  if (s != CUBLAS_STATUS_SUCCESS) return "cublasGemmStridedBatchedEx failed";
  return nullptr;
}

#else

struct blas {};
blas* blas_open(std::string& why) {
#if defined(PLINTH_GPU_HIP)
  why = "no hipBLAS in this build (Debian 12 does not package it): the backend's own GEMM kernel runs";
#else
  why = "the emulation runs the backend's own GEMM kernel";
#endif
  return nullptr;
}
void blas_close(blas*) {}
const char* blas_name(blas*) { return "none"; }
err blas_gemm(blas*, void*, const gemm_args&) { return "no vendor GEMM"; }

#endif

}  // namespace plinth::gpu::rt
