// strided.hpp — iteration over up to four same-shaped strided views (one
// output, inputs broadcast through stride-0 dims) for the elementwise ops.
// Dims are coalesced where every view allows it; the innermost run is handed
// to a callback, which takes a vector path when all its strides are 1.
#pragma once

#include "../cpu_backend.hpp"

namespace plinth::cpu {

struct strided_iter {
  int ndim = 0;
  int nops = 0;
  int64_t shape[PLINTH_MAX_DIMS] = {};
  int64_t strides[4][PLINTH_MAX_DIMS] = {};
};

using contract::broadcast_strides;

// ops[0] is the output; others are inputs. Assumes validation passed.
inline strided_iter make_iter(const plinth_tensor& out, const plinth_tensor* const* ins, int nins) {
  strided_iter it;
  it.nops = 1 + nins;
  int64_t s[4][PLINTH_MAX_DIMS];
  for (int d = 0; d < out.ndim; ++d) s[0][d] = out.shape[d] == 1 ? 0 : out.strides[d];
  for (int k = 0; k < nins; ++k) broadcast_strides(*ins[k], out, s[k + 1]);
  // Drop size-1 dims, then merge d into d+1 where every view is contiguous across them.
  int nd = 0;
  for (int d = 0; d < out.ndim; ++d) {
    if (out.shape[d] == 1) continue;
    if (nd > 0) {
      bool merge = true;
      for (int k = 0; k < it.nops; ++k)
        if (it.strides[k][nd - 1] != s[k][d] * out.shape[d]) merge = false;
      if (merge) {
        it.shape[nd - 1] *= out.shape[d];
        for (int k = 0; k < it.nops; ++k) it.strides[k][nd - 1] = s[k][d];
        continue;
      }
    }
    it.shape[nd] = out.shape[d];
    for (int k = 0; k < it.nops; ++k) it.strides[k][nd] = s[k][d];
    ++nd;
  }
  if (nd == 0) {
    it.shape[0] = 1;
    for (int k = 0; k < it.nops; ++k) it.strides[k][0] = 0;
    nd = 1;
  }
  it.ndim = nd;
  return it;
}

// Calls f(len, off, inner) for every innermost run: off[k] is the element
// offset of view k at the run's start, inner[k] its stride along the run.
// Runs are split across the pool when the total is large.
template <class F>
void for_each_run(plinth_backend_ctx* ctx, const strided_iter& it, int64_t work_per_elem, F&& f) {
  const int last = it.ndim - 1;
  const int64_t inner_n = it.shape[last];
  int64_t rows = 1;
  for (int d = 0; d < last; ++d) rows *= it.shape[d];
  int64_t inner[4];
  for (int k = 0; k < it.nops; ++k) inner[k] = it.strides[k][last];
  // Long rows are cut into fixed chunks so 1-d work parallelises too.
  constexpr int64_t k_chunk = 8192;
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
