// conv.cpp — CONV2D and CONV2D_BACKWARD (NCHW, f32, contiguous) through
// oneDNN's convolution primitives: forward, backward data and backward
// weights (+ bias). Primitives are created once per (shapes, params) key and
// cached per instance, as ops/matmul.cpp does; the layouts are oneDNN's
// blocked ones where it prefers them, with reorders from and to the plain
// NCHW / OIHW tensors of the ABI. beta accumulation of dweight/dbias goes
// through a scratch result (oneDNN's backward has no sum post-op). Not here:
// groups, other dtypes (validate says unsupported).
//
// Notation: N batch, C input channels, H W input size, O output channels,
// KH KW kernel, OH OW output size.
#include <omp.h>

#include <oneapi/dnnl/dnnl.hpp>
#include <unordered_map>

#include "../cpu_backend.hpp"

namespace plinth::cpu {

namespace {

using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

// The shapes the contract checked (backends/common/op_contract.hpp), and the bias.
struct conv_shape : contract::conv2d_dims {
  conv_shape() = default;
  explicit conv_shape(const contract::conv2d_dims& d) : contract::conv2d_dims(d) {}
  bool bias = false;
  bool empty() const { return N == 0 || C == 0 || O == 0 || OH == 0 || OW == 0; }
};

// One oneDNN-side operand: its preferred descriptor and, when that differs
// from the plain ABI layout, the reorders between them.
struct operand {
  dnnl::memory::desc plain, internal;
  bool reorder = false;
  dnnl::reorder to_internal, to_plain;
};

}  // namespace

struct conv_entry {
  bool ok = false;
  conv_shape s;
  // forward
  dnnl::convolution_forward::primitive_desc fwd_pd;
  dnnl::convolution_forward fwd;
  operand f_src, f_wei, f_dst;
  // backward (created on first use)
  bool bwd_ready = false, bwd_ok = false;
  dnnl::convolution_backward_data bwd_data;
  dnnl::convolution_backward_weights bwd_wei;
  operand bd_dsrc, bd_wei, bd_ddst;  // backward data
  operand bw_src, bw_dwei, bw_ddst;  // backward weights
  dnnl::memory::desc bias_md;
};

struct conv_cache {
  dnnl::engine eng{dnnl::engine::kind::cpu, 0};
  std::mutex mu;
  std::unordered_map<std::string, std::shared_ptr<conv_entry>> map;
};

conv_cache* conv_cache_create() { return new conv_cache(); }
void conv_cache_destroy(conv_cache* m) { delete m; }

namespace {

dnnl::memory::dims dims4(int64_t a, int64_t b, int64_t c, int64_t d) { return {a, b, c, d}; }

operand make_operand(const dnnl::engine& eng, const dnnl::memory::desc& plain,
                     const dnnl::memory::desc& want) {
  operand o;
  o.plain = plain;
  o.internal = want;
  o.reorder = want != plain;
  if (o.reorder) {
    o.to_internal = dnnl::reorder(dnnl::reorder::primitive_desc(eng, plain, eng, want));
    o.to_plain = dnnl::reorder(dnnl::reorder::primitive_desc(eng, want, eng, plain));
  }
  return o;
}

std::string key_of(const conv_shape& s) {
  const int64_t f[] = {s.N,  s.C,  s.H,  s.W,  s.O,  s.KH, s.KW, s.OH,
                       s.OW, s.sh, s.sw, s.ph, s.pw, s.dh, s.dw, s.bias};
  return std::string(reinterpret_cast<const char*>(f), sizeof f);
}

void strides_pads(const conv_shape& s, dnnl::memory::dims& st, dnnl::memory::dims& di, dnnl::memory::dims& pl,
                  dnnl::memory::dims& pr) {
  st = {s.sh, s.sw};
  di = {s.dh - 1, s.dw - 1};  // oneDNN counts dilation from 0
  pl = {s.ph, s.pw};
  // Right padding that makes oneDNN's output size equal ours exactly (never
  // more than pad; rows that floor division drops are simply not read).
  pr = {(s.OH - 1) * s.sh + (s.KH - 1) * s.dh + 1 - s.H - s.ph,
        (s.OW - 1) * s.sw + (s.KW - 1) * s.dw + 1 - s.W - s.pw};
}

std::shared_ptr<conv_entry> get_entry(conv_cache& cache, const conv_shape& s) {
  const std::string key = key_of(s);
  {
    std::lock_guard<std::mutex> lk(cache.mu);
    auto it = cache.map.find(key);
    if (it != cache.map.end()) return it->second;
  }
  auto e = std::make_shared<conv_entry>();
  e->s = s;
  try {
    dnnl::memory::dims st, di, pl, pr;
    strides_pads(s, st, di, pl, pr);
    const dnnl::memory::desc src_plain(dims4(s.N, s.C, s.H, s.W), dt::f32, tag::nchw);
    const dnnl::memory::desc wei_plain(dims4(s.O, s.C, s.KH, s.KW), dt::f32, tag::oihw);
    const dnnl::memory::desc dst_plain(dims4(s.N, s.O, s.OH, s.OW), dt::f32, tag::nchw);
    const dnnl::memory::desc src_any(dims4(s.N, s.C, s.H, s.W), dt::f32, tag::any);
    const dnnl::memory::desc wei_any(dims4(s.O, s.C, s.KH, s.KW), dt::f32, tag::any);
    const dnnl::memory::desc dst_any(dims4(s.N, s.O, s.OH, s.OW), dt::f32, tag::any);
    e->bias_md = dnnl::memory::desc({s.O}, dt::f32, tag::x);
    dnnl::convolution_forward::desc fd =
        s.bias ? dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training,
                                                 dnnl::algorithm::convolution_direct, src_any, wei_any,
                                                 e->bias_md, dst_any, st, di, pl, pr)
               : dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training,
                                                 dnnl::algorithm::convolution_direct, src_any, wei_any,
                                                 dst_any, st, di, pl, pr);
    e->fwd_pd = dnnl::convolution_forward::primitive_desc(fd, cache.eng);
    e->fwd = dnnl::convolution_forward(e->fwd_pd);
    e->f_src = make_operand(cache.eng, src_plain, e->fwd_pd.src_desc());
    e->f_wei = make_operand(cache.eng, wei_plain, e->fwd_pd.weights_desc());
    e->f_dst = make_operand(cache.eng, dst_plain, e->fwd_pd.dst_desc());
    e->ok = true;
  } catch (const dnnl::error&) {
    e->ok = false;
  }
  std::lock_guard<std::mutex> lk(cache.mu);
  return cache.map.emplace(key, e).first->second;
}

