// matmul.cpp — MATMUL through oneDNN: out = alpha * op(A) @ op(B) + beta *
// out (+ bias), with batch dims broadcast by size 1 or stride 0. Two engines:
// - the matmul primitive: transposes become memory descriptors with swapped
//   strides; alpha is an output scale, beta a sum post-op and the bias a
//   binary-add post-op (so the bias is not scaled by alpha). Primitives are
//   created once per (shapes, strides, dtypes, alpha, beta, bias) key and
//   cached per instance. f16/bf16 inputs with f32 output run natively when
//   oneDNN has a kernel for this CPU, else both inputs are converted to f32
//   first (same result: the products of f16/bf16 values are exact in f32
//   accumulation either way up to summation order).
// - dnnl_sgemm (row-major BLAS-style C API) for 2-d f32 products, which takes
//   transposes as flags and has no primitive to create or memory objects to
//   wrap; the bias is added afterwards.
// choose_path says which runs a given product (measured with
// bench/cpu_matmul_bench.cpp). Debian's libdnnl 2.6 uses OpenMP threading:
// the calling thread's OpenMP thread count is set to the instance's
// `threads`.
#include <omp.h>

#include <oneapi/dnnl/dnnl.h>

#include <atomic>
#include <oneapi/dnnl/dnnl.hpp>
#include <unordered_map>

#include "../cpu_backend.hpp"

namespace plinth::cpu {

struct matmul_entry {
  bool ok = false;
  dnnl::matmul prim;
  dnnl::matmul::primitive_desc pd;
};

struct matmul_cache {
  dnnl::engine eng{dnnl::engine::kind::cpu, 0};
  std::mutex mu;
  std::unordered_map<std::string, std::shared_ptr<matmul_entry>> map;
};

matmul_cache* matmul_cache_create() { return new matmul_cache(); }

int matmul_native(plinth_dtype dtype) {
  auto probe = [](dnnl::memory::data_type dt) {
    try {
      dnnl::engine eng(dnnl::engine::kind::cpu, 0);
      const dnnl::memory::dims d{64, 64};
      dnnl::memory::desc a(d, dt, dnnl::memory::format_tag::ab),
          c(d, dnnl::memory::data_type::f32, dnnl::memory::format_tag::ab);
      dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a, a, c), eng);
      // oneDNN's reference kernels ("ref:any") are correct but slower than
      // converting to f32 first.
      return std::string(pd.impl_info_str()).rfind("ref", 0) != 0 ? 1 : 0;
    } catch (const dnnl::error&) {
      return 0;
    }
  };
  static const int bf16 = probe(dnnl::memory::data_type::bf16);
  static const int f16 = probe(dnnl::memory::data_type::f16);
  return dtype == PLINTH_DTYPE_BF16 ? bf16 : dtype == PLINTH_DTYPE_F16 ? f16 : 1;
}
void matmul_cache_destroy(matmul_cache* m) { delete m; }

std::thread start_sgemm_warm_up() {
  static std::atomic<bool> started{false};
  if (started.exchange(true)) return {};
  return std::thread([] {
    omp_set_num_threads(1);  // this thread's own: no OpenMP team for an 8x8 product
    float a[64] = {}, b[64] = {}, c[64];
    dnnl_sgemm('N', 'N', 8, 8, 8, 1.f, a, 8, b, 8, 0.f, c, 8);
  });
}

namespace {
std::atomic<int> forced_path{int(matmul_path::automatic)};
}
void set_matmul_path(matmul_path p) { forced_path.store(int(p)); }

