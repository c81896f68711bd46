// graph_layers_test.cpp — models as graphs (graph/build.cpp's `inputs`
// resolution, graph/layers/add.cpp, mul.cpp, concat.cpp): every parameter
// gradient of a projection-shortcut conv block, a gated MLP, broadcast
// add/mul and concat along a middle dim against central finite differences
// of the loss (the program's f32 forward, differenced in double); a few
// steps of gradient descent lower the loss; bad `inputs` and shapes are
// errors naming the layer's file:line:col.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "../train/torch_fixture.hpp"
#include "config/pipeline.hpp"
#include "exec/program.hpp"
#include "graph/build.hpp"
#include "util/rng.hpp"

namespace plinth {
namespace {

constexpr int64_t kB = 4, kC = 3;

config::Pipeline pipeline(const std::string& model) {
  auto p = config::parse_pipeline("[data.train]\nsource = \"synthetic\"\n" + model, "g.toml");
  EXPECT_TRUE(p.ok()) << p.status().message();
  return p.ok() ? std::move(*p) : config::Pipeline{};
}

// A compiled training graph with random weights and one fixed batch.
struct Model {
  std::shared_ptr<exec::Backend> backend;
  graph::Graph g;
  std::unique_ptr<exec::Store> store;
  std::unique_ptr<exec::Program> prog;
  std::map<std::string, std::vector<float>> weights;

  void make(const config::Pipeline& p, std::vector<int64_t> sample) {
    auto reg = torch_fixture::build_tree_registry();
    ASSERT_TRUE(reg);
    auto b = exec::Backend::create(*reg, "cpu", nullptr, 0);
    ASSERT_TRUE(b.ok()) << b.status().message();
    backend = *b;
    graph::DataShape shape;
    shape.input_shape = sample;
    shape.num_classes = kC;
    auto gr = graph::build(p, shape, {kB, true});
    ASSERT_TRUE(gr.ok()) << gr.status().message();
    g = std::move(*gr);
    store = std::make_unique<exec::Store>(backend);
    for (const auto& prm : g.params) {
      const auto& v = g.values[prm.value];
      ASSERT_TRUE(store->declare(v.name, exec::Store::params, PLINTH_DTYPE_F32, v.shape).ok());
      ASSERT_TRUE(store->declare(v.name + ".grad", exec::Store::grads, PLINTH_DTYPE_F32, v.shape).ok());
    }
    ASSERT_TRUE(store->declare(g.values[g.loss_sum].name, exec::Store::stats, PLINTH_DTYPE_F32, {}).ok());
    ASSERT_TRUE(store->allocate().ok());
    SplitMix64 rng(7);
    for (const auto& prm : g.params) {
      const auto& v = g.values[prm.value];
      std::vector<float> w(static_cast<size_t>(v.numel()));
      for (auto& x : w) x = static_cast<float>(rng.uniform() - 0.5);
      set(v.name, w);
    }
    auto pr = exec::Program::compile(g, *store);
    ASSERT_TRUE(pr.ok()) << pr.status().message();
    prog = std::move(*pr);
    EXPECT_EQ(prog->num_fallbacks(), 0u);
    int64_t per = 1;
    for (int64_t d : sample) per *= d;
    std::vector<float> x(static_cast<size_t>(kB * per));
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
  // The mean loss over the batch (forward and backward run).
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

  // Every parameter's gradient (at most `per` elements of each, spread over
  // it) against central differences of the loss.
  void expect_finite_differences(size_t per = 12) {
    loss();
    std::map<std::string, std::vector<float>> grads;
    for (const auto& prm : g.params) grads[g.values[prm.value].name] = grad(g.values[prm.value].name);
    for (const auto& [name, got] : grads) {
      std::vector<float> w = weights[name];
      const size_t step = std::max<size_t>(1, w.size() / per);
      const double eps = 1e-3;
      for (size_t i = 0; i < w.size(); i += step) {
        std::vector<float> plus = w, minus = w;
        plus[i] += static_cast<float>(eps);
        minus[i] -= static_cast<float>(eps);
        set(name, plus);
        const double lp = loss();
        set(name, minus);
        const double lm = loss();
        const double fd = (lp - lm) / (2 * eps);
        EXPECT_NEAR(got[i], fd, 2e-3 + 2e-2 * std::fabs(fd)) << name << "[" << i << "]";
      }
      set(name, w);
    }
  }

  // `steps` of plain gradient descent; the losses before each step.
  std::vector<double> descend(int steps, float lr) {
    std::vector<double> losses;
    for (int s = 0; s < steps; ++s) {
      losses.push_back(loss());
      for (const auto& prm : g.params) {
        const std::string name = g.values[prm.value].name;
        std::vector<float> w = weights[name];
        const std::vector<float> d = grad(name);
        for (size_t i = 0; i < w.size(); ++i) w[i] -= lr * d[i];
        set(name, w);
      }
    }
    return losses;
  }
};

const char* kProjection = R"(
[[model.block]]
name = "down"
layers = [
  { type = "conv2d", name = "conv", out = 3, kernel = 3, padding = 1 },
  { type = "relu", name = "act" },
  { type = "conv2d", name = "proj", out = 3, kernel = 1, inputs = ["input"] },
  { type = "add", name = "sum", inputs = ["act", "proj"] },
]
[[model.layer]]
type = "conv2d"
name = "stem"
out = 2
kernel = 3
padding = 1
[[model.layer]]
type = "tanh"
[[model.layer]]
type = "block"
name = "res"
use = "down"
[[model.layer]]
type = "flatten"
[[model.layer]]
type = "linear"
name = "head"
out = 3
)";

const char* kGated = R"(
[[model.block]]
name = "glu"
residual = true
layers = [
  { type = "linear", name = "up", out = 8 },
  { type = "linear", name = "gate", out = 8, inputs = ["input"] },
  { type = "sigmoid", name = "act" },
  { type = "mul", name = "gated", inputs = ["up", "act"] },
  { type = "linear", name = "down", out = 5 },
]
[[model.layer]]
type = "block"
name = "mlp"
use = "glu"
repeat = 2
[[model.layer]]
type = "linear"
name = "head"
out = 3
inputs = ["mlp.0"]
[[model.layer]]
type = "linear"
name = "skip"
out = 3
inputs = ["mlp"]
[[model.layer]]
type = "add"
inputs = ["head", "skip"]
)";

// Broadcasts (B, 5) * (B, 1) and (B, 5) + (5,)-like rows, and joins along a middle dim.
const char* kBroadcastConcat = R"(
[[model.layer]]
type = "linear"
name = "a"
out = 2
[[model.layer]]
type = "linear"
name = "b"
out = 2
inputs = ["input"]
[[model.layer]]
type = "concat"
name = "rows"
axis = 1
inputs = ["a", "b"]
[[model.layer]]
type = "linear"
name = "w"
out = 1
[[model.layer]]
type = "mul"
name = "scaled"
inputs = ["rows", "w"]
[[model.layer]]
type = "concat"
name = "cols"
inputs = ["scaled", "rows"]
[[model.layer]]
type = "flatten"
name = "flat"
[[model.layer]]
type = "linear"
name = "gate"
out = 1
[[model.layer]]
type = "add"
name = "shift"
inputs = ["flat", "gate"]
[[model.layer]]
type = "linear"
name = "head"
out = 3
)";

