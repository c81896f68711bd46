// lion_torch_test.cpp — the CPU backend's fused LION_STEP against Lion run in
// PyTorch (tests/fixtures/torch/lion.safetensors, written by
// make_lion_fixture.py): every step of every case, with weight decay and
// without, at one and two threads.
#include <filesystem>
#include <map>

#include "harness.hpp"
#include "train/safetensors.hpp"

namespace {

using plinth::test::backend;
using plinth::test::last_error;
using plinth::test::tensor;

const std::map<std::string, std::vector<float>>& fixture() {
  static const std::map<std::string, std::vector<float>> fx = [] {
    std::map<std::string, std::vector<float>> m;
    auto r = plinth::read_safetensors(std::filesystem::path(PLINTH_SOURCE_DIR) /
                                      "tests/fixtures/torch/lion.safetensors");
    EXPECT_TRUE(r.ok()) << r.status().message();
    if (r.ok())
      for (auto& t : *r) {
        std::vector<float> v(t.data.size() / 4);
        std::memcpy(v.data(), t.data.data(), v.size() * 4);
        m.emplace(t.name, std::move(v));
      }
    return m;
  }();
  return fx;
}

const std::vector<float>& get(const std::string& name) {
  static const std::vector<float> none;
  auto it = fixture().find(name);
  EXPECT_NE(it, fixture().end()) << "fixture has no " << name;
  return it == fixture().end() ? none : it->second;
}

TEST(cpu_lion_torch, fused_step_matches_pytorch_every_step) {
  for (int threads : {1, 2})
    for (const std::string c : {"paper", "betas", "no_decay"}) {
      SCOPED_TRACE(c + " threads " + std::to_string(threads));
      backend be(threads);
      const auto &hyper = get(c + ".hyper"), &lrs = get(c + ".lr"), &p0 = get(c + ".p0"),
                 &grads = get(c + ".grads");
      ASSERT_EQ(hyper.size(), 3u);
      const int64_t n = int64_t(p0.size());
      tensor w = be.make({n}, p0), nd = be.make({n}, p0),
             m = be.make({n}, std::vector<float>(size_t(n), 0.0f)),
             mnd = be.make({n}, std::vector<float>(size_t(n), 0.0f)), g = be.make({n});
      for (size_t s = 1; s <= lrs.size(); ++s) {
        std::memcpy(g.f(), grads.data() + (s - 1) * size_t(n), size_t(n) * 4);
        plinth_lion_params p{PLINTH_LION_PARAMS_STRUCT_SIZE, lrs[s - 1], hyper[0], hyper[1], hyper[2]};
        ASSERT_EQ(be.run(PLINTH_OP_LION_STEP, {w.t, g.t, m.t}, {w.t, m.t}, &p), PLINTH_OK) << last_error();
        p.weight_decay = 0.0f;
        ASSERT_EQ(be.run(PLINTH_OP_LION_STEP, {nd.t, g.t, mnd.t}, {nd.t, mnd.t}, &p), PLINTH_OK)
            << last_error();
        const auto &want_p = get(c + ".param." + std::to_string(s)),
                   &want_m = get(c + ".exp_avg." + std::to_string(s)),
                   &want_nd = get(c + ".nodecay." + std::to_string(s));
        for (int64_t i = 0; i < n; ++i) {
          ASSERT_NEAR(w.f()[i], want_p[size_t(i)], 1e-6 + 1e-6 * std::fabs(want_p[size_t(i)]))
              << "step " << s << " [" << i << "]";
          ASSERT_NEAR(m.f()[i], want_m[size_t(i)], 1e-6 + 1e-6 * std::fabs(want_m[size_t(i)]))
              << "m step " << s << " [" << i << "]";
          ASSERT_NEAR(nd.f()[i], want_nd[size_t(i)], 1e-6 + 1e-6 * std::fabs(want_nd[size_t(i)]))
              << "no decay step " << s << " [" << i << "]";
        }
      }
    }
}

}  // namespace
