// batchnorm_torch_test.cpp — one step of a small ResNet with batchnorm
// (bn_resnet_pipeline.toml: conv-bn-relu stem, a residual block with silu, a
// downsampling block with a 1x1 stride-2 conv + batchnorm projection,
// global_avgpool, linear, batchnorm on the logits; cross-entropy with label
// smoothing) on the CPU backend against PyTorch's values for the same weights,
// running statistics and inputs (tests/fixtures/torch/make_batchnorm_fixture.py
// made the fixture): in training mode the loss, every gradient and the
// updated running statistics; in evaluation mode the logits and the loss.
#include <gtest/gtest.h>

#include <cmath>

#include "config/pipeline.hpp"
#include "exec/program.hpp"
#include "graph/build.hpp"
#include "graph/precision.hpp"
#include "torch_fixture.hpp"
#include "train/safetensors.hpp"

namespace plinth {
namespace {

using torch_fixture::find;
using torch_fixture::floats;

struct Fixture {
  std::vector<NamedTensor> fx;
  config::Pipeline pipeline;
  // Kept for the test's length (declared before the backend, so it outlives
  // it), not in a static: unloading plugins during static destruction at
  // exit can crash.
  std::shared_ptr<Registry> reg;
  std::shared_ptr<exec::Backend> backend;
  graph::DataShape shape;
  int64_t B = 0;
};

void load(Fixture& f) {
  const auto dir = torch_fixture::kTorchFixtures;
  auto fx = read_safetensors(dir / "bn_resnet.safetensors");
  ASSERT_TRUE(fx.ok()) << fx.status().message();
  f.fx = std::move(*fx);
  auto pipeline = config::load_pipeline(dir / "bn_resnet_pipeline.toml");
  ASSERT_TRUE(pipeline.ok()) << pipeline.status().message();
  f.pipeline = std::move(*pipeline);
  f.reg = torch_fixture::build_tree_registry();
  auto backend = exec::Backend::create(*f.reg, "cpu", nullptr, 0);
  ASSERT_TRUE(backend.ok()) << backend.status().message();
  f.backend = *backend;
  const NamedTensor& input = find(f.fx, "input");
  f.B = input.shape[0];
  f.shape.input_shape = {input.shape[1], input.shape[2], input.shape[3]};
  f.shape.num_classes = 3;
}

std::vector<float> download(exec::Store& store, exec::Store::Group group, const std::string& name) {
  const auto& slot = store.slot(name);
  std::vector<float> v(slot.bytes / 4);
  EXPECT_TRUE(store.backend().download(v.data(), store.buffer(group), slot.offset, slot.bytes).ok());
  return v;
}

void expect_close(const std::vector<float>& got, const std::vector<float>& want, double abs_tol,
                  double rel_tol, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_NEAR(got[i], want[i], abs_tol + rel_tol * std::fabs(want[i])) << what << "[" << i << "]";
}

TEST(batchnorm_against_torch, training_step_loss_gradients_and_running_statistics_match) {
  Fixture f;
  ASSERT_NO_FATAL_FAILURE(load(f));
  auto g = graph::build(f.pipeline, f.shape, {f.B, true});
  ASSERT_TRUE(g.ok()) << g.status().message();
  size_t buffers = 0;
  for (const auto& p : g->params) {
    buffers += p.buffer;
    if (p.buffer) {  // never trained, and no gradient in the graph
      EXPECT_FALSE(p.trainable) << g->values[p.value].name;
      EXPECT_LT(g->values[p.value].grad, 0) << g->values[p.value].name;
    }
  }
  EXPECT_EQ(buffers, 2u * 7u);  // running_mean and running_var of 7 batchnorm layers
  exec::Store store(f.backend);
  ASSERT_NO_FATAL_FAILURE(torch_fixture::load_fixture_weights(store, *g, f.fx));
  std::unique_ptr<exec::Program> prog;
  ASSERT_NO_FATAL_FAILURE(torch_fixture::run_on_fixture(store, *g, f.fx, prog));

  const float want_loss = floats(find(f.fx, "loss"))[0];
  EXPECT_NEAR(torch_fixture::stat(store, "loss.sum") / static_cast<float>(f.B), want_loss,
              1e-5 * (1 + std::fabs(want_loss)));
  for (const auto& p : g->params) {
    const std::string& name = g->values[p.value].name;
    if (p.buffer) {
      expect_close(download(store, exec::Store::params, name), floats(find(f.fx, name + ".after")), 1e-5,
                   1e-4, name);
    } else {
      expect_close(download(store, exec::Store::grads, name + ".grad"), floats(find(f.fx, name + ".grad")),
                   1e-5, 1e-3, name + ".grad");
    }
  }
}

TEST(batchnorm_against_torch, evaluation_uses_the_running_statistics) {
  Fixture f;
  ASSERT_NO_FATAL_FAILURE(load(f));
  auto g = graph::build(f.pipeline, f.shape, {f.B, false});
  ASSERT_TRUE(g.ok()) << g.status().message();
  exec::Store store(f.backend);
  ASSERT_NO_FATAL_FAILURE(torch_fixture::load_fixture_weights(store, *g, f.fx));
  std::unique_ptr<exec::Program> prog;
  ASSERT_NO_FATAL_FAILURE(torch_fixture::run_on_fixture(store, *g, f.fx, prog));
  std::vector<float> logits(static_cast<size_t>(g->values[g->prediction].numel()));
  ASSERT_TRUE(prog->download_prediction(logits.data()).ok());
  expect_close(logits, floats(find(f.fx, "eval.logits")), 1e-5, 1e-4, "eval.logits");
  // Evaluation's loss is plain cross-entropy (label smoothing trains only).
  const float want_loss = floats(find(f.fx, "eval.loss"))[0];
  EXPECT_NEAR(torch_fixture::stat(store, "eval.loss.sum") / static_cast<float>(f.B), want_loss,
              1e-5 * (1 + std::fabs(want_loss)));
  // The running statistics are read, not updated.
  for (const auto& p : g->params)
    if (p.buffer) {
      const std::string& name = g->values[p.value].name;
      EXPECT_EQ(download(store, exec::Store::params, name), floats(find(f.fx, name))) << name;
    }
}

// [train] precision = "bf16": matmuls read bf16 copies, batchnorm stays f32;
// the step still matches torch's f64 values to bf16's rounding, and the
// gradient-accumulating graph (grad_accum > 1) gives the same gradients.
TEST(batchnorm_against_torch, bf16_matmuls_and_accumulated_gradients_still_match) {
  Fixture f;
  ASSERT_NO_FATAL_FAILURE(load(f));
  for (const bool accumulate : {false, true}) {
    auto g = graph::build(f.pipeline, f.shape, {f.B, true, accumulate});
    ASSERT_TRUE(g.ok()) << g.status().message();
    if (!accumulate) {
      auto pass = graph::cast_matmul_inputs(*g, PLINTH_DTYPE_BF16);
      ASSERT_TRUE(pass.ok()) << pass.status().message();
      EXPECT_GT(pass->matmuls, 0);
    }
    exec::Store store(f.backend);
    ASSERT_NO_FATAL_FAILURE(torch_fixture::load_fixture_weights(store, *g, f.fx));
    if (accumulate) {  // gradients are summed into: start them at 0, as the trainer does
      std::vector<unsigned char> zeros(store.group_bytes(exec::Store::grads));
      ASSERT_TRUE(
          store.backend().upload(store.buffer(exec::Store::grads), 0, zeros.data(), zeros.size()).ok());
    }
    std::unique_ptr<exec::Program> prog;
    ASSERT_NO_FATAL_FAILURE(torch_fixture::run_on_fixture(store, *g, f.fx, prog));
    const float want_loss = floats(find(f.fx, "loss"))[0];
    const double tol = accumulate ? 1e-5 : 2e-2;
    EXPECT_NEAR(torch_fixture::stat(store, "loss.sum") / static_cast<float>(f.B), want_loss,
                tol * (1 + std::fabs(want_loss)));
    for (const auto& p : g->params) {
      if (p.buffer) continue;
      const std::string& name = g->values[p.value].name;
      expect_close(download(store, exec::Store::grads, name + ".grad"), floats(find(f.fx, name + ".grad")),
                   accumulate ? 1e-5 : 2e-2, accumulate ? 1e-3 : 5e-2, name + ".grad");
    }
  }
}

TEST(batchnorm_layer, refuses_one_value_per_channel_when_training) {
  graph::DataShape features;
  features.input_shape = {5};
  features.num_classes = 3;
  auto p = config::parse_pipeline(R"(
[data.train]
source = "synthetic"
[[model.layer]]
type = "linear"
out = 3
[[model.layer]]
type = "batchnorm"
name = "bn"
)",
                                  "bn.toml");
  ASSERT_TRUE(p.ok()) << p.status().message();
  auto g = graph::build(*p, features, {1, true});
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("bn.toml:"), std::string::npos) << g.status().message();
  EXPECT_NE(g.status().message().find("more than one value per channel"), std::string::npos)
      << g.status().message();
  EXPECT_TRUE(graph::build(*p, features, {1, false}).ok());  // evaluation of one row is fine
  EXPECT_TRUE(graph::build(*p, features, {2, true}).ok());
}