namespace {

// A matmul problem in oneDNN terms: every tensor has the output's ndim.
struct problem {
  int nd = 0;
  dnnl::memory::dims a_dims, a_strides, b_dims, b_strides, c_dims, c_strides;
  dnnl::memory::data_type in_dt = dnnl::memory::data_type::f32;
  float alpha = 1.0f, beta = 0.0f;
  bool bias = false;
  int64_t M = 0, N = 0, K = 0, batch = 1;
};

dnnl::memory::data_type to_dnnl(plinth_dtype d) {
  switch (d) {
    case PLINTH_DTYPE_BF16:
      return dnnl::memory::data_type::bf16;
    case PLINTH_DTYPE_F16:
      return dnnl::memory::data_type::f16;
    default:
      return dnnl::memory::data_type::f32;
  }
}

// Dims/strides of input `t` as an nd-dim oneDNN operand (rows, cols) after
// the optional transpose; batch dims broadcast (size 1) where t has size 1,
// stride 0 or no such dim.
void operand(const plinth_tensor& t, bool trans, int nd, dnnl::memory::dims& dims,
             dnnl::memory::dims& strides) {
  dims.assign(size_t(nd), 1);
  strides.assign(size_t(nd), 0);
  const int lead = nd - t.ndim;
  for (int d = 0; d < t.ndim; ++d) {
    dims[static_cast<size_t>(lead) + static_cast<size_t>(d)] = t.shape[d];
    strides[static_cast<size_t>(lead) + static_cast<size_t>(d)] = t.strides[d];
  }
  if (trans) {
    std::swap(dims[size_t(nd - 1)], dims[size_t(nd - 2)]);
    std::swap(strides[size_t(nd - 1)], strides[size_t(nd - 2)]);
  }
  for (int d = 0; d < nd - 2; ++d)
    if (strides[size_t(d)] == 0) dims[size_t(d)] = 1;
  // Size-1 dims get the stride a dense layout would give them.
  for (int d = nd - 1; d >= 0; --d) {
    if (dims[size_t(d)] != 1) continue;
    int64_t s = 1;
    for (int e = d + 1; e < nd; ++e)
      if (dims[size_t(e)] != 1) s = std::max<int64_t>(s, strides[size_t(e)] * dims[size_t(e)]);
    strides[size_t(d)] = s;
  }
}

bool build_problem(const plinth_op& op, problem& pr, check& c) {
  const auto* p = static_cast<const plinth_matmul_params*>(op.params);
  const plinth_tensor& a = op.inputs[0];
  const plinth_tensor& b = op.inputs[1];
  const plinth_tensor& out = op.outputs[0];
  const int nd = out.ndim;  // ranks checked by contract::matmul_operands
  pr.nd = nd;
  operand(a, p->trans_a != 0, nd, pr.a_dims, pr.a_strides);
  operand(b, p->trans_b != 0, nd, pr.b_dims, pr.b_strides);
  pr.c_dims.assign(out.shape, out.shape + nd);
  pr.c_strides.assign(out.strides, out.strides + nd);
  pr.M = out.shape[nd - 2];
  pr.N = out.shape[nd - 1];
  pr.K = pr.a_dims[size_t(nd - 1)];
  if (pr.a_dims[size_t(nd - 2)] != pr.M || pr.b_dims[size_t(nd - 1)] != pr.N ||
      pr.b_dims[size_t(nd - 2)] != pr.K)
    return contract::matmul_no_chain(op, pr.a_dims[size_t(nd - 2)], pr.K, pr.b_dims[size_t(nd - 2)],
                                     pr.b_dims[size_t(nd - 1)], c);
  for (int d = 0; d < nd - 2; ++d) {
    if (out.shape[d] > 1 && out.strides[d] == 0) return c.unsupported("out[0] has a stride-0 batch dim");
    if ((pr.a_dims[size_t(d)] != 1 && pr.a_dims[size_t(d)] != out.shape[d]) ||
        (pr.b_dims[size_t(d)] != 1 && pr.b_dims[size_t(d)] != out.shape[d]))
      return contract::matmul_no_broadcast(op, d, c);
    pr.batch *= out.shape[d];
  }
  if ((pr.M > 1 && out.strides[nd - 2] == 0) || (pr.N > 1 && out.strides[nd - 1] == 0))
    return c.unsupported("out[0] has a stride-0 dim");
  pr.in_dt = to_dnnl(a.dtype);
  pr.alpha = p->alpha;
  pr.beta = p->beta;
  pr.bias = op.num_inputs == 3;
  return true;
}

std::string key_of(const problem& pr) {
  std::string k;
  auto put = [&](const void* p, size_t n) { k.append(static_cast<const char*>(p), n); };
  put(&pr.nd, sizeof pr.nd);
  for (auto* v : {&pr.a_dims, &pr.a_strides, &pr.b_dims, &pr.b_strides, &pr.c_dims, &pr.c_strides})
    put(v->data(), v->size() * sizeof(int64_t));
  put(&pr.in_dt, sizeof pr.in_dt);
  put(&pr.alpha, sizeof pr.alpha);
  put(&pr.beta, sizeof pr.beta);
  put(&pr.bias, sizeof pr.bias);
  return k;
}

dnnl::memory::desc bias_md(const problem& pr) {
  dnnl::memory::dims d(size_t(pr.nd), 1), s(size_t(pr.nd), pr.N);
  d[size_t(pr.nd - 1)] = pr.N;
  s[size_t(pr.nd - 1)] = 1;
  return dnnl::memory::desc(d, dnnl::memory::data_type::f32, s);
}

std::shared_ptr<matmul_entry> get_entry(matmul_cache& cache, const problem& pr) {
  const std::string key = key_of(pr);
  {
    std::lock_guard<std::mutex> lk(cache.mu);
    auto it = cache.map.find(key);
    if (it != cache.map.end()) return it->second;
  }
  auto e = std::make_shared<matmul_entry>();
  try {
    using dt = dnnl::memory::data_type;
    dnnl::memory::desc a_md(pr.a_dims, pr.in_dt, pr.a_strides);
    dnnl::memory::desc b_md(pr.b_dims, pr.in_dt, pr.b_strides);
    dnnl::memory::desc c_md(pr.c_dims, dt::f32, pr.c_strides);
    dnnl::primitive_attr attr;
    if (pr.alpha != 1.0f) attr.set_output_scales(0, {pr.alpha});
    dnnl::post_ops po;
    if (pr.beta != 0.0f) po.append_sum(pr.beta);
    if (pr.bias) po.append_binary(dnnl::algorithm::binary_add, bias_md(pr));
    attr.set_post_ops(po);
    dnnl::matmul::desc desc(a_md, b_md, c_md);
    e->pd = dnnl::matmul::primitive_desc(desc, attr, cache.eng);
    e->prim = dnnl::matmul(e->pd);
    e->ok = true;
  } catch (const dnnl::error&) {
    e->ok = false;
  }
  std::lock_guard<std::mutex> lk(cache.mu);
  return cache.map.emplace(key, e).first->second;
}

// The f32 problem the f16/bf16 fallback runs: inputs converted to dense f32
// copies of their own (untransposed) shapes.
plinth_tensor dense_view(const plinth_tensor& t, plinth_dtype dt) {
  plinth_tensor d = t;
  d.dtype = dt;
  d.offset = 0;
  int64_t s = 1;
  for (int i = t.ndim - 1; i >= 0; --i) {
    d.strides[i] = s;
    s *= t.shape[i];
  }
  return d;
}

plinth_tensor dense_f32_view(const plinth_tensor& t) { return dense_view(t, PLINTH_DTYPE_F32); }

// in[0] as (.., M, K): its last two dims swapped (a strided view of the
// stored (.., K, M) tensor).
plinth_tensor transposed_view(const plinth_tensor& a) {
  plinth_tensor v = a;
  std::swap(v.shape[a.ndim - 1], v.shape[a.ndim - 2]);
  std::swap(v.strides[a.ndim - 1], v.strides[a.ndim - 2]);
  return v;
}

bool degenerate(const problem& pr) { return pr.M == 0 || pr.N == 0 || pr.batch == 0 || pr.K == 0; }

// dnnl_sgemm's view of a 2-d f32 problem: each operand row-major with one
// unit stride ('N') or column-major ('T'), out row-major.
struct sgemm_args {
  char ta = 'N', tb = 'N';
  int64_t lda = 0, ldb = 0, ldc = 0;
};

// One operand (rows, cols) with strides (sr, sc): 'N' with ld = sr when its
// columns are contiguous, 'T' with ld = sc when its rows are. Size-1 dims
// carry dense strides (see operand), so vectors resolve to 'N'.
bool blas_operand(int64_t rows, int64_t cols, int64_t sr, int64_t sc, char& t, int64_t& ld) {
  if (sc == 1 && sr >= std::max<int64_t>(1, cols)) {
    t = 'N';
    ld = sr;
    return true;
  }
  if (sr == 1 && sc >= std::max<int64_t>(1, rows)) {
    t = 'T';
    ld = sc;
    return true;
  }
  return false;
}

bool sgemm_layout(const problem& pr, sgemm_args& g) {
  if (pr.in_dt != dnnl::memory::data_type::f32 || pr.batch != 1) return false;
  const size_t r = size_t(pr.nd - 2), c = size_t(pr.nd - 1);
  if (!blas_operand(pr.M, pr.K, pr.a_strides[r], pr.a_strides[c], g.ta, g.lda) ||
      !blas_operand(pr.K, pr.N, pr.b_strides[r], pr.b_strides[c], g.tb, g.ldb))
    return false;
  if (pr.N > 1 && pr.c_strides[c] != 1) return false;
  g.ldc = pr.M == 1 ? std::max<int64_t>(1, pr.N) : pr.c_strides[r];
  return g.ldc >= std::max<int64_t>(1, pr.N);
}

// Which way runs this product (forced by set_matmul_path, else by shape and
// dtype). From bench/cpu_matmul_bench.cpp (BM_matmul_path) at the MLP and
// char-GPT step shapes on an AVX-512-bf16 CPU (docs/PERFORMANCE.md):
// - 2-d f32: dnnl_sgemm, except A x B^T (the forward y = x W^T), where the
//   primitive was up to 1.2x faster; for A^T x B (dW = dy^T x) sgemm was
//   1.0-1.5x faster than the primitive and up to 2.2x faster than copying A.
// - 2-d bf16 (no bf16 GEMM in dnnl.h): the primitive on the strided A; for
//   A^T x B it was 1.1-2.3x faster than copying A first.
// - batched products keep copying a transposed A (not measured otherwise).
matmul_path choose_path(const problem& pr, bool trans_a, bool trans_b) {
  sgemm_args g;
  const bool sgemm_ok = sgemm_layout(pr, g);
  switch (matmul_path(forced_path.load())) {
    case matmul_path::copy_a:
      return trans_a ? matmul_path::copy_a : matmul_path::primitive;
    case matmul_path::primitive:
      return matmul_path::primitive;
    case matmul_path::sgemm:
      return sgemm_ok ? matmul_path::sgemm : matmul_path::primitive;
    case matmul_path::automatic:
      break;
  }
  if (pr.batch != 1) return trans_a ? matmul_path::copy_a : matmul_path::primitive;
  if (sgemm_ok && (trans_a || !trans_b)) return matmul_path::sgemm;
  return matmul_path::primitive;
}

// out = alpha op(A) op(B) + beta out (+ bias) through dnnl_sgemm; false when
// oneDNN refuses the arguments (the caller falls back to the primitive).
bool run_sgemm(plinth_backend_ctx* ctx, const plinth_op& op, const problem& pr) {
  sgemm_args g;
  if (!sgemm_layout(pr, g)) return false;
  if (omp_get_max_threads() != onednn_threads(ctx)) omp_set_num_threads(onednn_threads(ctx));
  float* C = data_of<float>(op.outputs[0]);
  if (dnnl_sgemm(g.ta, g.tb, pr.M, pr.N, pr.K, pr.alpha, data_of<float>(op.inputs[0]), g.lda,
                 data_of<float>(op.inputs[1]), g.ldb, pr.beta, C, g.ldc) != dnnl_success)
    return false;
  if (pr.bias) {
    const plinth_tensor& bt = op.inputs[2];
    const float* bias = data_of<float>(bt);
    const int64_t bs = bt.strides[bt.ndim - 1];
    for (int64_t m = 0; m < pr.M; ++m) {
      float* row = C + m * g.ldc;
      if (bs == 1)
        for (int64_t n = 0; n < pr.N; ++n) row[n] += bias[n];
      else
        for (int64_t n = 0; n < pr.N; ++n) row[n] += bias[n * bs];
    }
  }
  return true;
}

}  // namespace

