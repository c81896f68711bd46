// kernels.hpp — the host-side entry points of the GPU backend's kernels
// (kernels.cu). Plain C++: no device syntax, so the plugin's host code
// (backend.cpp, ops.cpp) compiles with the host compiler for every target.
// Each function enqueues one or more kernels on `stream` (a cudaStream_t /
// hipStream_t, nullptr for the default stream; ignored by the emulation)
// and returns nullptr, or the runtime's message when a launch failed.
// Pointers are device pointers; the caller has validated every shape.
#pragma once

#include <cstdint>

namespace plinth::gpu::k {

using err = const char*;
inline constexpr int k_max_dims = 8;

// An elementwise launch: nops views (view 0 the output, then the inputs, which
// broadcast through stride 0) over `nd` dims of `shape`; n = product of shape.
struct ew_desc {
  int nd = 0;
  int nops = 0;
  int64_t n = 0;
  int64_t shape[k_max_dims] = {};
  int64_t st[4][k_max_dims] = {};
};

// dtype codes as plinth_dtype: 0 f32, 1 f16, 2 bf16, 3 f64, 4 i32, 5 i64, 6 u8, 7 u16.
err fill(void* stream, const ew_desc& d, void* out, int elem_size, uint64_t bits);
err cast(void* stream, const ew_desc& d, const void* in, int in_dtype, void* out, int out_dtype);
err unary(void* stream, const ew_desc& d, const float* x, float* out, int fn, float alpha, float beta);
err unary_backward(void* stream, const ew_desc& d, const float* dy, const float* x, float* out, int fn,
                   float alpha, float beta);
err binary(void* stream, const ew_desc& d, const float* a, const float* b, float* out, int fn, float beta);
// fn (ABI 1.2): a plinth_unary_fn applied to the result; 0 (IDENTITY) for none.
err axpby(void* stream, const ew_desc& d, const float* x, const float* y, float* out, float alpha, float beta,
          int fn);
// SELECT (ABI 1.2): out = c != 0 ? a : b; view 1 c, 2 a, 3 b.
err select(void* stream, const ew_desc& d, const float* c, const float* a, const float* b, float* out);

// REDUCE: n_out outputs, each over `count` inputs; kept dims (k*) address the
// output and its input base, reduced dims (r*) walk the input in row-major order.
struct reduce_desc {
  int nk = 0, nr = 0;
  int64_t n_out = 0, count = 0;
  int64_t kshape[k_max_dims] = {}, kin[k_max_dims] = {}, kout[k_max_dims] = {};
  int64_t rshape[k_max_dims] = {}, rin[k_max_dims] = {};
};
err reduce(void* stream, const reduce_desc& d, const float* x, float* out, int fn, float beta);
err argmax(void* stream, int64_t rows, int64_t C, const float* x, int32_t* out);

err softmax(void* stream, int64_t rows, int64_t C, const float* x, float* y);
err softmax_backward(void* stream, int64_t rows, int64_t C, const float* dy, const float* y, float* dx);
// Rows whose target is neither ignore_index nor in [0, C) get NaN (loss and
// probabilities / gradient): a device cannot return an error without a sync.
// label_smoothing (ABI 1.2): 0 for plain cross-entropy.
err cross_entropy(void* stream, int64_t rows, int64_t C, const float* x, const int32_t* t, int32_t ignore,
                  float label_smoothing, float* loss, float* probs);
err cross_entropy_backward(void* stream, int64_t rows, int64_t C, const float* probs, const int32_t* t,
                           const float* dloss, float scale, int32_t ignore, float label_smoothing, float* dx);
err layernorm(void* stream, int64_t rows, int64_t C, const float* x, const float* w, const float* b,
              float eps, float* y, float* mean, float* rstd);
err layernorm_backward(void* stream, int64_t rows, int64_t C, const float* dy, const float* x, const float* w,
                       const float* mean, const float* rstd, float* dx, float* dw, float* db);
// BATCHNORM: x viewed as (N, C, S). Training writes mean and rstd (C) and,
// when rm_out / rv_out are not null, the running statistics (rm_out may be
// rm_in: in place). Eval writes y from rm_in / rv_in with `rstd` (C floats)
// as scratch. Backward takes `part`, 2 C floats of scratch.
struct bn_desc {
  int64_t N = 0, C = 0, S = 1;
  float eps = 1e-5f, momentum = 0.1f;
  int training = 1;
};
err batchnorm(void* stream, const bn_desc& d, const float* x, const float* g, const float* b,
              const float* rm_in, const float* rv_in, float* y, float* mean, float* rstd, float* rm_out,
              float* rv_out);
err batchnorm_backward(void* stream, const bn_desc& d, const float* dy, const float* x, const float* g,
                       const float* mean, const float* rstd, float* dx, float* dg, float* db, float* part);
// ids i32 or i64 (ids64); an id outside [0, V) gives a NaN row (forward) or is skipped (backward).
err embedding(void* stream, int64_t n_ids, const void* ids, bool ids64, int64_t V, int64_t C,
              const float* table, float* out);
err embedding_backward(void* stream, int64_t n_ids, const void* ids, bool ids64, int64_t V, int64_t C,
                       const float* dout, float* dtable);

// A (B, H, T, D) view with unit stride in D.
struct bhtd {
  const float* p = nullptr;
  int64_t H = 1, sb = 0, sh = 0, st = 0;
};
err attention(void* stream, int64_t BH, int64_t T, int64_t D, bhtd q, bhtd k, bhtd v, bhtd y, float* lse,
              int causal, float scale);
// scratch: BH*T floats.
err attention_backward(void* stream, int64_t BH, int64_t T, int64_t D, bhtd dy, bhtd q, bhtd k, bhtd v,
                       bhtd y, const float* lse, bhtd dq, bhtd dk, bhtd dv, int causal, float scale,
                       float* scratch);

err dropout(void* stream, int64_t n, const float* x, float* y, uint8_t* mask, float p, uint64_t seed,
            uint64_t offset);
err dropout_backward(void* stream, int64_t n, const float* dy, const uint8_t* mask, float* dx, float p,
                     uint64_t seed, uint64_t offset);

// Elements per partial of SQUARED_NORM / IS_FINITE (as the CPU backend's chunks).
inline constexpr int64_t k_norm_chunk = 16384;
// part[i] = sum of x^2 (double) of chunk i of x; then out = sum of parts[0..n_parts).
err squared_norm_part(void* stream, const float* x, int64_t n, double* part);
err squared_norm_finish(void* stream, const double* parts, int64_t n_parts, float* out);
err is_finite_part(void* stream, const float* x, int64_t n, int32_t* part);
err is_finite_finish(void* stream, const int32_t* parts, int64_t n_parts, float* out);

err adamw(void* stream, int64_t n, const float* pin, const float* g, const float* min, const float* vin,
          float* p, float* m, float* v, float decay, float b1, float b2, float step_size, float bc2_sqrt_inv,
          float eps);
err sgd(void* stream, int64_t n, const float* pin, const float* g, const float* bin, float* p, float* buf,
        float lr, float wd, float momentum, float damp, int nesterov, int first);
// LION_STEP (ABI 1.2); decay = 1 - lr * weight_decay.
err lion(void* stream, int64_t n, const float* pin, const float* g, const float* min, float* p, float* m,
         float decay, float lr, float b1, float b2);

struct conv_desc {
  int64_t N = 0, C = 0, H = 0, W = 0, O = 0, KH = 0, KW = 0, OH = 0, OW = 0, sh = 1, sw = 1, ph = 0, pw = 0,
          dh = 1, dw = 1;
};
err conv2d(void* stream, const conv_desc& s, const float* x, const float* w, const float* bias, float* y);
err conv2d_backward(void* stream, const conv_desc& s, const float* dy, const float* x, const float* w,
                    float* dx, float* dw, float* db, float beta);

struct pool_desc {
  int64_t N = 0, C = 0, H = 0, W = 0, OH = 0, OW = 0, kh = 1, kw = 1, sh = 1, sw = 1, ph = 0, pw = 0;
  int max = 1, include_pad = 1;
};
err pool2d(void* stream, const pool_desc& s, const float* x, float* y, int32_t* argmax);
err pool2d_backward(void* stream, const pool_desc& s, const float* dy, const int32_t* argmax, float* dx);

// MATMUL: out (.., M, N) = alpha op(A) op(B) + beta out (+ bias). Batch dims
// (nb of them) carry a stride per operand (0: broadcast); m/k/n strides
// already include the transposes.
struct matmul_desc {
  int nb = 0;
  int64_t bshape[k_max_dims] = {}, a_bs[k_max_dims] = {}, b_bs[k_max_dims] = {}, c_bs[k_max_dims] = {};
  int64_t batch = 1, M = 0, N = 0, K = 0;
  int64_t a_m = 0, a_k = 0, b_k = 0, b_n = 0, c_m = 0, c_n = 0;
  float alpha = 1, beta = 0;
};
err matmul(void* stream, const matmul_desc& d, const void* a, const void* b, int in_dtype, const float* bias,
           void* out, int out_dtype);
// out (.., M, N) += bias[n] (after a library GEMM), out f32 / bf16 / f16.
err add_bias(void* stream, const matmul_desc& d, const float* bias, void* out, int out_dtype);

}  // namespace plinth::gpu::k
