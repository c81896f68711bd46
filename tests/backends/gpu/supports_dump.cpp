// supports_dump.cpp — prints the GPU backend's supports() answer for a fixed
// set of op probes (every op kind, with dtypes, layouts and counts it takes
// and ones it refuses), one line each. Linked once per target (emulation,
// CUDA, HIP) from that target's objects; gpu_backend_test compares the
// outputs, so a target whose checks drift from the emulation's (which the
// CPU comparison covers) is caught without a device. An instance made
// without a device is enough: supports() reads only the op.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "backend.hpp"
#include "plinth/ops.hpp"

namespace {

plinth_tensor T(std::vector<int64_t> shape, plinth_dtype dt = PLINTH_DTYPE_F32,
                std::vector<int64_t> strides = {}) {
  plinth_tensor t{};
  t.struct_size = PLINTH_TENSOR_STRUCT_SIZE;
  t.dtype = dt;
  t.ndim = int32_t(shape.size());
  int64_t acc = 1;
  for (int d = t.ndim - 1; d >= 0; --d) {
    t.shape[d] = shape[size_t(d)];
    t.strides[d] = strides.empty() ? acc : strides[size_t(d)];
    acc *= shape[size_t(d)];
  }
  return t;
}

struct Probe {
  std::string name;
  int32_t kind;  // not plinth_op_kind: one probe holds a kind the enum does not name
  std::vector<plinth_tensor> in, out;
  std::vector<unsigned char> params;
};

template <class P>
std::vector<unsigned char> bytes(P p, size_t size) {
  p.struct_size = size;
  std::vector<unsigned char> b(sizeof p);
  std::memcpy(b.data(), &p, sizeof p);
  return b;
}

}  // namespace