TEST(graph_layers, projection_shortcut_gradients_match_finite_differences) {
  Model m;
  ASSERT_NO_FATAL_FAILURE(m.make(pipeline(kProjection), {5, 5}));
  m.expect_finite_differences();
}

TEST(graph_layers, gated_mlp_gradients_match_finite_differences) {
  Model m;
  ASSERT_NO_FATAL_FAILURE(m.make(pipeline(kGated), {5}));
  m.expect_finite_differences();
}

TEST(graph_layers, broadcast_and_concat_gradients_match_finite_differences) {
  Model m;
  ASSERT_NO_FATAL_FAILURE(m.make(pipeline(kBroadcastConcat), {3, 4}));
  // rows (B, 6, 2), w (B, 6, 1), cols (B, 6, 4), flattened (B, 24), gate (B, 1)
  m.expect_finite_differences();
}

TEST(graph_layers, projection_shortcut_and_gated_mlp_train) {
  for (auto [model, sample] :
       {std::pair{kProjection, std::vector<int64_t>{5, 5}}, std::pair{kGated, std::vector<int64_t>{5}}}) {
    Model m;
    ASSERT_NO_FATAL_FAILURE(m.make(pipeline(model), sample));
    const std::vector<double> losses = m.descend(8, 0.2f);
    EXPECT_LT(losses.back(), 0.8 * losses.front()) << losses.front() << " -> " << losses.back();
    for (size_t i = 1; i < losses.size(); ++i) EXPECT_LT(losses[i], losses[i - 1] + 1e-6) << i;
  }
}

