// synthetic_test.cpp — the `synthetic` data source: same seed gives the same
// bytes (in another open and from several threads), another seed differs,
// features look standard normal, and labels are the argmax of one fixed
// linear map (checked by fitting nothing: a perceptron must reach 100%).
#include <cmath>
#include <thread>

#include "data_util.hpp"

using namespace plinth::test;

namespace {

struct sample_set {
  std::vector<float> x;
  std::vector<int32_t> y;
};

sample_set read_all(const opened& o, size_t n, size_t f) {
  sample_set s{std::vector<float>(n * f), std::vector<int32_t>(n)};
  std::vector<uint64_t> idx(n);
  for (size_t i = 0; i < n; ++i) idx[i] = i;
  void* b[2] = {s.x.data(), s.y.data()};
  EXPECT_EQ(o.t->read(o.src, idx.data(), n, b), PLINTH_OK);
  return s;
}

}  // namespace

TEST(synthetic, schema_follows_config) {
  fake_host h;
  opened o(h, "synthetic", h.config("samples = 50\nshape = [2, 3, 4]\nnum_classes = 5\nseed = 9\n"));
  ASSERT_EQ(o.status, PLINTH_OK) << h.last_error();
  EXPECT_EQ(o.info().num_samples, 50u);
  auto f = o.field(0), l = o.field(1);
  EXPECT_STREQ(f.name, "features");
  ASSERT_EQ(f.ndim, 3);
  EXPECT_EQ(f.shape[0], 2);
  EXPECT_EQ(f.shape[2], 4);
  EXPECT_EQ(l.dtype, PLINTH_DTYPE_I32);
  EXPECT_EQ(l.num_classes, 5);
}

TEST(synthetic, is_deterministic_from_the_seed) {
  fake_host h;
  const char* cfg = "samples = 200\nshape = [6]\nnum_classes = 4\nseed = 42\n";
  opened a(h, "synthetic", h.config(cfg)), b(h, "synthetic", h.config(cfg));
  opened c(h, "synthetic", h.config("samples = 200\nshape = [6]\nnum_classes = 4\nseed = 43\n"));
  auto sa = read_all(a, 200, 6), sb = read_all(b, 200, 6), sc = read_all(c, 200, 6);
  EXPECT_EQ(sa.x, sb.x);
  EXPECT_EQ(sa.y, sb.y);
  EXPECT_NE(sa.x, sc.x);
  // Random access: sample 17 alone equals sample 17 of the full read.
  const uint64_t one = 17;
  float x[6];
  int32_t y;
  void* buf[2] = {x, &y};
  ASSERT_EQ(a.t->read(a.src, &one, 1, buf), PLINTH_OK);
  EXPECT_EQ(0, std::memcmp(x, sa.x.data() + 17 * 6, sizeof x));
  EXPECT_EQ(y, sa.y[17]);
}

TEST(synthetic, features_are_standard_normal_and_labels_cover_classes) {
  fake_host h;
  opened o(h, "synthetic", h.config("samples = 4000\nshape = [5]\nnum_classes = 3\nseed = 1\n"));
  auto s = read_all(o, 4000, 5);
  double sum = 0, sq = 0;
  for (float v : s.x) sum += v, sq += double(v) * v;
  double mean = sum / s.x.size(), var = sq / s.x.size() - mean * mean;
  EXPECT_NEAR(mean, 0.0, 0.05);
  EXPECT_NEAR(var, 1.0, 0.06);
  std::vector<int> count(3);
  for (int32_t y : s.y) {
    ASSERT_GE(y, 0);
    ASSERT_LT(y, 3);
    ++count[y];
  }
  for (int c : count) EXPECT_GT(c, 4000 / 10);
}

TEST(synthetic, labels_are_linearly_separable) {
  // A multi-class perceptron converges only if a linear map separates the
  // classes; the labels are argmax of one, so it must reach 100%.
  fake_host h;
  const size_t n = 500, f = 4, k = 3;
  opened o(h, "synthetic", h.config("samples = 500\nshape = [4]\nnum_classes = 3\nseed = 7\n"));
  auto s = read_all(o, n, f);
  std::vector<double> w(k * f, 0.0);
  size_t errors = n;
  for (int epoch = 0; epoch < 2000 && errors > 0; ++epoch) {
    errors = 0;
    for (size_t i = 0; i < n; ++i) {
      const float* x = s.x.data() + i * f;
      size_t best = 0;
      double bv = -1e300;
      for (size_t c = 0; c < k; ++c) {
        double v = 0;
        for (size_t j = 0; j < f; ++j) v += w[c * f + j] * x[j];
        if (v > bv) bv = v, best = c;
      }
      if (best != static_cast<size_t>(s.y[i])) {
        ++errors;
        for (size_t j = 0; j < f; ++j) w[s.y[i] * f + j] += x[j], w[best * f + j] -= x[j];
      }
    }
  }
  EXPECT_EQ(errors, 0u);
}

TEST(synthetic, concurrent_reads_match_a_serial_read) {
  fake_host h;
  opened o(h, "synthetic", h.config("samples = 256\nshape = [10]\nnum_classes = 10\nseed = 3\n"));
  auto serial = read_all(o, 256, 10);
  std::vector<sample_set> got(8);
  std::vector<std::thread> ts;
  for (int t = 0; t < 8; ++t) ts.emplace_back([&, t] { got[t] = read_all(o, 256, 10); });
  for (auto& th : ts) th.join();
  for (auto& g : got) {
    EXPECT_EQ(g.x, serial.x);
    EXPECT_EQ(g.y, serial.y);
  }
}

TEST(synthetic, rejects_bad_config_naming_the_key) {
  fake_host h;
  for (auto [cfg, key] :
       {std::pair{"samples = 0\n", "'samples'"}, std::pair{"num_classes = 1\n", "'num_classes'"},
        std::pair{"shape = [3, 0]\n", "'shape'"}, std::pair{"shape = []\n", "'shape'"}}) {
    opened o(h, "synthetic", h.config(cfg));
    EXPECT_EQ(o.status, PLINTH_ERR_INVALID_ARGUMENT) << cfg;
    EXPECT_NE(h.last_error().find(key), std::string::npos) << h.last_error();
  }
}
