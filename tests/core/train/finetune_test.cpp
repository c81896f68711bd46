// finetune_test.cpp — LoRA adapters, frozen parameters and [init] from.
// References: central finite differences of the loss (computed in double from
// the program's f32 forward) for the adapters' gradients; the same graph
// without freezing for the gradients freezing must not change; a one-matmul
// model loading merge_lora's weights for the merged export.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>

#include "config/pipeline.hpp"
#include "exec/program.hpp"
#include "graph/build.hpp"
#include "torch_fixture.hpp"
#include "train/finetune.hpp"
#include "train/safetensors.hpp"
#include "util/rng.hpp"

namespace plinth {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kB = 6, kF = 5, kC = 3;

const char* kMlp = R"(
[data.train]
source = "synthetic"
[[model.layer]]
type = "linear"
name = "fc1"
out = 8
[[model.layer]]
type = "tanh"
[[model.layer]]
type = "linear"
name = "fc2"
out = 3
)";

config::Pipeline pipeline(const std::string& extra, const std::string& train = "") {
  std::string text = kMlp + extra + (train.empty() ? "" : "\n[train]\n" + train + "\n");
  auto p = config::parse_pipeline(text, "finetune_test.toml");
  EXPECT_TRUE(p.ok()) << p.status().message();
  return p.ok() ? std::move(*p) : config::Pipeline{};
}

graph::DataShape shape() {
  graph::DataShape s;
  s.input_shape = {kF};
  s.num_classes = kC;
  return s;
}

// A compiled graph with its own store, random weights (every parameter,
// adapters' B included, so their gradients are not trivially zero) and one
// fixed batch.
struct Model {
  std::shared_ptr<exec::Backend> backend;
  graph::Graph g;
  std::unique_ptr<exec::Store> store;
  std::unique_ptr<exec::Program> prog;
  std::map<std::string, std::vector<float>> weights;

  void make(const config::Pipeline& p, bool training, uint64_t seed) {
    auto reg = torch_fixture::build_tree_registry();
    ASSERT_TRUE(reg);
    auto b = exec::Backend::create(*reg, "cpu", nullptr, 0);
    ASSERT_TRUE(b.ok()) << b.status().message();
    backend = *b;
    auto gr = graph::build(p, shape(), {kB, training});
    ASSERT_TRUE(gr.ok()) << gr.status().message();
    g = std::move(*gr);
    store = std::make_unique<exec::Store>(backend);
    for (const auto& prm : g.params) {
      const auto& v = g.values[prm.value];
      ASSERT_TRUE(store->declare(v.name, exec::Store::params, PLINTH_DTYPE_F32, v.shape).ok());
      if (v.grad >= 0) {
        ASSERT_TRUE(store->declare(v.name + ".grad", exec::Store::grads, PLINTH_DTYPE_F32, v.shape).ok());
      }
    }
    ASSERT_TRUE(store->declare(g.values[g.loss_sum].name, exec::Store::stats, PLINTH_DTYPE_F32, {}).ok());
    ASSERT_TRUE(store->allocate().ok());
    SplitMix64 rng(seed);
    for (const auto& prm : g.params) {
      const auto& v = g.values[prm.value];
      std::vector<float> w(static_cast<size_t>(v.numel()));
      for (auto& x : w) x = static_cast<float>(rng.uniform() - 0.5);
      set(v.name, w);
    }
    auto pr = exec::Program::compile(g, *store);
    ASSERT_TRUE(pr.ok()) << pr.status().message();
    prog = std::move(*pr);
    std::vector<float> x(kB * kF);
    std::vector<int32_t> y(kB);
    SplitMix64 data(99);
    for (auto& v : x) v = static_cast<float>(2 * data.uniform() - 1);
    for (int64_t i = 0; i < kB; ++i) y[i] = static_cast<int32_t>(i % kC);
    ASSERT_TRUE(prog->upload_input(x.data(), x.size() * 4).ok());
    ASSERT_TRUE(prog->upload_target(y.data(), y.size() * 4).ok());
  }
  void set(const std::string& name, const std::vector<float>& w) {
    weights[name] = w;
    ASSERT_TRUE(
        backend->upload(store->buffer(exec::Store::params), store->slot(name).offset, w.data(), w.size() * 4)
            .ok());
  }
  // The mean loss over the batch for the current weights.
  double loss() {
    const std::string stat = g.values[g.loss_sum].name;
    const float zero = 0;
    EXPECT_TRUE(backend->upload(store->buffer(exec::Store::stats), store->slot(stat).offset, &zero, 4).ok());
    Status s = prog->run();
    EXPECT_TRUE(s.ok()) << s.message();
    return torch_fixture::stat(*store, stat) / static_cast<double>(kB);
  }
  std::vector<float> grad(const std::string& name) {
    const auto& slot = store->slot(name + ".grad");
    std::vector<float> out(slot.bytes / 4);
    EXPECT_TRUE(
        backend->download(out.data(), store->buffer(exec::Store::grads), slot.offset, slot.bytes).ok());
    return out;
  }
  const graph::Parameter* param(const std::string& name) const {
    for (const auto& p : g.params)
      if (g.values[p.value].name == name) return &p;
    return nullptr;
  }
};

