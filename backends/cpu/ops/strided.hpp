// strided.hpp — iteration over up to four same-shaped strided views (one
// output, inputs broadcast through stride-0 dims) for the elementwise ops.
// Dims are coalesced where every view allows it; the innermost run is handed
// to a callback, which takes a vector path when all its strides are 1.
#pragma once

#include "../cpu_backend.hpp"

namespace plinth::cpu {

// Coalesced as backends/common/op_contract.hpp describes.
using strided_iter = contract::strided_views;

// ops[0] is the output; others are inputs. Assumes validation passed.
inline strided_iter make_iter(const plinth_tensor& out, const plinth_tensor* const* ins, int nins) {
  return contract::coalesce(out, ins, nins);
}

// Calls f(len, off, inner) for every innermost run: off[k] is the element
// offset of view k at the run's start, inner[k] its stride along the run.
// Runs are split across the pool when the total is large.
template <class F>
void for_each_run(plinth_backend_ctx* ctx, const strided_iter& it, int64_t work_per_elem, F&& f) {
  constexpr int64_t k_chunk = 8192;
  if (it.ndim == 1 && it.shape[0] <= k_chunk) {
    // One run (small dense tensors: most launches of a small model): what
    // the loop below does for a single item, without its divisions.
    int64_t off[4] = {0, 0, 0, 0}, inner[4];
    for (int k = 0; k < it.nops; ++k) inner[k] = it.strides[k][0];
    f(it.shape[0], off, inner);
    return;
  }
  const int last = it.ndim - 1;
  const int64_t inner_n = it.shape[last];
  int64_t rows = 1;
  for (int d = 0; d < last; ++d) rows *= it.shape[d];
  int64_t inner[4];
  for (int k = 0; k < it.nops; ++k) inner[k] = it.strides[k][last];
  // Long rows are cut into fixed chunks so 1-d work parallelises too.
  const int64_t chunks = (inner_n + k_chunk - 1) / k_chunk;
  const int64_t items = rows * chunks;
  parallel_for(ctx, items, (inner_n < k_chunk ? inner_n : k_chunk) * work_per_elem,
               [&](int64_t lo, int64_t hi) {
                 for (int64_t item = lo; item < hi; ++item) {
                   int64_t r = item / chunks, ch = item % chunks;
                   int64_t off[4] = {0, 0, 0, 0};
                   for (int d = last - 1; d >= 0; --d) {
                     const int64_t i = r % it.shape[d];
                     r /= it.shape[d];
                     for (int k = 0; k < it.nops; ++k) off[k] += i * it.strides[k][d];
                   }
                   const int64_t start = ch * k_chunk;
                   const int64_t len = inner_n - start < k_chunk ? inner_n - start : k_chunk;
                   for (int k = 0; k < it.nops; ++k) off[k] += start * inner[k];
                   f(len, off, inner);
                 }
               });
}

}  // namespace plinth::cpu
