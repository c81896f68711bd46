/*
 * plinth/backend.h — the backend table: devices, buffers, streams, events and
 * a closed, append-only set of ops launched through one entry point.
 *
 * A backend instance (plinth_backend_ctx) drives one device. Buffers, streams
 * and events belong to the instance that made them. Ops take plinth_tensor
 * views (buffer + byte offset + dtype + shape + strides in elements).
 *
 * Threading: create/destroy of the instance are called from one thread.
 * Every other function may be called from any thread; calls on one stream
 * are serialised by the caller. A synchronous backend (the CPU backend) runs
 * each launch before returning and may ignore streams.
 *
 * Notation used in op comments: N rows, C columns/classes, B batch, T time,
 * H heads, D head size, M/K/N matmul sizes. Shapes are row-major, last dim
 * fastest, unless strides say otherwise.
 */
#ifndef PLINTH_BACKEND_H
#define PLINTH_BACKEND_H

#include "plinth/plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PLINTH_MAX_DIMS 8

typedef struct plinth_backend_ctx plinth_backend_ctx; /* one device instance */
typedef struct plinth_buffer plinth_buffer;           /* device memory       */
typedef struct plinth_stream plinth_stream;           /* ordered work queue  */
typedef struct plinth_event plinth_event;             /* point in a stream   */

/* ------------------------------------------------------------------------- */
/* Devices                                                                   */
/* ------------------------------------------------------------------------- */

typedef struct plinth_device_properties {
  size_t struct_size;
  char name[128];                 /* out: "AMD EPYC 9B45 (AVX-512)"           */
  plinth_memory_kind memory_kind; /* out: where this device's buffers live   */
  uint64_t total_memory;          /* out: bytes, 0 if unknown                */
  int32_t compute_units;          /* out: cores / SMs / CUs                  */
  int32_t has_bf16;               /* out: 1 if bf16 math is native           */
  int32_t has_fp16;               /* out: 1 if fp16 math is native           */
  int32_t host_visible;           /* out: 1 if buffer_host_ptr works         */
} plinth_device_properties;

#define PLINTH_DEVICE_PROPERTIES_STRUCT_SIZE PLINTH_STRUCT_SIZE(plinth_device_properties, host_visible)

/* ------------------------------------------------------------------------- */
/* Tensors                                                                   */
/* ------------------------------------------------------------------------- */

/* A view into a buffer. Owned by the caller; valid for the duration of the
 * call it is passed to (a backend that queues work copies what it needs). */
typedef struct plinth_tensor {
  size_t struct_size;
  plinth_buffer* buffer; /* may be NULL only when numel is 0 */
  uint64_t offset;       /* bytes from the start of buffer   */
  plinth_dtype dtype;
  int32_t ndim;                     /* 0 (scalar) .. PLINTH_MAX_DIMS     */
  int64_t shape[PLINTH_MAX_DIMS];   /* entries past ndim are ignored     */
  int64_t strides[PLINTH_MAX_DIMS]; /* in elements; 0 broadcasts a dim   */
} plinth_tensor;

#define PLINTH_TENSOR_STRUCT_SIZE PLINTH_STRUCT_SIZE(plinth_tensor, strides)

/* ------------------------------------------------------------------------- */
/* Ops (append-only: values are fixed forever)                               */
/* ------------------------------------------------------------------------- */