const char* kLora = R"(
[model.lora]
rank = 2
alpha = 6
targets = ["fc*"]
)";

TEST(lora, only_the_adapters_train_and_their_gradients_match_finite_differences) {
  Model m;
  ASSERT_NO_FATAL_FAILURE(m.make(pipeline(kLora), true, 1));
  for (const char* base : {"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"}) {
    ASSERT_NE(m.param(base), nullptr) << base;
    EXPECT_FALSE(m.param(base)->trainable) << base;
    EXPECT_LT(m.g.values[m.param(base)->value].grad, 0) << base << " has a gradient";
  }
  for (const char* a : {"fc1.lora_A.weight", "fc1.lora_B.weight", "fc2.lora_A.weight", "fc2.lora_B.weight"}) {
    ASSERT_NE(m.param(a), nullptr) << a;
    EXPECT_TRUE(m.param(a)->trainable);
  }
  EXPECT_EQ(m.g.values[m.param("fc1.lora_A.weight")->value].shape, (std::vector<int64_t>{2, kF}));
  EXPECT_EQ(m.g.values[m.param("fc2.lora_B.weight")->value].shape, (std::vector<int64_t>{kC, 2}));
  m.loss();  // forward and backward: the gradients
  for (const char* a : {"fc1.lora_A.weight", "fc1.lora_B.weight", "fc2.lora_A.weight", "fc2.lora_B.weight"}) {
    const std::vector<float> got = m.grad(a);
    std::vector<float> w = m.weights[a];
    const double eps = 1e-3;
    for (size_t i = 0; i < w.size(); ++i) {
      std::vector<float> plus = w, minus = w;
      plus[i] += static_cast<float>(eps);
      minus[i] -= static_cast<float>(eps);
      m.set(a, plus);
      const double lp = m.loss();
      m.set(a, minus);
      const double lm = m.loss();
      const double fd = (lp - lm) / (2 * eps);
      EXPECT_NEAR(got[i], fd, 2e-3 + 2e-2 * std::fabs(fd)) << a << "[" << i << "]";
    }
    m.set(a, w);
  }
}

TEST(lora, a_zero_b_leaves_the_model_as_it_was) {
  Model base, adapted;
  ASSERT_NO_FATAL_FAILURE(base.make(pipeline(""), false, 3));
  ASSERT_NO_FATAL_FAILURE(adapted.make(pipeline(kLora), false, 4));
  for (const auto& [name, w] : base.weights) adapted.set(name, w);
  adapted.set("fc1.lora_B.weight", std::vector<float>(8 * 2, 0.f));
  adapted.set("fc2.lora_B.weight", std::vector<float>(kC * 2, 0.f));
  EXPECT_NEAR(adapted.loss(), base.loss(), 1e-6);
}

TEST(lora, merged_weights_give_the_adapted_models_loss) {
  Model adapted, plain;
  ASSERT_NO_FATAL_FAILURE(adapted.make(pipeline(kLora), false, 5));
  ASSERT_NO_FATAL_FAILURE(plain.make(pipeline(""), false, 6));
  std::vector<NamedTensor> ts;
  for (const auto& [name, w] : adapted.weights) {
    NamedTensor t{name, PLINTH_DTYPE_F32, adapted.g.values[adapted.param(name)->value].shape, {}};
    t.data.resize(w.size() * 4);
    std::memcpy(t.data.data(), w.data(), t.data.size());
    ts.push_back(std::move(t));
  }
  auto merged = train::merge_lora(ts, 6.0 / 2.0, "test");
  ASSERT_TRUE(merged.ok()) << merged.status().message();
  EXPECT_EQ(*merged, 2);
  ASSERT_EQ(ts.size(), 4u);  // the adapters are gone
  for (const auto& t : ts) plain.set(t.name, torch_fixture::floats(t));
  const double want = adapted.loss(), got = plain.loss();
  EXPECT_NEAR(got, want, 1e-5 * std::max(1.0, std::fabs(want)));
}

TEST(lora, merge_refuses_an_adapter_without_its_partner) {
  std::vector<NamedTensor> ts{{"fc1.weight", PLINTH_DTYPE_F32, {2, 2}, std::vector<unsigned char>(16)},
                              {"fc1.lora_A.weight", PLINTH_DTYPE_F32, {1, 2}, std::vector<unsigned char>(8)}};
  auto r = train::merge_lora(ts, 1.0, "x.safetensors");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(
      r.status().message().find("x.safetensors: adapter 'fc1.lora_A.weight' without 'fc1.lora_B.weight'"),
      std::string::npos)
      << r.status().message();
}

