// batchnorm_test.cpp — BATCHNORM and BATCHNORM_BACKWARD of the CPU backend
// against a double-precision reference written here (forward, running
// statistics, eval, and the backward's closed form) and against central
// finite differences of that reference; the same bits for 1, 2 and 3
// threads; the contract's errors. PyTorch's values are in
// batchnorm_torch_test.cpp.
#include <functional>

#include "harness.hpp"

using namespace plinth::test;

namespace {

// x viewed as (N, C, S).
struct dims {
  int64_t N, C, S;
  std::vector<int64_t> shape;  // the tensor's shape: (N, C, rest...)
};

std::vector<double> to_d(const tensor& t) {
  std::vector<double> v(static_cast<size_t>(t.numel()));
  for (size_t i = 0; i < v.size(); ++i) v[i] = t.f()[i];
  return v;
}

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

// Central differences of scalar f at x, one element at a time.
std::vector<double> fd_grad(std::vector<double> x, const std::function<double(const std::vector<double>&)>& f,
                            double h = 1e-4) {
  std::vector<double> g(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const double keep = x[i];
    x[i] = keep + h;
    const double fp = f(x);
    x[i] = keep - h;
    const double fm = f(x);
    x[i] = keep;
    g[i] = (fp - fm) / (2 * h);
  }
  return g;
}

struct bn_ref {
  std::vector<double> y, mean, var;  // var biased
};

// torch.nn.functional.batch_norm(training = true), in double.
bn_ref batchnorm_ref(const std::vector<double>& x, const std::vector<double>& g, const std::vector<double>& b,
                     const dims& d, double eps) {
  bn_ref r{std::vector<double>(x.size()), std::vector<double>(size_t(d.C)), std::vector<double>(size_t(d.C))};
  const double M = double(d.N * d.S);
  for (int64_t c = 0; c < d.C; ++c) {
    double m = 0, v = 0;
    for (int64_t n = 0; n < d.N; ++n)
      for (int64_t s = 0; s < d.S; ++s) m += x[size_t((n * d.C + c) * d.S + s)];
    m /= M;
    for (int64_t n = 0; n < d.N; ++n)
      for (int64_t s = 0; s < d.S; ++s) {
        const double e = x[size_t((n * d.C + c) * d.S + s)] - m;
        v += e * e;
      }
    v /= M;
    r.mean[size_t(c)] = m;
    r.var[size_t(c)] = v;
    for (int64_t n = 0; n < d.N; ++n)
      for (int64_t s = 0; s < d.S; ++s) {
        const size_t i = size_t((n * d.C + c) * d.S + s);
        r.y[i] = (x[i] - m) / std::sqrt(v + eps) * g[size_t(c)] + b[size_t(c)];
      }
  }
  return r;
}

std::vector<dims> shapes() {
  return {
      {4, 3, 1, {4, 3}},            // BatchNorm1d on features
      {2, 1, 1, {2, 1}},            // the smallest training batch
      {7, 5, 1, {7, 5}},            // odd
      {3, 4, 7, {3, 4, 7}},         // BatchNorm1d on (N, C, L)
      {2, 3, 15, {2, 3, 5, 3}},     // BatchNorm2d, odd H, W
      {1, 6, 9, {1, 6, 3, 3}},      // N = 1
      {5, 17, 11, {5, 17, 11, 1}},  // S not a multiple of the 8 lanes
      {300, 9, 1, {300, 9}},        // long channels, S = 1
      {8, 70, 81, {8, 70, 9, 9}},   // larger than the inline threshold
  };
}

plinth_batchnorm_params bn_params(float eps, float momentum, int training) {
  plinth_batchnorm_params p{};
  p.struct_size = PLINTH_BATCHNORM_PARAMS_STRUCT_SIZE;
  p.eps = eps;
  p.momentum = momentum;
  p.training = training;
  return p;
}

}  // namespace

