// conv_test.cpp — CONV2D, CONV2D_BACKWARD, POOL2D and POOL2D_BACKWARD on the
// CPU backend against naive loops in double (written from the definitions,
// independent of oneDNN), central finite differences of the backend's own
// forward, and the validation messages for shapes that do not fit.
#include <algorithm>
#include <cmath>
#include <limits>

#include "harness.hpp"

namespace {

using plinth::test::backend;
using plinth::test::expect_close;
using plinth::test::last_error;
using plinth::test::tensor;

struct conv_cfg {
  int64_t N, C, H, W, O, KH, KW;
  int32_t sh, sw, ph, pw, dh, dw;
  bool bias;
  int64_t OH() const { return (H + 2 * ph - dh * (KH - 1) - 1) / sh + 1; }
  int64_t OW() const { return (W + 2 * pw - dw * (KW - 1) - 1) / sw + 1; }
};

plinth_conv2d_params conv_p(const conv_cfg& g, float beta = 0.0f) {
  plinth_conv2d_params p{};
  p.struct_size = PLINTH_CONV2D_PARAMS_STRUCT_SIZE;
  p.stride_h = g.sh;
  p.stride_w = g.sw;
  p.pad_h = g.ph;
  p.pad_w = g.pw;
  p.dilation_h = g.dh;
  p.dilation_w = g.dw;
  p.beta = beta;
  return p;
}

// The input pixel that kernel tap (kh, kw) of output (oh, ow) reads, or
// false when it falls in the padding.
bool tap(const conv_cfg& g, int64_t oh, int64_t ow, int64_t kh, int64_t kw, int64_t& h, int64_t& w) {
  h = oh * g.sh - g.ph + kh * g.dh;
  w = ow * g.sw - g.pw + kw * g.dw;
  return h >= 0 && h < g.H && w >= 0 && w < g.W;
}

// y[n,o,oh,ow] = b[o] + sum_{c,kh,kw} x[n,c,h,w] * w[o,c,kh,kw]
std::vector<double> conv_ref(const conv_cfg& g, const float* x, const float* wt, const float* b) {
  const int64_t OH = g.OH(), OW = g.OW();
  std::vector<double> y(size_t(g.N * g.O * OH * OW));
  for (int64_t n = 0; n < g.N; ++n)
    for (int64_t o = 0; o < g.O; ++o)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          double acc = b ? b[o] : 0.0;
          for (int64_t c = 0; c < g.C; ++c)
            for (int64_t kh = 0; kh < g.KH; ++kh)
              for (int64_t kw = 0; kw < g.KW; ++kw) {
                int64_t h, w;
                if (tap(g, oh, ow, kh, kw, h, w))
                  acc += double(x[((n * g.C + c) * g.H + h) * g.W + w]) *
                         double(wt[((o * g.C + c) * g.KH + kh) * g.KW + kw]);
              }
          y[size_t(((n * g.O + o) * OH + oh) * OW + ow)] = acc;
        }
  return y;
}

// The adjoints of conv_ref: every (output, tap) pair scatters dy into dx and
// x * dy into dw.
void conv_bwd_ref(const conv_cfg& g, const float* dy, const float* x, const float* wt,
                  std::vector<double>& dx, std::vector<double>& dw, std::vector<double>& db) {
  const int64_t OH = g.OH(), OW = g.OW();
  dx.assign(size_t(g.N * g.C * g.H * g.W), 0.0);
  dw.assign(size_t(g.O * g.C * g.KH * g.KW), 0.0);
  db.assign(size_t(g.O), 0.0);
  for (int64_t n = 0; n < g.N; ++n)
    for (int64_t o = 0; o < g.O; ++o)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          const double d = dy[((n * g.O + o) * OH + oh) * OW + ow];
          db[size_t(o)] += d;
          for (int64_t c = 0; c < g.C; ++c)
            for (int64_t kh = 0; kh < g.KH; ++kh)
              for (int64_t kw = 0; kw < g.KW; ++kw) {
                int64_t h, w;
                if (!tap(g, oh, ow, kh, kw, h, w)) continue;
                const size_t xi = size_t(((n * g.C + c) * g.H + h) * g.W + w);
                const size_t wi = size_t(((o * g.C + c) * g.KH + kh) * g.KW + kw);
                dx[xi] += d * wt[wi];
                dw[wi] += d * x[xi];
              }
        }
}

