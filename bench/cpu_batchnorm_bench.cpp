// cpu_batchnorm_bench.cpp — times BATCHNORM (training, with the running
// statistics) and BATCHNORM_BACKWARD through a backend plugin's C table,
// loaded with dlopen as plinth-bench-attention does, at a CIFAR ResNet shape
// (N 128, C 64, 32 x 32) and on (N, C) features (N 512, C 1024):
//   plinth-bench-batchnorm [PLUGIN.so] [THREADS]
// Prints the fastest and the median of 30 launches of each, in
// microseconds, and the fastest as GB/s of the bytes each op must move
// (forward: read x twice for the two-pass statistics, once to normalise,
// write y; backward: read dy and x twice, write dx). Not in the test run;
// bench/torch_batchnorm.py times PyTorch at the same shapes.
#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "fake_host.hpp"
#include "plinth/backend.h"
#include "plinth/plugin.h"

namespace {

struct shape {
  const char* name;
  std::vector<int64_t> dims;
};

}  // namespace

int main(int argc, char** argv) {
  const char* path = argc > 1 ? argv[1] : PLINTH_CPU_PLUGIN;
  const char* threads = argc > 2 ? argv[2] : "1";
  void* h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!h) return std::fprintf(stderr, "plinth-bench-batchnorm: %s\n", dlerror()), 2;
  auto get = reinterpret_cast<plinth_plugin_get_fn>(dlsym(h, PLINTH_PLUGIN_GET_SYMBOL));
  if (!get)
    return std::fprintf(stderr, "plinth-bench-batchnorm: %s: no %s\n", path, PLINTH_PLUGIN_GET_SYMBOL), 2;
  const plinth_plugin* p = get();
  auto* t = static_cast<const plinth_backend_v1*>(p->components[0].table);
  plinth::test::fake_host host;
  if (p->init) p->init(host.host());
  plinth_backend_ctx* ctx = nullptr;
  if (t->create(host.host(), host.config(std::string("threads = ") + threads), 0, &ctx) != PLINTH_OK)
    return std::fprintf(stderr, "plinth-bench-batchnorm: create: %s\n", host.last_error().c_str()), 2;
  auto tensor = [&](std::vector<int64_t> dims, float lo) {
    int64_t n = 1;
    for (int64_t d : dims) n *= d;
    plinth_buffer* b = nullptr;
    t->buffer_alloc(ctx, uint64_t(n) * 4, &b);
    float* f = static_cast<float*>(t->buffer_host_ptr(ctx, b));
    std::mt19937 g{static_cast<uint32_t>(n)};
    std::normal_distribution<float> d(0, 1);
    for (int64_t i = 0; i < n; ++i) f[i] = lo > 0 ? lo + std::abs(d(g)) : d(g);
    plinth_tensor v{};
    v.struct_size = PLINTH_TENSOR_STRUCT_SIZE;
    v.dtype = PLINTH_DTYPE_F32;
    v.ndim = int32_t(dims.size());
    for (int i = v.ndim - 1, s = 1; i >= 0; --i) {
      v.shape[i] = dims[size_t(i)];
      v.strides[i] = s;
      s *= int(dims[size_t(i)]);
    }
    v.buffer = b;
    return v;
  };
  plinth_batchnorm_params bp{};
  bp.struct_size = PLINTH_BATCHNORM_PARAMS_STRUCT_SIZE;
  bp.eps = 1e-5f;
  bp.momentum = 0.1f;
  bp.training = 1;
  auto run = [&](plinth_op_kind kind, std::vector<plinth_tensor> in, std::vector<plinth_tensor> out) {
    plinth_op op{};
    op.struct_size = PLINTH_OP_STRUCT_SIZE;
    op.kind = kind;
    op.num_inputs = int32_t(in.size());
    op.inputs = in.data();
    op.num_outputs = int32_t(out.size());
    op.outputs = out.data();
    op.params = &bp;
    return t->launch(ctx, nullptr, &op);
  };
  for (const shape& s : {shape{"image", {128, 64, 32, 32}}, shape{"features", {512, 1024}}}) {
    const int64_t C = s.dims[1];
    plinth_tensor x = tensor(s.dims, 0), y = tensor(s.dims, 0), dy = tensor(s.dims, 0),
                  dx = tensor(s.dims, 0);
    plinth_tensor g = tensor({C}, 0), b = tensor({C}, 0), rm = tensor({C}, 0), rv = tensor({C}, 0.5f);
    plinth_tensor m = tensor({C}, 0), r = tensor({C}, 0), dg = tensor({C}, 0), db = tensor({C}, 0);
    int64_t n = 1;
    for (int64_t d : s.dims) n *= d;
    std::vector<double> f, bw;
    for (int it = 0; it < 31; ++it) {
      auto t0 = std::chrono::steady_clock::now();
      if (run(PLINTH_OP_BATCHNORM, {x, g, b, rm, rv}, {y, m, r, rm, rv}) != PLINTH_OK)
        return std::fprintf(stderr, "plinth-bench-batchnorm: %s\n", host.last_error().c_str()), 2;
      auto t1 = std::chrono::steady_clock::now();
      if (run(PLINTH_OP_BATCHNORM_BACKWARD, {dy, x, g, m, r}, {dx, dg, db}) != PLINTH_OK)
        return std::fprintf(stderr, "plinth-bench-batchnorm: %s\n", host.last_error().c_str()), 2;
      auto t2 = std::chrono::steady_clock::now();
      if (it == 0) continue;  // warm-up
      f.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
      bw.push_back(std::chrono::duration<double, std::micro>(t2 - t1).count());
    }
    std::sort(f.begin(), f.end());
    std::sort(bw.begin(), bw.end());
    const double mb = double(n) * 4 / 1e3;  // kB of one tensor: kB per microsecond is GB/s
    std::printf(
        "{\"shape\": \"%s\", \"threads\": %s, \"fwd_min_us\": %.0f, \"fwd_median_us\": %.0f, \"fwd_GBps\": "
        "%.1f, "
        "\"bwd_min_us\": %.0f, \"bwd_median_us\": %.0f, \"bwd_GBps\": %.1f}\n",
        s.name, threads, f[0], f[f.size() / 2], 4 * mb / f[0], bw[0], bw[bw.size() / 2], 5 * mb / bw[0]);
  }
  return 0;
}