TEST(cpu_batchnorm, training_forward_and_running_stats_match_double_reference) {
  backend b(2);
  for (const dims& d : shapes()) {
    SCOPED_TRACE(::testing::Message() << "N " << d.N << " C " << d.C << " S " << d.S);
    tensor x = b.randn(d.shape, 1, 1.5f), g = b.randn({d.C}, 2), bb = b.randn({d.C}, 3);
    for (int64_t i = 0; i < x.numel(); ++i) x.f()[i] += 0.75f;  // a mean away from 0
    tensor rm = b.randn({d.C}, 4), rv = b.randn({d.C}, 5);
    for (int64_t c = 0; c < d.C; ++c) rv.f()[c] = std::fabs(rv.f()[c]) + 0.5f;
    const auto rm0 = to_d(rm), rv0 = to_d(rv);
    tensor y = b.make(d.shape), mean = b.make({d.C}), rstd = b.make({d.C});
    auto p = bn_params(1e-5f, 0.1f, 1);
    // Running statistics updated in place: out[3], out[4] are in[3], in[4].
    ASSERT_EQ(b.run(PLINTH_OP_BATCHNORM, {x.t, g.t, bb.t, rm.t, rv.t}, {y.t, mean.t, rstd.t, rm.t, rv.t}, &p),
              PLINTH_OK)
        << last_error();
    const bn_ref r = batchnorm_ref(to_d(x), to_d(g), to_d(bb), d, 1e-5);
    expect_close(r.y, y.f(), 1e-5, 1e-5, "y");
    expect_close(r.mean, mean.f(), 1e-6, 1e-6, "mean");
    std::vector<double> rs(size_t(d.C)), want_rm(size_t(d.C)), want_rv(size_t(d.C));
    const double M = double(d.N * d.S);
    for (size_t c = 0; c < size_t(d.C); ++c) {
      rs[c] = 1 / std::sqrt(r.var[c] + 1e-5);
      want_rm[c] = 0.9 * rm0[c] + 0.1 * r.mean[c];
      want_rv[c] = 0.9 * rv0[c] + 0.1 * r.var[c] * M / (M - 1);
    }
    expect_close(rs, rstd.f(), 1e-5, 0, "rstd");
    expect_close(want_rm, rm.f(), 1e-6, 1e-6, "running_mean");
    expect_close(want_rv, rv.f(), 1e-6, 1e-6, "running_var");
  }
}

TEST(cpu_batchnorm, three_outputs_leave_running_stats_alone) {
  backend b(2);
  tensor x = b.randn({4, 3, 2}, 1), g = b.randn({3}, 2), bb = b.randn({3}, 3);
  tensor rm = b.make({3}, {0.5f, -0.5f, 1.0f}), rv = b.make({3}, {1.0f, 2.0f, 3.0f});
  tensor y = b.make({4, 3, 2}), mean = b.make({3}), rstd = b.make({3});
  auto p = bn_params(1e-5f, 0.1f, 1);
  ASSERT_EQ(b.run(PLINTH_OP_BATCHNORM, {x.t, g.t, bb.t, rm.t, rv.t}, {y.t, mean.t, rstd.t}, &p), PLINTH_OK)
      << last_error();
  EXPECT_EQ(rm.vec(), (std::vector<float>{0.5f, -0.5f, 1.0f}));
  EXPECT_EQ(rv.vec(), (std::vector<float>{1.0f, 2.0f, 3.0f}));
  expect_close(batchnorm_ref(to_d(x), to_d(g), to_d(bb), {4, 3, 2, {}}, 1e-5).y, y.f(), 1e-5, 1e-5, "y");
}

TEST(cpu_batchnorm, eval_uses_running_stats) {
  backend b(2);
  for (const dims& d : shapes()) {
    SCOPED_TRACE(::testing::Message() << "N " << d.N << " C " << d.C << " S " << d.S);
    tensor x = b.randn(d.shape, 11), g = b.randn({d.C}, 12), bb = b.randn({d.C}, 13);
    tensor rm = b.randn({d.C}, 14), rv = b.randn({d.C}, 15), y = b.make(d.shape);
    for (int64_t c = 0; c < d.C; ++c) rv.f()[c] = std::fabs(rv.f()[c]) + 0.1f;
    auto p = bn_params(1e-3f, 0.1f, 0);
    ASSERT_EQ(b.run(PLINTH_OP_BATCHNORM, {x.t, g.t, bb.t, rm.t, rv.t}, {y.t}, &p), PLINTH_OK) << last_error();
    std::vector<double> want(size_t(x.numel()));
    for (int64_t n = 0; n < d.N; ++n)
      for (int64_t c = 0; c < d.C; ++c)
        for (int64_t s = 0; s < d.S; ++s) {
          const size_t i = size_t((n * d.C + c) * d.S + s);
          want[i] = (double(x.f()[i]) - rm.f()[c]) / std::sqrt(double(rv.f()[c]) + double(1e-3f)) * g.f()[c] +
                    bb.f()[c];
        }
    expect_close(want, y.f(), 1e-5, 1e-5, "y eval");
  }
}

