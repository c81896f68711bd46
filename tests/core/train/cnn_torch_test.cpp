// cnn_torch_test.cpp — the forward loss and every parameter gradient of a
// compiled CNN graph (conv2d with and without bias, relu, maxpool, avgpool
// with padding, flatten, linear; cross-entropy) on the CPU backend, against
// PyTorch's values for the same weights and inputs
// (tests/fixtures/torch/make_conv_fixture.py made the fixture).
#include <gtest/gtest.h>

#include <cmath>

#include "config/pipeline.hpp"
#include "exec/program.hpp"
#include "graph/build.hpp"
#include "torch_fixture.hpp"
#include "train/safetensors.hpp"

namespace plinth {
namespace {

using torch_fixture::find;
using torch_fixture::floats;

TEST(cnn_against_torch, cross_entropy_loss_and_gradients_match) {
  const auto dir = torch_fixture::kTorchFixtures;
  auto fx = read_safetensors(dir / "cnn_cross_entropy.safetensors");
  ASSERT_TRUE(fx.ok()) << fx.status().message();
  auto pipeline = config::load_pipeline(dir / "cnn_pipeline.toml");
  ASSERT_TRUE(pipeline.ok()) << pipeline.status().message();

  auto reg = torch_fixture::build_tree_registry();
  auto backend = exec::Backend::create(*reg, "cpu", nullptr, 0);
  ASSERT_TRUE(backend.ok()) << backend.status().message();

  const NamedTensor& input = find(*fx, "input");
  const int64_t B = input.shape[0];
  graph::DataShape shape;
  shape.input_shape = {input.shape[1], input.shape[2]};  // (H, W): one channel
  shape.num_classes = 3;
  auto g = graph::build(*pipeline, shape, {B, true});
  ASSERT_TRUE(g.ok()) << g.status().message();

  exec::Store store(*backend);
  ASSERT_NO_FATAL_FAILURE(torch_fixture::load_fixture_weights(store, *g, *fx));
  std::unique_ptr<exec::Program> prog;
  ASSERT_NO_FATAL_FAILURE(torch_fixture::run_on_fixture(store, *g, *fx, prog));
  const float want_loss = floats(find(*fx, "loss"))[0];
  EXPECT_NEAR(torch_fixture::stat(store, "loss.sum") / static_cast<float>(B), want_loss,
              1e-5 * (1 + std::fabs(want_loss)));
  ASSERT_EQ(g->params.size(), 5u);  // conv2d0 weight+bias, conv2d3 weight, linear6 weight+bias
  torch_fixture::expect_gradients_match(store, *g, *fx, 1e-5, 1e-4);
}

}  // namespace
}  // namespace plinth
