// batchnorm_torch_test.cpp — BATCHNORM (training with the running-statistics
// update, then eval), BATCHNORM_BACKWARD and label-smoothed CROSS_ENTROPY
// (forward and backward) on the CPU backend against PyTorch (float64 on the
// same float32 inputs), from tests/fixtures/torch/batchnorm.safetensors. The
// cases' parameters mirror BN_CASES / XENT_CASES in
// tests/fixtures/torch/make_batchnorm.py.
#include <filesystem>

#include "harness.hpp"
#include "train/safetensors.hpp"

namespace {

using plinth::NamedTensor;
using plinth::test::backend;
using plinth::test::last_error;
using plinth::test::tensor;

const std::vector<NamedTensor>& fixture() {
  static const std::vector<NamedTensor> fx = [] {
    auto r = plinth::read_safetensors(std::filesystem::path(PLINTH_SOURCE_DIR) /
                                      "tests/fixtures/torch/batchnorm.safetensors");
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : std::vector<NamedTensor>{};
  }();
  return fx;
}

const NamedTensor* find(const std::string& name) {
  for (const auto& t : fixture())
    if (t.name == name) return &t;
  return nullptr;
}

// A backend tensor holding fixture tensor `name` (or zeros of its shape).
tensor load(backend& be, const std::string& name, bool zero = false) {
  const NamedTensor* t = find(name);
  EXPECT_NE(t, nullptr) << "fixture has no " << name;
  if (!t) return be.make({1});
  tensor x = be.make(t->shape, t->dtype);
  if (zero)
    std::memset(x.data<char>(), 0, t->data.size());
  else
    std::memcpy(x.data<char>(), t->data.data(), t->data.size());
  return x;
}

// Max error against the fixture's values, relative to their max |v| (at least 1).
void expect_matches(const tensor& got, const std::string& name, double tol = 1e-5) {
  const NamedTensor* want = find(name);
  ASSERT_NE(want, nullptr) << name;
  ASSERT_EQ(int64_t(want->data.size() / 4), got.numel()) << name;
  std::vector<float> w(want->data.size() / 4);
  std::memcpy(w.data(), want->data.data(), want->data.size());
  double scale = 0;
  for (float v : w) scale = std::max(scale, double(std::fabs(v)));
  for (size_t i = 0; i < w.size(); ++i)
    ASSERT_NEAR(got.f()[i], w[i], tol * std::max(scale, 1.0)) << name << " [" << i << "]";
}

struct bn_case {
  const char* name;
  float eps, momentum;
};

TEST(cpu_batchnorm_torch, training_running_stats_eval_and_backward_match_pytorch) {
  backend be(2);
  for (const bn_case& k :
       {bn_case{"bn_1d", 1e-5f, 0.1f}, bn_case{"bn_seq", 1e-3f, 0.3f}, bn_case{"bn_2d", 1e-5f, 0.1f}}) {
    SCOPED_TRACE(k.name);
    const std::string n = k.name;
    plinth_batchnorm_params p{PLINTH_BATCHNORM_PARAMS_STRUCT_SIZE, k.eps, k.momentum, 1};
    tensor x = load(be, n + ".x"), g = load(be, n + ".gamma"), b = load(be, n + ".beta");
    tensor rm = load(be, n + ".running_mean0"), rv = load(be, n + ".running_var0");
    tensor y = load(be, n + ".y", true), mean = load(be, n + ".mean", true),
           rstd = load(be, n + ".rstd", true);
    ASSERT_EQ(be.run(PLINTH_OP_BATCHNORM, {x.t, g.t, b.t, rm.t, rv.t}, {y.t, mean.t, rstd.t, rm.t, rv.t}, &p),
              PLINTH_OK)
        << last_error();
    expect_matches(y, n + ".y");
    expect_matches(mean, n + ".mean");
    expect_matches(rstd, n + ".rstd");
    expect_matches(rm, n + ".running_mean", 1e-6);
    expect_matches(rv, n + ".running_var", 1e-6);

    tensor dy = load(be, n + ".dy"), dx = load(be, n + ".dx", true);
    tensor dg = load(be, n + ".dgamma", true), db = load(be, n + ".dbeta", true);
    ASSERT_EQ(be.run(PLINTH_OP_BATCHNORM_BACKWARD, {dy.t, x.t, g.t, mean.t, rstd.t}, {dx.t, dg.t, db.t}, &p),
              PLINTH_OK)
        << last_error();
    expect_matches(dx, n + ".dx");
    expect_matches(dg, n + ".dgamma");
    expect_matches(db, n + ".dbeta");

    // Eval from the statistics the training step left.
    p.training = 0;
    tensor ye = load(be, n + ".y_eval", true);
    ASSERT_EQ(be.run(PLINTH_OP_BATCHNORM, {x.t, g.t, b.t, rm.t, rv.t}, {ye.t}, &p), PLINTH_OK)
        << last_error();
    expect_matches(ye, n + ".y_eval");
  }
}

struct xent_case {
  const char* name;
  float smoothing;
};

TEST(cpu_cross_entropy_torch, label_smoothing_matches_pytorch) {
  backend be(2);
  for (const xent_case& k : {xent_case{"xent_a", 0.1f}, xent_case{"xent_b", 0.45f}}) {
    SCOPED_TRACE(k.name);
    const std::string n = k.name;
    plinth_xent_params p{};
    p.struct_size = PLINTH_XENT_PARAMS_STRUCT_SIZE;
    p.ignore_index = -100;
    p.scale = 1.0f;
    p.label_smoothing = k.smoothing;
    tensor x = load(be, n + ".logits"), t = load(be, n + ".targets");
    tensor loss = load(be, n + ".loss", true), probs = load(be, n + ".logits", true);
    ASSERT_EQ(be.run(PLINTH_OP_CROSS_ENTROPY, {x.t, t.t}, {loss.t, probs.t}, &p), PLINTH_OK) << last_error();
    expect_matches(loss, n + ".loss");
    EXPECT_EQ(loss.f()[1], 0.0f) << "ignore_index row";
    tensor dl = load(be, n + ".dloss"), dx = load(be, n + ".dlogits", true);
    ASSERT_EQ(be.run(PLINTH_OP_CROSS_ENTROPY_BACKWARD, {probs.t, t.t, dl.t}, {dx.t}, &p), PLINTH_OK)
        << last_error();
    expect_matches(dx, n + ".dlogits");
  }
}

}  // namespace