const conv_cfg k_cases[] = {
    {2, 3, 7, 6, 4, 3, 3, 1, 1, 0, 0, 1, 1, true},   // plain 3x3
    {2, 1, 8, 8, 5, 5, 5, 1, 1, 2, 2, 1, 1, true},   // MNIST-style 5x5 pad 2
    {1, 2, 9, 7, 3, 3, 2, 2, 3, 1, 0, 1, 1, false},  // strides, no bias, non-square
    {2, 2, 9, 9, 3, 3, 3, 1, 2, 2, 1, 2, 2, true},   // dilation
    {3, 4, 5, 5, 2, 1, 1, 1, 1, 0, 0, 1, 1, true},   // 1x1
};

std::string name_of(const conv_cfg& g) {
  return "x (" + std::to_string(g.N) + "," + std::to_string(g.C) + "," + std::to_string(g.H) + "," +
         std::to_string(g.W) + ") w (" + std::to_string(g.O) + "," + std::to_string(g.C) + "," +
         std::to_string(g.KH) + "," + std::to_string(g.KW) + ") s " + std::to_string(g.sh) + "," +
         std::to_string(g.sw) + " p " + std::to_string(g.ph) + "," + std::to_string(g.pw) + " d " +
         std::to_string(g.dh) + "," + std::to_string(g.dw);
}

TEST(cpu_conv2d, forward_matches_naive_double_loops) {
  backend be(2);
  for (const conv_cfg& g : k_cases) {
    SCOPED_TRACE(name_of(g));
    tensor x = be.randn({g.N, g.C, g.H, g.W}, 1);
    tensor w = be.randn({g.O, g.C, g.KH, g.KW}, 2, 0.5f);
    tensor b = be.randn({g.O}, 3);
    tensor y = be.make({g.N, g.O, g.OH(), g.OW()});
    const auto p = conv_p(g);
    std::vector<plinth_tensor> ins{x.t, w.t};
    if (g.bias) ins.push_back(b.t);
    ASSERT_EQ(be.run(PLINTH_OP_CONV2D, ins, {y.t}, &p), PLINTH_OK) << last_error();
    expect_close(conv_ref(g, x.f(), w.f(), g.bias ? b.f() : nullptr), y.f(), 1e-5, 1e-5, "y");
  }
}

TEST(cpu_conv2d, backward_matches_naive_double_loops_and_accumulates_with_beta) {
  backend be(2);
  for (const conv_cfg& g : k_cases) {
    SCOPED_TRACE(name_of(g));
    tensor x = be.randn({g.N, g.C, g.H, g.W}, 4);
    tensor w = be.randn({g.O, g.C, g.KH, g.KW}, 5, 0.5f);
    tensor dy = be.randn({g.N, g.O, g.OH(), g.OW()}, 6);
    tensor dx = be.make({g.N, g.C, g.H, g.W});
    tensor dw = be.randn({g.O, g.C, g.KH, g.KW}, 7);  // old values: overwritten at beta 0
    tensor db = be.randn({g.O}, 8);
    std::vector<double> rdx, rdw, rdb;
    conv_bwd_ref(g, dy.f(), x.f(), w.f(), rdx, rdw, rdb);
    auto p = conv_p(g);
    ASSERT_EQ(be.run(PLINTH_OP_CONV2D_BACKWARD, {dy.t, x.t, w.t}, {dx.t, dw.t, db.t}, &p), PLINTH_OK)
        << last_error();
    expect_close(rdx, dx.f(), 1e-5, 1e-5, "dx");
    expect_close(rdw, dw.f(), 1e-5, 1e-5, "dweight");
    expect_close(rdb, db.f(), 1e-5, 1e-5, "dbias");

    // beta = 0.5 keeps half the old gradient; dx skipped by a 0-element out[0].
    std::vector<double> want_w(rdw.size()), want_b(rdb.size());
    for (size_t i = 0; i < rdw.size(); ++i) want_w[i] = 0.5 * dw.f()[i] + rdw[i];
    for (size_t i = 0; i < rdb.size(); ++i) want_b[i] = 0.5 * db.f()[i] + rdb[i];
    std::fill(dx.f(), dx.f() + dx.numel(), 7.0f);
    plinth_tensor none = dx.t;
    none.ndim = 1;
    none.shape[0] = 0;
    none.buffer = nullptr;
    p.beta = 0.5f;
    ASSERT_EQ(be.run(PLINTH_OP_CONV2D_BACKWARD, {dy.t, x.t, w.t}, {none, dw.t, db.t}, &p), PLINTH_OK)
        << last_error();
    expect_close(want_w, dw.f(), 1e-5, 1e-5, "dweight beta 0.5");
    expect_close(want_b, db.f(), 1e-5, 1e-5, "dbias beta 0.5");
    EXPECT_EQ(dx.f()[0], 7.0f) << "a skipped dx is not written";
  }
}

