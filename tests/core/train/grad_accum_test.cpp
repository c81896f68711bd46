// grad_accum_test.cpp — gradient accumulation: micro-batches of uneven size
// summed into the parameter gradients with the loss scaled by 1 / (all rows
// of the step) give PyTorch's full-batch gradients (fixtures of
// tests/fixtures/torch), and a trainer run of batch 32 x grad_accum 4 ends
// with the parameters of batch 128, partial last batch of the epoch included.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "config/pipeline.hpp"
#include "exec/program.hpp"
#include "graph/build.hpp"
#include "plinth/registry.hpp"
#include "torch_fixture.hpp"
#include "train/safetensors.hpp"
#include "train/trainer.hpp"

namespace plinth {
namespace {

namespace fs = std::filesystem;
const fs::path kFixtures = torch_fixture::kTorchFixtures;

using torch_fixture::build_tree_registry;
using torch_fixture::find;
using torch_fixture::floats;

// The fixture's batch of 5 rows as micro-batches of 2, 2 and 1.
void check_accumulated(const std::string& loss) {
  auto fx = read_safetensors(kFixtures / ("mlp_" + loss + ".safetensors"));
  ASSERT_TRUE(fx.ok()) << fx.status().message();
  auto pipeline = config::load_pipeline(kFixtures / "mlp_pipeline.toml");
  ASSERT_TRUE(pipeline.ok()) << pipeline.status().message();
  pipeline->loss.type = loss;
  auto reg = build_tree_registry();
  auto backend = exec::Backend::create(*reg, "cpu", nullptr, 0);
  ASSERT_TRUE(backend.ok()) << backend.status().message();

  const NamedTensor& input = find(*fx, "input");
  const NamedTensor& target = find(*fx, "target");
  const int64_t B = input.shape[0];
  ASSERT_EQ(B, 5);
  const graph::DataShape shape = torch_fixture::data_shape(*fx, loss);
  auto g2 = graph::build(*pipeline, shape, {2, true, true});
  auto g1 = graph::build(*pipeline, shape, {1, true, true});
  ASSERT_TRUE(g2.ok() && g1.ok());
  exec::Store store(*backend);
  ASSERT_NO_FATAL_FAILURE(torch_fixture::load_fixture_weights(store, *g2, *fx));
  auto p2 = exec::Program::compile(*g2, store);
  auto p1 = exec::Program::compile(*g1, store);
  ASSERT_TRUE(p2.ok() && p1.ok());
  // The gradients start at zero (a fresh store); were they written instead of
  // added, only the last micro-batch would remain.
  const size_t in_row = input.data.size() / B, tgt_row = target.data.size() / B;
  const int64_t rows[] = {2, 2, 1};
  int64_t at = 0;
  for (int64_t r : rows) {
    exec::Program& pr = r == 2 ? **p2 : **p1;
    pr.set_loss_scale(1.f / static_cast<float>(B));
    ASSERT_TRUE(pr.upload_input(input.data.data() + at * in_row, r * in_row).ok());
    ASSERT_TRUE(pr.upload_target(target.data.data() + at * tgt_row, r * tgt_row).ok());
    Status s = pr.run();
    ASSERT_TRUE(s.ok()) << s.message();
    at += r;
  }
  float sum = 0;
  ASSERT_TRUE(
      (*backend)->download(&sum, store.buffer(exec::Store::stats), store.slot("loss.sum").offset, 4).ok());
  const float want_loss = floats(find(*fx, "loss"))[0];
  EXPECT_NEAR(sum / static_cast<float>(B), want_loss, 1e-5 * (1 + std::fabs(want_loss)));
  for (const auto& p : g2->params) {
    const auto& v = g2->values[p.value];
    const auto& slot = store.slot(v.name + ".grad");
    std::vector<float> got(slot.bytes / 4);
    ASSERT_TRUE(
        (*backend)->download(got.data(), store.buffer(exec::Store::grads), slot.offset, slot.bytes).ok());
    auto want = floats(find(*fx, v.name + ".grad"));
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i)
      EXPECT_NEAR(got[i], want[i], 1e-5 + 1e-4 * std::fabs(want[i]))
          << loss << " " << v.name << ".grad[" << i << "]";
  }
}

TEST(grad_accum, uneven_micro_batches_give_the_full_batch_cross_entropy_gradients) {
  check_accumulated("cross_entropy");
}
TEST(grad_accum, uneven_micro_batches_give_the_full_batch_mse_gradients) { check_accumulated("mse"); }

TEST(grad_accum, accumulating_graph_has_no_gradient_fill_and_adds_into_weights) {
  auto pipeline = config::load_pipeline(kFixtures / "mlp_pipeline.toml");
  ASSERT_TRUE(pipeline.ok());
  graph::DataShape shape;
  shape.input_shape = {6};
  shape.num_classes = 3;
  auto plain = graph::build(*pipeline, shape, {4, true, false});
  auto acc = graph::build(*pipeline, shape, {4, true, true});
  ASSERT_TRUE(plain.ok() && acc.ok());
  auto count_fill = [](const graph::Graph& g) {
    int n = 0;
    for (const auto& node : g.backward) n += node.kind == PLINTH_OP_FILL;
    return n;
  };
  EXPECT_EQ(count_fill(*plain), 2);  // layernorm's gamma and beta
  EXPECT_EQ(count_fill(*acc), 0);
  for (const auto& node : acc->backward)
    if (node.kind == PLINTH_OP_MATMUL && acc->values[acc->root(node.outputs[0])].role == graph::Role::grad) {
      EXPECT_EQ(std::get<plinth_matmul_params>(node.params).beta, 1.f) << node.layer;
    }
}

// --- the trainer ------------------------------------------------------------------

std::string pipeline_text(const fs::path& out, int64_t batch, int64_t accum) {
  return train_test::run_sections("accum", out, 5) + train_test::synthetic_data("train", 1000, "[16]", 4, 9) +
         R"(
[[model.layer]]
type = "linear"
out = 32
[[model.layer]]
type = "layernorm"
[[model.layer]]
type = "tanh"
[[model.layer]]
type = "linear"
out = 4
[optimizer]
name = "sgd"
lr = 0.2
[train]
epochs = 2
batch_size = )" +
         std::to_string(batch) + "\ngrad_accum = " + std::to_string(accum) +
         "\nlog_every = 1\n[checkpoint]\nat_end = false\n";
}

