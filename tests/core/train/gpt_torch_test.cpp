// gpt_torch_test.cpp — a two-layer GPT (token and position embeddings,
// pre-norm residual blocks repeated from one [[model.block]], fused causal
// attention over strided heads, tanh GELU, tied output head) compiled from
// tests/fixtures/torch/gpt_pipeline.toml: its loss and every parameter
// gradient against PyTorch's for the same weights and tokens
// (tests/fixtures/torch/make_gpt_fixture.py made the fixture).
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

struct Gpt {
  std::vector<NamedTensor> fx;
  config::Pipeline pipeline;
  graph::DataShape shape;
  int64_t B = 0;
};

Gpt load_gpt() {
  Gpt g;
  auto fx = read_safetensors(torch_fixture::kTorchFixtures / "gpt_cross_entropy.safetensors");
  EXPECT_TRUE(fx.ok()) << fx.status().message();
  if (fx.ok()) g.fx = std::move(*fx);
  auto p = config::load_pipeline(torch_fixture::kTorchFixtures / "gpt_pipeline.toml");
  EXPECT_TRUE(p.ok()) << p.status().message();
  if (p.ok()) g.pipeline = std::move(*p);
  if (g.fx.empty()) return g;
  const NamedTensor& input = find(g.fx, "input");
  g.B = input.shape[0];
  g.shape.input_dtype = PLINTH_DTYPE_I32;
  g.shape.input_shape = {input.shape[1]};
  g.shape.target_dtype = PLINTH_DTYPE_I32;
  g.shape.target_shape = {input.shape[1]};
  g.shape.num_classes = find(g.fx, "wte.weight").shape[0];
  return g;
}

TEST(gpt_against_torch, loss_and_every_gradient_match) {
  Gpt gpt = load_gpt();
  ASSERT_FALSE(gpt.fx.empty());
  auto reg = torch_fixture::build_tree_registry();
  auto backend = exec::Backend::create(*reg, "cpu", nullptr, 0);
  ASSERT_TRUE(backend.ok()) << backend.status().message();
  auto g = graph::build(gpt.pipeline, gpt.shape, {gpt.B, true});
  ASSERT_TRUE(g.ok()) << g.status().message();
  EXPECT_EQ(g->positions, gpt.shape.input_shape[0]);

  exec::Store store(*backend);
  ASSERT_NO_FATAL_FAILURE(torch_fixture::load_fixture_weights(store, *g, gpt.fx));
  // Every PyTorch parameter has its counterpart (the head is tied, so it adds none).
  size_t torch_params = 0;
  for (const auto& t : gpt.fx)
    if (t.name.size() > 5 && t.name.compare(t.name.size() - 5, 5, ".grad") == 0) ++torch_params;
  EXPECT_EQ(g->params.size(), torch_params);

  std::unique_ptr<exec::Program> prog;
  ASSERT_NO_FATAL_FAILURE(torch_fixture::run_on_fixture(store, *g, gpt.fx, prog));
  // The loss: the stat sums each sample's mean over its positions, so over
  // B samples it is PyTorch's mean over all positions.
  const float want_loss = floats(find(gpt.fx, "loss"))[0];
  EXPECT_NEAR(torch_fixture::stat(store, "loss.sum") / static_cast<float>(gpt.B), want_loss,
              1e-4 * want_loss);
  // 1e-4 relative to each element and to the tensor's largest gradient.
  torch_fixture::expect_gradients_match(store, *g, gpt.fx, 0.0, 1e-4, 1e-4);
}

TEST(gpt_against_torch, evaluation_logits_match) {
  Gpt gpt = load_gpt();
  ASSERT_FALSE(gpt.fx.empty());
  auto reg = torch_fixture::build_tree_registry();
  auto backend = exec::Backend::create(*reg, "cpu", nullptr, 0);
  ASSERT_TRUE(backend.ok()) << backend.status().message();
  auto g = graph::build(gpt.pipeline, gpt.shape, {gpt.B, false});
  ASSERT_TRUE(g.ok()) << g.status().message();
  exec::Store store(*backend);
  ASSERT_NO_FATAL_FAILURE(torch_fixture::load_fixture_weights(store, *g, gpt.fx));
  std::unique_ptr<exec::Program> prog;
  ASSERT_NO_FATAL_FAILURE(torch_fixture::run_on_fixture(store, *g, gpt.fx, prog));
  auto want = floats(find(gpt.fx, "logits"));
  std::vector<float> logits(want.size());
  ASSERT_TRUE(prog->download_prediction(logits.data()).ok());
  for (size_t i = 0; i < logits.size(); ++i)
    EXPECT_NEAR(logits[i], want[i], 1e-4 * (1 + std::fabs(want[i]))) << "logits[" << i << "]";
}

TEST(gpt_graph, rejects_heads_that_do_not_divide_the_width) {
  Gpt gpt = load_gpt();
  ASSERT_FALSE(gpt.fx.empty());
  gpt.pipeline.model.blocks[0].layers[1].set("heads", int64_t{3});
  auto g = graph::build(gpt.pipeline, gpt.shape, {gpt.B, true});
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("layer 'attn' (attention): the width 16 is not divisible by heads = 3"),
            std::string::npos)
      << g.status().message();
  EXPECT_NE(g.status().message().find("gpt_pipeline.toml:"), std::string::npos) << g.status().message();
}

TEST(gpt_graph, rejects_a_sequence_longer_than_the_position_table) {
  Gpt gpt = load_gpt();
  ASSERT_FALSE(gpt.fx.empty());
  gpt.shape.input_shape = gpt.shape.target_shape = {9};
  auto g = graph::build(gpt.pipeline, gpt.shape, {gpt.B, true});
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("layer 'wpe' (position_embedding): the sequence has 9 positions but "
                                      "max_len is 8"),
            std::string::npos)
      << g.status().message();
}

TEST(gpt_graph, names_repeated_block_parameters_by_copy) {
  Gpt gpt = load_gpt();
  ASSERT_FALSE(gpt.fx.empty());
  auto g = graph::build(gpt.pipeline, gpt.shape, {gpt.B, false});
  ASSERT_TRUE(g.ok()) << g.status().message();
  std::vector<std::string> names;
  for (const auto& p : g->params) names.push_back(g->values[p.value].name);
  for (const char* want : {"wte.weight", "wpe.weight", "h.0.sa.ln.weight", "h.0.sa.attn.c_attn.weight",
                           "h.1.mlp.c_proj.bias", "ln_f.bias"})
    EXPECT_NE(std::find(names.begin(), names.end(), want), names.end()) << want;
  // gpt2 init: residual outputs N(0, 0.02 / sqrt(4 branches)); the tied head adds no weight.
  for (const auto& p : g->params) {
    const std::string& n = g->values[p.value].name;
    if (n == "h.1.mlp.c_proj.weight" || n == "h.0.sa.attn.c_proj.weight") {
      EXPECT_EQ(p.init.kind, graph::ParamInit::normal);
      EXPECT_DOUBLE_EQ(p.init.a, 0.01) << n;
    }
    EXPECT_NE(n, "lm_head.weight");
  }
}

}  // namespace
}  // namespace plinth