typedef enum plinth_op_kind PLINTH_ENUM_TYPE {
  /* out[0] = value.                                 params: plinth_fill_params */
  PLINTH_OP_FILL = 0,
  /* out[0] = (dtype of out) in[0]; copies between layouts too. no params     */
  PLINTH_OP_CAST = 1,
  /* out[0] = f(alpha * in[0] + beta).                params: plinth_unary_params */
  PLINTH_OP_UNARY = 2,
  /* out[0] = dL/dx given in[0] = dL/dy and in[1] = x (the forward input of f,
   * before the affine). For alpha != 1 the result includes the alpha factor.
   *                                                  params: plinth_unary_params */
  PLINTH_OP_UNARY_BACKWARD = 3,
  /* out[0] = in[0] (op) in[1], with broadcasting through stride-0 dims and
   * out[0] = beta*out[0] + that when beta != 0.      params: plinth_binary_params */
  PLINTH_OP_BINARY = 4,
  /* out[0] = alpha * in[0] + beta * in[1]; in[1] may alias out[0].
   * ABI 1.2: out[0] = fn(alpha * in[0] + beta * in[1]) with params fn (a
   * unary function applied to the result, as a BLAS epilogue; IDENTITY is
   * plain AXPBY), so a blend and its function (Lion's sign, Adafactor's
   * rsqrt) take one pass.                           params: plinth_axpby_params */
  PLINTH_OP_AXPBY = 5,
  /* out[0] (.., M, N) = alpha * op(in[0]) (.., M, K) @ op(in[1]) (.., K, N)
   * + beta * out[0]; leading dims are batch dims (broadcast by stride 0).
   * in[2] (optional, when num_inputs == 3): bias (N), added after.
   * f16/bf16 inputs accumulate in f32.              params: plinth_matmul_params */
  PLINTH_OP_MATMUL = 6,
  /* out[0] = reduce of in[0] over the dims where out[0]'s shape is 1 (same
   * ndim); out[0] = beta*out[0] + result.            params: plinth_reduce_params */
  PLINTH_OP_REDUCE = 7,
  /* out[0] (N, C) = softmax of in[0] (N, C) over the last dim. no params     */
  PLINTH_OP_SOFTMAX = 8,
  /* out[0] = dx given in[0] = dy, in[1] = y (the softmax output). no params   */
  PLINTH_OP_SOFTMAX_BACKWARD = 9,
  /* Fused softmax cross-entropy. in[0] logits (N, C), in[1] targets (N) i32.
   * out[0] losses (N) f32 per row (0 for ignored rows), out[1] probs (N, C)
   * kept for backward.                          params: plinth_xent_params */
  PLINTH_OP_CROSS_ENTROPY = 10,
  /* out[0] dlogits (N, C) = (probs - onehot(target)) * in[2][row] (in[2]:
   * dL/dloss (N) f32, or scale when num_inputs == 2). in[0] probs, in[1]
   * targets.                                        params: plinth_xent_params */
  PLINTH_OP_CROSS_ENTROPY_BACKWARD = 11,
  /* in[0] x (N, C), in[1] gamma (C), in[2] beta (C) -> out[0] y (N, C),
   * out[1] mean (N) f32, out[2] rstd (N) f32.    params: plinth_layernorm_params */
  PLINTH_OP_LAYERNORM = 12,
  /* in[0] dy, in[1] x, in[2] gamma, in[3] mean, in[4] rstd -> out[0] dx,
   * out[1] dgamma (accumulated: +=), out[2] dbeta (+=). params: as forward */
  PLINTH_OP_LAYERNORM_BACKWARD = 13,
  /* in[0] ids (..) i32, in[1] table (V, C) -> out[0] (.., C). no params     */
  PLINTH_OP_EMBEDDING = 14,
  /* in[0] dout (.., C), in[1] ids (..) -> out[0] dtable (V, C) += scatter.   */
  PLINTH_OP_EMBEDDING_BACKWARD = 15,
  /* Scaled dot-product attention. in[0] q, in[1] k, in[2] v, each (B, H, T, D)
   * -> out[0] y (B, H, T, D), out[1] logsumexp (B, H, T) f32 for backward.
   *                                               params: plinth_attention_params */
  PLINTH_OP_ATTENTION = 16,
  /* in[0] dy, in[1] q, in[2] k, in[3] v, in[4] y, in[5] logsumexp ->
   * out[0] dq, out[1] dk, out[2] dv.              params: plinth_attention_params */
  PLINTH_OP_ATTENTION_BACKWARD = 17,
  /* out[0] = in[0] * mask / (1 - p), out[1] (optional) mask u8. The mask is
   * drawn from Philox-4x32-10 keyed by (seed), counter (offset + element
   * index), so every backend draws the same mask.  params: plinth_dropout_params */
  PLINTH_OP_DROPOUT = 18,
  /* out[0] dx = in[0] dy * mask / (1 - p); mask regenerated from seed/offset
   * (in[1], when given, is the u8 mask).            params: plinth_dropout_params */
  PLINTH_OP_DROPOUT_BACKWARD = 19,
  /* out[0] scalar f32 = sum over all inputs of sum(x^2). no params           */
  PLINTH_OP_SQUARED_NORM = 20,
  /* out[0] scalar f32 = 1 if every element of every input is finite, else 0. */
  PLINTH_OP_IS_FINITE = 21,
  /* out[0] (N) i32 = argmax of in[0] (N, C) over the last dim (first wins).  */
  PLINTH_OP_ARGMAX = 22,
  /* Fused AdamW (Loshchilov & Hutter 2019), torch.optim.AdamW semantics.
   * in[0] param, in[1] grad, in[2] m, in[3] v -> out[0] param, out[1] m,
   * out[2] v; each output is the same tensor as its input (in place).
   *                                                  params: plinth_adamw_params */
  PLINTH_OP_ADAMW_STEP = 23,
  /* Fused SGD, torch.optim.SGD semantics. in[0] param, in[1] grad ->
   * out[0] param (in place), out[1] momentum buffer (omitted when
   * momentum == 0; set from the gradient when step == 1).
   *                                                  params: plinth_sgd_params */
  PLINTH_OP_SGD_STEP = 24,
  PLINTH_OP_COUNT_V1 = 25, /* number of ops in ABI 1.0 */
  /* --- ABI 1.1 --- */
  /* 2-D convolution (cross-correlation, as torch's conv2d), NCHW, f32.
   * in[0] x (N, C, H, W), in[1] weight (O, C, KH, KW), in[2] (optional) bias
   * (O) -> out[0] y (N, O, OH, OW), written, with
   * OH = (H + 2 pad_h - dilation_h (KH - 1) - 1) / stride_h + 1 (floor; OW alike).
   *                                                  params: plinth_conv2d_params */
  PLINTH_OP_CONV2D = 25,
  /* in[0] dy (N, O, OH, OW), in[1] x, in[2] weight -> out[0] dx (written;
   * an out[0] with 0 elements, buffer NULL allowed, skips it), out[1]
   * (optional) dweight, out[2] (optional) dbias; num_outputs (1..3) chooses.
   * dweight = beta * dweight + grad, dbias alike (beta 0: not read).
   *                                                  params: plinth_conv2d_params */
  PLINTH_OP_CONV2D_BACKWARD = 26,
  /* Max or average pooling over (H, W), NCHW, f32. in[0] x (N, C, H, W) ->
   * out[0] y (N, C, OH, OW), OH = (H + 2 pad_h - kernel_h) / stride_h + 1;
   * max: out[1] (optional) argmax (N, C, OH, OW) i32, the index h * W + w of
   * the first maximum inside its (N, C) plane (as torch's return_indices);
   * padding never wins and a NaN does.              params: plinth_pool2d_params */
  PLINTH_OP_POOL2D = 27,
  /* out[0] dx (N, C, H, W), written, given in[0] dy (N, C, OH, OW); max also
   * takes in[1] the forward's argmax (no recomputation), and dx[argmax] += dy.
   *                                                  params: plinth_pool2d_params */
  PLINTH_OP_POOL2D_BACKWARD = 28,
  PLINTH_OP_COUNT_V1_1 = 29, /* number of ops in ABI 1.1 */
  /* --- ABI 1.2 --- */
  /* Batch normalisation over every dim but the channel, f32. x is viewed as
   * (N, C, S) (S = H * W for images, 1 for (N, C) features). in[0] x,
   * in[1] gamma (C), in[2] beta (C), in[3] running_mean (C), in[4]
   * running_var (C).
   * training != 0: out[0] y = (x - mean) * rstd * gamma + beta with the batch
   *   mean and rstd = 1 / sqrt(biased var + eps) over N * S; out[1] mean (C)
   *   f32 and out[2] rstd (C) f32 kept for backward; out[3] running_mean and
   *   out[4] running_var, the same tensors as in[3] and in[4] (in place),
   *   become (1 - momentum) * running + momentum * batch statistic, the
   *   variance unbiased (N * S / (N * S - 1)), as torch's BatchNorm. With
   *   num_outputs == 3 the running statistics are not touched.
   * training == 0: out[0] y from the running statistics; no other output.
   *                                               params: plinth_batchnorm_params */
  PLINTH_OP_BATCHNORM = 29,
  /* Training-mode backward. in[0] dy (N, C, S), in[1] x, in[2] gamma,
   * in[3] mean (C), in[4] rstd (C) of the forward -> out[0] dx (written),
   * out[1] dgamma (C) (+=), out[2] dbeta (C) (+=).  params: as forward */
  PLINTH_OP_BATCHNORM_BACKWARD = 30,
  /* Elementwise choice, f32 (torch.where with a float mask): in[0] cond,
   * in[1] a, in[2] b, each broadcasting to out[0] as BINARY's inputs ->
   * out[0] = cond != 0 ? a : b (a NaN cond is != 0 and selects a). No
   * params (NULL). With the BINARY comparisons, which write 1 or 0, it
   * composes clipping, masking and trust ratios in one launch each. */
  PLINTH_OP_SELECT = 31,
  /* Fused Lion (Chen et al. 2023, "Symbolic Discovery of Optimization
   * Algorithms", Algorithm 2 with decoupled weight decay):
   *   p *= 1 - lr*wd;  p -= lr * sign(b1*m + (1-b1)*g);  m = b2*m + (1-b2)*g
   * with sign(0) = 0. in[0] param, in[1] grad, in[2] m -> out[0] param,
   * out[1] m, each output the same tensor as its input (in place); f32,
   * contiguous, one size.                           params: plinth_lion_params */
  PLINTH_OP_LION_STEP = 32,
  PLINTH_OP_COUNT_V1_2 = 33 /* number of ops in ABI 1.2 */
} plinth_op_kind;

