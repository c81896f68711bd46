// norm.cpp — SQUARED_NORM (sum of x^2 over every input, for global gradient
// clipping) and IS_FINITE (loss-scale overflow check). Inputs are contiguous
// f32; sums run in double over fixed 16384-element chunks combined in order.
#include <vector>

#include "../cpu_backend.hpp"

namespace plinth::cpu {

namespace {

constexpr int64_t k_chunk = 16384;

}  // namespace

plinth_status run_squared_norm(plinth_backend_ctx* ctx, const plinth_op& op) {
  // Chunks of every input, in input order.
  struct chunk {
    const float* p;
    int64_t n;
  };
  std::vector<chunk> chunks;
  for (int i = 0; i < op.num_inputs; ++i) {
    const int64_t n = numel(op.inputs[i]);
    const float* x = data_of<float>(op.inputs[i]);
    for (int64_t b = 0; b < n; b += k_chunk) chunks.push_back({x + b, n - b < k_chunk ? n - b : k_chunk});
  }
  std::vector<double> part(chunks.size(), 0.0);
  parallel_for(ctx, int64_t(chunks.size()), k_chunk, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i)
      part[size_t(i)] = kernels().sum_squares(chunks[size_t(i)].n, chunks[size_t(i)].p);
  });
  double s = 0;
  for (double v : part) s += v;
  *data_of<float>(op.outputs[0]) = float(s);
  return PLINTH_OK;
}

plinth_status run_is_finite(plinth_backend_ctx* ctx, const plinth_op& op) {
  int ok = 1;
  for (int i = 0; i < op.num_inputs && ok; ++i) {
    const int64_t n = numel(op.inputs[i]);
    const float* x = data_of<float>(op.inputs[i]);
    const int64_t chunks = (n + k_chunk - 1) / k_chunk;
    std::vector<int> part(size_t(chunks), 1);
    parallel_for(ctx, chunks, k_chunk, [&](int64_t lo, int64_t hi) {
      for (int64_t ch = lo; ch < hi; ++ch) {
        const int64_t b = ch * k_chunk;
        part[size_t(ch)] = kernels().all_finite(n - b < k_chunk ? n - b : k_chunk, x + b);
      }
    });
    for (int v : part) ok &= v;
  }
  *data_of<float>(op.outputs[0]) = ok ? 1.0f : 0.0f;
  return PLINTH_OK;
}

}  // namespace plinth::cpu