// Backward primitives, made once per entry (under the cache lock).
bool ensure_backward(conv_cache& cache, conv_entry& e) {
  std::lock_guard<std::mutex> lk(cache.mu);
  if (e.bwd_ready) return e.bwd_ok;
  e.bwd_ready = true;
  const conv_shape& s = e.s;
  try {
    dnnl::memory::dims st, di, pl, pr;
    strides_pads(s, st, di, pl, pr);
    const dnnl::memory::desc src_plain(dims4(s.N, s.C, s.H, s.W), dt::f32, tag::nchw);
    const dnnl::memory::desc wei_plain(dims4(s.O, s.C, s.KH, s.KW), dt::f32, tag::oihw);
    const dnnl::memory::desc dst_plain(dims4(s.N, s.O, s.OH, s.OW), dt::f32, tag::nchw);
    const dnnl::memory::desc src_any(dims4(s.N, s.C, s.H, s.W), dt::f32, tag::any);
    const dnnl::memory::desc wei_any(dims4(s.O, s.C, s.KH, s.KW), dt::f32, tag::any);
    const dnnl::memory::desc dst_any(dims4(s.N, s.O, s.OH, s.OW), dt::f32, tag::any);
    dnnl::convolution_backward_data::desc bdd(dnnl::algorithm::convolution_direct, src_any, wei_any, dst_any,
                                              st, di, pl, pr);
    dnnl::convolution_backward_data::primitive_desc bd_pd(bdd, cache.eng, e.fwd_pd);
    e.bwd_data = dnnl::convolution_backward_data(bd_pd);
    e.bd_dsrc = make_operand(cache.eng, src_plain, bd_pd.diff_src_desc());
    e.bd_wei = make_operand(cache.eng, wei_plain, bd_pd.weights_desc());
    e.bd_ddst = make_operand(cache.eng, dst_plain, bd_pd.diff_dst_desc());
    // Backward weights always computes the bias gradient too (cheap: a sum
    // over N, OH, OW); it is dropped when the op does not ask for it.
    dnnl::convolution_backward_weights::desc bwd(dnnl::algorithm::convolution_direct, src_any, wei_any,
                                                 e.bias_md, dst_any, st, di, pl, pr);
    dnnl::convolution_backward_weights::primitive_desc bw_pd(bwd, cache.eng, e.fwd_pd);
    e.bwd_wei = dnnl::convolution_backward_weights(bw_pd);
    e.bw_src = make_operand(cache.eng, src_plain, bw_pd.src_desc());
    e.bw_dwei = make_operand(cache.eng, wei_plain, bw_pd.diff_weights_desc());
    e.bw_ddst = make_operand(cache.eng, dst_plain, bw_pd.diff_dst_desc());
    e.bwd_ok = true;
  } catch (const dnnl::error&) {
    e.bwd_ok = false;
  }
  return e.bwd_ok;
}