typedef struct plinth_fill_params {
  size_t struct_size;
  double value;
} plinth_fill_params;
#define PLINTH_FILL_PARAMS_STRUCT_SIZE PLINTH_STRUCT_SIZE(plinth_fill_params, value)

typedef enum plinth_unary_fn PLINTH_ENUM_TYPE {
  PLINTH_UNARY_IDENTITY = 0, /* affine only: alpha * x + beta */
  PLINTH_UNARY_RELU = 1,
  PLINTH_UNARY_GELU_TANH = 2, /* GPT-2's tanh approximation */
  PLINTH_UNARY_TANH = 3,
  PLINTH_UNARY_SIGMOID = 4,
  PLINTH_UNARY_EXP = 5,
  PLINTH_UNARY_LOG = 6,
  PLINTH_UNARY_SQRT = 7,
  PLINTH_UNARY_RSQRT = 8,
  PLINTH_UNARY_SQUARE = 9,
  PLINTH_UNARY_ABS = 10,
  PLINTH_UNARY_RECIPROCAL = 11,
  PLINTH_UNARY_GELU_ERF = 12,
  /* --- ABI 1.2 --- */
  PLINTH_UNARY_SILU = 13, /* x * sigmoid(x) (torch's SiLU / swish) */
  PLINTH_UNARY_SIGN = 14  /* -1, 0 or 1 (NaN stays NaN), as torch.sign; derivative 0 */
} plinth_unary_fn;