// L = sum(y * r) for a fixed random r: dL/dtheta by central differences of
// the backend's forward against the backend's backward. Conv is linear in x,
// weight and bias, so a large step has no truncation error.
TEST(cpu_conv2d, backward_matches_finite_differences_of_forward) {
  backend be(1);
  const conv_cfg g{2, 2, 6, 5, 3, 3, 2, 2, 1, 1, 1, 1, 1, true};
  tensor x = be.randn({g.N, g.C, g.H, g.W}, 11);
  tensor w = be.randn({g.O, g.C, g.KH, g.KW}, 12);
  tensor b = be.randn({g.O}, 13);
  tensor r = be.randn({g.N, g.O, g.OH(), g.OW()}, 14);
  tensor y = be.make({g.N, g.O, g.OH(), g.OW()});
  const auto p = conv_p(g);
  auto loss = [&] {
    EXPECT_EQ(be.run(PLINTH_OP_CONV2D, {x.t, w.t, b.t}, {y.t}, &p), PLINTH_OK) << last_error();
    double l = 0;
    for (int64_t i = 0; i < y.numel(); ++i) l += double(y.f()[i]) * r.f()[i];
    return l;
  };
  tensor dx = be.make({g.N, g.C, g.H, g.W});
  tensor dw = be.make({g.O, g.C, g.KH, g.KW});
  tensor db = be.make({g.O});
  ASSERT_EQ(be.run(PLINTH_OP_CONV2D_BACKWARD, {r.t, x.t, w.t}, {dx.t, dw.t, db.t}, &p), PLINTH_OK)
      << last_error();
  for (auto [param, grad, what] : {std::tuple{&x, &dx, "dx"}, {&w, &dw, "dweight"}, {&b, &db, "dbias"}}) {
    for (int64_t i = 0; i < param->numel(); ++i) {
      const float keep = param->f()[i];
      const float h = 0.5f;
      param->f()[i] = keep + h;
      const double up = loss();
      param->f()[i] = keep - h;
      const double down = loss();
      param->f()[i] = keep;
      EXPECT_NEAR(grad->f()[i], (up - down) / (2.0 * h), 1e-3) << what << " [" << i << "]";
    }
  }
}