std::vector<NamedTensor> train_weights(const fs::path& out, int64_t batch, int64_t accum, int64_t* steps) {
  auto r = train_test::train_text(pipeline_text(out, batch, accum), "accum.toml");
  EXPECT_TRUE(r.status.ok()) << r.status.message();
  if (!r.status.ok()) return {};
  *steps = r.out.steps;
  auto w = read_safetensors(r.dir / "model.safetensors");
  EXPECT_TRUE(w.ok());
  return w.ok() ? *w : std::vector<NamedTensor>{};
}

TEST(grad_accum, batch_32_times_4_ends_where_batch_128_does) {
  const fs::path out = fs::path(testing::TempDir()) / "plinth_grad_accum";
  fs::remove_all(out);
  int64_t s_full = 0, s_acc = 0;
  auto full = train_weights(out, 128, 1, &s_full);
  auto acc = train_weights(out, 32, 4, &s_acc);
  // 1000 samples: 8 steps an epoch, the last of 104 rows (3 x 32 + 8).
  EXPECT_EQ(s_full, 16);
  EXPECT_EQ(s_acc, 16);
  ASSERT_EQ(full.size(), acc.size());
  ASSERT_FALSE(full.empty());
  double worst = 0;
  for (size_t i = 0; i < full.size(); ++i) {
    auto a = floats(full[i]), b = floats(acc[i]);
    ASSERT_EQ(a.size(), b.size());
    for (size_t j = 0; j < a.size(); ++j) {
      EXPECT_NEAR(a[j], b[j], 2e-5 + 2e-5 * std::fabs(a[j])) << full[i].name << "[" << j << "]";
      worst = std::max(worst, static_cast<double>(std::fabs(a[j] - b[j])));
    }
  }
  // The runs did train: the weights moved from any common starting point by far more.
  auto acc1 = train_weights(out, 32, 1, &s_acc);  // batch 32 without accumulation differs
  double moved = 0;
  for (size_t i = 0; i < full.size(); ++i) {
    auto a = floats(full[i]), b = floats(acc1[i]);
    for (size_t j = 0; j < a.size(); ++j)
      moved = std::max(moved, static_cast<double>(std::fabs(a[j] - b[j])));
  }
  EXPECT_GT(moved, 1000 * worst + 1e-3);
  fs::remove_all(out);
}

}  // namespace
}  // namespace plinth
