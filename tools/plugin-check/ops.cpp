// ops.cpp — the op cases of plinth-plugin-check: a table of representative
// launches per op kind, each run on the plugin and on the reference backend
// with the same seeded inputs and compared with a normalised error (NMSE,
// sum((a-b)^2) / sum(b^2)); integer and mask outputs must match exactly.
// Not here: the API contract checks (contract.cpp).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <optional>

#include "check.hpp"

namespace plinth::plugin_check {

namespace {

enum class Gen { normal, positive, zeros, ints, unit };

struct TensorSpec {
  plinth_dtype dtype = PLINTH_DTYPE_F32;
  std::vector<int64_t> shape;
  std::vector<int64_t> strides;  // empty: contiguous row-major
  Gen gen = Gen::normal;
  int64_t int_hi = 1;  // ints: uniform in [0, int_hi)
};

// An op on the reference that makes consistent inputs (softmax output for
// SOFTMAX_BACKWARD, mean/rstd for LAYERNORM_BACKWARD, ...) before the case.
struct PreOp {
  plinth_op_kind kind;
  std::vector<int> inputs, outputs;
  std::vector<uint8_t> params;
};

struct OpCase {
  plinth_op_kind kind;
  std::string name;
  std::vector<TensorSpec> tensors;
  std::vector<int> inputs, outputs;  // indices into tensors; an output may repeat an input (in place)
  std::vector<uint8_t> params;       // empty: NULL
  std::optional<PreOp> pre;
  std::function<void(std::vector<std::vector<uint8_t>>&)> tweak;  // after generation and pre
};

template <class P>
std::vector<uint8_t> bytes_of(P p, size_t struct_size) {
  p.struct_size = struct_size;
  std::vector<uint8_t> b(sizeof(P));
  std::memcpy(b.data(), &p, sizeof(P));
  return b;
}
std::vector<uint8_t> fill_p(double v) {
  return bytes_of(plinth_fill_params{0, v}, PLINTH_FILL_PARAMS_STRUCT_SIZE);
}
std::vector<uint8_t> unary_p(plinth_unary_fn fn, float a = 1, float b = 0) {
  return bytes_of(plinth_unary_params{0, fn, a, b}, PLINTH_UNARY_PARAMS_STRUCT_SIZE);
}
std::vector<uint8_t> binary_p(plinth_binary_fn fn, float beta = 0) {
  return bytes_of(plinth_binary_params{0, fn, beta}, PLINTH_BINARY_PARAMS_STRUCT_SIZE);
}
std::vector<uint8_t> matmul_p(int ta, int tb, float alpha = 1, float beta = 0) {
  return bytes_of(plinth_matmul_params{0, ta, tb, alpha, beta}, PLINTH_MATMUL_PARAMS_STRUCT_SIZE);
}
std::vector<uint8_t> reduce_p(plinth_reduce_fn fn, float beta = 0) {
  return bytes_of(plinth_reduce_params{0, fn, beta}, PLINTH_REDUCE_PARAMS_STRUCT_SIZE);
}
std::vector<uint8_t> xent_p(int32_t ignore, float scale = 1, float smoothing = 0) {
  return bytes_of(plinth_xent_params{0, ignore, scale, smoothing}, PLINTH_XENT_PARAMS_STRUCT_SIZE);
}
std::vector<uint8_t> bn_p(int32_t training, float eps = 1e-5f, float momentum = 0.1f) {
  return bytes_of(plinth_batchnorm_params{0, eps, momentum, training}, PLINTH_BATCHNORM_PARAMS_STRUCT_SIZE);
}
std::vector<uint8_t> ln_p(float eps) {
  return bytes_of(plinth_layernorm_params{0, eps}, PLINTH_LAYERNORM_PARAMS_STRUCT_SIZE);
}
std::vector<uint8_t> attn_p(int causal, int64_t d) {
  return bytes_of(plinth_attention_params{0, causal, float(1.0 / std::sqrt(double(d)))},
                  PLINTH_ATTENTION_PARAMS_STRUCT_SIZE);
}
std::vector<uint8_t> dropout_p(float p, uint64_t seed, uint64_t offset) {
  return bytes_of(plinth_dropout_params{0, p, seed, offset}, PLINTH_DROPOUT_PARAMS_STRUCT_SIZE);
}

TensorSpec t(std::vector<int64_t> shape, Gen g = Gen::normal, plinth_dtype d = PLINTH_DTYPE_F32) {
  return TensorSpec{d, std::move(shape), {}, g, 1};
}
TensorSpec ti(std::vector<int64_t> shape, int64_t hi) {
  return TensorSpec{PLINTH_DTYPE_I32, std::move(shape), {}, Gen::ints, hi};
}
TensorSpec ts(std::vector<int64_t> shape, std::vector<int64_t> strides, Gen g = Gen::normal) {
  return TensorSpec{PLINTH_DTYPE_F32, std::move(shape), std::move(strides), g, 1};
}

std::vector<int64_t> strides_of(const TensorSpec& s) {
  if (!s.strides.empty()) return s.strides;
  std::vector<int64_t> st(s.shape.size());
  int64_t acc = 1;
  for (size_t i = s.shape.size(); i-- > 0;) {
    st[i] = acc;
    acc *= s.shape[i];
  }
  return st;
}
// Elements the tensor's storage spans (0 when it holds none).
size_t span_of(const TensorSpec& s) {
  auto st = strides_of(s);
  int64_t last = 0;
  for (size_t i = 0; i < s.shape.size(); ++i) {
    if (s.shape[i] == 0) return 0;
    last += (s.shape[i] - 1) * st[i];
  }
  return size_t(last + 1);
}

std::vector<OpCase> build_cases() {
  std::vector<OpCase> c;
  using K = plinth_op_kind;
  auto add = [&](K k, std::string name, std::vector<TensorSpec> ts_, std::vector<int> in,
                 std::vector<int> out, std::vector<uint8_t> p = {}) {
    c.push_back(
        OpCase{k, std::move(name), std::move(ts_), std::move(in), std::move(out), std::move(p), {}, {}});
    return &c.back();
  };
  const auto F32 = PLINTH_DTYPE_F32, BF16 = PLINTH_DTYPE_BF16, F16 = PLINTH_DTYPE_F16;

  // FILL
  add(PLINTH_OP_FILL, "f32 [1]", {t({1})}, {}, {0}, fill_p(3.25));
  add(PLINTH_OP_FILL, "f32 [17]", {t({17})}, {}, {0}, fill_p(-1.5));
  add(PLINTH_OP_FILL, "f32 [3,33]", {t({3, 33})}, {}, {0}, fill_p(0.1));
  add(PLINTH_OP_FILL, "f32 [0,5] empty", {t({0, 5})}, {}, {0}, fill_p(2));
  add(PLINTH_OP_FILL, "bf16 [17]", {t({17}, Gen::zeros, BF16)}, {}, {0}, fill_p(0.75));

  // CAST
  add(PLINTH_OP_CAST, "f32->bf16 [33]", {t({33}), t({33}, Gen::zeros, BF16)}, {0}, {1});
  add(PLINTH_OP_CAST, "f32->f16 [17]", {t({17}), t({17}, Gen::zeros, F16)}, {0}, {1});
  add(PLINTH_OP_CAST, "bf16->f32 [3,17]", {t({3, 17}, Gen::normal, BF16), t({3, 17})}, {0}, {1});
  add(PLINTH_OP_CAST, "f32 transposed [5,3] -> contiguous", {ts({5, 3}, {1, 5}), t({5, 3})}, {0}, {1});

  // UNARY and UNARY_BACKWARD, every function
  const char* fn_names[] = {"IDENTITY", "RELU",       "GELU_TANH", "TANH",  "SIGMOID",
                            "EXP",      "LOG",        "SQRT",      "RSQRT", "SQUARE",
                            "ABS",      "RECIPROCAL", "GELU_ERF",  "SILU",  "SIGN"};
  for (int fn = 0; fn <= PLINTH_UNARY_SIGN; ++fn) {
    const bool pos = fn == PLINTH_UNARY_LOG || fn == PLINTH_UNARY_SQRT || fn == PLINTH_UNARY_RSQRT ||
                     fn == PLINTH_UNARY_RECIPROCAL;
    const Gen g = pos ? Gen::positive : Gen::normal;
    add(PLINTH_OP_UNARY, std::string(fn_names[fn]) + " [3,17]", {t({3, 17}, g), t({3, 17})}, {0}, {1},
        unary_p(plinth_unary_fn(fn)));
    add(PLINTH_OP_UNARY_BACKWARD, std::string(fn_names[fn]) + " [33]", {t({33}), t({33}, g), t({33})}, {0, 1},
        {2}, unary_p(plinth_unary_fn(fn)));
  }
  add(PLINTH_OP_UNARY, "GELU_TANH alpha=0.5 beta=0.25 [17]", {t({17}), t({17})}, {0}, {1},
      unary_p(PLINTH_UNARY_GELU_TANH, 0.5f, 0.25f));
  add(PLINTH_OP_UNARY, "SILU alpha=1.5 beta=-0.5 [3,17] (ABI 1.2)", {t({3, 17}), t({3, 17})}, {0}, {1},
      unary_p(PLINTH_UNARY_SILU, 1.5f, -0.5f));
  add(PLINTH_OP_UNARY_BACKWARD, "SILU alpha=1.5 beta=-0.5 [33] (ABI 1.2)", {t({33}), t({33}), t({33})},
      {0, 1}, {2}, unary_p(PLINTH_UNARY_SILU, 1.5f, -0.5f));
  add(PLINTH_OP_UNARY, "RELU [0] empty", {t({0}), t({0})}, {0}, {1}, unary_p(PLINTH_UNARY_RELU));
  add(PLINTH_OP_UNARY_BACKWARD, "TANH alpha=2 [17]", {t({17}), t({17}), t({17})}, {0, 1}, {2},
      unary_p(PLINTH_UNARY_TANH, 2.0f, 0.0f));

  // BINARY
  const char* bin_names[] = {"ADD", "SUB", "MUL", "DIV", "MAX", "MIN", "GT", "GE", "LT", "LE", "EQ", "NE"};
  for (int fn = 0; fn <= PLINTH_BINARY_NE; ++fn) {
    const Gen gb = fn == PLINTH_BINARY_DIV ? Gen::positive : Gen::normal;
    add(PLINTH_OP_BINARY, std::string(bin_names[fn]) + " [3,17]", {t({3, 17}), t({3, 17}, gb), t({3, 17})},
        {0, 1}, {2}, binary_p(plinth_binary_fn(fn)));
  }
  add(PLINTH_OP_BINARY, "ADD [1]", {t({1}), t({1}), t({1})}, {0, 1}, {2}, binary_p(PLINTH_BINARY_ADD));
  // The comparisons on ties (a copy of in[0] in in[1]'s first row) and with
  // accumulation (ABI 1.2).
  for (plinth_binary_fn fn : {PLINTH_BINARY_GE, PLINTH_BINARY_EQ, PLINTH_BINARY_NE}) {
    add(PLINTH_OP_BINARY, std::string(bin_names[fn]) + " with ties [3,17] (ABI 1.2)",
        {t({3, 17}), t({3, 17}), t({3, 17})}, {0, 1}, {2}, binary_p(fn))
        ->tweak = [](std::vector<std::vector<uint8_t>>& h) { std::memcpy(h[1].data(), h[0].data(), 17 * 4); };
  }
  add(PLINTH_OP_BINARY, "LT beta=0.5 accumulate [33] (ABI 1.2)", {t({33}), t({33}), t({33})}, {0, 1}, {2},
      binary_p(PLINTH_BINARY_LT, 0.5f));
  add(PLINTH_OP_BINARY, "ADD row broadcast [3,33]+[33]", {t({3, 33}), ts({3, 33}, {0, 1}), t({3, 33})},
      {0, 1}, {2}, binary_p(PLINTH_BINARY_ADD));
  add(PLINTH_OP_BINARY, "MUL column broadcast [17,3]*[17,1]", {t({17, 3}), ts({17, 3}, {1, 0}), t({17, 3})},
      {0, 1}, {2}, binary_p(PLINTH_BINARY_MUL));
  add(PLINTH_OP_BINARY, "ADD beta=0.5 accumulate [33]", {t({33}), t({33}), t({33})}, {0, 1}, {2},
      binary_p(PLINTH_BINARY_ADD, 0.5f));
  add(PLINTH_OP_BINARY, "ADD [0,7] empty", {t({0, 7}), t({0, 7}), t({0, 7})}, {0, 1}, {2},
      binary_p(PLINTH_BINARY_ADD));

  // AXPBY
  auto axpby = [](float a, float b, plinth_unary_fn fn = PLINTH_UNARY_IDENTITY) {
    return bytes_of(plinth_axpby_params{0, a, b, fn}, PLINTH_AXPBY_PARAMS_STRUCT_SIZE);
  };
  add(PLINTH_OP_AXPBY, "[33] alpha=0.7 beta=-1.3", {t({33}), t({33}), t({33})}, {0, 1}, {2},
      axpby(0.7f, -1.3f));
  add(PLINTH_OP_AXPBY, "[1]", {t({1}), t({1}), t({1})}, {0, 1}, {2}, axpby(2.0f, 0.5f));
  add(PLINTH_OP_AXPBY, "[3,17] in[1] is out[0]", {t({3, 17}), t({3, 17})}, {0, 1}, {1}, axpby(0.25f, 1.0f));
  // fn on the result (ABI 1.2): Lion's sign in place, Adafactor's rsqrt, a
  // broadcast row through tanh; and an ABI 1.1 caller's 16-byte struct.
  add(PLINTH_OP_AXPBY, "fn=SIGN [33] in[1] is out[0] (ABI 1.2)", {t({33}), t({33})}, {0, 1}, {1},
      axpby(0.1f, 0.9f, PLINTH_UNARY_SIGN));
  add(PLINTH_OP_AXPBY, "fn=RSQRT [3,17] (ABI 1.2)",
      {t({3, 17}, Gen::positive), t({3, 17}, Gen::positive), t({3, 17})}, {0, 1}, {2},
      axpby(0.5f, 0.25f, PLINTH_UNARY_RSQRT));
  add(PLINTH_OP_AXPBY, "fn=TANH row broadcast [3,33] (ABI 1.2)",
      {t({3, 33}), ts({3, 33}, {0, 1}), t({3, 33})}, {0, 1}, {2}, axpby(1.5f, -0.5f, PLINTH_UNARY_TANH));
  add(PLINTH_OP_AXPBY, "ABI 1.1 params (struct_size 16) [17]", {t({17}), t({17}), t({17})}, {0, 1}, {2},
      bytes_of(plinth_axpby_params{0, 0.5f, 2.0f, PLINTH_UNARY_SIGN}, PLINTH_AXPBY_PARAMS_V1_STRUCT_SIZE));

  // SELECT (ABI 1.2): cond from a comparison (zeros and ones) or random
  // (nonzero everywhere: selects a), with broadcasting.
  add(PLINTH_OP_SELECT, "cond 0/1 [3,17]", {t({3, 17}), t({3, 17}), t({3, 17}), t({3, 17})}, {0, 1, 2}, {3})
      ->pre = PreOp{PLINTH_OP_BINARY, {1, 2}, {0}, binary_p(PLINTH_BINARY_GT)};
  add(PLINTH_OP_SELECT, "cond row broadcast [3,33] b column broadcast",
      {ts({3, 33}, {0, 1}), t({3, 33}), ts({3, 33}, {1, 0}), t({3, 33})}, {0, 1, 2}, {3})
      ->tweak = [](std::vector<std::vector<uint8_t>>& h) {  // every other column of cond 0
    for (size_t k = 0; k < h[0].size() / 4; k += 2) std::memset(h[0].data() + 4 * k, 0, 4);
  };
  add(PLINTH_OP_SELECT, "cond nonzero [17]", {t({17}), t({17}), t({17}), t({17})}, {0, 1, 2}, {3});

  // MATMUL
  add(PLINTH_OP_MATMUL, "f32 [3,17]@[17,5]", {t({3, 17}), t({17, 5}), t({3, 5})}, {0, 1}, {2},
      matmul_p(0, 0));
  add(PLINTH_OP_MATMUL, "f32 trans_a [17,3]^T@[17,5]", {t({17, 3}), t({17, 5}), t({3, 5})}, {0, 1}, {2},
      matmul_p(1, 0));
  add(PLINTH_OP_MATMUL, "f32 trans_b [3,17]@[5,17]^T", {t({3, 17}), t({5, 17}), t({3, 5})}, {0, 1}, {2},
      matmul_p(0, 1));
  add(PLINTH_OP_MATMUL, "f32 trans_a trans_b", {t({33, 4}), t({7, 33}), t({4, 7})}, {0, 1}, {2},
      matmul_p(1, 1));
  add(PLINTH_OP_MATMUL, "f32 alpha=0.5 beta=1 accumulate", {t({4, 33}), t({33, 3}), t({4, 3})}, {0, 1}, {2},
      matmul_p(0, 0, 0.5f, 1.0f));
  add(PLINTH_OP_MATMUL, "f32 with bias", {t({3, 17}), t({17, 5}), t({5}), t({3, 5})}, {0, 1, 2}, {3},
      matmul_p(0, 0));
  add(PLINTH_OP_MATMUL, "f32 batched [2,3,4]@[2,4,5]", {t({2, 3, 4}), t({2, 4, 5}), t({2, 3, 5})}, {0, 1},
      {2}, matmul_p(0, 0));
  add(PLINTH_OP_MATMUL, "f32 batch broadcast b", {t({2, 3, 4}), ts({2, 4, 5}, {0, 5, 1}), t({2, 3, 5})},
      {0, 1}, {2}, matmul_p(0, 0));
  add(PLINTH_OP_MATMUL, "f32 1x1x1", {t({1, 1}), t({1, 1}), t({1, 1})}, {0, 1}, {2}, matmul_p(0, 0));
  add(PLINTH_OP_MATMUL, "bf16 in, f32 out [5,33]@[33,17]",
      {t({5, 33}, Gen::normal, BF16), t({33, 17}, Gen::normal, BF16), t({5, 17})}, {0, 1}, {2},
      matmul_p(0, 0));
  add(PLINTH_OP_MATMUL, "f16 in, f32 out [5,33]@[33,17]",
      {t({5, 33}, Gen::normal, F16), t({33, 17}, Gen::normal, F16), t({5, 17})}, {0, 1}, {2}, matmul_p(0, 0));
  add(PLINTH_OP_MATMUL, "bf16 in, bf16 out trans_b",
      {t({5, 33}, Gen::normal, BF16), t({17, 33}, Gen::normal, BF16), t({5, 17}, Gen::zeros, BF16)}, {0, 1},
      {2}, matmul_p(0, 1));

  // REDUCE
  add(PLINTH_OP_REDUCE, "SUM last dim [3,17]->[3,1]", {t({3, 17}), t({3, 1})}, {0}, {1},
      reduce_p(PLINTH_REDUCE_SUM));
  add(PLINTH_OP_REDUCE, "MEAN first dim [33,5]->[1,5]", {t({33, 5}), t({1, 5})}, {0}, {1},
      reduce_p(PLINTH_REDUCE_MEAN));
  add(PLINTH_OP_REDUCE, "MAX all [3,17]->[1,1]", {t({3, 17}), t({1, 1})}, {0}, {1},
      reduce_p(PLINTH_REDUCE_MAX));
  add(PLINTH_OP_REDUCE, "MIN last dim [4,33]->[4,1]", {t({4, 33}), t({4, 1})}, {0}, {1},
      reduce_p(PLINTH_REDUCE_MIN));
  add(PLINTH_OP_REDUCE, "SUM beta=0.5 accumulate", {t({17, 3}), t({1, 3})}, {0}, {1},
      reduce_p(PLINTH_REDUCE_SUM, 0.5f));

  // SOFTMAX, SOFTMAX_BACKWARD (y from the reference's SOFTMAX)
  add(PLINTH_OP_SOFTMAX, "[3,17]", {t({3, 17}), t({3, 17})}, {0}, {1});
  add(PLINTH_OP_SOFTMAX, "[1,33]", {t({1, 33}), t({1, 33})}, {0}, {1});
  add(PLINTH_OP_SOFTMAX_BACKWARD, "[3,17]", {t({3, 17}), t({3, 17}), t({3, 17}), t({3, 17})}, {0, 1}, {2})
      ->pre = PreOp{PLINTH_OP_SOFTMAX, {3}, {1}, {}};

  // CROSS_ENTROPY and backward (probs from the reference's forward)
  add(PLINTH_OP_CROSS_ENTROPY, "[4,17]", {t({4, 17}), ti({4}, 17), t({4}), t({4, 17})}, {0, 1}, {2, 3},
      xent_p(-1));
  add(PLINTH_OP_CROSS_ENTROPY, "[5,33] ignore_index=3", {t({5, 33}), ti({5}, 33), t({5}), t({5, 33})}, {0, 1},
      {2, 3}, xent_p(3))
      ->tweak = [](std::vector<std::vector<uint8_t>>& h) { store_value(h[1], PLINTH_DTYPE_I32, 1, 3); };
  add(PLINTH_OP_CROSS_ENTROPY_BACKWARD, "[4,17] with dloss",
      {t({4, 17}), ti({4}, 17), t({4}), t({4, 17}), t({4, 17}), t({4})}, {0, 1, 2}, {3}, xent_p(-1))
      ->pre = PreOp{PLINTH_OP_CROSS_ENTROPY, {4, 1}, {5, 0}, xent_p(-1)};
  add(PLINTH_OP_CROSS_ENTROPY_BACKWARD, "[4,17] scale=0.25",
      {t({4, 17}), ti({4}, 17), t({4, 17}), t({4, 17}), t({4})}, {0, 1}, {2}, xent_p(-1, 0.25f))
      ->pre = PreOp{PLINTH_OP_CROSS_ENTROPY, {3, 1}, {4, 0}, xent_p(-1)};

  // Label smoothing (ABI 1.2), with an ignored row
  add(PLINTH_OP_CROSS_ENTROPY, "[5,33] label_smoothing=0.1 ignore_index=3 (ABI 1.2)",
      {t({5, 33}), ti({5}, 33), t({5}), t({5, 33})}, {0, 1}, {2, 3}, xent_p(3, 1, 0.1f))
      ->tweak = [](std::vector<std::vector<uint8_t>>& h) { store_value(h[1], PLINTH_DTYPE_I32, 1, 3); };
  add(PLINTH_OP_CROSS_ENTROPY_BACKWARD, "[4,17] label_smoothing=0.2 with dloss (ABI 1.2)",
      {t({4, 17}), ti({4}, 17), t({4}), t({4, 17}), t({4, 17}), t({4})}, {0, 1, 2}, {3}, xent_p(-1, 1, 0.2f))
      ->pre = PreOp{PLINTH_OP_CROSS_ENTROPY, {4, 1}, {5, 0}, xent_p(-1, 1, 0.2f)};

  // LAYERNORM and backward (mean/rstd from the reference's forward)
  add(PLINTH_OP_LAYERNORM, "[4,33]", {t({4, 33}), t({33}), t({33}), t({4, 33}), t({4}), t({4})}, {0, 1, 2},
      {3, 4, 5}, ln_p(1e-5f));
  add(PLINTH_OP_LAYERNORM, "[1,17]", {t({1, 17}), t({17}), t({17}), t({1, 17}), t({1}), t({1})}, {0, 1, 2},
      {3, 4, 5}, ln_p(1e-5f));
  add(PLINTH_OP_LAYERNORM_BACKWARD, "[4,33] dgamma/dbeta accumulate",
      {t({4, 33}), t({4, 33}), t({33}), t({4}), t({4}), t({4, 33}), t({33}), t({33}), t({33}), t({4, 33})},
      {0, 1, 2, 3, 4}, {5, 6, 7}, ln_p(1e-5f))
      ->pre = PreOp{PLINTH_OP_LAYERNORM, {1, 2, 8}, {9, 3, 4}, ln_p(1e-5f)};

  // BATCHNORM and backward (ABI 1.2): x, gamma, beta, running_mean,
  // running_var (positive) -> y, mean, rstd and the running statistics in
  // place; backward's mean/rstd from the reference's forward
  add(PLINTH_OP_BATCHNORM, "train [4,3,5,3] running stats in place",
      {t({4, 3, 5, 3}), t({3}), t({3}), t({3}), t({3}, Gen::positive), t({4, 3, 5, 3}), t({3}), t({3})},
      {0, 1, 2, 3, 4}, {5, 6, 7, 3, 4}, bn_p(1, 1e-5f, 0.1f));
  add(PLINTH_OP_BATCHNORM, "train [9,5] (N, C) no running stats",
      {t({9, 5}), t({5}), t({5}), t({5}), t({5}, Gen::positive), t({9, 5}), t({5}), t({5})}, {0, 1, 2, 3, 4},
      {5, 6, 7}, bn_p(1, 1e-3f, 0.3f));
  add(PLINTH_OP_BATCHNORM, "eval [2,3,4,4]",
      {t({2, 3, 4, 4}), t({3}), t({3}), t({3}), t({3}, Gen::positive), t({2, 3, 4, 4})}, {0, 1, 2, 3, 4}, {5},
      bn_p(0));
  add(PLINTH_OP_BATCHNORM_BACKWARD, "[4,3,5,3] dgamma/dbeta accumulate",
      {t({4, 3, 5, 3}), t({4, 3, 5, 3}), t({3}), t({3}), t({3}), t({4, 3, 5, 3}), t({3}), t({3}), t({3}),
       t({3}, Gen::positive), t({4, 3, 5, 3})},
      {0, 1, 2, 3, 4}, {5, 6, 7}, bn_p(1))
      ->pre = PreOp{PLINTH_OP_BATCHNORM, {1, 2, 8, 8, 9}, {10, 3, 4}, bn_p(1)};

  // EMBEDDING and backward (ids repeat: the scatter must add)
  add(PLINTH_OP_EMBEDDING, "ids [2,3] table [11,17]", {ti({2, 3}, 11), t({11, 17}), t({2, 3, 17})}, {0, 1},
      {2});
  add(PLINTH_OP_EMBEDDING_BACKWARD, "ids [4,5] dtable [3,17] +=", {t({4, 5, 17}), ti({4, 5}, 3), t({3, 17})},
      {0, 1}, {2});

  // ATTENTION and backward (y/logsumexp from the reference's forward)
  add(PLINTH_OP_ATTENTION, "[1,2,5,8]",
      {t({1, 2, 5, 8}), t({1, 2, 5, 8}), t({1, 2, 5, 8}), t({1, 2, 5, 8}), t({1, 2, 5})}, {0, 1, 2}, {3, 4},
      attn_p(0, 8));
  add(PLINTH_OP_ATTENTION, "[1,2,5,8] causal",
      {t({1, 2, 5, 8}), t({1, 2, 5, 8}), t({1, 2, 5, 8}), t({1, 2, 5, 8}), t({1, 2, 5})}, {0, 1, 2}, {3, 4},
      attn_p(1, 8));
  add(PLINTH_OP_ATTENTION, "[2,1,17,4] causal",
      {t({2, 1, 17, 4}), t({2, 1, 17, 4}), t({2, 1, 17, 4}), t({2, 1, 17, 4}), t({2, 1, 17})}, {0, 1, 2},
      {3, 4}, attn_p(1, 4));
  {
    const std::vector<int64_t> s{1, 2, 9, 4};
    add(PLINTH_OP_ATTENTION_BACKWARD, "[1,2,9,4] causal",
        {t(s), t(s), t(s), t(s), t(s), t({1, 2, 9}), t(s), t(s), t(s)}, {0, 1, 2, 3, 4, 5}, {6, 7, 8},
        attn_p(1, 4))
        ->pre = PreOp{PLINTH_OP_ATTENTION, {1, 2, 3}, {4, 5}, attn_p(1, 4)};
  }

  // DROPOUT: Philox is specified, so the mask must match exactly
  add(PLINTH_OP_DROPOUT, "[1000] p=0.1 with mask",
      {t({1000}), t({1000}), TensorSpec{PLINTH_DTYPE_U8, {1000}, {}, Gen::zeros, 1}}, {0}, {1, 2},
      dropout_p(0.1f, 42, 7));
  add(PLINTH_OP_DROPOUT, "[33,17] p=0.5", {t({33, 17}), t({33, 17})}, {0}, {1}, dropout_p(0.5f, 1234567, 0));
  add(PLINTH_OP_DROPOUT_BACKWARD, "[1000] p=0.25 regenerated", {t({1000}), t({1000})}, {0}, {1},
      dropout_p(0.25f, 99, 3));

  // SQUARED_NORM, IS_FINITE, ARGMAX
  add(PLINTH_OP_SQUARED_NORM, "one input [33]", {t({33}), t({})}, {0}, {1});
  add(PLINTH_OP_SQUARED_NORM, "two inputs [17] [3,5]", {t({17}), t({3, 5}), t({})}, {0, 1}, {2});
  add(PLINTH_OP_IS_FINITE, "finite [33]", {t({33}), t({})}, {0}, {1});
  add(PLINTH_OP_IS_FINITE, "one inf [3,17]", {t({3, 17}), t({})}, {0}, {1})->tweak =
      [](std::vector<std::vector<uint8_t>>& h) {
        store_value(h[0], PLINTH_DTYPE_F32, 20, std::numeric_limits<double>::infinity());
      };
  add(PLINTH_OP_ARGMAX, "[4,17]", {t({4, 17}), ti({4}, 1)}, {0}, {1});
  add(PLINTH_OP_ARGMAX, "[1,1]", {t({1, 1}), ti({1}, 1)}, {0}, {1});

  // Optimizer steps (in place)
  add(PLINTH_OP_ADAMW_STEP, "[33] step 3", {t({33}), t({33}), t({33}), t({33}, Gen::positive)}, {0, 1, 2, 3},
      {0, 2, 3},
      bytes_of(plinth_adamw_params{0, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, 3},
               PLINTH_ADAMW_PARAMS_STRUCT_SIZE));
  add(PLINTH_OP_SGD_STEP, "[33] momentum=0.9 step 2", {t({33}), t({33}), t({33})}, {0, 1}, {0, 2},
      bytes_of(plinth_sgd_params{0, 0.1f, 0.9f, 0.1f, 0.01f, 0, 2}, PLINTH_SGD_PARAMS_STRUCT_SIZE));
  add(PLINTH_OP_SGD_STEP, "[17] nesterov step 1", {t({17}), t({17}), t({17})}, {0, 1}, {0, 2},
      bytes_of(plinth_sgd_params{0, 0.05f, 0.9f, 0.0f, 0.0f, 1, 1}, PLINTH_SGD_PARAMS_STRUCT_SIZE));
  add(PLINTH_OP_SGD_STEP, "[17] plain (no momentum)", {t({17}), t({17})}, {0, 1}, {0},
      bytes_of(plinth_sgd_params{0, 0.1f, 0.0f, 0.0f, 0.0f, 0, 1}, PLINTH_SGD_PARAMS_STRUCT_SIZE));
  add(PLINTH_OP_LION_STEP, "[33] weight_decay=0.1 (ABI 1.2)", {t({33}), t({33}), t({33})}, {0, 1, 2}, {0, 2},
      bytes_of(plinth_lion_params{0, 1e-3f, 0.9f, 0.99f, 0.1f}, PLINTH_LION_PARAMS_STRUCT_SIZE));
  add(PLINTH_OP_LION_STEP, "[1000] zero state (ABI 1.2)", {t({1000}), t({1000}), t({1000}, Gen::zeros)},
      {0, 1, 2}, {0, 2},
      bytes_of(plinth_lion_params{0, 3e-4f, 0.95f, 0.98f, 0.0f}, PLINTH_LION_PARAMS_STRUCT_SIZE));
  // CONV2D and backward (ABI 1.1); dx of the backward skipped by a 0-element out[0]
  auto conv_p = [](int32_t s, int32_t pad, int32_t d, float beta = 0) {
    return bytes_of(plinth_conv2d_params{0, s, s, pad, pad, d, d, beta}, PLINTH_CONV2D_PARAMS_STRUCT_SIZE);
  };
  add(PLINTH_OP_CONV2D, "x [2,3,9,9] w [5,3,3,3] bias",
      {t({2, 3, 9, 9}), t({5, 3, 3, 3}), t({5}), t({2, 5, 7, 7})}, {0, 1, 2}, {3}, conv_p(1, 0, 1));
  add(PLINTH_OP_CONV2D, "x [2,1,8,8] w [4,1,5,5] pad 2", {t({2, 1, 8, 8}), t({4, 1, 5, 5}), t({2, 4, 8, 8})},
      {0, 1}, {2}, conv_p(1, 2, 1));
  add(PLINTH_OP_CONV2D, "x [1,2,11,11] w [3,2,3,3] stride 2 dilation 2",
      {t({1, 2, 11, 11}), t({3, 2, 3, 3}), t({3}), t({1, 3, 5, 5})}, {0, 1, 2}, {3}, conv_p(2, 1, 2));
  add(PLINTH_OP_CONV2D_BACKWARD, "dx dweight dbias [2,3,9,9] pad 1",
      {t({2, 5, 9, 9}), t({2, 3, 9, 9}), t({5, 3, 3, 3}), t({2, 3, 9, 9}), t({5, 3, 3, 3}), t({5})},
      {0, 1, 2}, {3, 4, 5}, conv_p(1, 1, 1));
  add(PLINTH_OP_CONV2D_BACKWARD, "dweight dbias beta=1, no dx, stride 2",
      {t({2, 4, 4, 4}), t({2, 1, 8, 8}), t({4, 1, 3, 3}), t({0}), t({4, 1, 3, 3}), t({4})}, {0, 1, 2},
      {3, 4, 5}, conv_p(2, 1, 1, 1.0f));
  add(PLINTH_OP_CONV2D_BACKWARD, "dx only dilation 2",
      {t({1, 3, 4, 4}), t({1, 2, 8, 8}), t({3, 2, 3, 3}), t({1, 2, 8, 8})}, {0, 1, 2}, {3}, conv_p(1, 0, 2));

  // POOL2D and backward (ABI 1.1); the max backward's argmax from the reference's forward
  auto pool_p = [](plinth_pool_fn fn, int32_t k, int32_t s, int32_t pad, int32_t inc = 1) {
    return bytes_of(plinth_pool2d_params{0, fn, k, k, s, s, pad, pad, inc}, PLINTH_POOL2D_PARAMS_STRUCT_SIZE);
  };
  add(PLINTH_OP_POOL2D, "MAX 2x2/2 [2,3,8,8] with argmax",
      {t({2, 3, 8, 8}), t({2, 3, 4, 4}), ti({2, 3, 4, 4}, 1)}, {0}, {1, 2}, pool_p(PLINTH_POOL_MAX, 2, 2, 0));
  add(PLINTH_OP_POOL2D, "MAX 3x3/2 pad 1 [1,2,9,7]", {t({1, 2, 9, 7}), t({1, 2, 5, 4})}, {0}, {1},
      pool_p(PLINTH_POOL_MAX, 3, 2, 1));
  add(PLINTH_OP_POOL2D, "AVG 3x3/2 pad 1 [1,2,9,7]", {t({1, 2, 9, 7}), t({1, 2, 5, 4})}, {0}, {1},
      pool_p(PLINTH_POOL_AVG, 3, 2, 1));
  add(PLINTH_OP_POOL2D, "AVG 3x3/2 pad 1 in-bounds count", {t({1, 2, 9, 7}), t({1, 2, 5, 4})}, {0}, {1},
      pool_p(PLINTH_POOL_AVG, 3, 2, 1, 0));
  add(PLINTH_OP_POOL2D_BACKWARD, "MAX 3x3/2 pad 1 [1,2,9,7]",
      {t({1, 2, 5, 4}), ti({1, 2, 5, 4}, 1), t({1, 2, 9, 7}), t({1, 2, 9, 7}), t({1, 2, 5, 4})}, {0, 1}, {2},
      pool_p(PLINTH_POOL_MAX, 3, 2, 1))
      ->pre = PreOp{PLINTH_OP_POOL2D, {3}, {4, 1}, pool_p(PLINTH_POOL_MAX, 3, 2, 1)};
  add(PLINTH_OP_POOL2D_BACKWARD, "AVG 2x2/2 [2,3,8,8]", {t({2, 3, 4, 4}), t({2, 3, 8, 8})}, {0}, {1},
      pool_p(PLINTH_POOL_AVG, 2, 2, 0));
  (void)F32;
  return c;
}

struct Launch {
  std::vector<plinth_tensor> tensors;
  std::vector<plinth_tensor> in, out;
  plinth_op op{};
};

// Tensor views for `specs` over `bufs` (NULL buffers for supports()).
void make_views(const std::vector<TensorSpec>& specs, const std::vector<plinth_buffer*>& bufs,
                plinth_op_kind kind, const std::vector<int>& inputs, const std::vector<int>& outputs,
                const std::vector<uint8_t>& params, Launch& l) {
  l.tensors.clear();
  for (size_t i = 0; i < specs.size(); ++i) {
    plinth_tensor v{};
    v.struct_size = PLINTH_TENSOR_STRUCT_SIZE;
    v.buffer = bufs.empty() ? nullptr : bufs[i];
    v.dtype = specs[i].dtype;
    v.ndim = int32_t(specs[i].shape.size());
    auto st = strides_of(specs[i]);
    for (int d = 0; d < v.ndim; ++d) {
      v.shape[d] = specs[i].shape[d];
      v.strides[d] = st[d];
    }
    l.tensors.push_back(v);
  }
  l.in.clear();
  l.out.clear();
  for (int i : inputs) l.in.push_back(l.tensors[i]);
  for (int i : outputs) l.out.push_back(l.tensors[i]);
  l.op = plinth_op{};
  l.op.struct_size = PLINTH_OP_STRUCT_SIZE;
  l.op.kind = kind;
  l.op.num_inputs = int32_t(l.in.size());
  l.op.inputs = l.in.data();
  l.op.num_outputs = int32_t(l.out.size());
  l.op.outputs = l.out.data();
  l.op.params = params.empty() ? nullptr : params.data();
}

// Upload `host` into fresh buffers, run the pre-op (if any) then the op,
// and download every tensor into `host`.
Status run_on(BackendInstance& be, const OpCase& c, std::vector<std::vector<uint8_t>>& host, bool pre_only) {
  std::vector<DeviceBuffer> bufs;
  std::vector<plinth_buffer*> raw;
  for (auto& h : host) {
    auto b = be.alloc(h.size());
    if (!b) return b.status();
    if (!h.empty())
      if (Status s = be.upload(*b, 0, h.data(), h.size()); !s) return s;
    raw.push_back(b->get());
    bufs.push_back(std::move(*b));
  }
  Launch l;
  if (pre_only) {
    make_views(c.tensors, raw, c.pre->kind, c.pre->inputs, c.pre->outputs, c.pre->params, l);
  } else {
    make_views(c.tensors, raw, c.kind, c.inputs, c.outputs, c.params, l);
  }
  if (Status s = be.launch(l.op, c.name.c_str()); !s) return s;
  if (Status s = be.synchronize(); !s) return s;
  for (size_t i = 0; i < host.size(); ++i)
    if (!host[i].empty())
      if (Status s = be.download(host[i].data(), bufs[i], 0, host[i].size()); !s) return s;
  return {};
}

bool is_float(plinth_dtype d) {
  return d == PLINTH_DTYPE_F32 || d == PLINTH_DTYPE_F16 || d == PLINTH_DTYPE_BF16 || d == PLINTH_DTYPE_F64;
}

}  // namespace

void run_ops(BackendInstance& plugin, BackendInstance& reference, uint64_t seed,
             const std::vector<std::string>& ops, Rows& out) {
  const auto cases = build_cases();
  for (size_t ci = 0; ci < cases.size(); ++ci) {
    const OpCase& c = cases[ci];
    const std::string opn = op_kind_name(c.kind);
    if (!ops.empty() && std::find(ops.begin(), ops.end(), opn) == ops.end()) continue;
    if (!out.begin(ci, opn, c.name)) continue;
    CaseResult r{"ops", opn, c.name, "", 0, 0, ""};
    Launch probe;
    make_views(c.tensors, {}, c.kind, c.inputs, c.outputs, c.params, probe);
    if (!plugin.supports(probe.op)) {
      r.status = "unsupported";
      out.push_back(r);
      continue;
    }
    if (!reference.supports(probe.op)) {
      r.status = "no-reference";
      r.detail = "the reference backend does not run this case";
      out.push_back(r);
      continue;
    }
    // Same inputs on both sides: one generator per case, seeded from (seed, case index).
    std::mt19937_64 rng(seed * 1000003u + ci);
    std::normal_distribution<double> normal(0.0, 1.0);
    std::uniform_real_distribution<double> pos(0.5, 2.0);
    std::vector<std::vector<uint8_t>> host;
    for (const auto& s : c.tensors) {
      const size_t n = span_of(s);
      std::vector<uint8_t> b(n * dtype_bytes(s.dtype));
      for (size_t i = 0; i < n; ++i) {
        double v = 0;
        switch (s.gen) {
          case Gen::normal:
            v = normal(rng);
            break;
          case Gen::positive:
            v = pos(rng);
            break;
          case Gen::zeros:
            v = 0;
            break;
          case Gen::unit:
            v = std::uniform_real_distribution<double>(0, 1)(rng);
            break;
          case Gen::ints:
            v = double(std::uniform_int_distribution<int64_t>(0, s.int_hi - 1)(rng));
            break;
        }
        store_value(b, s.dtype, i, v);
      }
      host.push_back(std::move(b));
    }
    if (c.pre) {
      auto pre_host = host;
      if (Status s = run_on(reference, c, pre_host, true); !s) {
        r.status = "no-reference";
        r.detail = "preparing inputs on the reference: " + s.message();
        out.push_back(r);
        continue;
      }
      for (int o : c.pre->outputs) host[o] = pre_host[o];
    }
    if (c.tweak) c.tweak(host);
    auto ref = host, got = host;
    if (Status s = run_on(reference, c, ref, false); !s) {
      r.status = "no-reference";
      r.detail = s.message();
      out.push_back(r);
      continue;
    }
    if (Status s = run_on(plugin, c, got, false); !s) {
      r.status = "fail";
      r.detail = "claimed supported, launch failed: " + s.message();
      out.push_back(r);
      continue;
    }
    // Compare every output; the worst normalised error decides.
    bool low_precision = false;
    for (const auto& s : c.tensors)
      low_precision |= s.dtype == PLINTH_DTYPE_BF16 || s.dtype == PLINTH_DTYPE_F16;
    const double thr = low_precision ? 1e-4 : 1e-7;
    r.threshold = thr;
    bool ok = true;
    double worst = 0;
    std::vector<int> outs = c.outputs;
    std::sort(outs.begin(), outs.end());
    outs.erase(std::unique(outs.begin(), outs.end()), outs.end());
    for (int o : outs) {
      const auto& s = c.tensors[o];
      const size_t n = span_of(s);
      if (!is_float(s.dtype)) {
        size_t mism = 0;
        for (size_t i = 0; i < n; ++i)
          mism += load_value(got[o], s.dtype, i) != load_value(ref[o], s.dtype, i);
        if (mism) {
          ok = false;
          worst = std::max(worst, double(mism) / double(n));
          r.detail += "output " + std::to_string(o) + ": " + std::to_string(mism) + " of " +
                      std::to_string(n) + " elements differ (exact match required); ";
        }
        continue;
      }
      double num = 0, den = 0;
      bool bad_special = false;
      for (size_t i = 0; i < n; ++i) {
        const double a = load_value(got[o], s.dtype, i), b = load_value(ref[o], s.dtype, i);
        if (!std::isfinite(a) || !std::isfinite(b)) {
          if (!((std::isnan(a) && std::isnan(b)) || a == b)) bad_special = true;
          continue;
        }
        num += (a - b) * (a - b);
        den += b * b;
      }
      double err = den > 0 ? num / den : num;
      if (bad_special) err = std::numeric_limits<double>::infinity();
      worst = std::max(worst, err);
      if (!(err <= thr)) {
        ok = false;
        r.detail += "output " + std::to_string(o) + ": NMSE " + std::to_string(err) + "; ";
      }
    }
    r.error = worst;
    r.status = ok ? "pass" : "fail";
    out.push_back(r);
  }
}

}  // namespace plinth::plugin_check