typedef struct plinth_unary_params {
  size_t struct_size;
  plinth_unary_fn fn;
  float alpha; /* applied before f: f(alpha * x + beta); use 1 and 0 for plain f */
  float beta;
} plinth_unary_params;
#define PLINTH_UNARY_PARAMS_STRUCT_SIZE PLINTH_STRUCT_SIZE(plinth_unary_params, beta)

typedef enum plinth_binary_fn PLINTH_ENUM_TYPE {
  PLINTH_BINARY_ADD = 0,
  PLINTH_BINARY_SUB = 1,
  PLINTH_BINARY_MUL = 2,
  PLINTH_BINARY_DIV = 3,
  PLINTH_BINARY_MAX = 4, /* a NaN operand gives NaN, as torch.maximum */
  PLINTH_BINARY_MIN = 5, /* a NaN operand gives NaN, as torch.minimum */
  /* --- ABI 1.2: comparisons, 1.0 where a op b holds, else 0.0 (IEEE: a NaN
   * operand makes every comparison false but NE). Feed SELECT's cond. --- */
  PLINTH_BINARY_GT = 6,
  PLINTH_BINARY_GE = 7,
  PLINTH_BINARY_LT = 8,
  PLINTH_BINARY_LE = 9,
  PLINTH_BINARY_EQ = 10,
  PLINTH_BINARY_NE = 11
} plinth_binary_fn;

typedef struct plinth_binary_params {
  size_t struct_size;
  plinth_binary_fn fn;
  float beta; /* out = beta * out + (a op b); 0 overwrites (out is not read) */
} plinth_binary_params;
#define PLINTH_BINARY_PARAMS_STRUCT_SIZE PLINTH_STRUCT_SIZE(plinth_binary_params, beta)

