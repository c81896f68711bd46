// graph_torch_test.cpp — models that branch and join (graph/layers/add.cpp,
// mul.cpp, concat.cpp with named `inputs`): a conv block with a 1x1
// projection shortcut, and a residual gated MLP with a broadcast mul and a
// concat. Forward loss and every parameter gradient on the CPU backend
// against PyTorch (tests/fixtures/torch/make_graph_fixture.py made the fixtures).
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

void check_against_torch(const std::string& model) {
  const auto dir = torch_fixture::kTorchFixtures;
  auto fx = read_safetensors(dir / ("graph_" + model + ".safetensors"));
  ASSERT_TRUE(fx.ok()) << fx.status().message();
  auto pipeline = config::load_pipeline(dir / ("graph_" + model + "_pipeline.toml"));
  ASSERT_TRUE(pipeline.ok()) << pipeline.status().message();

  auto reg = torch_fixture::build_tree_registry();
  auto backend = exec::Backend::create(*reg, "cpu", nullptr, 0);
  ASSERT_TRUE(backend.ok()) << backend.status().message();

  const NamedTensor& input = find(*fx, "input");
  const int64_t B = input.shape[0];
  graph::DataShape shape;
  shape.input_shape.assign(input.shape.begin() + 1, input.shape.end());
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
  torch_fixture::expect_gradients_match(store, *g, *fx, 1e-5, 1e-4);
}

TEST(graph_against_torch, projection_shortcut_loss_and_gradients_match) { check_against_torch("resnet"); }
TEST(graph_against_torch, gated_mlp_broadcast_mul_and_concat_match) { check_against_torch("glu"); }

}  // namespace
}  // namespace plinth