bool validate_matmul(plinth_backend_ctx* ctx, const plinth_op& op, check& c) {
  // oneDNN's matmul writes f32 only here (lowp_out false).
  if (!contract::matmul_operands(op, false, c)) return false;
  const plinth_tensor& a = op.inputs[0];
  const plinth_tensor& b = op.inputs[1];
  problem pr;
  if (!build_problem(op, pr, c) || !contract::matmul_bias(op, c)) return false;
  if (degenerate(pr)) return true;
  const auto* mp = static_cast<const plinth_matmul_params*>(op.params);
  const bool trans_a = mp->trans_a != 0;
  const matmul_path path = choose_path(pr, trans_a, mp->trans_b != 0);
  sgemm_args g;
  if (path == matmul_path::sgemm && sgemm_layout(pr, g)) return true;
  if (trans_a && (path == matmul_path::copy_a || !get_entry(*ctx->matmul, pr)->ok)) {
    // Run as a dense copy of op(A) with trans_a = 0 (see run_matmul).
    plinth_matmul_params px = *static_cast<const plinth_matmul_params*>(op.params);
    px.trans_a = 0;
    plinth_tensor ins[3] = {dense_view(transposed_view(a), a.dtype), b,
                            op.num_inputs == 3 ? op.inputs[2] : a};
    plinth_op opx = op;
    opx.inputs = ins;
    opx.params = &px;
    return validate_matmul(ctx, opx, c);
  }
  if (get_entry(*ctx->matmul, pr)->ok) return true;
  if (a.dtype != PLINTH_DTYPE_F32) {
    plinth_op op32 = op;
    plinth_tensor ins[3] = {dense_f32_view(a), dense_f32_view(b), op.num_inputs == 3 ? op.inputs[2] : a};
    op32.inputs = ins;
    problem p32;
    check c32;
    if (build_problem(op32, p32, c32) && get_entry(*ctx->matmul, p32)->ok) return true;
  }
  return c.unsupported("oneDNN has no matmul for this layout (" + shape_str(a) + " x " + shape_str(b) + ")");
}