TEST(cpu_conv2d, shapes_that_do_not_fit_are_errors_naming_them) {
  backend be(1);
  const conv_cfg g{1, 3, 4, 4, 2, 5, 5, 1, 1, 0, 0, 1, 1, false};
  const auto p = conv_p(g);
  tensor x = be.make({1, 3, 4, 4});
  tensor w = be.make({2, 3, 5, 5});
  tensor y = be.make({1, 2, 1, 1});
  EXPECT_EQ(be.run(PLINTH_OP_CONV2D, {x.t, w.t}, {y.t}, &p), PLINTH_ERR_INVALID_ARGUMENT);
  EXPECT_NE(last_error().find("kernel 5x5 (dilated) is larger than the padded input 4x4"), std::string::npos)
      << last_error();

  tensor w2 = be.make({2, 2, 3, 3});
  EXPECT_EQ(be.run(PLINTH_OP_CONV2D, {x.t, w2.t}, {y.t}, &p), PLINTH_ERR_INVALID_ARGUMENT);
  EXPECT_NE(last_error().find("weight (2, 2, 3, 3) has 2 input channels, x (1, 3, 4, 4) has 3"),
            std::string::npos)
      << last_error();

  tensor w3 = be.make({2, 3, 3, 3});
  EXPECT_EQ(be.run(PLINTH_OP_CONV2D, {x.t, w3.t}, {y.t}, &p), PLINTH_ERR_INVALID_ARGUMENT);
  EXPECT_NE(last_error().find("out[0] y (1, 2, 1, 1) must be (1, 2, 2, 2)"), std::string::npos)
      << last_error();

  tensor x3 = be.make({3, 4, 4});
  EXPECT_EQ(be.run(PLINTH_OP_CONV2D, {x3.t, w3.t}, {y.t}, &p), PLINTH_ERR_INVALID_ARGUMENT);
  EXPECT_NE(last_error().find("(3, 4, 4) must be (N, C, H, W)"), std::string::npos) << last_error();

  auto bad = p;
  bad.stride_h = 0;
  tensor y2 = be.make({1, 2, 2, 2});
  EXPECT_EQ(be.run(PLINTH_OP_CONV2D, {x.t, w3.t}, {y2.t}, &bad), PLINTH_ERR_INVALID_ARGUMENT);
  EXPECT_NE(last_error().find("must be >= 1"), std::string::npos) << last_error();
  EXPECT_EQ(be.supports(PLINTH_OP_CONV2D, {x.t, w3.t}, {y2.t}, &p), 1);
}

// ---------------------------------------------------------------------------
// Pooling
// ---------------------------------------------------------------------------

struct pool_cfg {
  int64_t N, C, H, W;
  int32_t kh, kw, sh, sw, ph, pw;
  int64_t OH() const { return (H + 2 * ph - kh) / sh + 1; }
  int64_t OW() const { return (W + 2 * pw - kw) / sw + 1; }
};

plinth_pool2d_params pool_p(const pool_cfg& g, plinth_pool_fn fn, int include_pad = 1) {
  plinth_pool2d_params p{};
  p.struct_size = PLINTH_POOL2D_PARAMS_STRUCT_SIZE;
  p.fn = fn;
  p.kernel_h = g.kh;
  p.kernel_w = g.kw;
  p.stride_h = g.sh;
  p.stride_w = g.sw;
  p.pad_h = g.ph;
  p.pad_w = g.pw;
  p.count_include_pad = include_pad;
  return p;
}

// Max (value and in-plane index of the first maximum) or average of each window.
void pool_ref(const pool_cfg& g, bool max, bool include_pad, const float* x, std::vector<double>& y,
              std::vector<int32_t>& idx) {
  const int64_t OH = g.OH(), OW = g.OW();
  y.assign(size_t(g.N * g.C * OH * OW), 0.0);
  idx.assign(y.size(), -1);
  for (int64_t pl = 0; pl < g.N * g.C; ++pl)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow) {
        double best = -std::numeric_limits<double>::infinity(), sum = 0;
        int32_t bi = -1;
        int64_t count = 0;
        for (int64_t kh = 0; kh < g.kh; ++kh)
          for (int64_t kw = 0; kw < g.kw; ++kw) {
            const int64_t h = oh * g.sh - g.ph + kh, w = ow * g.sw - g.pw + kw;
            if (h < 0 || h >= g.H || w < 0 || w >= g.W) continue;
            const double v = x[(pl * g.H + h) * g.W + w];
            ++count;
            sum += v;
            if (v > best) {
              best = v;
              bi = int32_t(h * g.W + w);
            }
          }
        const size_t o = size_t((pl * OH + oh) * OW + ow);
        y[o] = max ? best : sum / double(include_pad ? g.kh * g.kw : count);
        idx[o] = bi;
      }
}

