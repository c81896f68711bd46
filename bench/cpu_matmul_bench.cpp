// cpu_matmul_bench.cpp — GFLOP/s of the CPU backend's MATMUL at the MNIST MLP
// shapes (batch 128: 784-512-256-10, forward and both backward products) and
// at 1024^3 (the machine's GEMM ceiling, f32 and bf16), elementwise GB/s, and
// the per-launch overhead of a 16-element op through the plugin's C table
// against the same addition as a direct call. Uses the plugin's C table.
// Thread count: PLINTH_BENCH_THREADS (default 0 = all cores).
#include <benchmark/benchmark.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "../backends/cpu/cpu_backend.hpp"
#include "plinth/backend.h"

extern "C" const plinth_plugin* plinth_plugin_get(void);

struct plinth_config {
  int64_t threads;
};

namespace {

plinth_status no_key(void*, const plinth_config*, const char*, void*) { return PLINTH_ERR_NOT_FOUND; }

int64_t numel(const plinth_tensor& x) {
  int64_t n = 1;
  for (int i = 0; i < x.ndim; ++i) n *= x.shape[i];
  return n;
}

struct bench_backend {
  const plinth_backend_v1* t;
  plinth_backend_ctx* ctx = nullptr;
  plinth_host host{};
  bench_backend() {
    t = static_cast<const plinth_backend_v1*>(plinth_plugin_get()->components[0].table);
    host.struct_size = PLINTH_HOST_STRUCT_SIZE;
    host.log = [](void*, plinth_log_level, const char*, const char*) {};
    host.set_error = [](void*, plinth_status c, const char*) { return c; };
    host.config_get_int = [](void*, const plinth_config* c, const char* key, int64_t* out) {
      if (std::strcmp(key, "threads") != 0) return PLINTH_ERR_NOT_FOUND;
      *out = c->threads;
      return PLINTH_OK;
    };
    host.config_get_bool = reinterpret_cast<decltype(host.config_get_bool)>(&no_key);
    host.config_get_string = reinterpret_cast<decltype(host.config_get_string)>(&no_key);
    const char* env = std::getenv("PLINTH_BENCH_THREADS");
    plinth_config cfg{env ? std::atoll(env) : 0};
    t->create(&host, &cfg, 0, &ctx);
  }
  ~bench_backend() { t->destroy(ctx); }
  // f32 filled with a pattern, or a bf16/f16 copy of that pattern (CAST).
  plinth_tensor make(std::vector<int64_t> shape, plinth_dtype dtype = PLINTH_DTYPE_F32) {
    if (dtype != PLINTH_DTYPE_F32) {
      plinth_tensor f = make(shape), h = f;
      h.dtype = dtype;
      t->buffer_alloc(ctx, uint64_t(numel(f)) * 2, &h.buffer);
      plinth_op cast{PLINTH_OP_STRUCT_SIZE, PLINTH_OP_CAST, 1, &f, 1, &h, nullptr};
      t->launch(ctx, nullptr, &cast);
      return h;
    }
    plinth_tensor x{};
    x.struct_size = PLINTH_TENSOR_STRUCT_SIZE;
    x.dtype = PLINTH_DTYPE_F32;
    x.ndim = int32_t(shape.size());
    int64_t s = 1;
    for (int i = x.ndim - 1; i >= 0; --i) {
      x.shape[i] = shape[size_t(i)];
      x.strides[i] = s;
      s *= shape[size_t(i)];
    }
    t->buffer_alloc(ctx, uint64_t(s) * 4, &x.buffer);
    float* p = static_cast<float*>(t->buffer_host_ptr(ctx, x.buffer));
    for (int64_t i = 0; i < s; ++i) p[i] = float(i % 7) * 0.1f - 0.3f;
    return x;
  }
};

bench_backend& backend() {
  static bench_backend b;
  return b;
}

// Times op(A) (M x K) times op(B) (K x N) into an f32 (M x N), inputs of
// `dtype`; st.range(0..4) are M, K, N, trans_a, trans_b.
void time_matmul(benchmark::State& st, plinth_dtype dtype) {
  const int64_t M = st.range(0), K = st.range(1), N = st.range(2);
  const int ta = int(st.range(3)), tb = int(st.range(4));
  auto& b = backend();
  plinth_tensor in[2] = {ta ? b.make({K, M}, dtype) : b.make({M, K}, dtype),
                         tb ? b.make({N, K}, dtype) : b.make({K, N}, dtype)};
  plinth_tensor out = b.make({M, N});
  plinth_matmul_params p{PLINTH_MATMUL_PARAMS_STRUCT_SIZE, ta, tb, 1.0f, 0.0f};
  plinth_op op{PLINTH_OP_STRUCT_SIZE, PLINTH_OP_MATMUL, 2, in, 1, &out, &p};
  for (auto _ : st) b.t->launch(b.ctx, nullptr, &op);
  st.counters["GFLOP/s"] = benchmark::Counter(
      2.0 * double(M * N * K), benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
}

// args: M, K, N, trans_a, trans_b
void BM_matmul(benchmark::State& st) {
  time_matmul(st, PLINTH_DTYPE_F32);
  auto& b = backend();
  st.counters["threads"] = b.t->num_threads(b.ctx);
}

// Forward x @ W, dW = x^T @ dy, dx = dy @ W^T for each MLP layer.
BENCHMARK(BM_matmul)
    ->ArgNames({"M", "K", "N", "ta", "tb"})
    ->Args({128, 784, 512, 0, 0})
    ->Args({784, 128, 512, 1, 0})
    ->Args({128, 512, 784, 0, 1})
    ->Args({128, 512, 256, 0, 0})
    ->Args({512, 128, 256, 1, 0})
    ->Args({128, 256, 512, 0, 1})
    ->Args({128, 256, 10, 0, 0})
    ->Args({256, 128, 10, 1, 0})
    ->Args({128, 10, 256, 0, 1})
    ->Args({784, 128, 512, 0, 0})
    ->Args({256, 128, 10, 0, 0})
    ->Args({1024, 1024, 1024, 0, 0})
    ->UseRealTime();

// The products of one training step of the 784-512-512-10 MLP at batch 128
// as the graph issues them (y = x W^T, dx = dy W, dW = dy^T x), with f32,
// bf16 or f16 inputs and f32 output. args: M, K, N, trans_a, trans_b, dtype.
void BM_matmul_dtype(benchmark::State& st) { time_matmul(st, static_cast<plinth_dtype>(st.range(5))); }
void mlp_step_products(benchmark::internal::Benchmark* bm) {
  bm->ArgNames({"M", "K", "N", "ta", "tb", "dtype"});
  for (int64_t dt : {PLINTH_DTYPE_F32, PLINTH_DTYPE_BF16, PLINTH_DTYPE_F16})
    for (auto [in, out] : {std::pair<int64_t, int64_t>{784, 512}, {512, 512}, {512, 10}}) {
      bm->Args({128, in, out, 0, 1, dt});                 // y (128, out) = x (128, in) W^T
      if (in != 784) bm->Args({128, out, in, 0, 0, dt});  // dx (128, in) = dy (128, out) W (out, in)
      bm->Args({out, 128, in, 1, 0, dt});                 // dW (out, in) = dy^T x
    }
}
BENCHMARK(BM_matmul_dtype)->Apply(mlp_step_products)->UseRealTime();
// The ceiling: a large square product in f32 and bf16 (f32 output).
BENCHMARK(BM_matmul_dtype)
    ->Name("BM_gemm_ceiling")
    ->ArgNames({"M", "K", "N", "ta", "tb", "dtype"})
    ->Args({1024, 1024, 1024, 0, 0, PLINTH_DTYPE_F32})
    ->Args({2048, 2048, 2048, 0, 0, PLINTH_DTYPE_F32})
    ->Args({1024, 1024, 1024, 0, 0, PLINTH_DTYPE_BF16})
    ->Args({2048, 2048, 2048, 0, 0, PLINTH_DTYPE_BF16})
    ->UseRealTime();

// Each way run_matmul can compute a product (plinth::cpu::matmul_path:
// automatic, copy_a, primitive, sgemm) at the products of the MLP
// 784-512-512-10 step at batch 128 and 32 and of the char-GPT step (768
// tokens, widths 128, 384 (qkv), 512 (MLP) and 65 (vocabulary)), with f32 or
// bf16 inputs. This is what choose_path's rule comes from.
// args: M, K, N, trans_a, trans_b, dtype, path.
void BM_matmul_path(benchmark::State& st) {
  plinth::cpu::set_matmul_path(static_cast<plinth::cpu::matmul_path>(st.range(6)));
  time_matmul(st, static_cast<plinth_dtype>(st.range(5)));
  plinth::cpu::set_matmul_path(plinth::cpu::matmul_path::automatic);
}
void step_products_by_path(benchmark::internal::Benchmark* bm) {
  bm->ArgNames({"M", "K", "N", "ta", "tb", "dtype", "path"});
  struct layer {
    int64_t rows, in, out;
  };
  const std::vector<layer> layers = {{128, 784, 512}, {128, 512, 512}, {128, 512, 10},  // MLP, batch 128
                                     {32, 784, 512},  {32, 512, 512},  {32, 512, 10},   // MLP, batch 32
                                     {768, 128, 384}, {768, 128, 128}, {768, 128, 512},
                                     {768, 512, 128}, {768, 128, 65}};  // char-GPT
  for (int64_t dt : {PLINTH_DTYPE_F32, PLINTH_DTYPE_BF16})
    for (const layer& l : layers) {
      const std::vector<std::array<int64_t, 5>> products = {{l.rows, l.in, l.out, 0, 1},   // y = x W^T
                                                            {l.rows, l.out, l.in, 0, 0},   // dx = dy W
                                                            {l.out, l.rows, l.in, 1, 0}};  // dW = dy^T x
      for (const auto& q : products) {
        if (!q[3] && !q[4] && q[2] == 784) continue;  // no dx for the input
        for (int64_t path = 0; path <= 3; ++path) {
          if (path == 1 && !q[3]) continue;                   // copy_a: transposed A only
          if (path == 3 && dt != PLINTH_DTYPE_F32) continue;  // sgemm: f32 only
          bm->Args({q[0], q[1], q[2], q[3], q[4], dt, path});
        }
      }
    }
}
BENCHMARK(BM_matmul_path)->Apply(step_products_by_path)->UseRealTime();
// A^T x B with a narrow output (N = 10), where oneDNN 2.6's primitive once ran
// far slower on a transposed A than on a dense copy.
BENCHMARK(BM_matmul_path)
    ->ArgNames({"M", "K", "N", "ta", "tb", "dtype", "path"})
    ->ArgsProduct({{256}, {128}, {10}, {1}, {0}, {PLINTH_DTYPE_F32, PLINTH_DTYPE_BF16}, {1, 2}})
    ->UseRealTime();

// CAST f32 -> bf16 / f16 and back of the largest weight (512 x 784).
// args: n, from dtype, to dtype.
void BM_cast(benchmark::State& st) {
  const int64_t n = st.range(0);
  const auto from = static_cast<plinth_dtype>(st.range(1)), to = static_cast<plinth_dtype>(st.range(2));
  auto& b = backend();
  plinth_tensor in = b.make({n}, from), out = b.make({n}, to);
  plinth_op op{PLINTH_OP_STRUCT_SIZE, PLINTH_OP_CAST, 1, &in, 1, &out, nullptr};
  for (auto _ : st) b.t->launch(b.ctx, nullptr, &op);
  st.counters["elem/s"] = benchmark::Counter(double(n), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_cast)
    ->ArgNames({"n", "from", "to"})
    ->Args({401408, PLINTH_DTYPE_F32, PLINTH_DTYPE_BF16})
    ->Args({401408, PLINTH_DTYPE_F32, PLINTH_DTYPE_F16})
    ->Args({401408, PLINTH_DTYPE_BF16, PLINTH_DTYPE_F32})
    ->Args({401408, PLINTH_DTYPE_F16, PLINTH_DTYPE_F32})
    ->UseRealTime();

void BM_launch_small_binary(benchmark::State& st) {
  auto& b = backend();
  plinth_tensor in[2] = {b.make({16}), b.make({16})};
  plinth_tensor out = b.make({16});
  plinth_binary_params p{PLINTH_BINARY_PARAMS_STRUCT_SIZE, PLINTH_BINARY_ADD, 0.0f};
  plinth_op op{PLINTH_OP_STRUCT_SIZE, PLINTH_OP_BINARY, 2, in, 1, &out, &p};
  for (auto _ : st) b.t->launch(b.ctx, nullptr, &op);
}
BENCHMARK(BM_launch_small_binary);

// The same 16-element addition as a plain call of a function the compiler
// cannot inline: what BM_launch_small_binary would cost with no ABI, no
// op description, no validation and no dispatch. The difference of the two
// is the per-op launch overhead.
[[gnu::noinline]] void add_direct(const float* a, const float* b, float* c, int64_t n) {
  for (int64_t i = 0; i < n; ++i) c[i] = a[i] + b[i];
}
void BM_direct_small_binary(benchmark::State& st) {
  std::vector<float> a(16, 1.0f), b(16, 2.0f), c(16);
  for (auto _ : st) {
    add_direct(a.data(), b.data(), c.data(), 16);
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_direct_small_binary);

// Elementwise throughput on tensors larger than the caches: ADD (two reads
// and a write, 12 bytes an element) and GELU (a read and a write, 8 bytes).
// args: elements, 0 = ADD / 1 = GELU.
void BM_elementwise(benchmark::State& st) {
  const int64_t n = st.range(0);
  const bool gelu = st.range(1) != 0;
  auto& b = backend();
  plinth_tensor in[2] = {b.make({n}), b.make({n})};
  plinth_tensor out = b.make({n});
  plinth_binary_params add{PLINTH_BINARY_PARAMS_STRUCT_SIZE, PLINTH_BINARY_ADD, 0.0f};
  plinth_unary_params un{PLINTH_UNARY_PARAMS_STRUCT_SIZE, PLINTH_UNARY_GELU_TANH, 1.0f, 0.0f};
  plinth_op op = gelu ? plinth_op{PLINTH_OP_STRUCT_SIZE, PLINTH_OP_UNARY, 1, in, 1, &out, &un}
                      : plinth_op{PLINTH_OP_STRUCT_SIZE, PLINTH_OP_BINARY, 2, in, 1, &out, &add};
  for (auto _ : st) b.t->launch(b.ctx, nullptr, &op);
  st.SetBytesProcessed(int64_t(st.iterations()) * n * (gelu ? 8 : 12));
}
BENCHMARK(BM_elementwise)->ArgNames({"n", "gelu"})->Args({1 << 22, 0})->Args({1 << 22, 1})->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
