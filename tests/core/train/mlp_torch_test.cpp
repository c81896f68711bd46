// mlp_torch_test.cpp — the forward loss and every parameter gradient of a
// compiled MLP graph (linear, layernorm, gelu, tanh, sigmoid; cross-entropy
// and mse) on the CPU backend, against PyTorch's values for the same weights
// and inputs (tests/fixtures/torch/make_mlp_fixture.py made the fixtures).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "config/pipeline.hpp"
#include "exec/program.hpp"
#include "graph/build.hpp"
#include "plinth/registry.hpp"
#include "torch_fixture.hpp"
#include "train/safetensors.hpp"

namespace plinth {
namespace {

const std::filesystem::path kFixtures = torch_fixture::kTorchFixtures;

using torch_fixture::build_tree_registry;
using torch_fixture::find;
using torch_fixture::floats;

void check_against_torch(const std::string& loss) {
  auto fx = read_safetensors(kFixtures / ("mlp_" + loss + ".safetensors"));
  ASSERT_TRUE(fx.ok()) << fx.status().message();
  auto pipeline = config::load_pipeline(kFixtures / "mlp_pipeline.toml");
  ASSERT_TRUE(pipeline.ok()) << pipeline.status().message();
  pipeline->loss.type = loss;

  auto reg = build_tree_registry();
  auto backend = exec::Backend::create(*reg, "cpu", nullptr, 0);
  ASSERT_TRUE(backend.ok()) << backend.status().message();

  const NamedTensor& input = find(*fx, "input");
  const int64_t B = input.shape[0];
  const graph::DataShape shape = torch_fixture::data_shape(*fx, loss);
  auto g = graph::build(*pipeline, shape, {B, true});
  ASSERT_TRUE(g.ok()) << g.status().message();

  exec::Store store(*backend);
  ASSERT_NO_FATAL_FAILURE(torch_fixture::load_fixture_weights(store, *g, *fx));
  std::unique_ptr<exec::Program> prog;
  ASSERT_NO_FATAL_FAILURE(torch_fixture::run_on_fixture(store, *g, *fx, prog));
  // The stat is the sum of row losses; PyTorch's loss is their mean.
  const float want_loss = floats(find(*fx, "loss"))[0];
  EXPECT_NEAR(torch_fixture::stat(store, "loss.sum") / static_cast<float>(B), want_loss,
              1e-5 * (1 + std::fabs(want_loss)))
      << loss;
  torch_fixture::expect_gradients_match(store, *g, *fx, 1e-5, 1e-4);
}

TEST(mlp_against_torch, cross_entropy_gradients_match) { check_against_torch("cross_entropy"); }
TEST(mlp_against_torch, mse_gradients_match) { check_against_torch("mse"); }

}  // namespace
}  // namespace plinth
