// embedding.cpp — EMBEDDING (row gather from a (V, C) f32 table by i32 or i64
// ids) and EMBEDDING_BACKWARD (dtable += scatter-add of dout rows). The
// backward splits columns across threads and adds ids in order, so repeated
// ids accumulate deterministically. Ids outside [0, V) are an error.
#include <algorithm>

#include "../cpu_backend.hpp"

namespace plinth::cpu {

namespace {

int64_t id_at(const plinth_tensor& ids, int64_t i) {
  return ids.dtype == PLINTH_DTYPE_I32 ? int64_t(data_of<int32_t>(ids)[i]) : data_of<int64_t>(ids)[i];
}

plinth_status check_ids(plinth_backend_ctx* ctx, const plinth_tensor& ids, int64_t V, const char* op) {
  const int64_t n = numel(ids);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t id = id_at(ids, i);
    if (id < 0 || id >= V)
      return sdk::failf(ctx->host, PLINTH_ERR_INVALID_ARGUMENT,
                        "cpu launch %s: id %lld at position %lld is outside [0, %lld)", op,
                        static_cast<long long>(id), static_cast<long long>(i), static_cast<long long>(V));
  }
  return PLINTH_OK;
}

}  // namespace

plinth_status run_embedding(plinth_backend_ctx* ctx, const plinth_op& op) {
  const plinth_tensor& ids = op.inputs[0];
  const int64_t V = op.inputs[1].shape[0], C = op.inputs[1].shape[1];
  if (plinth_status s = check_ids(ctx, ids, V, "EMBEDDING"); s != PLINTH_OK) return s;
  const float* table = data_of<float>(op.inputs[1]);
  float* out = data_of<float>(op.outputs[0]);
  parallel_for(ctx, numel(ids), C, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) std::copy_n(table + id_at(ids, i) * C, C, out + i * C);
  });
  return PLINTH_OK;
}

plinth_status run_embedding_backward(plinth_backend_ctx* ctx, const plinth_op& op) {
  const plinth_tensor& ids = op.inputs[1];
  const int64_t V = op.outputs[0].shape[0], C = op.outputs[0].shape[1];
  if (plinth_status s = check_ids(ctx, ids, V, "EMBEDDING_BACKWARD"); s != PLINTH_OK) return s;
  const float* dout = data_of<float>(op.inputs[0]);
  float* dt = data_of<float>(op.outputs[0]);
  const int64_t n = numel(ids);
  constexpr int64_t k_cols = 64;
  const int64_t blocks = (C + k_cols - 1) / k_cols;
  parallel_for(ctx, blocks, n * k_cols, [&](int64_t lo, int64_t hi) {
    for (int64_t b = lo; b < hi; ++b) {
      const int64_t c0 = b * k_cols, c1 = std::min(C, c0 + k_cols);
      for (int64_t i = 0; i < n; ++i) {
        float* row = dt + id_at(ids, i) * C;
        const float* g = dout + i * C;
        for (int64_t c = c0; c < c1; ++c) row[c] += g[c];
      }
    }
  });
  return PLINTH_OK;
}

}  // namespace plinth::cpu