int main() {
  using K = plinth_op_kind;
  const auto F32 = PLINTH_DTYPE_F32, BF16 = PLINTH_DTYPE_BF16, F16 = PLINTH_DTYPE_F16, I32 = PLINTH_DTYPE_I32,
             I64 = PLINTH_DTYPE_I64, U8 = PLINTH_DTYPE_U8, F64 = PLINTH_DTYPE_F64, U16 = PLINTH_DTYPE_U16;
  const auto fill = bytes(plinth_fill_params{0, 1.5}, PLINTH_FILL_PARAMS_STRUCT_SIZE);
  const auto un =
      bytes(plinth_unary_params{0, PLINTH_UNARY_GELU_TANH, 1, 0}, PLINTH_UNARY_PARAMS_STRUCT_SIZE);
  const auto un_bad =
      bytes(plinth_unary_params{0, plinth_unary_fn(99), 1, 0}, PLINTH_UNARY_PARAMS_STRUCT_SIZE);
  const auto bin = bytes(plinth_binary_params{0, PLINTH_BINARY_MUL, 0}, PLINTH_BINARY_PARAMS_STRUCT_SIZE);
  const auto ax = bytes(plinth_axpby_params{0, 1, 1, PLINTH_UNARY_IDENTITY}, PLINTH_AXPBY_PARAMS_STRUCT_SIZE);
  const auto mm = bytes(plinth_matmul_params{0, 0, 0, 1, 0}, PLINTH_MATMUL_PARAMS_STRUCT_SIZE);
  const auto red = bytes(plinth_reduce_params{0, PLINTH_REDUCE_MEAN, 0}, PLINTH_REDUCE_PARAMS_STRUCT_SIZE);
  const auto xent = bytes(plinth_xent_params{0, -1, 1, 0}, PLINTH_XENT_PARAMS_STRUCT_SIZE);
  const auto ln = bytes(plinth_layernorm_params{0, 1e-5f}, PLINTH_LAYERNORM_PARAMS_STRUCT_SIZE);
  const auto at = bytes(plinth_attention_params{0, 1, 0.5f}, PLINTH_ATTENTION_PARAMS_STRUCT_SIZE);
  const auto dr = bytes(plinth_dropout_params{0, 0.1f, 1, 0}, PLINTH_DROPOUT_PARAMS_STRUCT_SIZE);
  const auto dr_bad = bytes(plinth_dropout_params{0, 1.5f, 1, 0}, PLINTH_DROPOUT_PARAMS_STRUCT_SIZE);
  const auto adam =
      bytes(plinth_adamw_params{0, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, 1}, PLINTH_ADAMW_PARAMS_STRUCT_SIZE);
  const auto sgd = bytes(plinth_sgd_params{0, 0.1f, 0.9f, 0, 0, 0, 1}, PLINTH_SGD_PARAMS_STRUCT_SIZE);
  const auto conv = bytes(plinth_conv2d_params{0, 1, 1, 1, 1, 1, 1, 0}, PLINTH_CONV2D_PARAMS_STRUCT_SIZE);
  const auto pool =
      bytes(plinth_pool2d_params{0, PLINTH_POOL_MAX, 2, 2, 2, 2, 0, 0, 1}, PLINTH_POOL2D_PARAMS_STRUCT_SIZE);
  const auto silu = bytes(plinth_unary_params{0, PLINTH_UNARY_SILU, 1, 0}, PLINTH_UNARY_PARAMS_STRUCT_SIZE);
  const auto xent_ls = bytes(plinth_xent_params{0, -1, 1, 0.1f}, PLINTH_XENT_PARAMS_STRUCT_SIZE);
  const auto xent_v1 = bytes(plinth_xent_params{0, -1, 1, 0.1f}, PLINTH_XENT_PARAMS_V1_STRUCT_SIZE);
  const auto bn = bytes(plinth_batchnorm_params{0, 1e-5f, 0.1f, 1}, PLINTH_BATCHNORM_PARAMS_STRUCT_SIZE);
  const auto bn_eval = bytes(plinth_batchnorm_params{0, 1e-5f, 0.1f, 0}, PLINTH_BATCHNORM_PARAMS_STRUCT_SIZE);
  const auto x4 = T({2, 3, 4, 4}), c3 = T({3});
  const auto q = T({2, 3, 5, 4});
  std::vector<Probe> ps = {
      {"fill f32", K(PLINTH_OP_FILL), {}, {T({7})}, fill},
      {"fill bf16", K(PLINTH_OP_FILL), {}, {T({7}, BF16)}, fill},
      {"fill u16", K(PLINTH_OP_FILL), {}, {T({7}, U16)}, fill},
      {"fill overlapping out", K(PLINTH_OP_FILL), {}, {T({3, 2}, F32, {0, 1})}, fill},
      {"fill no params", K(PLINTH_OP_FILL), {}, {T({7})}, {}},
      {"cast f32->bf16", K(PLINTH_OP_CAST), {T({4})}, {T({4}, BF16)}, {}},
      {"cast f16->f64", K(PLINTH_OP_CAST), {T({4}, F16)}, {T({4}, F64)}, {}},
      {"cast i64->f32", K(PLINTH_OP_CAST), {T({4}, I64)}, {T({4})}, {}},
      {"cast f32->i32", K(PLINTH_OP_CAST), {T({4})}, {T({4}, I32)}, {}},
      {"cast u8->bf16", K(PLINTH_OP_CAST), {T({4}, U8)}, {T({4}, BF16)}, {}},
      {"unary f32 strided", K(PLINTH_OP_UNARY), {T({3, 5}, F32, {1, 3})}, {T({3, 5})}, un},
      {"unary bf16", K(PLINTH_OP_UNARY), {T({4}, BF16)}, {T({4}, BF16)}, un},
      {"unary unknown fn", K(PLINTH_OP_UNARY), {T({4})}, {T({4})}, un_bad},
      {"unary_backward", K(PLINTH_OP_UNARY_BACKWARD), {T({4}), T({4})}, {T({4})}, un},
      {"binary broadcast", K(PLINTH_OP_BINARY), {T({3, 4}), T({4})}, {T({3, 4})}, bin},
      {"binary bad broadcast", K(PLINTH_OP_BINARY), {T({3, 4}), T({3})}, {T({3, 4})}, bin},
      {"axpby", K(PLINTH_OP_AXPBY), {T({5}), T({5})}, {T({5})}, ax},
      {"matmul f32", K(PLINTH_OP_MATMUL), {T({3, 4}), T({4, 5})}, {T({3, 5})}, mm},
      {"matmul bf16 -> f32", K(PLINTH_OP_MATMUL), {T({3, 4}, BF16), T({4, 5}, BF16)}, {T({3, 5})}, mm},
      {"matmul f16 -> f16", K(PLINTH_OP_MATMUL), {T({3, 4}, F16), T({4, 5}, F16)}, {T({3, 5}, F16)}, mm},
      {"matmul mixed", K(PLINTH_OP_MATMUL), {T({3, 4}), T({4, 5}, BF16)}, {T({3, 5})}, mm},
      {"matmul bias", K(PLINTH_OP_MATMUL), {T({2, 3, 4}), T({4, 5}), T({5})}, {T({2, 3, 5})}, mm},
      {"matmul bad chain", K(PLINTH_OP_MATMUL), {T({3, 4}), T({5, 5})}, {T({3, 5})}, mm},
      {"reduce", K(PLINTH_OP_REDUCE), {T({3, 4})}, {T({3, 1})}, red},
      {"reduce bad out", K(PLINTH_OP_REDUCE), {T({3, 4})}, {T({3})}, red},
      {"softmax", K(PLINTH_OP_SOFTMAX), {T({3, 4})}, {T({3, 4})}, {}},
      {"softmax strided", K(PLINTH_OP_SOFTMAX), {T({3, 4}, F32, {1, 3})}, {T({3, 4})}, {}},
      {"softmax_backward", K(PLINTH_OP_SOFTMAX_BACKWARD), {T({3, 4}), T({3, 4})}, {T({3, 4})}, {}},
      {"cross_entropy", K(PLINTH_OP_CROSS_ENTROPY), {T({3, 4}), T({3}, I32)}, {T({3}), T({3, 4})}, xent},
      {"cross_entropy i64 targets",
       K(PLINTH_OP_CROSS_ENTROPY),
       {T({3, 4}), T({3}, I64)},
       {T({3}), T({3, 4})},
       xent},
      {"cross_entropy_backward",
       K(PLINTH_OP_CROSS_ENTROPY_BACKWARD),
       {T({3, 4}), T({3}, I32), T({3})},
       {T({3, 4})},
       xent},
      {"layernorm", K(PLINTH_OP_LAYERNORM), {T({3, 4}), T({4}), T({4})}, {T({3, 4}), T({3}), T({3})}, ln},
      {"layernorm_backward",
       K(PLINTH_OP_LAYERNORM_BACKWARD),
       {T({3, 4}), T({3, 4}), T({4}), T({3}), T({3})},
       {T({3, 4}), T({4}), T({4})},
       ln},
      {"embedding i64", K(PLINTH_OP_EMBEDDING), {T({2, 3}, I64), T({9, 4})}, {T({2, 3, 4})}, {}},
      {"embedding u8 ids", K(PLINTH_OP_EMBEDDING), {T({2, 3}, U8), T({9, 4})}, {T({2, 3, 4})}, {}},
      {"embedding_backward",
       K(PLINTH_OP_EMBEDDING_BACKWARD),
       {T({2, 3, 4}), T({2, 3}, I32)},
       {T({9, 4})},
       {}},
      {"attention", K(PLINTH_OP_ATTENTION), {q, q, q}, {q, T({2, 3, 5})}, at},
      {"attention strided D",
       K(PLINTH_OP_ATTENTION),
       {T({2, 3, 5, 4}, F32, {60, 20, 4, 2}), q, q},
       {q, T({2, 3, 5})},
       at},
      {"attention_backward", K(PLINTH_OP_ATTENTION_BACKWARD), {q, q, q, q, q, T({2, 3, 5})}, {q, q, q}, at},
      {"dropout mask", K(PLINTH_OP_DROPOUT), {T({9})}, {T({9}), T({9}, U8)}, dr},
      {"dropout p out of range", K(PLINTH_OP_DROPOUT), {T({9})}, {T({9})}, dr_bad},
      {"dropout_backward", K(PLINTH_OP_DROPOUT_BACKWARD), {T({9}), T({9}, U8)}, {T({9})}, dr},
      {"squared_norm", K(PLINTH_OP_SQUARED_NORM), {T({9}), T({2, 3})}, {T({})}, {}},
      {"is_finite", K(PLINTH_OP_IS_FINITE), {T({9})}, {T({})}, {}},
      {"argmax", K(PLINTH_OP_ARGMAX), {T({3, 4})}, {T({3}, I32)}, {}},
      {"adamw", K(PLINTH_OP_ADAMW_STEP), {T({9}), T({9}), T({9}), T({9})}, {T({9}), T({9}), T({9})}, adam},
      {"sgd", K(PLINTH_OP_SGD_STEP), {T({9}), T({9})}, {T({9}), T({9})}, sgd},
      {"sgd momentum without buffer", K(PLINTH_OP_SGD_STEP), {T({9}), T({9})}, {T({9})}, sgd},
      {"conv2d", K(PLINTH_OP_CONV2D), {T({1, 2, 5, 5}), T({3, 2, 3, 3}), T({3})}, {T({1, 3, 5, 5})}, conv},
      {"conv2d wrong out", K(PLINTH_OP_CONV2D), {T({1, 2, 5, 5}), T({3, 2, 3, 3})}, {T({1, 3, 3, 3})}, conv},
      {"conv2d_backward",
       K(PLINTH_OP_CONV2D_BACKWARD),
       {T({1, 3, 5, 5}), T({1, 2, 5, 5}), T({3, 2, 3, 3})},
       {T({1, 2, 5, 5}), T({3, 2, 3, 3}), T({3})},
       conv},
      {"pool2d", K(PLINTH_OP_POOL2D), {T({1, 2, 4, 4})}, {T({1, 2, 2, 2}), T({1, 2, 2, 2}, I32)}, pool},
      {"pool2d_backward",
       K(PLINTH_OP_POOL2D_BACKWARD),
       {T({1, 2, 2, 2}), T({1, 2, 2, 2}, I32)},
       {T({1, 2, 4, 4})},
       pool},
      {"unary silu", K(PLINTH_OP_UNARY), {T({4})}, {T({4})}, silu},
      {"unary_backward silu", K(PLINTH_OP_UNARY_BACKWARD), {T({4}), T({4})}, {T({4})}, silu},
      {"cross_entropy label smoothing",
       K(PLINTH_OP_CROSS_ENTROPY),
       {T({3, 4}), T({3}, I32)},
       {T({3}), T({3, 4})},
       xent_ls},
      {"cross_entropy 1.1 params",
       K(PLINTH_OP_CROSS_ENTROPY),
       {T({3, 4}), T({3}, I32)},
       {T({3}), T({3, 4})},
       xent_v1},
      {"batchnorm train", K(PLINTH_OP_BATCHNORM), {x4, c3, c3, c3, c3}, {x4, c3, c3, c3, c3}, bn},
      {"batchnorm train no running", K(PLINTH_OP_BATCHNORM), {x4, c3, c3, c3, c3}, {x4, c3, c3}, bn},
      {"batchnorm eval", K(PLINTH_OP_BATCHNORM), {x4, c3, c3, c3, c3}, {x4}, bn_eval},
      {"batchnorm eval extra outputs", K(PLINTH_OP_BATCHNORM), {x4, c3, c3, c3, c3}, {x4, c3, c3}, bn_eval},
      {"batchnorm 1-d x", K(PLINTH_OP_BATCHNORM), {c3, c3, c3, c3, c3}, {c3}, bn_eval},
      {"batchnorm_backward", K(PLINTH_OP_BATCHNORM_BACKWARD), {x4, x4, c3, c3, c3}, {x4, c3, c3}, bn},
      {"batchnorm_backward eval",
       K(PLINTH_OP_BATCHNORM_BACKWARD),
       {x4, x4, c3, c3, c3},
       {x4, c3, c3},
       bn_eval},
      {"unknown kind", 99, {T({3})}, {T({3})}, {}},
  };
  plinth_backend_ctx ctx;  // no device: supports() never touches one
  for (const Probe& p : ps) {
    plinth_op op{};
    op.struct_size = PLINTH_OP_STRUCT_SIZE;
    static_assert(sizeof op.kind == sizeof p.kind, "plinth_op_kind is 32 bits in the ABI");
    std::memcpy(&op.kind, &p.kind, sizeof p.kind);  // as a C caller may pass it
    op.num_inputs = int32_t(p.in.size());
    op.inputs = p.in.data();
    op.num_outputs = int32_t(p.out.size());
    op.outputs = p.out.data();
    op.params = p.params.empty() ? nullptr : p.params.data();
    std::printf("%d %s\n", plinth::gpu::supports(&ctx, &op), p.name.c_str());
  }
  return 0;
}