TEST(cpu_batchnorm, backward_matches_closed_form_and_finite_differences) {
  backend b(2);
  for (const dims& d : shapes()) {
    SCOPED_TRACE(::testing::Message() << "N " << d.N << " C " << d.C << " S " << d.S);
    const double eps = 1e-5;
    tensor x = b.randn(d.shape, 21, 1.3f), g = b.randn({d.C}, 22), bb = b.randn({d.C}, 23);
    tensor rm = b.make({d.C}), rv = b.make({d.C}), dy = b.randn(d.shape, 24);
    tensor y = b.make(d.shape), mean = b.make({d.C}), rstd = b.make({d.C}), dx = b.make(d.shape);
    tensor dg = b.make({d.C}, std::vector<float>(size_t(d.C), 0.5f));
    tensor db = b.make({d.C}, std::vector<float>(size_t(d.C), -1.0f));
    auto p = bn_params(float(eps), 0.1f, 1);
    ASSERT_EQ(b.run(PLINTH_OP_BATCHNORM, {x.t, g.t, bb.t, rm.t, rv.t}, {y.t, mean.t, rstd.t}, &p), PLINTH_OK)
        << last_error();
    ASSERT_EQ(b.run(PLINTH_OP_BATCHNORM_BACKWARD, {dy.t, x.t, g.t, mean.t, rstd.t}, {dx.t, dg.t, db.t}, &p),
              PLINTH_OK)
        << last_error();
    const auto xv = to_d(x), gv = to_d(g), bv = to_d(bb), gy = to_d(dy);
    // Closed form in double: xhat = (x - mean) / sqrt(var + eps),
    // dx = gamma rstd (dy - mean(dy) - xhat mean(dy xhat)).
    const bn_ref r = batchnorm_ref(xv, gv, bv, d, eps);
    std::vector<double> want_dx(xv.size()), want_dg(size_t(d.C)), want_db(size_t(d.C));
    const double M = double(d.N * d.S);
    for (int64_t c = 0; c < d.C; ++c) {
      const double rs = 1 / std::sqrt(r.var[size_t(c)] + eps);
      double s1 = 0, s2 = 0;
      auto idx = [&](int64_t n, int64_t s) { return size_t((n * d.C + c) * d.S + s); };
      for (int64_t n = 0; n < d.N; ++n)
        for (int64_t s = 0; s < d.S; ++s) {
          s1 += gy[idx(n, s)];
          s2 += gy[idx(n, s)] * (xv[idx(n, s)] - r.mean[size_t(c)]) * rs;
        }
      want_db[size_t(c)] = s1 - 1.0;
      want_dg[size_t(c)] = s2 + 0.5;
      for (int64_t n = 0; n < d.N; ++n)
        for (int64_t s = 0; s < d.S; ++s) {
          const double xh = (xv[idx(n, s)] - r.mean[size_t(c)]) * rs;
          want_dx[idx(n, s)] = gv[size_t(c)] * rs * (gy[idx(n, s)] - s1 / M - xh * s2 / M);
        }
    }
    expect_close(want_dx, dx.f(), 1e-4, 1e-5, "dx (closed form)");
    expect_close(want_dg, dg.f(), 1e-5, 1e-5, "dgamma (closed form)");
    expect_close(want_db, db.f(), 1e-5, 1e-5, "dbeta (closed form)");
    if (x.numel() > 400) continue;
    // Finite differences of sum(y * dy) through the double forward.
    auto dxfd = fd_grad(
        xv, [&](const std::vector<double>& v) { return dot(gy, batchnorm_ref(v, gv, bv, d, eps).y); });
    auto dgfd = fd_grad(
        gv, [&](const std::vector<double>& v) { return dot(gy, batchnorm_ref(xv, v, bv, d, eps).y); });
    auto dbfd = fd_grad(
        bv, [&](const std::vector<double>& v) { return dot(gy, batchnorm_ref(xv, gv, v, d, eps).y); });
    for (auto& v : dgfd) v += 0.5;
    for (auto& v : dbfd) v -= 1.0;
    // N * S = 2 makes xhat = +-1 whatever x is, so dx is ~0 and the
    // differences see only rounding: an absolute bound there.
    expect_close(dxfd, dx.f(), 2e-3, 5e-4, "dx (finite differences)");
    expect_close(dgfd, dg.f(), 1e-3, 1e-4, "dgamma (finite differences)");
    expect_close(dbfd, db.f(), 1e-4, 1e-4, "dbeta (finite differences)");
  }
}