std::string build_error(const std::string& model, std::vector<int64_t> sample = {6}) {
  auto p = config::parse_pipeline("[data.train]\nsource = \"synthetic\"\n" + model, "g.toml");
  if (!p.ok()) return p.status().message();
  graph::DataShape shape;
  shape.input_shape = sample;
  shape.num_classes = kC;
  auto g = graph::build(*p, shape, {kB, true});
  return g.ok() ? std::string("(built)") : g.status().message();
}

TEST(graph_layers, an_unknown_input_names_the_layer_and_what_is_known) {
  EXPECT_EQ(build_error("[[model.layer]]\ntype = \"linear\"\nout = 3\n[[model.layer]]\ntype = \"relu\"\n"
                        "inputs = [\"lin\"]\n"),
            "g.toml:6:1: layer 'relu1' (relu): inputs: unknown input 'lin' (layers before this one: "
            "'linear0'; 'input' is the model's or block's input)");
  EXPECT_NE(build_error("[[model.layer]]\ntype = \"linear\"\nout = 3\ninputs = [\"h.0.x\"]\n")
                .find("g.toml:3:1: layer 'linear0' (linear): inputs: unknown input 'h.0.x'"),
            std::string::npos);
}

TEST(graph_layers, a_forward_reference_or_cycle_is_an_error) {
  EXPECT_EQ(
      build_error("[[model.layer]]\ntype = \"linear\"\nout = 3\ninputs = [\"later\"]\n"
                  "[[model.layer]]\ntype = \"linear\"\nname = \"later\"\nout = 3\n"),
      "g.toml:3:1: layer 'linear0' (linear): inputs: 'later' is a forward reference: that layer (line 7) "
      "comes after this one; a layer takes inputs only from layers before it");
  EXPECT_EQ(build_error("[[model.layer]]\ntype = \"linear\"\nname = \"me\"\nout = 3\ninputs = [\"me\"]\n"),
            "g.toml:3:1: layer 'me' (linear): inputs: 'me' is a cycle: a layer cannot take its own output");
  // Inside a block, the block layer placing it is being built: a cycle too.
  EXPECT_NE(
      build_error("[[model.block]]\nname = \"b\"\nlayers = [{ type = \"relu\", inputs = [\"outer\"] }]\n"
                  "[[model.layer]]\ntype = \"block\"\nname = \"outer\"\nuse = \"b\"\n"
                  "[[model.layer]]\ntype = \"linear\"\nout = 3\n")
          .find("layer 'relu0' (relu): inputs: 'outer' is a cycle"),
      std::string::npos);
}

TEST(graph_layers, mismatched_shapes_name_both) {
  EXPECT_EQ(build_error("[[model.layer]]\ntype = \"linear\"\nname = \"a\"\nout = 4\n"
                        "[[model.layer]]\ntype = \"linear\"\nname = \"b\"\nout = 3\ninputs = [\"input\"]\n"
                        "[[model.layer]]\ntype = \"add\"\ninputs = [\"a\", \"b\"]\n"),
            "g.toml:12:1: layer 'add2' (add): the shapes of its inputs do not broadcast: 'a' (4, 4) and 'b' "
            "(4, 3) (each dim, from the last, must be equal or 1)");
  EXPECT_EQ(
      build_error("[[model.layer]]\ntype = \"linear\"\nname = \"a\"\nout = 4\n"
                  "[[model.layer]]\ntype = \"concat\"\naxis = 1\ninputs = [\"a\", \"input\"]\n",
                  {2, 6}),
      "g.toml:7:1: layer 'concat1' (concat): inputs 'a' (4, 2, 4) and 'input' (4, 2, 6) differ in a dim "
      "other than axis 1");
  EXPECT_NE(build_error("[[model.layer]]\ntype = \"add\"\n").find("inputs: takes 2 inputs, got 1"),
            std::string::npos);
}

TEST(graph_layers, sequential_models_name_no_inputs_and_resolve_unchanged) {
  auto p = pipeline("[[model.layer]]\ntype = \"linear\"\nout = 3\n");
  EXPECT_EQ(config::resolved_toml(p).find("inputs"), std::string::npos);
  auto q = pipeline(
      "[[model.layer]]\ntype = \"linear\"\nout = 3\n[[model.layer]]\ntype = \"relu\"\n"
      "inputs = [\"linear0\"]\n");
  const std::string r = config::resolved_toml(q);
  EXPECT_NE(r.find("type = \"relu\"\nname = \"relu1\"\ninputs = [\"linear0\"]"), std::string::npos) << r;
  auto again = config::parse_pipeline(r, "g.toml");
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->model.layers[1].inputs, std::vector<std::string>{"linear0"});
}

}  // namespace
}  // namespace plinth
