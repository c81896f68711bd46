// embedding.cpp — EMBEDDING (row gather from a (V, C) f32 table by i32 or i64
// ids) and EMBEDDING_BACKWARD (dtable += scatter-add of dout rows). The
// backward splits columns across threads and adds ids in order, so repeated
// ids accumulate deterministically. Ids outside [0, V) are an error.
#include <algorithm>

#include "../cpu_backend.hpp"

namespace plinth::cpu {

namespace {

bool validate_ids(const plinth_tensor& ids, check& c) {
  if (ids.dtype != PLINTH_DTYPE_I32 && ids.dtype != PLINTH_DTYPE_I64)
    return c.unsupported(std::string("ids must be i32 or i64, got ") + dtype_name(ids.dtype));
  return expect_contiguous(ids, "ids", c);
}

bool validate_rows_of(const plinth_tensor& rows, const plinth_tensor& ids, const plinth_tensor& table,
                      const char* what, check& c) {
  if (!expect_dtype(rows, PLINTH_DTYPE_F32, what, c) || !expect_contiguous(rows, what, c)) return false;
  const int64_t C = table.shape[1];
  if (rows.ndim != ids.ndim + 1 || rows.shape[rows.ndim - 1] != C)
    return c.bad(std::string(what) + " " + shape_str(rows) + " must be ids " + shape_str(ids) + " + (" +
                 std::to_string(C) + ")");
  for (int d = 0; d < ids.ndim; ++d)
    if (rows.shape[d] != ids.shape[d])
      return c.bad(std::string(what) + " " + shape_str(rows) + " must be ids " + shape_str(ids) + " + (C)");
  return true;
}

bool validate_table(const plinth_tensor& t, const char* what, check& c) {
  if (!expect_dtype(t, PLINTH_DTYPE_F32, what, c) || !expect_contiguous(t, what, c)) return false;
  if (t.ndim != 2) return c.bad(std::string(what) + " must be (V, C), got " + shape_str(t));
  return true;
}

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

bool validate_embedding(const plinth_op& op, check& c) {
  if (!expect_counts(op, 2, 2, 1, 1, c)) return false;
  return validate_ids(op.inputs[0], c) && validate_table(op.inputs[1], "in[1] table", c) &&
         validate_rows_of(op.outputs[0], op.inputs[0], op.inputs[1], "out[0]", c);
}

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

bool validate_embedding_backward(const plinth_op& op, check& c) {
  if (!expect_counts(op, 2, 2, 1, 1, c)) return false;
  return validate_ids(op.inputs[1], c) && validate_table(op.outputs[0], "out[0] dtable", c) &&
         validate_rows_of(op.inputs[0], op.inputs[1], op.outputs[0], "in[0] dout", c);
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
