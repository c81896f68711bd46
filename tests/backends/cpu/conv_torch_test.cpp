// conv_torch_test.cpp — CONV2D, POOL2D and their backward ops on the CPU
// backend against PyTorch (float64 on the same float32 inputs), from
// tests/fixtures/torch/conv_pool.safetensors. The cases' parameters mirror
// CONV_CASES / POOL_CASES in tests/fixtures/torch/make_conv_fixture.py.
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
                                      "tests/fixtures/torch/conv_pool.safetensors");
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

// Max relative error against the fixture's values, scaled by their max |v|.
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

struct conv_case {
  const char* name;
  int32_t sh, sw, ph, pw, dh, dw;
  bool bias;
};

TEST(cpu_conv2d_torch, forward_and_backward_match_pytorch) {
  backend be(2);
  for (const conv_case& k :
       {conv_case{"conv_a", 1, 1, 1, 1, 1, 1, true}, conv_case{"conv_b", 2, 1, 1, 0, 2, 1, false},
        conv_case{"conv_c", 1, 1, 2, 2, 1, 1, true}}) {
    SCOPED_TRACE(k.name);
    const std::string n = k.name;
    plinth_conv2d_params p{PLINTH_CONV2D_PARAMS_STRUCT_SIZE, k.sh, k.sw, k.ph, k.pw, k.dh, k.dw, 0.0f};
    tensor x = load(be, n + ".x"), w = load(be, n + ".weight"), y = load(be, n + ".y", true);
    std::vector<plinth_tensor> ins{x.t, w.t};
    tensor b;
    if (k.bias) {
      b = load(be, n + ".bias");
      ins.push_back(b.t);
    }
    ASSERT_EQ(be.run(PLINTH_OP_CONV2D, ins, {y.t}, &p), PLINTH_OK) << last_error();
    expect_matches(y, n + ".y");

    tensor dy = load(be, n + ".dy"), dx = load(be, n + ".dx", true), dw = load(be, n + ".weight", true);
    std::vector<plinth_tensor> outs{dx.t, dw.t};
    tensor db;
    if (k.bias) {
      db = load(be, n + ".bias", true);
      outs.push_back(db.t);
    }
    ASSERT_EQ(be.run(PLINTH_OP_CONV2D_BACKWARD, {dy.t, x.t, w.t}, outs, &p), PLINTH_OK) << last_error();
    expect_matches(dx, n + ".dx");
    expect_matches(dw, n + ".dweight");
    if (k.bias) expect_matches(db, n + ".dbias");
  }
}

struct pool_case {
  const char* name;
  plinth_pool_fn fn;
  int32_t kh, kw, sh, sw, ph, pw, include_pad;
};

TEST(cpu_pool2d_torch, forward_argmax_and_backward_match_pytorch) {
  backend be(2);
  for (const pool_case& k : {pool_case{"maxpool_a", PLINTH_POOL_MAX, 3, 3, 2, 2, 1, 1, 1},
                             pool_case{"maxpool_b", PLINTH_POOL_MAX, 2, 2, 2, 2, 0, 0, 1},
                             pool_case{"avgpool_a", PLINTH_POOL_AVG, 3, 3, 2, 2, 1, 1, 1},
                             pool_case{"avgpool_b", PLINTH_POOL_AVG, 3, 2, 2, 1, 1, 1, 0}}) {
    SCOPED_TRACE(k.name);
    const std::string n = k.name;
    const bool max = k.fn == PLINTH_POOL_MAX;
    plinth_pool2d_params p{
        PLINTH_POOL2D_PARAMS_STRUCT_SIZE, k.fn, k.kh, k.kw, k.sh, k.sw, k.ph, k.pw, k.include_pad};
    tensor x = load(be, n + ".x"), y = load(be, n + ".y", true);
    tensor arg = max ? load(be, n + ".argmax", true) : tensor{};
    std::vector<plinth_tensor> outs{y.t};
    if (max) outs.push_back(arg.t);
    ASSERT_EQ(be.run(PLINTH_OP_POOL2D, {x.t}, outs, &p), PLINTH_OK) << last_error();
    expect_matches(y, n + ".y", max ? 0.0 : 1e-6);
    if (max) {
      const NamedTensor* want = find(n + ".argmax");
      ASSERT_NE(want, nullptr);
      EXPECT_EQ(std::memcmp(arg.data<char>(), want->data.data(), want->data.size()), 0) << "argmax";
    }
    tensor dy = load(be, n + ".dy"), dx = load(be, n + ".dx", true);
    std::vector<plinth_tensor> ins{dy.t};
    if (max) ins.push_back(arg.t);
    ASSERT_EQ(be.run(PLINTH_OP_POOL2D_BACKWARD, ins, {dx.t}, &p), PLINTH_OK) << last_error();
    expect_matches(dx, n + ".dx", 1e-6);
  }
}

}  // namespace
