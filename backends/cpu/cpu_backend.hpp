// cpu_backend.hpp — internal declarations shared by the CPU backend's sources:
// the instance, buffer and stream types, the thread pool, tensor helpers and
// the per-op entry points. Not installed; nothing here crosses the ABI.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "../common/number_formats.hpp"
#include "op_contract.hpp"
#include "plinth/backend.h"
#include "plinth/plugin.hpp"

namespace plinth::cpu {

inline constexpr const char* k_plugin_name = "plinth-backend-cpu";

// The host table saved by init() (or by the first create()).
extern const plinth_host* g_host;

// ---------------------------------------------------------------------------
// Thread pool: persistent workers, static partitioning.
// ---------------------------------------------------------------------------

// The backend's parallel loops run on the OpenMP team, the same threads
// oneDNN's matmul uses (Debian's libdnnl is built with OpenMP): one set of
// threads for the whole step, so no two pools spin against each other on the
// same cores. run(n_blocks, fn) calls fn(i) for i in [0, n_blocks) with block i
// executed by team thread i % size(); the blocks, not the threads, fix the
// arithmetic, so results never depend on timing. A caller that finds the team
// busy (another thread is using it) runs the blocks inline, with identical
// results.
class thread_pool {
 public:
  explicit thread_pool(int threads) : threads_(threads < 1 ? 1 : threads) {}
  thread_pool(const thread_pool&) = delete;
  thread_pool& operator=(const thread_pool&) = delete;

  int size() const { return threads_; }

  template <class F>
  void run(int64_t n_blocks, F&& f) {
    if (n_blocks <= 0) return;
    auto trampoline = [](void* p, int64_t i) { (*static_cast<F*>(p))(i); };
    run_impl(n_blocks, trampoline, &f);
  }

 private:
  void run_impl(int64_t n_blocks, void (*fn)(void*, int64_t), void* arg);

  int threads_;
  std::mutex busy_;  // held by the caller currently using the team
};

// ---------------------------------------------------------------------------
// Objects behind the opaque handles.
// ---------------------------------------------------------------------------

struct matmul_cache;  // ops/matmul.cpp
struct conv_cache;    // ops/conv.cpp

}  // namespace plinth::cpu

struct plinth_buffer {
  void* data = nullptr;  // 64-byte aligned; nullptr when size == 0
  uint64_t size = 0;
};

struct plinth_stream {
  int unused = 0;
};

struct plinth_event {
  int unused = 0;
};

struct plinth_backend_ctx {
  const plinth_host* host = nullptr;
  int threads = 1;
  bool allow_fallback = true;
  std::string name = "cpu";
  std::unique_ptr<plinth::cpu::thread_pool> pool;
  plinth::cpu::matmul_cache* matmul = nullptr;
  plinth::cpu::conv_cache* conv = nullptr;
  std::thread sgemm_warm_up;  // see start_sgemm_warm_up; joined by destroy
};