// Thread-local scratch memories for the internal layouts, one per role.
struct scratch {
  std::vector<float> v[6];
  float* get(int i, size_t bytes) {
    const size_t n = bytes / 4 + 16;
    if (v[i].size() < n) v[i].resize(n);
    return v[i].data();
  }
};
scratch& tls_scratch() {
  thread_local scratch s;
  return s;
}

// A oneDNN memory for operand `o` holding the plain tensor at `plain_ptr`:
// the plain memory itself, or an internal-layout scratch reordered from it
// when `load` (inputs) — outputs are reordered back by store().
dnnl::memory bind(const dnnl::engine& eng, dnnl::stream& strm, const operand& o, void* plain_ptr, int slot,
                  bool load) {
  if (!o.reorder) return dnnl::memory(o.plain, eng, plain_ptr);
  dnnl::memory in(o.internal, eng, tls_scratch().get(slot, o.internal.get_size()));
  if (load) {
    dnnl::memory p(o.plain, eng, plain_ptr);
    o.to_internal.execute(strm, p, in);
  }
  return in;
}
void store(const dnnl::engine& eng, dnnl::stream& strm, const operand& o, dnnl::memory& m, void* plain_ptr) {
  if (!o.reorder) return;
  dnnl::memory p(o.plain, eng, plain_ptr);
  o.to_plain.execute(strm, m, p);
}

const plinth_conv2d_params& conv_params(const plinth_op& op) {
  return *static_cast<const plinth_conv2d_params*>(op.params);
}

void set_threads(plinth_backend_ctx* ctx) {
  if (omp_get_max_threads() != onednn_threads(ctx)) omp_set_num_threads(onednn_threads(ctx));
}

// y = beta * y + src over n floats (beta 0: plain copy).
void accumulate(plinth_backend_ctx* ctx, float* y, const float* src, int64_t n, float beta) {
  parallel_for(ctx, n, 1, [&](int64_t lo, int64_t hi) {
    if (beta == 0.0f)
      std::memcpy(y + lo, src + lo, size_t(hi - lo) * 4);
    else
      for (int64_t i = lo; i < hi; ++i) y[i] = beta * y[i] + src[i];
  });
}

}  // namespace

bool conv2d_supported(plinth_backend_ctx* ctx, const plinth_op& op, const contract::conv2d_dims& d,
                      check& c) {
  conv_shape s(d);
  s.bias = op.num_inputs == 3;
  if (s.empty()) return true;
  if (!get_entry(*ctx->conv, s)->ok)
    return c.unsupported("oneDNN has no convolution for x " + shape_str(op.inputs[0]) + ", weight " +
                         shape_str(op.inputs[1]));
  return true;
}

plinth_status run_conv2d(plinth_backend_ctx* ctx, const plinth_op& op) {
  check c;
  conv_shape s;
  contract::conv2d_shapes(op.inputs[0], op.inputs[1], op.outputs[0], "out[0] y", conv_params(op), s, c);
  s.bias = op.num_inputs == 3;
  float* y = data_of<float>(op.outputs[0]);
  if (s.empty()) {
    // No products: y is the bias (or 0) everywhere it has elements.
    const float* b = s.bias ? data_of<float>(op.inputs[2]) : nullptr;
    const int64_t plane = s.OH * s.OW;
    for (int64_t n = 0; n < s.N; ++n)
      for (int64_t o = 0; o < s.O; ++o)
        for (int64_t i = 0; i < plane; ++i) y[(n * s.O + o) * plane + i] = b ? b[o] : 0.0f;
    return PLINTH_OK;
  }
  std::shared_ptr<conv_entry> e = get_entry(*ctx->conv, s);
  if (!e->ok)
    return sdk::fail(ctx->host, PLINTH_ERR_UNSUPPORTED, "cpu launch CONV2D: oneDNN has no convolution here");
  set_threads(ctx);
  dnnl::engine& eng = ctx->conv->eng;
  dnnl::stream strm(eng);
  dnnl::memory src = bind(eng, strm, e->f_src, data_of<void>(op.inputs[0]), 0, true);
  dnnl::memory wei = bind(eng, strm, e->f_wei, data_of<void>(op.inputs[1]), 1, true);
  dnnl::memory dst = bind(eng, strm, e->f_dst, y, 2, false);
  std::unordered_map<int, dnnl::memory> args{
      {DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, wei}, {DNNL_ARG_DST, dst}};
  if (s.bias) args.emplace(DNNL_ARG_BIAS, dnnl::memory(e->bias_md, eng, data_of<void>(op.inputs[2])));
  e->fwd.execute(strm, args);
  store(eng, strm, e->f_dst, dst, y);
  strm.wait();
  return PLINTH_OK;
}

