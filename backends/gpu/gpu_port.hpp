// gpu_port.hpp — the portability layer of the GPU backend's kernel sources
// (kernels.cu, runtime.cu), which are compiled three times:
//   PLINTH_GPU_CUDA  by nvcc           (cuda_runtime.h),
//   PLINTH_GPU_HIP   by hipcc          (hip/hip_runtime.h),
//   PLINTH_GPU_EMU   by the host C++ compiler: no device at all; a kernel
//                    launch is a plain loop over blocks and threads.
// Kernels use only the subset the emulation can run exactly: one thread per
// output item, no __syncthreads, shared memory, warp shuffles or atomics, so
// the serial loop computes every output with the same operations as the
// device (up to FMA contraction and the device's libm).
#pragma once

#include <cstddef>
#include <cstdint>

#if defined(PLINTH_GPU_CUDA)
#include <cuda_runtime.h>
#define PG_GLOBAL __global__
#define PG_HD __host__ __device__ inline
#define PG_LAUNCH(kernel, blocks, threads, stream, ...) \
  kernel<<<(blocks), (threads), 0, static_cast<cudaStream_t>(stream)>>>(__VA_ARGS__)
#elif defined(PLINTH_GPU_HIP)
#include <hip/hip_runtime.h>
#define PG_GLOBAL __global__
#define PG_HD __host__ __device__ inline
#define PG_LAUNCH(kernel, blocks, threads, stream, ...) \
  hipLaunchKernelGGL(kernel, dim3(blocks), dim3(threads), 0, static_cast<hipStream_t>(stream), __VA_ARGS__)
#elif defined(PLINTH_GPU_EMU)
namespace plinth::gpu::emu {
struct dim3 {
  unsigned x = 1, y = 1, z = 1;
};
// The launch loop sets these before each call of the kernel body; one host
// thread runs a launch, so thread-local storage keeps launches from
// different host threads apart.
inline thread_local dim3 threadIdx, blockIdx, blockDim, gridDim;

// Runs kernel(args...) for every (block, thread) of a 1-D launch, blocks in
// order and threads in order within a block: a serial schedule, which a
// kernel without inter-thread communication cannot tell from a parallel one.
template <class... P, class... A>
void launch(void (*kernel)(P...), unsigned blocks, unsigned threads, A&&... args) {
  gridDim = {blocks, 1, 1};
  blockDim = {threads, 1, 1};
  for (unsigned b = 0; b < blocks; ++b) {
    blockIdx = {b, 0, 0};
    for (unsigned t = 0; t < threads; ++t) {
      threadIdx = {t, 0, 0};
      kernel(args...);
    }
  }
}
}  // namespace plinth::gpu::emu
#define PG_GLOBAL
#define PG_HD inline
#define PG_LAUNCH(kernel, blocks, threads, stream, ...) \
  ((void)(stream), ::plinth::gpu::emu::launch(kernel, (blocks), (threads), __VA_ARGS__))
using plinth::gpu::emu::blockDim;
using plinth::gpu::emu::blockIdx;
using plinth::gpu::emu::gridDim;
using plinth::gpu::emu::threadIdx;
#else
#error "define one of PLINTH_GPU_CUDA, PLINTH_GPU_HIP, PLINTH_GPU_EMU"
#endif

namespace plinth::gpu {

// Threads per block of every 1-D launch.
inline constexpr unsigned k_block = 256;

// The global index of the calling thread in a 1-D launch.
#define PG_INDEX() (int64_t(blockIdx.x) * int64_t(blockDim.x) + int64_t(threadIdx.x))

// Blocks for n items, one thread each (at least 1 block: launching 0 is an error on devices).
inline unsigned blocks_for(int64_t n) { return n <= 0 ? 1u : unsigned((n + k_block - 1) / k_block); }

}  // namespace plinth::gpu