typedef struct plinth_axpby_params {
  size_t struct_size;
  float alpha;
  float beta;
  /* --- ABI 1.2 --- */
  plinth_unary_fn fn; /* applied to the result (no affine); IDENTITY (0): plain AXPBY */
} plinth_axpby_params;
#define PLINTH_AXPBY_PARAMS_STRUCT_SIZE PLINTH_STRUCT_SIZE(plinth_axpby_params, fn)
#define PLINTH_AXPBY_PARAMS_V1_STRUCT_SIZE PLINTH_STRUCT_SIZE(plinth_axpby_params, beta) /* 1.0 / 1.1 */

typedef struct plinth_matmul_params {
  size_t struct_size;
  int32_t trans_a; /* 1: use in[0] as (.., K, M) transposed */
  int32_t trans_b; /* 1: use in[1] as (.., N, K) transposed */
  float alpha;
  float beta; /* 0 overwrites out (out is not read) */
} plinth_matmul_params;
#define PLINTH_MATMUL_PARAMS_STRUCT_SIZE PLINTH_STRUCT_SIZE(plinth_matmul_params, beta)

typedef enum plinth_reduce_fn PLINTH_ENUM_TYPE {
  PLINTH_REDUCE_SUM = 0,
  PLINTH_REDUCE_MEAN = 1,
  PLINTH_REDUCE_MAX = 2,
  PLINTH_REDUCE_MIN = 3
} plinth_reduce_fn;

typedef struct plinth_reduce_params {
  size_t struct_size;
  plinth_reduce_fn fn;
  float beta; /* out = beta * out + reduce(in); 0 overwrites */
} plinth_reduce_params;
#define PLINTH_REDUCE_PARAMS_STRUCT_SIZE PLINTH_STRUCT_SIZE(plinth_reduce_params, beta)

typedef struct plinth_xent_params {
  size_t struct_size;
  int32_t ignore_index; /* target value whose row is skipped; -1 for none    */
  float scale;          /* backward with two inputs: dlogits *= scale         */
  /* --- ABI 1.2 --- */
  /* in [0, 1): the target distribution is (1 - s) onehot + s / C, as torch's
   * cross_entropy(label_smoothing = s): loss = (1 - s) nll + s * mean_c(-log p_c),
   * dlogits = probs - (1 - s) onehot - s / C. 0 (or a struct too short to
   * hold it) is plain cross-entropy. The core sends s != 0 only to a backend
   * built against ABI 1.2 or later. */
  float label_smoothing;
} plinth_xent_params;
#define PLINTH_XENT_PARAMS_STRUCT_SIZE PLINTH_STRUCT_SIZE(plinth_xent_params, label_smoothing)
#define PLINTH_XENT_PARAMS_V1_STRUCT_SIZE PLINTH_STRUCT_SIZE(plinth_xent_params, scale)

typedef struct plinth_layernorm_params {
  size_t struct_size;
  float eps;
} plinth_layernorm_params;
#define PLINTH_LAYERNORM_PARAMS_STRUCT_SIZE PLINTH_STRUCT_SIZE(plinth_layernorm_params, eps)

typedef struct plinth_attention_params {
  size_t struct_size;
  int32_t causal; /* 1: position t attends to positions <= t */
  float scale;    /* usually 1/sqrt(D) */
} plinth_attention_params;
#define PLINTH_ATTENTION_PARAMS_STRUCT_SIZE PLINTH_STRUCT_SIZE(plinth_attention_params, scale)

typedef struct plinth_dropout_params {
  size_t struct_size;
  float p;         /* drop probability in [0, 1) */
  uint64_t seed;   /* Philox key */
  uint64_t offset; /* Philox counter base for element 0 */
} plinth_dropout_params;
#define PLINTH_DROPOUT_PARAMS_STRUCT_SIZE PLINTH_STRUCT_SIZE(plinth_dropout_params, offset)

typedef struct plinth_adamw_params {
  size_t struct_size;
  float lr;
  float beta1;
  float beta2;
  float eps;
  float weight_decay; /* decoupled: p -= lr * wd * p */
  int64_t step;       /* 1-based, for bias correction */
} plinth_adamw_params;
#define PLINTH_ADAMW_PARAMS_STRUCT_SIZE PLINTH_STRUCT_SIZE(plinth_adamw_params, step)