const pool_cfg k_pools[] = {
    {2, 3, 8, 8, 2, 2, 2, 2, 0, 0},  // the CNN's 2x2 / 2
    {1, 2, 7, 9, 3, 3, 2, 2, 1, 1},  // overlapping windows with padding
    {2, 1, 5, 6, 3, 2, 1, 2, 0, 1},  // non-square, odd sizes
};

TEST(cpu_pool2d, max_and_avg_forward_match_naive_loops) {
  backend be(2);
  for (const pool_cfg& g : k_pools) {
    tensor x = be.randn({g.N, g.C, g.H, g.W}, 21);
    tensor y = be.make({g.N, g.C, g.OH(), g.OW()});
    tensor arg = be.make({g.N, g.C, g.OH(), g.OW()}, PLINTH_DTYPE_I32);
    std::vector<double> ry;
    std::vector<int32_t> ridx;
    auto p = pool_p(g, PLINTH_POOL_MAX);
    ASSERT_EQ(be.run(PLINTH_OP_POOL2D, {x.t}, {y.t, arg.t}, &p), PLINTH_OK) << last_error();
    pool_ref(g, true, true, x.f(), ry, ridx);
    expect_close(ry, y.f(), 0, 0, "max y");
    for (size_t i = 0; i < ridx.size(); ++i) EXPECT_EQ(arg.data<int32_t>()[i], ridx[i]) << "argmax " << i;
    for (int inc : {1, 0}) {
      p = pool_p(g, PLINTH_POOL_AVG, inc);
      ASSERT_EQ(be.run(PLINTH_OP_POOL2D, {x.t}, {y.t}, &p), PLINTH_OK) << last_error();
      pool_ref(g, false, inc != 0, x.f(), ry, ridx);
      expect_close(ry, y.f(), 1e-6, 1e-6, inc ? "avg y (count_include_pad)" : "avg y (in-bounds count)");
    }
  }
}

TEST(cpu_pool2d, first_maximum_wins_a_tie) {
  backend be(1);
  tensor x = be.make({1, 1, 2, 2}, {1.0f, 3.0f, 3.0f, 3.0f});
  tensor y = be.make({1, 1, 1, 1});
  tensor arg = be.make({1, 1, 1, 1}, PLINTH_DTYPE_I32);
  const auto p = pool_p({1, 1, 2, 2, 2, 2, 2, 2, 0, 0}, PLINTH_POOL_MAX);
  ASSERT_EQ(be.run(PLINTH_OP_POOL2D, {x.t}, {y.t, arg.t}, &p), PLINTH_OK) << last_error();
  EXPECT_EQ(y.f()[0], 3.0f);
  EXPECT_EQ(arg.data<int32_t>()[0], 1);
}