// global_avgpool makes the head independent of the image size: the same
// parameters (names and shapes) at 8x8 and 12x12, and the prediction (B, 3).
TEST(global_avgpool_layer, the_head_does_not_depend_on_the_resolution) {
  Fixture f;
  ASSERT_NO_FATAL_FAILURE(load(f));
  graph::DataShape big = f.shape;
  big.input_shape = {2, 12, 12};
  auto a = graph::build(f.pipeline, f.shape, {f.B, true});
  auto b = graph::build(f.pipeline, big, {f.B, true});
  ASSERT_TRUE(a.ok()) << a.status().message();
  ASSERT_TRUE(b.ok()) << b.status().message();
  ASSERT_EQ(a->params.size(), b->params.size());
  for (size_t i = 0; i < a->params.size(); ++i) {
    EXPECT_EQ(a->values[a->params[i].value].name, b->values[b->params[i].value].name);
    EXPECT_EQ(a->values[a->params[i].value].shape, b->values[b->params[i].value].shape);
  }
  EXPECT_EQ(b->values[b->prediction].shape, (std::vector<int64_t>{f.B, 3}));
}

TEST(global_avgpool_layer, refuses_an_input_that_is_not_an_image) {
  graph::DataShape features;
  features.input_shape = {5};
  features.num_classes = 3;
  auto p = config::parse_pipeline(R"(
[data.train]
source = "synthetic"
[[model.layer]]
type = "global_avgpool"
name = "gap"
)",
                                  "gap.toml");
  ASSERT_TRUE(p.ok()) << p.status().message();
  auto g = graph::build(*p, features, {4, true});
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("gap.toml:"), std::string::npos) << g.status().message();
  EXPECT_NE(g.status().message().find("expects (B, C, H, W) images"), std::string::npos)
      << g.status().message();
}

TEST(label_smoothing, only_with_cross_entropy_and_within_0_and_1) {
  const std::string base =
      "[data.train]\nsource = \"synthetic\"\n[[model.layer]]\ntype = \"linear\"\nout = 3\n";
  auto bad = config::parse_pipeline(base + "[loss]\nlabel_smoothing = 1.0\n", "ls.toml");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("label_smoothing"), std::string::npos) << bad.status().message();
  auto mse = config::parse_pipeline(base + "[loss]\ntype = \"mse\"\nlabel_smoothing = 0.1\n", "ls.toml");
  ASSERT_TRUE(mse.ok()) << mse.status().message();
  graph::DataShape shape;
  shape.input_shape = {5};
  shape.target_dtype = PLINTH_DTYPE_F32;
  shape.target_shape = {3};
  auto g = graph::build(*mse, shape, {4, true});
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("cross_entropy only"), std::string::npos) << g.status().message();
}

}  // namespace
}  // namespace plinth