typedef struct plinth_sgd_params {
  size_t struct_size;
  float lr;
  float momentum;
  float dampening;
  float weight_decay; /* L2, added to the gradient as PyTorch's SGD does */
  int32_t nesterov;
  int64_t step; /* 1-based; the first step initialises the momentum buffer */
} plinth_sgd_params;
#define PLINTH_SGD_PARAMS_STRUCT_SIZE PLINTH_STRUCT_SIZE(plinth_sgd_params, step)

/* ABI 1.1. dilation 1 is a dense kernel (torch's convention). */
typedef struct plinth_conv2d_params {
  size_t struct_size;
  int32_t stride_h, stride_w;     /* >= 1 */
  int32_t pad_h, pad_w;           /* zeros on each side, >= 0 */
  int32_t dilation_h, dilation_w; /* >= 1 */
  float beta; /* backward: dweight/dbias = beta * old + grad; 0 overwrites. forward: ignored */
} plinth_conv2d_params;
#define PLINTH_CONV2D_PARAMS_STRUCT_SIZE PLINTH_STRUCT_SIZE(plinth_conv2d_params, beta)

typedef enum plinth_pool_fn PLINTH_ENUM_TYPE { PLINTH_POOL_MAX = 0, PLINTH_POOL_AVG = 1 } plinth_pool_fn;

/* ABI 1.1. Padding is at most half the kernel (as torch requires), so every
 * window holds an input element; output sizes round down. */
typedef struct plinth_pool2d_params {
  size_t struct_size;
  plinth_pool_fn fn;
  int32_t kernel_h, kernel_w; /* >= 1 */
  int32_t stride_h, stride_w; /* >= 1 */
  int32_t pad_h, pad_w;       /* 0 .. kernel / 2 */
  int32_t count_include_pad;  /* avg: 1 divides by kernel_h * kernel_w (torch's
                                 default), 0 by the in-bounds count */
} plinth_pool2d_params;
#define PLINTH_POOL2D_PARAMS_STRUCT_SIZE PLINTH_STRUCT_SIZE(plinth_pool2d_params, count_include_pad)

/* ABI 1.2. */
typedef struct plinth_batchnorm_params {
  size_t struct_size;
  float eps;        /* added to the variance (torch: 1e-5) */
  float momentum;   /* running statistics' update weight (torch: 0.1) */
  int32_t training; /* 1: batch statistics (and running update); 0: running */
} plinth_batchnorm_params;
#define PLINTH_BATCHNORM_PARAMS_STRUCT_SIZE PLINTH_STRUCT_SIZE(plinth_batchnorm_params, training)

/* ABI 1.2. */
typedef struct plinth_lion_params {
  size_t struct_size;
  float lr;
  float beta1;        /* interpolation for the update's sign (paper: 0.9) */
  float beta2;        /* momentum decay (paper: 0.99) */
  float weight_decay; /* decoupled: p -= lr * wd * p */
} plinth_lion_params;
#define PLINTH_LION_PARAMS_STRUCT_SIZE PLINTH_STRUCT_SIZE(plinth_lion_params, weight_decay)

/* One op launch. Owned by the caller, valid during launch() only. */
typedef struct plinth_op {
  size_t struct_size;
  plinth_op_kind kind;
  int32_t num_inputs;
  const plinth_tensor* inputs;
  int32_t num_outputs;
  const plinth_tensor* outputs;
  const void* params; /* the op's params struct (starts with struct_size) or NULL */
} plinth_op;
#define PLINTH_OP_STRUCT_SIZE PLINTH_STRUCT_SIZE(plinth_op, params)

/* ------------------------------------------------------------------------- */
/* The backend table                                                         */
/* ------------------------------------------------------------------------- */