bool conv2d_backward_supported(plinth_backend_ctx* ctx, const plinth_op& op, const contract::conv2d_dims& d,
                               check& c) {
  const conv_shape s(d);
  if (s.empty()) return true;
  auto e = get_entry(*ctx->conv, s);
  if (!e->ok || !ensure_backward(*ctx->conv, *e))
    return c.unsupported("oneDNN has no backward convolution for x " + shape_str(op.inputs[1]) + ", weight " +
                         shape_str(op.inputs[2]));
  return true;
}

plinth_status run_conv2d_backward(plinth_backend_ctx* ctx, const plinth_op& op) {
  check c;
  const plinth_conv2d_params* p = &conv_params(op);
  conv_shape s;
  contract::conv2d_shapes(op.inputs[1], op.inputs[2], op.inputs[0], "in[0] dy", *p, s, c);
  const bool want_dx = numel(op.outputs[0]) != 0;
  const bool want_dw = op.num_outputs >= 2, want_db = op.num_outputs == 3;
  const float beta = p->beta;
  float* dx = want_dx ? data_of<float>(op.outputs[0]) : nullptr;
  float* dw = want_dw ? data_of<float>(op.outputs[1]) : nullptr;
  float* db = want_db ? data_of<float>(op.outputs[2]) : nullptr;
  const int64_t wn = s.O * s.C * s.KH * s.KW;
  if (s.empty()) {
    // No products: every gradient is zero (dweight/dbias keep beta * old).
    if (dx) std::memset(dx, 0, size_t(numel(op.outputs[0])) * 4);
    for (auto [g, n] : {std::pair<float*, int64_t>{dw, wn}, {db, s.O}})
      if (g)
        for (int64_t i = 0; i < n; ++i) g[i] = beta == 0.0f ? 0.0f : beta * g[i];
    return PLINTH_OK;
  }
  std::shared_ptr<conv_entry> e = get_entry(*ctx->conv, s);
  if (!e->ok || !ensure_backward(*ctx->conv, *e))
    return sdk::fail(ctx->host, PLINTH_ERR_UNSUPPORTED,
                     "cpu launch CONV2D_BACKWARD: oneDNN has no backward convolution here");
  set_threads(ctx);
  dnnl::engine& eng = ctx->conv->eng;
  dnnl::stream strm(eng);
  void* dy_ptr = data_of<void>(op.inputs[0]);
  if (want_dx) {
    dnnl::memory ddst = bind(eng, strm, e->bd_ddst, dy_ptr, 0, true);
    dnnl::memory wei = bind(eng, strm, e->bd_wei, data_of<void>(op.inputs[2]), 1, true);
    dnnl::memory dsrc = bind(eng, strm, e->bd_dsrc, dx, 2, false);
    e->bwd_data.execute(strm,
                        {{DNNL_ARG_DIFF_DST, ddst}, {DNNL_ARG_WEIGHTS, wei}, {DNNL_ARG_DIFF_SRC, dsrc}});
    store(eng, strm, e->bd_dsrc, dsrc, dx);
  }
  if (want_dw) {
    // Written straight into dweight/dbias when beta == 0, else into scratch
    // that is then added.
    thread_local std::vector<float> dw_tmp, db_tmp;
    float* dw_out = dw;
    float* db_out = db;
    if (beta != 0.0f) {
      dw_tmp.resize(size_t(wn));
      dw_out = dw_tmp.data();
    }
    if (beta != 0.0f || !want_db) {
      db_tmp.resize(size_t(s.O));
      db_out = db_tmp.data();
    }
    dnnl::memory ddst = bind(eng, strm, e->bw_ddst, dy_ptr, 3, true);
    dnnl::memory src = bind(eng, strm, e->bw_src, data_of<void>(op.inputs[1]), 4, true);
    dnnl::memory dwei = bind(eng, strm, e->bw_dwei, dw_out, 5, false);
    dnnl::memory dbias(e->bias_md, eng, db_out);
    e->bwd_wei.execute(strm, {{DNNL_ARG_DIFF_DST, ddst},
                              {DNNL_ARG_SRC, src},
                              {DNNL_ARG_DIFF_WEIGHTS, dwei},
                              {DNNL_ARG_DIFF_BIAS, dbias}});
    store(eng, strm, e->bw_dwei, dwei, dw_out);
    strm.wait();
    if (beta != 0.0f) {
      accumulate(ctx, dw, dw_out, wn, beta);
      if (want_db) accumulate(ctx, db, db_out, s.O, beta);
    }
  }
  strm.wait();
  return PLINTH_OK;
}

}  // namespace plinth::cpu