plinth_status run_matmul(plinth_backend_ctx* ctx, const plinth_op& op) {
  check c;
  problem pr;
  build_problem(op, pr, c);
  const plinth_tensor& out = op.outputs[0];
  if (pr.M == 0 || pr.N == 0 || pr.batch == 0) return PLINTH_OK;
  if (pr.K == 0) {
    // Empty product: out = beta * out (+ bias).
    const float* bias = pr.bias ? data_of<float>(op.inputs[2]) : nullptr;
    float* o = data_of<float>(out);
    const int nd = out.ndim;
    for (int64_t bi = 0; bi < pr.batch; ++bi) {
      int64_t off = 0, r = bi;
      for (int d = nd - 3; d >= 0; --d) {
        off += (r % out.shape[d]) * out.strides[d];
        r /= out.shape[d];
      }
      for (int64_t m = 0; m < pr.M; ++m)
        for (int64_t n = 0; n < pr.N; ++n) {
          float& v = o[off + m * out.strides[nd - 2] + n * out.strides[nd - 1]];
          v = (pr.beta == 0.0f ? 0.0f : pr.beta * v) + (bias ? bias[n] : 0.0f);
        }
    }
    return PLINTH_OK;
  }

  const auto* mp = static_cast<const plinth_matmul_params*>(op.params);
  const bool trans_a = mp->trans_a != 0;
  const matmul_path path = choose_path(pr, trans_a, mp->trans_b != 0);
  if (path == matmul_path::sgemm && run_sgemm(ctx, op, pr)) return PLINTH_OK;
  std::shared_ptr<matmul_entry> e;
  if (!trans_a || path != matmul_path::copy_a) e = get_entry(*ctx->matmul, pr);
  // oneDNN 2.6's matmul primitive is slow for a transposed A at some shapes
  // (up to 70x at N = 10); copying op(A) densely costs M*K, against M*N*K
  // for the product, and then runs the fast non-transposed kernel.
  if (trans_a && (!e || !e->ok)) {
    thread_local std::vector<char> scratch;
    const plinth_tensor& a = op.inputs[0];
    const plinth_tensor view = transposed_view(a);
    plinth_tensor dense = dense_view(view, a.dtype);
    scratch.resize(size_t(numel(a)) * dtype_size(a.dtype) + 64);
    plinth_buffer buf;
    buf.data = scratch.data();
    buf.size = scratch.size();
    dense.buffer = &buf;
    plinth_op cast{};
    cast.struct_size = PLINTH_OP_STRUCT_SIZE;
    cast.kind = PLINTH_OP_CAST;
    cast.num_inputs = 1;
    cast.inputs = &view;
    cast.num_outputs = 1;
    cast.outputs = &dense;
    // Copied on this thread only: waking the pool next to oneDNN's OpenMP
    // team oversubscribes the cores (both spin-wait).
    static plinth_backend_ctx serial;  // threads = 1, never uses a pool
    run_cast(&serial, cast);
    plinth_matmul_params px = *static_cast<const plinth_matmul_params*>(op.params);
    px.trans_a = 0;
    plinth_tensor ins[3] = {dense, op.inputs[1], op.num_inputs == 3 ? op.inputs[2] : dense};
    plinth_op opx = op;
    opx.inputs = ins;
    opx.params = &px;
    return run_matmul(ctx, opx);
  }
  const plinth_tensor* A = &op.inputs[0];
  const plinth_tensor* B = &op.inputs[1];
  // f16/bf16 without a native kernel: dense f32 copies through CAST.
  thread_local std::vector<float> a32, b32;  // reused: no allocation per step
  plinth_buffer abuf, bbuf;
  plinth_tensor ta, tb;
  if (!e->ok && A->dtype != PLINTH_DTYPE_F32) {
    auto convert = [&](const plinth_tensor& src, std::vector<float>& store, plinth_buffer& buf,
                       plinth_tensor& view) {
      view = dense_f32_view(src);
      store.resize(size_t(numel(src)));
      buf.data = store.data();
      buf.size = store.size() * 4;
      view.buffer = &buf;
      plinth_op cast{};
      cast.struct_size = PLINTH_OP_STRUCT_SIZE;
      cast.kind = PLINTH_OP_CAST;
      cast.num_inputs = 1;
      cast.inputs = &src;
      cast.num_outputs = 1;
      cast.outputs = &view;
      run_cast(ctx, cast);
    };
    convert(*A, a32, abuf, ta);
    convert(*B, b32, bbuf, tb);
    plinth_op op32 = op;
    plinth_tensor ins[3] = {ta, tb, op.num_inputs == 3 ? op.inputs[2] : ta};
    op32.inputs = ins;
    problem p32;
    build_problem(op32, p32, c);
    e = get_entry(*ctx->matmul, p32);
    A = &ta;
    B = &tb;
  }
  if (!e->ok)
    return sdk::fail(ctx->host, PLINTH_ERR_UNSUPPORTED,
                     "cpu launch MATMUL: oneDNN has no matmul for this layout");

  if (omp_get_max_threads() != onednn_threads(ctx)) omp_set_num_threads(onednn_threads(ctx));
  dnnl::stream strm(ctx->matmul->eng);
  dnnl::memory am(e->pd.src_desc(), ctx->matmul->eng, data_of<void>(*A));
  dnnl::memory bm(e->pd.weights_desc(), ctx->matmul->eng, data_of<void>(*B));
  dnnl::memory cm(e->pd.dst_desc(), ctx->matmul->eng, data_of<void>(out));
  std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_SRC, am}, {DNNL_ARG_WEIGHTS, bm}, {DNNL_ARG_DST, cm}};
  if (pr.bias) {
    const int idx = pr.beta != 0.0f ? 1 : 0;
    args.emplace(DNNL_ARG_ATTR_MULTIPLE_POST_OP(idx) | DNNL_ARG_SRC_1,
                 dnnl::memory(bias_md(pr), ctx->matmul->eng, data_of<void>(op.inputs[2])));
  }
  e->prim.execute(strm, args);
  strm.wait();
  return PLINTH_OK;
}

}  // namespace plinth::cpu
