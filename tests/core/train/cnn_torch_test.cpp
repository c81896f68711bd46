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
  const NamedTensor& target = find(*fx, "target");
  const int64_t B = input.shape[0];
  graph::DataShape shape;
  shape.input_shape = {input.shape[1], input.shape[2]};  // (H, W): one channel
  shape.num_classes = 3;
  auto g = graph::build(*pipeline, shape, {B, true});
  ASSERT_TRUE(g.ok()) << g.status().message();

  exec::Store store(*backend);
  ASSERT_NO_FATAL_FAILURE(torch_fixture::load_fixture_weights(store, *g, *fx));
  auto prog = exec::Program::compile(*g, store);
  ASSERT_TRUE(prog.ok()) << prog.status().message();
  EXPECT_EQ((*prog)->num_fallbacks(), 0u);
  ASSERT_TRUE((*prog)->upload_input(input.data.data(), input.data.size()).ok());
  ASSERT_TRUE((*prog)->upload_target(target.data.data(), target.data.size()).ok());
  Status s = (*prog)->run();
  ASSERT_TRUE(s.ok()) << s.message();

  float sum = 0;
  ASSERT_TRUE(
      (*backend)->download(&sum, store.buffer(exec::Store::stats), store.slot("loss.sum").offset, 4).ok());
  const float want_loss = floats(find(*fx, "loss"))[0];
  EXPECT_NEAR(sum / static_cast<float>(B), want_loss, 1e-5 * (1 + std::fabs(want_loss)));
  ASSERT_EQ(g->params.size(), 5u);  // conv2d0 weight+bias, conv2d3 weight, linear6 weight+bias
  for (const auto& p : g->params) {
    const auto& v = g->values[p.value];
    const auto& slot = store.slot(v.name + ".grad");
    std::vector<float> got(slot.bytes / 4);
    ASSERT_TRUE(
        (*backend)->download(got.data(), store.buffer(exec::Store::grads), slot.offset, slot.bytes).ok());
    auto want = floats(find(*fx, v.name + ".grad"));
    ASSERT_EQ(got.size(), want.size()) << v.name;
    for (size_t i = 0; i < got.size(); ++i)
      EXPECT_NEAR(got[i], want[i], 1e-5 + 1e-4 * std::fabs(want[i])) << v.name << ".grad[" << i << "]";
  }
}

}  // namespace
}  // namespace plinth