TEST(lora, a_target_matching_no_layer_is_an_error_naming_the_key) {
  auto p = pipeline("\n[model.lora]\ntargets = [\"fc*\", \"c_attn\"]\n");
  auto g = graph::build(p, shape(), {kB, true});
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("finetune_test.toml:"), std::string::npos) << g.status().message();
  EXPECT_NE(g.status().message().find("model.lora.targets: 'c_attn' matches no linear layer"),
            std::string::npos)
      << g.status().message();
}

TEST(freeze, frozen_parameters_get_no_gradient_and_the_others_are_unchanged) {
  Model all, frozen;
  ASSERT_NO_FATAL_FAILURE(all.make(pipeline(""), true, 7));
  ASSERT_NO_FATAL_FAILURE(frozen.make(pipeline("", "freeze = [\"fc1.*\"]"), true, 7));
  EXPECT_FALSE(frozen.param("fc1.weight")->trainable);
  EXPECT_FALSE(frozen.param("fc1.bias")->trainable);
  EXPECT_LT(frozen.g.values[frozen.param("fc1.weight")->value].grad, 0);
  EXPECT_LT(frozen.g.backward.size(),
            all.g.backward.size());  // fc1's weight gradient and dx are not computed
  EXPECT_NEAR(frozen.loss(), all.loss(), 1e-7);
  for (const char* n : {"fc2.weight", "fc2.bias"}) {
    auto a = all.grad(n), f = frozen.grad(n);
    ASSERT_EQ(a.size(), f.size());
    for (size_t i = 0; i < a.size(); ++i) EXPECT_FLOAT_EQ(f[i], a[i]) << n << "[" << i << "]";
  }
}

TEST(freeze, a_pattern_matching_nothing_and_freezing_everything_are_errors) {
  auto g = graph::build(pipeline("", "freeze = [\"fc3.*\"]"), shape(), {kB, true});
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("train.freeze: 'fc3.*' matches no parameter"), std::string::npos)
      << g.status().message();
  g = graph::build(pipeline("", "freeze = [\"*\"]"), shape(), {kB, true});
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("every parameter is frozen"), std::string::npos)
      << g.status().message();
}

// [init] from a safetensors file: include, rename, and the errors that name the file.
struct InitFile : ::testing::Test {
  // One folder per test: ctest runs the cases of this suite in parallel.
  fs::path dir = fs::temp_directory_path() /
                 ("plinth_finetune_init_test_" +
                  std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
  std::vector<std::pair<std::string, std::vector<int64_t>>> params{
      {"fc1.weight", {8, kF}}, {"fc1.bias", {8}}, {"fc2.weight", {kC, 8}}, {"fc2.bias", {kC}}};
  void SetUp() override {
    fs::remove_all(dir);
    fs::create_directories(dir);
    std::vector<NamedTensor> ts;
    for (const auto& [n, s] : params) {
      int64_t k = 1;
      for (int64_t d : s) k *= d;
      ts.push_back({"transformer." + n, PLINTH_DTYPE_F32, s, std::vector<unsigned char>(k * 4)});
    }
    ts[1].shape = {7};  // fc1.bias has another shape
    ts[1].data.resize(28);
    ASSERT_TRUE(write_safetensors(dir / "w.safetensors", ts).ok());
  }
  void TearDown() override { fs::remove_all(dir); }
  Result<train::InitPlan> plan(const std::string& init) {
    auto p = pipeline("\n[init]\nfrom = \"" + (dir / "w.safetensors").string() + "\"\n" + init);
    return train::plan_init(p, params);
  }
};

TEST_F(InitFile, rename_maps_prefixes_and_include_selects) {
  auto r = plan("rename = { \"transformer.\" = \"\" }\ninclude = [\"fc2.*\"]\n");
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->loads.size(), 2u);
  EXPECT_EQ(r->loads[0].first, "fc2.weight");
  EXPECT_EQ(r->source.tensors[r->loads[0].second].name, "transformer.fc2.weight");
  EXPECT_EQ(r->fresh, (std::vector<std::string>{"fc1.weight", "fc1.bias"}));
}

TEST_F(InitFile, errors_name_the_file_and_tensor) {
  auto r = plan("");  // no rename: nothing matches
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("finetune_test.toml:"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("no tensor of " + (dir / "w.safetensors").string() + " is a parameter"),
            std::string::npos)
      << r.status().message();
  r = plan("rename = { \"transformer.\" = \"\" }\n");  // fc1.bias: (7,) in the file
  ASSERT_FALSE(r.ok());
  EXPECT_NE(
      r.status().message().find("tensor 'transformer.fc1.bias' is (7,), parameter 'fc1.bias' is f32 (8,)"),
      std::string::npos)
      << r.status().message();
  r = plan("rename = { \"transformer.\" = \"\" }\ninclude = [\"head.*\"]\n");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("init.include: 'head.*' matches no parameter"), std::string::npos)
      << r.status().message();
  auto p = pipeline("\n[init]\nfrom = \"" + (dir / "missing").string() + "\"\n");
  auto m = train::plan_init(p, params);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("no such run folder or .safetensors file"), std::string::npos)
      << m.status().message();
}

}  // namespace
}  // namespace plinth