namespace plinth::cpu {

// ---------------------------------------------------------------------------
// Parallel loops.
// ---------------------------------------------------------------------------

// The OpenMP thread count oneDNN's primitives run with: the instance's, but 1
// in ThreadSanitizer builds, where libgomp's (uninstrumented) barriers would
// make every oneDNN region report false races (see threadpool.cpp).
inline int onednn_threads(const plinth_backend_ctx* ctx) {
#if defined(__SANITIZE_THREAD__)
  (void)ctx;
  return 1;
#else
  return ctx->threads;
#endif
}

// Below this many elements of work an op runs inline on the caller's thread.
inline constexpr int64_t k_inline_work = 1 << 15;

// Calls f(begin, end) over [0, n) split into contiguous ranges, one per
// thread, when n * work_per_item is large enough to be worth it; otherwise
// f(0, n) inline. The split depends only on n and the thread count, and every
// op that uses it computes each item independently of the split.
template <class F>
void parallel_for(plinth_backend_ctx* ctx, int64_t n, int64_t work_per_item, F&& f) {
  if (n <= 0) return;
  int64_t t = ctx->threads;
  if (t <= 1 || n < 2 || n * work_per_item < k_inline_work) {
    f(int64_t{0}, n);
    return;
  }
  if (t > n) t = n;
  const int64_t per = (n + t - 1) / t;
  const int64_t blocks = (n + per - 1) / per;
  ctx->pool->run(blocks, [&](int64_t b) {
    const int64_t lo = b * per;
    const int64_t hi = lo + per < n ? lo + per : n;
    f(lo, hi);
  });
}

// ---------------------------------------------------------------------------
// Tensors.
// ---------------------------------------------------------------------------

// The op checks (the ABI's rules and the restrictions the backends share)
// live in backends/common/op_contract.hpp; the names the sources here use:
using contract::check;
using contract::dtype_size;
using contract::is_contiguous;
using contract::numel;
using contract::op_name;
using contract::raw_enum;
using contract::shape_str;

template <class T>
inline T* data_of(const plinth_tensor& t) {
  if (!t.buffer || !t.buffer->data) return nullptr;
  return reinterpret_cast<T*>(static_cast<char*>(t.buffer->data) + t.offset);
}

// ---------------------------------------------------------------------------
// Number formats.
// ---------------------------------------------------------------------------

// bf16/f16 conversions shared with the GPU backends (round to nearest even).
using numfmt::bf16_to_f32;
using numfmt::bits_to_f32;
using numfmt::f16_to_f32;
using numfmt::f32_to_bf16;
using numfmt::f32_to_bits;
using numfmt::f32_to_f16;

// ---------------------------------------------------------------------------
// Ops. Validation is contract::validate() with the rules of ops/dispatch.cpp;
// each run_* assumes validate passed and buffers were checked.
// ---------------------------------------------------------------------------

#define PLINTH_CPU_OP(name) plinth_status run_##name(plinth_backend_ctx* ctx, const plinth_op& op)

PLINTH_CPU_OP(fill);
PLINTH_CPU_OP(cast);
PLINTH_CPU_OP(unary);
PLINTH_CPU_OP(unary_backward);
PLINTH_CPU_OP(binary);
PLINTH_CPU_OP(axpby);
PLINTH_CPU_OP(reduce);
PLINTH_CPU_OP(argmax);
PLINTH_CPU_OP(softmax);
PLINTH_CPU_OP(softmax_backward);
PLINTH_CPU_OP(cross_entropy);
PLINTH_CPU_OP(cross_entropy_backward);
PLINTH_CPU_OP(layernorm);
PLINTH_CPU_OP(layernorm_backward);
PLINTH_CPU_OP(embedding);
PLINTH_CPU_OP(embedding_backward);
PLINTH_CPU_OP(attention);
PLINTH_CPU_OP(attention_backward);
PLINTH_CPU_OP(dropout);
PLINTH_CPU_OP(dropout_backward);
PLINTH_CPU_OP(squared_norm);
PLINTH_CPU_OP(is_finite);
PLINTH_CPU_OP(adamw_step);
PLINTH_CPU_OP(sgd_step);
PLINTH_CPU_OP(pool2d);
PLINTH_CPU_OP(pool2d_backward);
PLINTH_CPU_OP(batchnorm);
PLINTH_CPU_OP(batchnorm_backward);
PLINTH_CPU_OP(select);
PLINTH_CPU_OP(lion_step);
#undef PLINTH_CPU_OP

// Matmul is validated whole here (the contract's parts, then whether oneDNN
// has a primitive for the layout, which needs the instance's cache).
bool validate_matmul(plinth_backend_ctx* ctx, const plinth_op& op, check& c);
plinth_status run_matmul(plinth_backend_ctx* ctx, const plinth_op& op);
matmul_cache* matmul_cache_create();
// 1 when oneDNN has an optimised (not reference) matmul kernel on this CPU for
// `dtype` inputs with f32 output: what device_properties reports as has_bf16 /
// has_fp16. Probed once per dtype.
int matmul_native(plinth_dtype dtype);
void matmul_cache_destroy(matmul_cache* m);
// oneDNN builds all its sgemm kernels on the process's first dnnl_sgemm call
// (about 40 ms here). The first instance of a process starts a thread that
// makes that call on a tiny product while the core prepares the run, so the
// first training step does not wait for it; later instances get an empty
// thread. The kernels are the same whichever thread builds them.
std::thread start_sgemm_warm_up();
// How run_matmul computes a product. `automatic` picks per shape and dtype
// (see choose_path in ops/matmul.cpp); the others force one way, for the
// benchmark that chose the rule and for the tests that check every way
// against a reference: `copy_a` copies a transposed A densely and runs the
// primitive on the copy, `primitive` runs oneDNN's matmul primitive on the
// operands as they are (strided memory descriptors), `sgemm` calls
// dnnl_sgemm (f32 2-d products only; others fall back to `primitive`).
enum class matmul_path : int { automatic = 0, copy_a = 1, primitive = 2, sgemm = 3 };
// Process-wide; not for use while other threads run matmuls.
void set_matmul_path(matmul_path p);
// Convolution runs on oneDNN primitives cached per instance (ops/conv.cpp).
// The *_supported checks run once the contract holds: whether oneDNN has a
// primitive for the shapes `s`.
bool conv2d_supported(plinth_backend_ctx* ctx, const plinth_op& op, const contract::conv2d_dims& s, check& c);
plinth_status run_conv2d(plinth_backend_ctx* ctx, const plinth_op& op);
bool conv2d_backward_supported(plinth_backend_ctx* ctx, const plinth_op& op, const contract::conv2d_dims& s,
                               check& c);
plinth_status run_conv2d_backward(plinth_backend_ctx* ctx, const plinth_op& op);
conv_cache* conv_cache_create();
void conv_cache_destroy(conv_cache* m);

// Philox-4x32-10 (Salmon et al., SC'11): one block of 4 words.
struct philox_out {
  uint32_t v[4];
};
philox_out philox4x32_10(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t k0, uint32_t k1);

// ---------------------------------------------------------------------------
// Vector kernels (ops/simd.cpp): contiguous f32 loops compiled for AVX-512,
// AVX2 and baseline x86-64, picked once at load from __builtin_cpu_supports.
// Every variant computes each element with the same IEEE operations (no FMA
// contraction, fixed accumulation order), so results are bitwise identical.
// ---------------------------------------------------------------------------

// One (batch, head) slice of attention for the vector kernels: pointers to
// row 0 of each (T, D) matrix, row strides in elements (D is contiguous).
struct attention_slice {
  int64_t T = 0, D = 0;
  float scale = 1.0f;
  bool causal = false;
  const float *q = nullptr, *k = nullptr, *v = nullptr;
  int64_t sq = 0, sk = 0, sv = 0;
  int64_t sy = 0;  // y's row stride
  // forward: y and lse (T) written
  float* y = nullptr;
  float* lse = nullptr;
  // backward: y, lse and dy read, dq, dk, dv written
  const float *y_in = nullptr, *lse_in = nullptr, *dy = nullptr;
  int64_t sdy = 0;
  float *dq = nullptr, *dk = nullptr, *dv = nullptr;
  int64_t sdq = 0, sdk = 0, sdv = 0;
};

// Floats of scratch the slice kernels need for (T, D): with Tp and Dp
// rounded up to 16, forward K^T, V, P, Y; backward K^T, V^T, Q, K, dY, P,
// dS, C and Di (ops/attention_kernels.inc carves them in that order).
inline int64_t attention_scratch_floats(int64_t T, int64_t D, bool backward) {
  const int64_t Tp = (T + 15) / 16 * 16, Dp = (D + 15) / 16 * 16;
  return backward ? 2 * D * Tp + 4 * T * Dp + 2 * T * Tp + Tp : D * Tp + 2 * T * Dp + T * Tp;
}

struct simd_kernels {
  const char* isa;
  // out = beta * out + (a op b), op = plinth_binary_fn; beta == 0: out not read.
  void (*binary)(int fn, int64_t n, const float* a, const float* b, float* out, float beta);
  // out = alpha * x + beta * y (y not read when beta == 0).
  void (*axpby)(int64_t n, float alpha, const float* x, float beta, const float* y, float* out);
  // out = alpha * x + beta (the affine part of UNARY), then relu when fn == RELU.
  void (*affine)(int64_t n, float alpha, float beta, const float* x, float* out, int relu);
  // GELU (tanh approximation) and its derivative times dy, vectorised (exp by polynomial).
  void (*gelu_tanh)(int64_t n, const float* x, float* out);
  void (*gelu_tanh_backward)(int64_t n, const float* dy, const float* x, float* out);
  // out = dy * relu'(a x + b) * a
  void (*relu_backward)(int64_t n, const float* dy, const float* x, float* out, float a, float b);
  // Sum of x^2 in double over 8 fixed lanes, combined lane 0..7.
  double (*sum_squares)(int64_t n, const float* x);
  // 1 when every x is finite.
  int (*all_finite)(int64_t n, const float* x);
  // AdamW on n elements (see ops/optim.cpp for the formula).
  void (*adamw)(int64_t n, float* p, const float* g, float* m, float* v, float decay, float b1, float b2,
                float step_size, float bc2_sqrt_inv, float eps);
  // Contiguous CAST f32 <-> bf16 / f16, bit for bit the scalar f32_to_bf16,
  // bf16_to_f32, f32_to_f16 and f16_to_f32.
  void (*to_bf16)(int64_t n, const float* x, uint16_t* out);
  void (*from_bf16)(int64_t n, const uint16_t* x, float* out);
  void (*to_f16)(int64_t n, const float* x, uint16_t* out);
  void (*from_f16)(int64_t n, const uint16_t* x, float* out);
  // One attention slice forward / backward (ops/attention_kernels.inc), with
  // `scratch` of attention_scratch_floats(T, D, backward) floats.
  void (*attention_forward)(const attention_slice& s, float* scratch);
  void (*attention_backward)(const attention_slice& s, float* scratch);
  // SiLU of u = a x + b, and dy * silu'(u) * a (exp by polynomial).
  void (*silu)(int64_t n, float a, float b, const float* x, float* out);
  void (*silu_backward)(int64_t n, const float* dy, const float* x, float* out, float a, float b);
  // out = sign(a x + b) (torch.sign: 0 and NaN pass through).
  void (*sign)(int64_t n, float a, float b, const float* x, float* out);
  // out = c != 0 ? x : y.
  void (*select)(int64_t n, const float* c, const float* x, const float* y, float* out);
  // Lion on n elements (see ops/optim.cpp for the formula).
  void (*lion)(int64_t n, float* p, const float* g, float* m, float decay, float lr, float b1, float b2);
};

const simd_kernels& kernels();

// ---------------------------------------------------------------------------
// The table's entry points (device.cpp, buffer.cpp, ops/dispatch.cpp).
// ---------------------------------------------------------------------------

plinth_status init(const plinth_host* host);
plinth_status device_count(int32_t* out);
plinth_status device_properties(int32_t index, plinth_device_properties* out);
plinth_status create(const plinth_host* host, const plinth_config* cfg, int32_t device,
                     plinth_backend_ctx** out);
void destroy(plinth_backend_ctx* ctx);
int32_t num_threads(plinth_backend_ctx* ctx);
plinth_status buffer_alloc(plinth_backend_ctx* ctx, uint64_t size, plinth_buffer** out);
void buffer_free(plinth_backend_ctx* ctx, plinth_buffer* buf);
void* buffer_host_ptr(plinth_backend_ctx* ctx, plinth_buffer* buf);
plinth_status copy_h2d(plinth_backend_ctx* ctx, plinth_stream* s, plinth_buffer* dst, uint64_t dst_offset,
                       const void* src, uint64_t size);
plinth_status copy_d2h(plinth_backend_ctx* ctx, plinth_stream* s, void* dst, plinth_buffer* src,
                       uint64_t src_offset, uint64_t size);
plinth_status copy_d2d(plinth_backend_ctx* ctx, plinth_stream* s, plinth_buffer* dst, uint64_t dst_offset,
                       plinth_buffer* src, uint64_t src_offset, uint64_t size);
plinth_status stream_create(plinth_backend_ctx* ctx, plinth_stream** out);
void stream_destroy(plinth_backend_ctx* ctx, plinth_stream* stream);
plinth_status stream_synchronize(plinth_backend_ctx* ctx, plinth_stream* stream);
plinth_status event_create(plinth_backend_ctx* ctx, plinth_event** out);
void event_destroy(plinth_backend_ctx* ctx, plinth_event* event);
plinth_status event_record(plinth_backend_ctx* ctx, plinth_event* event, plinth_stream* stream);
plinth_status stream_wait_event(plinth_backend_ctx* ctx, plinth_stream* stream, plinth_event* event);
plinth_status event_synchronize(plinth_backend_ctx* ctx, plinth_event* event);
int32_t supports(plinth_backend_ctx* ctx, const plinth_op* op);
plinth_status launch(plinth_backend_ctx* ctx, plinth_stream* stream, const plinth_op* op);

}  // namespace plinth::cpu
