// reduce.cpp — REDUCE (sum/mean/max/min over the dims where out's size is 1,
// with beta accumulate) and ARGMAX over the last dim. Sums accumulate in
// double in a fixed order (per output element, input dims in row-major
// order; full reductions in fixed 16384-element chunks combined in order), so
// results do not depend on the thread count.
#include <cmath>
#include <limits>
#include <vector>

#include "../cpu_backend.hpp"

namespace plinth::cpu {

namespace {

struct reducer {
  int fn;
  double init() const {
    if (fn == PLINTH_REDUCE_MAX) return -std::numeric_limits<double>::infinity();
    if (fn == PLINTH_REDUCE_MIN) return std::numeric_limits<double>::infinity();
    return 0.0;
  }
  // NaN propagates for max/min.
  double add(double acc, double v) const {
    switch (fn) {
      case PLINTH_REDUCE_MAX:
        return (v > acc || v != v) && acc == acc ? v : acc;
      case PLINTH_REDUCE_MIN:
        return (v < acc || v != v) && acc == acc ? v : acc;
      default:
        return acc + v;
    }
  }
};

}  // namespace

plinth_status run_reduce(plinth_backend_ctx* ctx, const plinth_op& op) {
  const auto* p = static_cast<const plinth_reduce_params*>(op.params);
  const plinth_tensor& in = op.inputs[0];
  const plinth_tensor& out = op.outputs[0];
  const float* x = data_of<float>(in);
  float* o = data_of<float>(out);
  const reducer r{int(p->fn)};
  const float beta = p->beta;
  const int nd = in.ndim;
  const int64_t n_out = numel(out);
  if (n_out == 0) return PLINTH_OK;
  int64_t count = 1;  // elements reduced into each output
  for (int d = 0; d < nd; ++d)
    if (out.shape[d] == 1) count *= in.shape[d];
  auto finish = [&](double acc) -> float {
    if (r.fn == PLINTH_REDUCE_MEAN) acc = acc / double(count);
    return float(acc);
  };
  auto store = [&](float* dst, float v) { *dst = beta == 0.0f ? v : beta * *dst + v; };

  // Full reduction of a contiguous input: fixed chunks, combined in order.
  if (n_out == 1 && is_contiguous(in) && count > 0) {
    constexpr int64_t k_chunk = 16384;
    const int64_t chunks = (count + k_chunk - 1) / k_chunk;
    std::vector<double> part(size_t(chunks), r.init());
    parallel_for(ctx, chunks, k_chunk, [&](int64_t lo, int64_t hi) {
      for (int64_t ch = lo; ch < hi; ++ch) {
        const int64_t b = ch * k_chunk, e = b + k_chunk < count ? b + k_chunk : count;
        double acc = r.init();
        if (r.fn == PLINTH_REDUCE_SUM || r.fn == PLINTH_REDUCE_MEAN) {
          double lane[4] = {0, 0, 0, 0};
          int64_t i = b;
          for (; i + 4 <= e; i += 4)
            for (int j = 0; j < 4; ++j) lane[j] += x[i + j];
          for (; i < e; ++i) lane[0] += x[i];
          acc = (lane[0] + lane[1]) + (lane[2] + lane[3]);
        } else {
          for (int64_t i = b; i < e; ++i) acc = r.add(acc, x[i]);
        }
        part[size_t(ch)] = acc;
      }
    });
    double acc = r.init();
    for (double v : part) acc = r.add(acc, v);
    store(o, finish(acc));
    return PLINTH_OK;
  }

  // Reduction over leading dims of a contiguous input into its trailing dims
  // (a bias gradient: [B, N] -> [1, N]): each output's rows are added in the
  // same order as the general walk below (so the result is bit for bit the
  // same), but a block of outputs at a time, one contiguous input row after
  // another, instead of an index computation per element.
  if (is_contiguous(in) && is_contiguous(out)) {
    int last_reduced = -1, first_kept = nd;
    for (int d = 0; d < nd; ++d) {
      if (in.shape[d] == 1) continue;
      if (out.shape[d] == 1)
        last_reduced = d;
      else if (first_kept == nd)
        first_kept = d;
    }
    if (last_reduced < first_kept) {
      const int64_t rows = count, cols = n_out;
      constexpr int64_t k_block = 256;
      const int64_t blocks = (cols + k_block - 1) / k_block;
      parallel_for(ctx, blocks, rows * k_block, [&](int64_t lo, int64_t hi) {
        double acc[k_block];
        for (int64_t blk = lo; blk < hi; ++blk) {
          const int64_t j0 = blk * k_block, w = cols - j0 < k_block ? cols - j0 : k_block;
          for (int64_t j = 0; j < w; ++j) acc[j] = r.init();
          if (r.fn == PLINTH_REDUCE_SUM || r.fn == PLINTH_REDUCE_MEAN) {
            for (int64_t i = 0; i < rows; ++i) {
              const float* row = x + i * cols + j0;
              for (int64_t j = 0; j < w; ++j) acc[j] += row[j];
            }
          } else {
            for (int64_t i = 0; i < rows; ++i) {
              const float* row = x + i * cols + j0;
              for (int64_t j = 0; j < w; ++j) acc[j] = r.add(acc[j], row[j]);
            }
          }
          for (int64_t j = 0; j < w; ++j) store(o + j0 + j, finish(acc[j]));
        }
      });
      return PLINTH_OK;
    }
  }

  // General case: one output element per item; its reduced index space is
  // walked in row-major order of the input's dims.
  int kd[PLINTH_MAX_DIMS], rd[PLINTH_MAX_DIMS];
  int nk = 0, nr = 0;
  for (int d = 0; d < nd; ++d) {
    if (out.shape[d] == 1)
      rd[nr++] = d;
    else
      kd[nk++] = d;
  }
  parallel_for(ctx, n_out, count, [&](int64_t lo, int64_t hi) {
    for (int64_t oi = lo; oi < hi; ++oi) {
      int64_t in_off = 0, out_off = 0, rem = oi;
      for (int k = nk - 1; k >= 0; --k) {
        const int d = kd[k];
        const int64_t i = rem % in.shape[d];
        rem /= in.shape[d];
        in_off += i * in.strides[d];
        out_off += i * out.strides[d];
      }
      double acc = r.init();
      for (int64_t j = 0; j < count; ++j) {
        int64_t off = in_off, q = j;
        for (int k = nr - 1; k >= 0; --k) {
          const int d = rd[k];
          off += (q % in.shape[d]) * in.strides[d];
          q /= in.shape[d];
        }
        acc = r.add(acc, x[off]);
      }
      store(o + out_off, finish(acc));
    }
  });
  return PLINTH_OK;
}

// ---------------------------------------------------------------------------
// ARGMAX over the last dim (first maximum wins; NaN never wins).
// ---------------------------------------------------------------------------

plinth_status run_argmax(plinth_backend_ctx* ctx, const plinth_op& op) {
  const plinth_tensor& in = op.inputs[0];
  const int64_t C = in.shape[in.ndim - 1];
  const int64_t N = numel(op.outputs[0]);
  const float* x = data_of<float>(in);
  int32_t* o = data_of<int32_t>(op.outputs[0]);
  parallel_for(ctx, N, C, [&](int64_t lo, int64_t hi) {
    for (int64_t n = lo; n < hi; ++n) {
      const float* row = x + n * C;
      int64_t best = 0;
      float bv = row[0];
      for (int64_t c = 1; c < C; ++c)
        if (row[c] > bv || (bv != bv && row[c] == row[c])) {
          bv = row[c];
          best = c;
        }
      o[n] = int32_t(best);
    }
  });
  return PLINTH_OK;
}

}  // namespace plinth::cpu
