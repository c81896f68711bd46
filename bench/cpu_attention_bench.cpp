// cpu_attention_bench.cpp — times ATTENTION and ATTENTION_BACKWARD at the
// char-GPT shape (B 12, H 4, T 64, D 32, causal; q, k, v strided out of a
// fused (B, T, 3C) buffer, as the model lays them out) through a backend
// plugin's C table, loaded with dlopen so that two builds of the plugin can
// be compared side by side:
//   plinth-bench-attention [PLUGIN.so] [THREADS]
// Prints the fastest and the median of 300 launches of each, in microseconds
// (the fastest is the figure to compare on a loaded machine).
#include <dlfcn.h>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>
#include "fake_host.hpp"
#include "plinth/backend.h"
#include "plinth/plugin.h"

int main(int argc, char** argv) {
  const char* path = argc > 1 ? argv[1] : PLINTH_CPU_PLUGIN;
  const char* threads = argc > 2 ? argv[2] : "1";
  void* h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    std::fprintf(stderr, "plinth-bench-attention: %s\n", dlerror());
    return 2;
  }
  auto get = reinterpret_cast<plinth_plugin_get_fn>(dlsym(h, PLINTH_PLUGIN_GET_SYMBOL));
  if (!get)
    return std::fprintf(stderr, "plinth-bench-attention: %s: no %s\n", path, PLINTH_PLUGIN_GET_SYMBOL), 2;
  const plinth_plugin* p = get();
  auto* t = static_cast<const plinth_backend_v1*>(p->components[0].table);
  plinth::test::fake_host host;
  if (p->init) p->init(host.host());
  plinth_backend_ctx* ctx = nullptr;
  if (t->create(host.host(), host.config(std::string("threads = ") + threads), 0, &ctx) != PLINTH_OK)
    return std::fprintf(stderr, "plinth-bench-attention: create: %s\n", host.last_error().c_str()), 2;
  const int64_t B = 12, H = 4, T = 64, D = 32, C = H * D;
  auto alloc = [&](int64_t n) {
    plinth_buffer* b;
    t->buffer_alloc(ctx, uint64_t(n) * 4, &b);
    float* f = (float*)t->buffer_host_ptr(ctx, b);
    std::mt19937 g(n);
    std::normal_distribution<float> d(0, 1);
    for (int64_t i = 0; i < n; ++i) f[i] = d(g);
    return b;
  };
  auto view = [&](plinth_buffer* b, std::vector<int64_t> shape, std::vector<int64_t> st, uint64_t off) {
    plinth_tensor v{};
    v.struct_size = PLINTH_TENSOR_STRUCT_SIZE;
    v.dtype = PLINTH_DTYPE_F32;
    v.ndim = int32_t(shape.size());
    for (size_t i = 0; i < shape.size(); ++i) {
      v.shape[i] = shape[i];
      v.strides[i] = st[i];
    }
    v.buffer = b;
    v.offset = off;
    return v;
  };
  plinth_buffer *qkv = alloc(B * T * 3 * C), *dqkv = alloc(B * T * 3 * C), *y = alloc(B * T * C),
                *dy = alloc(B * T * C), *lse = alloc(B * H * T);
  std::vector<int64_t> sh{B, H, T, D}, fs{T * 3 * C, D, 3 * C, 1},
      cs{T * C, D, C, 1};  // y as (B,T,H,D) view like the GPT
  plinth_tensor q = view(qkv, sh, fs, 0), k = view(qkv, sh, fs, C * 4), v = view(qkv, sh, fs, 2 * C * 4);
  plinth_tensor dq = view(dqkv, sh, fs, 0), dk = view(dqkv, sh, fs, C * 4),
                dv = view(dqkv, sh, fs, 2 * C * 4);
  plinth_tensor yt = view(y, sh, cs, 0), dyt = view(dy, sh, cs, 0),
                l = view(lse, {B, H, T}, {H * T, T, 1}, 0);
  plinth_attention_params pa{};
  pa.struct_size = sizeof pa;
  pa.causal = 1;
  pa.scale = 0.17677669f;
  auto run = [&](plinth_op_kind kind, std::vector<plinth_tensor> in, std::vector<plinth_tensor> out) {
    plinth_op op{};
    op.struct_size = PLINTH_OP_STRUCT_SIZE;
    op.kind = kind;
    op.num_inputs = int32_t(in.size());
    op.inputs = in.data();
    op.num_outputs = int32_t(out.size());
    op.outputs = out.data();
    op.params = &pa;
    return t->launch(ctx, nullptr, &op);
  };
  if (run(PLINTH_OP_ATTENTION, {q, k, v}, {yt, l}) != PLINTH_OK ||
      run(PLINTH_OP_ATTENTION_BACKWARD, {dyt, q, k, v, yt, l}, {dq, dk, dv}) != PLINTH_OK)
    return std::fprintf(stderr, "plinth-bench-attention: launch: %s\n", host.last_error().c_str()), 2;
  std::vector<double> f, b;
  for (int r = 0; r < 300; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    run(PLINTH_OP_ATTENTION, {q, k, v}, {yt, l});
    auto t1 = std::chrono::steady_clock::now();
    run(PLINTH_OP_ATTENTION_BACKWARD, {dyt, q, k, v, yt, l}, {dq, dk, dv});
    auto t2 = std::chrono::steady_clock::now();
    f.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
    b.push_back(std::chrono::duration<double, std::micro>(t2 - t1).count());
  }
  std::sort(f.begin(), f.end());
  std::sort(b.begin(), b.end());
  std::printf(
      "{\"threads\": %s, \"fwd_min_us\": %.0f, \"fwd_median_us\": %.0f, \"bwd_min_us\": %.0f, "
      "\"bwd_median_us\": %.0f}\n",
      threads, f[0], f[f.size() / 2], b[0], b[b.size() / 2]);
  return 0;
}