// Each channel is summed by one thread in a fixed order: the same bits for
// 1, 2 and 3 threads, images and features.
TEST(cpu_batchnorm, same_bits_for_any_thread_count) {
  for (const std::vector<int64_t>& shape :
       {std::vector<int64_t>{16, 24, 10, 10}, std::vector<int64_t>{512, 40}}) {
    const int64_t C = shape[1];
    std::vector<std::vector<float>> outs;
    for (int threads : {1, 2, 3}) {
      backend b(threads);
      tensor x = b.randn(shape, 1), g = b.randn({C}, 2), bb = b.randn({C}, 3), dy = b.randn(shape, 4);
      tensor rm = b.make({C}, std::vector<float>(size_t(C), 0.f)),
             rv = b.make({C}, std::vector<float>(size_t(C), 1.f));
      tensor y = b.make(shape), mean = b.make({C}), rstd = b.make({C}), dx = b.make(shape),
             ye = b.make(shape);
      tensor dg = b.make({C}, std::vector<float>(size_t(C), 0.f)),
             db = b.make({C}, std::vector<float>(size_t(C), 0.f));
      auto p = bn_params(1e-5f, 0.1f, 1);
      ASSERT_EQ(
          b.run(PLINTH_OP_BATCHNORM, {x.t, g.t, bb.t, rm.t, rv.t}, {y.t, mean.t, rstd.t, rm.t, rv.t}, &p),
          PLINTH_OK)
          << last_error();
      ASSERT_EQ(b.run(PLINTH_OP_BATCHNORM_BACKWARD, {dy.t, x.t, g.t, mean.t, rstd.t}, {dx.t, dg.t, db.t}, &p),
                PLINTH_OK)
          << last_error();
      auto pe = bn_params(1e-5f, 0.1f, 0);
      ASSERT_EQ(b.run(PLINTH_OP_BATCHNORM, {x.t, g.t, bb.t, rm.t, rv.t}, {ye.t}, &pe), PLINTH_OK)
          << last_error();
      std::vector<float> all = y.vec();
      for (const tensor* t : {&mean, &rstd, &rm, &rv, &dx, &dg, &db, &ye}) {
        auto v = t->vec();
        all.insert(all.end(), v.begin(), v.end());
      }
      outs.push_back(all);
    }
    EXPECT_EQ(outs[0], outs[1]);
    EXPECT_EQ(outs[0], outs[2]);
  }
}

TEST(cpu_batchnorm, bad_launches_get_one_clear_error) {
  backend b(1);
  tensor x = b.randn({4, 3, 2}, 1), g = b.randn({3}, 2), bb = b.randn({3}, 3), rm = b.make({3}),
         rv = b.make({3});
  tensor y = b.make({4, 3, 2}), mean = b.make({3}), rstd = b.make({3}), g4 = b.make({4});
  auto expect_error = [&](plinth_op_kind k, std::vector<plinth_tensor> ins, std::vector<plinth_tensor> outs,
                          const plinth_batchnorm_params& p, const char* words) {
    EXPECT_EQ(b.run(k, ins, outs, &p), PLINTH_ERR_INVALID_ARGUMENT) << words;
    EXPECT_NE(last_error().find(words), std::string::npos) << last_error();
    EXPECT_EQ(b.supports(k, ins, outs, &p), 0) << words;
  };
  const auto train = bn_params(1e-5f, 0.1f, 1), eval = bn_params(1e-5f, 0.1f, 0);
  expect_error(PLINTH_OP_BATCHNORM, {x.t, g4.t, bb.t, rm.t, rv.t}, {y.t, mean.t, rstd.t}, train,
               "in[1] gamma");
  expect_error(PLINTH_OP_BATCHNORM, {x.t, g.t, bb.t, rm.t, rv.t}, {y.t, mean.t}, train, "3 outputs");
  expect_error(PLINTH_OP_BATCHNORM, {x.t, g.t, bb.t, rm.t, rv.t}, {y.t, mean.t, rstd.t}, eval, "eval mode");
  expect_error(PLINTH_OP_BATCHNORM, {x.t, g.t, bb.t, rm.t, rv.t}, {y.t, mean.t, rstd.t},
               bn_params(1e-5f, 1.5f, 1), "momentum");
  expect_error(PLINTH_OP_BATCHNORM, {x.t, g.t, bb.t, rm.t, rv.t}, {y.t, mean.t, rstd.t},
               bn_params(-1.0f, 0.1f, 1), "eps");
  expect_error(PLINTH_OP_BATCHNORM_BACKWARD, {y.t, x.t, g.t, mean.t, rstd.t}, {y.t, g.t, bb.t}, eval,
               "training-mode");
  // One value per channel cannot train (torch refuses it too).
  tensor x1 = b.randn({1, 3}, 5), y1 = b.make({1, 3});
  expect_error(PLINTH_OP_BATCHNORM, {x1.t, g.t, bb.t, rm.t, rv.t}, {y1.t, mean.t, rstd.t}, train,
               "more than 1 value per channel");
  tensor v1 = b.randn({3}, 6);
  expect_error(PLINTH_OP_BATCHNORM, {v1.t, g.t, bb.t, rm.t, rv.t}, {v1.t}, eval, "(N, C, ...)");
  // Params too short to hold `training`.
  auto shortp = train;
  shortp.struct_size = 12;
  expect_error(PLINTH_OP_BATCHNORM, {x.t, g.t, bb.t, rm.t, rv.t}, {y.t, mean.t, rstd.t}, shortp,
               "struct_size");
}