typedef struct plinth_backend_v1 {
  size_t struct_size;

  /* --- devices (callable before create) --- */
  /* Number of devices this backend can drive here; 0 is not an error. */
  plinth_status (*device_count)(int32_t* out);
  /* Fill `out` (caller sets out->struct_size) for device `index`. */
  plinth_status (*device_properties)(int32_t index, plinth_device_properties* out);

  /* --- instance --- */
  /* Create an instance on device `index` reading its settings from `cfg`
   * (the pipeline's [backend] table; may be NULL for defaults). */
  plinth_status (*create)(const plinth_host* host, const plinth_config* cfg, int32_t device,
                          plinth_backend_ctx** out);
  /* Destroy an instance; every buffer/stream/event it made is freed first by
   * the caller. Must not fail. */
  void (*destroy)(plinth_backend_ctx* ctx);

  /* --- buffers --- */
  /* Allocate `size` bytes aligned to at least 64. size 0 gives a valid
   * buffer that holds nothing. Contents are undefined. */
  plinth_status (*buffer_alloc)(plinth_backend_ctx* ctx, uint64_t size, plinth_buffer** out);
  void (*buffer_free)(plinth_backend_ctx* ctx, plinth_buffer* buf); /* NULL is a no-op */
  /* (optional) may be NULL: host address of the buffer's first byte when the
   * device is host-visible, else NULL. Valid until buffer_free. */
  void* (*buffer_host_ptr)(plinth_backend_ctx* ctx, plinth_buffer* buf);
  /* Copies, ordered on `stream` (NULL: the default stream). The host memory
   * must stay valid until the stream reaches the copy. */
  plinth_status (*copy_h2d)(plinth_backend_ctx* ctx, plinth_stream* stream, plinth_buffer* dst,
                            uint64_t dst_offset, const void* src, uint64_t size);
  plinth_status (*copy_d2h)(plinth_backend_ctx* ctx, plinth_stream* stream, void* dst, plinth_buffer* src,
                            uint64_t src_offset, uint64_t size);
  plinth_status (*copy_d2d)(plinth_backend_ctx* ctx, plinth_stream* stream, plinth_buffer* dst,
                            uint64_t dst_offset, plinth_buffer* src, uint64_t src_offset, uint64_t size);

  /* --- streams and events --- */
  plinth_status (*stream_create)(plinth_backend_ctx* ctx, plinth_stream** out);
  void (*stream_destroy)(plinth_backend_ctx* ctx, plinth_stream* stream);
  /* Block until all work queued on `stream` (NULL: default) has finished. */
  plinth_status (*stream_synchronize)(plinth_backend_ctx* ctx, plinth_stream* stream);
  plinth_status (*event_create)(plinth_backend_ctx* ctx, plinth_event** out);
  void (*event_destroy)(plinth_backend_ctx* ctx, plinth_event* event);
  /* Mark the current end of `stream`. */
  plinth_status (*event_record)(plinth_backend_ctx* ctx, plinth_event* event, plinth_stream* stream);
  /* Make `stream` wait (without blocking the host) for `event`. */
  plinth_status (*stream_wait_event)(plinth_backend_ctx* ctx, plinth_stream* stream, plinth_event* event);
  /* Block the host until `event` has been reached. */
  plinth_status (*event_synchronize)(plinth_backend_ctx* ctx, plinth_event* event);

  /* --- ops --- */
  /* 1 if launch(op) will run `op` with these dtypes/shapes/layouts, else 0.
   * Buffers in `op` may be NULL: only kind, params, dtypes, ndim, shapes and
   * strides are looked at. Must be cheap and side-effect free. */
  int32_t (*supports)(plinth_backend_ctx* ctx, const plinth_op* op);
  /* Enqueue `op` on `stream` (NULL: default). Returns an error, never
   * aborts, on bad arguments or an unsupported op. */
  plinth_status (*launch)(plinth_backend_ctx* ctx, plinth_stream* stream, const plinth_op* op);

  /* Number of threads the instance computes with (CPU) or 0. (optional) */
  int32_t (*num_threads)(plinth_backend_ctx* ctx);
} plinth_backend_v1;

#define PLINTH_BACKEND_V1_STRUCT_SIZE PLINTH_STRUCT_SIZE(plinth_backend_v1, num_threads)

/* Fields a backend of ABI 1.x must set (the core rejects a table with any of
 * these NULL): device_count, device_properties, create, destroy,
 * buffer_alloc, buffer_free, copy_h2d, copy_d2h, copy_d2d, stream_create,
 * stream_destroy, stream_synchronize, event_create, event_destroy,
 * event_record, stream_wait_event, event_synchronize, supports, launch. */
#define PLINTH_BACKEND_V1_MIN_STRUCT_SIZE PLINTH_STRUCT_SIZE(plinth_backend_v1, launch)

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* PLINTH_BACKEND_H */
