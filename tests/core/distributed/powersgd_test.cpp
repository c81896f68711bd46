// powersgd_test.cpp — the PowerSGD compressor on two simulated ranks in one
// process (the test averages P and Q between the phases), against a separate
// implementation of Algorithm 1 in double and against exact identities.
// Not here: training through a communicator (tests/plugins/comm/data_parallel_test.cpp).
#include "distributed/powersgd.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

namespace {

using plinth::train::PowerSgdMatrix;
using Mat = std::vector<double>;  // row-major

// One compressed step over ranks: returns the approximation every rank gets.
std::vector<float> step(std::vector<PowerSgdMatrix>& ranks, const std::vector<std::vector<float>>& grads,
                        float scale) {
  const size_t W = ranks.size();
  const size_t np = ranks[0].p_size(), nq = ranks[0].q_size();
  std::vector<std::vector<float>> p(W, std::vector<float>(np)), q(W, std::vector<float>(nq));
  std::vector<float> pm(np, 0.f), qm(nq, 0.f);
  for (size_t w = 0; w < W; ++w) ranks[w].project(grads[w].data(), scale, p[w].data());
  for (size_t w = 0; w < W; ++w)
    for (size_t i = 0; i < np; ++i) pm[i] += p[w][i] / static_cast<float>(W);
  for (size_t w = 0; w < W; ++w) {
    p[w] = pm;
    ranks[w].back_project(p[w].data(), q[w].data());
  }
  for (size_t w = 0; w < W; ++w)
    for (size_t i = 0; i < nq; ++i) qm[i] += q[w][i] / static_cast<float>(W);
  std::vector<float> out(ranks[0].rows() * ranks[0].cols()), other(out.size());
  ranks[0].reconstruct(p[0].data(), qm.data(), out.data());
  for (size_t w = 1; w < W; ++w) {
    ranks[w].reconstruct(p[w].data(), qm.data(), other.data());
    EXPECT_EQ(std::memcmp(other.data(), out.data(), out.size() * 4), 0)
        << "every rank must get the same approximation";
  }
  return out;
}

std::vector<float> random_matrix(size_t n, size_t m, uint64_t seed) {
  std::mt19937_64 g(seed);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::vector<float> x(n * m);
  for (float& v : x) v = u(g);
  return x;
}

// The reference: Algorithm 1 in double, written out with naive loops.
struct Reference {
  size_t n, m, r;
  Mat q;               // m×r
  std::vector<Mat> e;  // per rank, n×m
  Mat step(const std::vector<std::vector<float>>& g) {
    const size_t W = g.size();
    std::vector<Mat> M(W, Mat(n * m));
    for (size_t w = 0; w < W; ++w)
      for (size_t x = 0; x < n * m; ++x) M[w][x] = g[w][x] + e[w][x];
    Mat P(n * r, 0.0);
    for (size_t w = 0; w < W; ++w)
      for (size_t i = 0; i < n; ++i)
        for (size_t k = 0; k < r; ++k)
          for (size_t j = 0; j < m; ++j) P[i * r + k] += M[w][i * m + j] * q[j * r + k] / W;
    for (size_t k = 0; k < r; ++k) {  // classical Gram-Schmidt
      Mat col(n);
      for (size_t i = 0; i < n; ++i) col[i] = P[i * r + k];
      for (size_t c = 0; c < k; ++c) {
        double d = 0;
        for (size_t i = 0; i < n; ++i) d += P[i * r + k] * P[i * r + c];
        for (size_t i = 0; i < n; ++i) col[i] -= d * P[i * r + c];
      }
      double nn = 0;
      for (double v : col) nn += v * v;
      for (size_t i = 0; i < n; ++i) P[i * r + k] = col[i] / std::sqrt(nn);
    }
    Mat Q(m * r, 0.0);
    for (size_t w = 0; w < W; ++w)
      for (size_t j = 0; j < m; ++j)
        for (size_t k = 0; k < r; ++k)
          for (size_t i = 0; i < n; ++i) Q[j * r + k] += M[w][i * m + j] * P[i * r + k] / W;
    Mat A(n * m, 0.0);
    for (size_t i = 0; i < n; ++i)
      for (size_t j = 0; j < m; ++j)
        for (size_t k = 0; k < r; ++k) A[i * m + j] += P[i * r + k] * Q[j * r + k];
    for (size_t w = 0; w < W; ++w)
      for (size_t x = 0; x < n * m; ++x) e[w][x] = M[w][x] - A[x];
    q = Q;
    return A;
  }
};

TEST(powersgd, full_rank_gives_the_mean_gradient_exactly) {
  for (auto [n, m] : {std::pair<size_t, size_t>{5, 3}, {3, 7}, {4, 4}}) {
    const size_t r = std::min(n, m);
    std::vector<PowerSgdMatrix> ranks{PowerSgdMatrix(n, m, r, 42), PowerSgdMatrix(n, m, r, 42)};
    std::vector<Mat> e(2, Mat(n * m, 0.0));  // each rank's deviations from the mean, summed over steps
    for (int s = 0; s < 3; ++s) {
      std::vector<std::vector<float>> g{random_matrix(n, m, 10 + s), random_matrix(n, m, 20 + s)};
      const auto a = step(ranks, g, 1.f);
      for (size_t x = 0; x < n * m; ++x) {
        const double mean = (static_cast<double>(g[0][x]) + g[1][x]) / 2;
        EXPECT_NEAR(a[x], mean, 1e-4) << n << "x" << m << " step " << s << " element " << x;
        // The residuals average to zero (the mean of M is the mean gradient);
        // each keeps its rank's deviations from the mean, nothing lost.
        e[0][x] += g[0][x] - mean;
        e[1][x] += g[1][x] - mean;
        EXPECT_NEAR(ranks[0].error()[x], e[0][x], 1e-4);
        EXPECT_NEAR(ranks[1].error()[x], e[1][x], 1e-4);
      }
    }
  }
}

TEST(powersgd, low_rank_matches_a_double_reference_over_steps) {
  const size_t n = 6, m = 5, r = 2;
  std::vector<PowerSgdMatrix> ranks{PowerSgdMatrix(n, m, r, 7), PowerSgdMatrix(n, m, r, 7)};
  Reference ref{n, m, r, Mat(ranks[0].q().begin(), ranks[0].q().end()), {Mat(n * m, 0.0), Mat(n * m, 0.0)}};
  for (int s = 0; s < 4; ++s) {
    std::vector<std::vector<float>> g{random_matrix(n, m, 100 + s), random_matrix(n, m, 200 + s)};
    const auto a = step(ranks, g, 1.f);
    const Mat want = ref.step(g);
    for (size_t x = 0; x < n * m; ++x) {
      ASSERT_NEAR(a[x], want[x], 2e-4) << "step " << s << " element " << x;
      ASSERT_NEAR(ranks[0].error()[x], ref.e[0][x], 2e-4);
      ASSERT_NEAR(ranks[1].error()[x], ref.e[1][x], 2e-4);
    }
  }
}

TEST(powersgd, error_feedback_accumulates_the_residual) {
  // Per rank: sum of its gradients = sum of the approximations + its final residual.
  const size_t n = 8, m = 6, r = 1;
  const float scale = 2.f;  // the caller's scaling of g (ranks' shares to the mean)
  std::vector<PowerSgdMatrix> ranks{PowerSgdMatrix(n, m, r, 3), PowerSgdMatrix(n, m, r, 3)};
  std::vector<Mat> gsum(2, Mat(n * m, 0.0));
  Mat asum(n * m, 0.0);
  bool residual_nonzero = false;
  for (int s = 0; s < 6; ++s) {
    std::vector<std::vector<float>> g{random_matrix(n, m, 300 + s), random_matrix(n, m, 400 + s)};
    const auto a = step(ranks, g, scale);
    for (size_t x = 0; x < n * m; ++x) {
      gsum[0][x] += scale * g[0][x];
      gsum[1][x] += scale * g[1][x];
      asum[x] += a[x];
    }
  }
  for (size_t x = 0; x < n * m; ++x) {
    EXPECT_NEAR(gsum[0][x], asum[x] + ranks[0].error()[x], 1e-4);
    EXPECT_NEAR(gsum[1][x], asum[x] + ranks[1].error()[x], 1e-4);
    residual_nonzero |= std::fabs(ranks[0].error()[x]) > 1e-2;
  }
  EXPECT_TRUE(residual_nonzero) << "rank 1 of an 8x6 matrix must leave a residual";
}

TEST(powersgd, a_non_finite_gradient_restarts_error_and_warm_start) {
  const size_t n = 6, m = 5, r = 2;
  std::vector<PowerSgdMatrix> ranks{PowerSgdMatrix(n, m, r, 9), PowerSgdMatrix(n, m, r, 9)};
  const std::vector<float> q0 = ranks[0].q();
  step(ranks, {random_matrix(n, m, 1), random_matrix(n, m, 2)}, 1.f);
  ASSERT_NE(ranks[0].q(), q0);
  auto bad = random_matrix(n, m, 3);
  bad[7] = std::numeric_limits<float>::infinity();
  const auto a = step(ranks, {bad, random_matrix(n, m, 4)}, 1.f);
  bool any_nonfinite = false;
  for (float v : a) any_nonfinite |= !std::isfinite(v);
  EXPECT_TRUE(any_nonfinite) << "the trainer must see the overflow";
  for (auto& rk : ranks) {
    EXPECT_EQ(rk.q(), q0);
    for (float v : rk.error()) ASSERT_EQ(v, 0.f);
  }
}

TEST(powersgd, compresses_only_where_it_pays) {
  EXPECT_FALSE(plinth::train::powersgd_pays(128, 1, 4));  // a bias
  EXPECT_FALSE(plinth::train::powersgd_pays(4, 4, 4));    // 32 floats for 16
  EXPECT_TRUE(plinth::train::powersgd_pays(784, 128, 4));
  EXPECT_FALSE(plinth::train::powersgd_pays(8, 8, 4));  // 64 for 64: nothing gained
}

}  // namespace