// L = sum(y * r): the backward of both pools against central differences of
// the forward. Inputs are spread out so no window's maximum changes within h.
TEST(cpu_pool2d, backward_matches_finite_differences_of_forward) {
  backend be(1);
  for (const pool_cfg& g : k_pools) {
    for (plinth_pool_fn fn : {PLINTH_POOL_MAX, PLINTH_POOL_AVG}) {
      for (int inc : {1, 0}) {
        if (fn == PLINTH_POOL_MAX && inc == 0) continue;
        tensor x = be.make({g.N, g.C, g.H, g.W});
        std::vector<float> vals(size_t(x.numel()));
        for (size_t i = 0; i < vals.size(); ++i) vals[i] = float(i) * 0.1f;
        std::mt19937 rng(31);
        std::shuffle(vals.begin(), vals.end(), rng);
        std::copy(vals.begin(), vals.end(), x.f());
        tensor r = be.randn({g.N, g.C, g.OH(), g.OW()}, 32);
        tensor y = be.make({g.N, g.C, g.OH(), g.OW()});
        tensor arg = be.make({g.N, g.C, g.OH(), g.OW()}, PLINTH_DTYPE_I32);
        tensor dx = be.make({g.N, g.C, g.H, g.W});
        const auto p = pool_p(g, fn, inc);
        const bool max = fn == PLINTH_POOL_MAX;
        auto loss = [&] {
          std::vector<plinth_tensor> outs{y.t};
          if (max) outs.push_back(arg.t);
          EXPECT_EQ(be.run(PLINTH_OP_POOL2D, {x.t}, outs, &p), PLINTH_OK) << last_error();
          double l = 0;
          for (int64_t i = 0; i < y.numel(); ++i) l += double(y.f()[i]) * r.f()[i];
          return l;
        };
        loss();
        std::vector<plinth_tensor> ins{r.t};
        if (max) ins.push_back(arg.t);
        std::fill(dx.f(), dx.f() + dx.numel(), 5.0f);  // overwritten, not accumulated
        ASSERT_EQ(be.run(PLINTH_OP_POOL2D_BACKWARD, ins, {dx.t}, &p), PLINTH_OK) << last_error();
        for (int64_t i = 0; i < x.numel(); ++i) {
          const float keep = x.f()[i];
          const float h = 0.01f;
          x.f()[i] = keep + h;
          const double up = loss();
          x.f()[i] = keep - h;
          const double down = loss();
          x.f()[i] = keep;
          EXPECT_NEAR(dx.f()[i], (up - down) / (2.0 * h), 2e-3) << (max ? "max" : "avg") << " [" << i << "]";
        }
      }
    }
  }
}

TEST(cpu_pool2d, bad_params_and_argmax_are_errors) {
  backend be(1);
  tensor x = be.make({1, 1, 4, 4});
  tensor y = be.make({1, 1, 2, 2});
  auto p = pool_p({1, 1, 4, 4, 2, 2, 2, 2, 0, 0}, PLINTH_POOL_MAX);
  p.pad_h = 2;
  EXPECT_EQ(be.run(PLINTH_OP_POOL2D, {x.t}, {y.t}, &p), PLINTH_ERR_INVALID_ARGUMENT);
  EXPECT_NE(last_error().find("half the kernel"), std::string::npos) << last_error();
  p = pool_p({1, 1, 4, 4, 5, 5, 1, 1, 0, 0}, PLINTH_POOL_AVG);
  EXPECT_EQ(be.run(PLINTH_OP_POOL2D, {x.t}, {y.t}, &p), PLINTH_ERR_INVALID_ARGUMENT);
  EXPECT_NE(last_error().find("kernel 5x5 is larger than the padded input 4x4"), std::string::npos)
      << last_error();
  p = pool_p({1, 1, 4, 4, 2, 2, 1, 1, 0, 0}, PLINTH_POOL_AVG);
  EXPECT_EQ(be.run(PLINTH_OP_POOL2D, {x.t}, {y.t}, &p), PLINTH_ERR_INVALID_ARGUMENT);
  EXPECT_NE(last_error().find("out[0] y (1, 1, 2, 2) must be (1, 1, 3, 3)"), std::string::npos)
      << last_error();
  // An argmax pointing outside its plane is refused, not written through.
  p = pool_p({1, 1, 4, 4, 2, 2, 2, 2, 0, 0}, PLINTH_POOL_MAX);
  tensor arg = be.make({1, 1, 2, 2}, PLINTH_DTYPE_I32);
  for (int i = 0; i < 4; ++i) arg.data<int32_t>()[i] = i == 2 ? 16 : 0;
  EXPECT_EQ(be.run(PLINTH_OP_POOL2D_BACKWARD, {y.t, arg.t}, {x.t}, &p), PLINTH_ERR_INVALID_ARGUMENT);
  EXPECT_NE(last_error().find("outside its 4x4 plane"), std::string::npos) << last_error();
  // Max backward needs the argmax.
  EXPECT_EQ(be.run(PLINTH_OP_POOL2D_BACKWARD, {y.t}, {x.t}, &p), PLINTH_ERR_INVALID_ARGUMENT);
  EXPECT_NE(last_error().find("takes 2 inputs (dy, argmax)"), std::string::npos) << last_error();
}

}  // namespace
