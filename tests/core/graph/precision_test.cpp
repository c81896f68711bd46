// precision_test.cpp — the mixed-precision pass: every MATMUL reads bf16/f16
// copies of its f32 operands and writes f32, each copy is made once and
// shared between forward and backward, a value written again is cast again,
// and a forward pass on the CPU backend gives the loss of bf16/f16-rounded
// inputs (a reference in double from independently rounded values).
#include "graph/precision.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <map>
#include <random>
#include <set>

#include "config/pipeline.hpp"
#include "exec/program.hpp"
#include "graph/build.hpp"
#include "plinth/registry.hpp"

namespace plinth {
namespace {

using graph::Graph;
using graph::Node;
using graph::Role;

config::Pipeline mlp_pipeline() {
  auto p = config::parse_pipeline(R"(
[data.train]
source = "synthetic"
[[model.layer]]
type = "linear"
name = "fc1"
out = 16
[[model.layer]]
type = "relu"
[[model.layer]]
type = "linear"
name = "fc2"
out = 3
)",
                                  "p.toml");
  EXPECT_TRUE(p.ok()) << p.status().message();
  return std::move(*p);
}

graph::DataShape data_shape(int64_t features, int64_t classes) {
  graph::DataShape s;
  s.input_shape = {features};
  s.num_classes = classes;
  return s;
}

std::vector<const Node*> all_nodes(const Graph& g) {
  std::vector<const Node*> v;
  for (const auto& n : g.forward) v.push_back(&n);
  for (const auto& n : g.backward) v.push_back(&n);
  return v;
}

TEST(precision, matmul_dtype_maps_the_precision_names) {
  auto dtype_of = [](const char* name) {
    auto d = graph::matmul_dtype(name);
    EXPECT_TRUE(d.ok()) << name;
    return d.ok() ? *d : PLINTH_DTYPE_U8;
  };
  EXPECT_EQ(dtype_of("fp32"), PLINTH_DTYPE_F32);
  EXPECT_EQ(dtype_of("bf16"), PLINTH_DTYPE_BF16);
  EXPECT_EQ(dtype_of("fp16"), PLINTH_DTYPE_F16);
  auto bad = graph::matmul_dtype("fp8");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("fp8"), std::string::npos);
}

TEST(precision, fp32_leaves_the_graph_as_it_is) {
  auto g = graph::build(mlp_pipeline(), data_shape(8, 3), {4, true});
  ASSERT_TRUE(g.ok()) << g.status().message();
  const size_t nv = g->values.size(), nf = g->forward.size(), nb = g->backward.size();
  auto s = graph::cast_matmul_inputs(*g, PLINTH_DTYPE_F32);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->casts, 0);
  EXPECT_EQ(g->values.size(), nv);
  EXPECT_EQ(g->forward.size(), nf);
  EXPECT_EQ(g->backward.size(), nb);
}

TEST(precision, casts_every_matmul_operand_once_and_shares_it_with_backward) {
  for (plinth_dtype low : {PLINTH_DTYPE_BF16, PLINTH_DTYPE_F16}) {
    auto g = graph::build(mlp_pipeline(), data_shape(8, 3), {4, true});
    ASSERT_TRUE(g.ok()) << g.status().message();
    const int seed_kind = g->backward[g->loss_seed].kind;
    auto s = graph::cast_matmul_inputs(*g, low);
    ASSERT_TRUE(s.ok()) << s.status().message();
    // Forward: fc1 (x, W1), fc2 (h, W2). Backward: dh = dy2 W2, dW2 = dy2^T h,
    // dW1 = dy1^T x (no dx: the input needs no gradient). Six distinct
    // operands: x, W1, h, W2, dy2, dy1 — each cast exactly once.
    EXPECT_EQ(s->matmuls, 5);
    EXPECT_EQ(s->casts, 6);
    EXPECT_EQ(g->backward[g->loss_seed].kind, seed_kind);  // the seed index followed the insertions

    const auto nodes = all_nodes(*g);
    std::map<int, int> cast_at;   // cast output -> its node position
    std::map<int, int> cast_src;  // cast output -> the f32 value it copies
    std::map<int, int> uses;      // cast output -> matmuls reading it
    std::set<int> sources;
    for (int i = 0; i < static_cast<int>(nodes.size()); ++i) {
      const Node& n = *nodes[i];
      if (n.kind == PLINTH_OP_CAST) {
        ASSERT_EQ(n.inputs.size(), 1u);
        const auto& in = g->values[n.inputs[0]];
        const auto& out = g->values[n.outputs[0]];
        EXPECT_EQ(in.dtype, PLINTH_DTYPE_F32);
        EXPECT_EQ(out.dtype, low);
        EXPECT_EQ(out.shape, in.shape);
        EXPECT_EQ(out.alias_of, -1) << out.name << ": a cast writes a dense value of its own";
        EXPECT_EQ(out.role, Role::activation);
        EXPECT_TRUE(sources.insert(n.inputs[0]).second) << in.name << " cast twice";
        cast_at[n.outputs[0]] = i;
        cast_src[n.outputs[0]] = n.inputs[0];
      }
      if (n.kind == PLINTH_OP_MATMUL) {
        for (size_t k = 0; k < 2; ++k) {
          const int v = n.inputs[k];
          EXPECT_EQ(g->values[v].dtype, low) << n.layer << " in[" << k << "]";
          ASSERT_TRUE(cast_at.count(v)) << n.layer << " in[" << k << "] is not made by an earlier cast";
          ++uses[v];
        }
        if (n.inputs.size() == 3) {
          EXPECT_EQ(g->values[n.inputs[2]].dtype, PLINTH_DTYPE_F32) << "bias";
        }
        EXPECT_EQ(g->values[n.outputs[0]].dtype, PLINTH_DTYPE_F32);
      }
    }
    // Shared: W2's copy feeds fc2 and dh; h's copy feeds fc2 and dW2; x's
    // copy feeds fc1 and dW1; dy2's copy feeds dh and dW2.
    auto uses_of = [&](const std::string& src_name) {
      for (const auto& [c, src] : cast_src)
        if (g->values[g->root(src)].name == src_name || g->values[src].name == src_name) return uses[c];
      ADD_FAILURE() << "no cast of " << src_name;
      return 0;
    };
    EXPECT_EQ(uses_of("fc2.weight"), 2);
    EXPECT_EQ(uses_of("fc1.weight"), 1);
    EXPECT_EQ(uses_of("input"), 2);
    EXPECT_EQ(uses_of("fc2.out.grad"), 2);
    EXPECT_EQ(uses_of("fc1.out.grad"), 1);
    // Nothing else changed dtype: parameters, gradients, other ops stay f32.
    for (const auto& p : g->params) {
      EXPECT_EQ(g->values[p.value].dtype, PLINTH_DTYPE_F32);
      EXPECT_EQ(g->values[g->values[p.value].grad].dtype, PLINTH_DTYPE_F32);
    }
    for (const Node* n : nodes) {
      if (n->kind == PLINTH_OP_MATMUL || n->kind == PLINTH_OP_CAST) continue;
      for (int v : n->inputs) {
        if (g->values[v].dtype == PLINTH_DTYPE_I32) continue;  // class labels
        EXPECT_EQ(g->values[v].dtype, PLINTH_DTYPE_F32) << g->values[v].name;
      }
    }
  }
}

TEST(precision, a_value_written_between_two_matmuls_is_cast_again) {
  Graph g;
  const int a = g.add_value("a", PLINTH_DTYPE_F32, {2, 2}, Role::activation);
  const int b = g.add_value("b", PLINTH_DTYPE_F32, {2, 2}, Role::param);
  const int y1 = g.add_value("y1", PLINTH_DTYPE_F32, {2, 2}, Role::activation);
  const int y2 = g.add_value("y2", PLINTH_DTYPE_F32, {2, 2}, Role::activation);
  const int av = g.add_view(a, {4}, "a.flat");  // written through a view of a's bytes
  const plinth_matmul_params mp{sizeof(plinth_matmul_params), 0, 0, 1.f, 0.f};
  g.forward.push_back({PLINTH_OP_MATMUL, {a, b}, {y1}, mp, "l"});
  g.forward.push_back({PLINTH_OP_FILL, {}, {av}, plinth_fill_params{sizeof(plinth_fill_params), 1.0}, "l"});
  g.forward.push_back({PLINTH_OP_MATMUL, {a, b}, {y2}, mp, "l"});
  auto s = graph::cast_matmul_inputs(g, PLINTH_DTYPE_BF16);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->casts, 3);  // a, b; then a again after the FILL (b is reused)
  ASSERT_EQ(g.forward.size(), 6u);
  EXPECT_EQ(g.forward[0].kind, PLINTH_OP_CAST);
  EXPECT_EQ(g.forward[1].kind, PLINTH_OP_CAST);
  EXPECT_EQ(g.forward[2].kind, PLINTH_OP_MATMUL);
  EXPECT_EQ(g.forward[3].kind, PLINTH_OP_FILL);
  EXPECT_EQ(g.forward[4].kind, PLINTH_OP_CAST);
  EXPECT_EQ(g.forward[4].inputs[0], a);
  EXPECT_EQ(g.forward[5].inputs[1], g.forward[2].inputs[1]);  // b's copy shared
  EXPECT_NE(g.forward[5].inputs[0], g.forward[2].inputs[0]);  // a's copy made anew
}

// --- numbers on the CPU backend ---------------------------------------------

std::shared_ptr<Registry> build_tree_registry() {
  DiscoveryOptions o;
  o.pipeline_manifests = {std::filesystem::path(PLINTH_BINARY_DIR) / "share/plinth/plugins.d"};
  o.use_environment = o.use_system = o.use_install = false;
  auto r = Registry::open(o);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? *r : nullptr;
}

// Round to `mant` explicit mantissa bits, nearest even, in double (an
// independent model of the f32 -> bf16 (7) / f16 (10) conversion for values
// in the normal range, which is all this test makes).
double round_to(double v, int mant) {
  if (v == 0) return v;
  int e;
  std::frexp(v, &e);  // v = f * 2^e, 0.5 <= |f| < 1
  const double ulp = std::ldexp(1.0, e - 1 - mant);
  return std::nearbyint(v / ulp) * ulp;  // nearbyint: ties to even by default
}

// Cross-entropy of one linear layer y = x W^T + b, summed over rows, in double.
double xent_sum(const std::vector<double>& x, const std::vector<double>& w, const std::vector<double>& bias,
                const std::vector<int32_t>& labels, int64_t B, int64_t F, int64_t C) {
  double sum = 0;
  for (int64_t r = 0; r < B; ++r) {
    std::vector<double> z(static_cast<size_t>(C));
    double m = -INFINITY;
    for (int64_t c = 0; c < C; ++c) {
      double acc = bias[c];
      for (int64_t f = 0; f < F; ++f) acc += x[r * F + f] * w[c * F + f];
      z[c] = acc;
      m = std::max(m, acc);
    }
    double se = 0;
    for (double v : z) se += std::exp(v - m);
    sum += m + std::log(se) - z[labels[r]];
  }
  return sum;
}

TEST(precision, forward_loss_is_that_of_rounded_operands) {
  auto reg = build_tree_registry();
  ASSERT_TRUE(reg);
  auto p = config::parse_pipeline(
      "[data.train]\nsource = \"synthetic\"\n[[model.layer]]\ntype = \"linear\"\nname = \"fc\"\nout = 5\n",
      "p.toml");
  ASSERT_TRUE(p.ok());
  const int64_t B = 6, F = 40, C = 5;
  std::mt19937 gen(11);
  std::normal_distribution<float> nd(0.f, 1.f);
  std::vector<float> x(B * F), w(C * F), bias(C);
  for (auto& v : x) v = nd(gen);
  for (auto& v : w) v = 0.3f * nd(gen);
  for (auto& v : bias) v = 0.1f * nd(gen);
  std::vector<int32_t> labels{0, 1, 2, 3, 4, 2};

  for (auto [low, mant] : {std::pair{PLINTH_DTYPE_BF16, 7}, std::pair{PLINTH_DTYPE_F16, 10}}) {
    auto g = graph::build(*p, data_shape(F, C), {B, false});
    ASSERT_TRUE(g.ok()) << g.status().message();
    ASSERT_TRUE(graph::cast_matmul_inputs(*g, low).ok());
    auto backend = exec::Backend::create(*reg, "cpu", nullptr, 0);
    ASSERT_TRUE(backend.ok()) << backend.status().message();
    exec::Store store(*backend);
    ASSERT_TRUE(store.declare("fc.weight", exec::Store::params, PLINTH_DTYPE_F32, {C, F}).ok());
    ASSERT_TRUE(store.declare("fc.bias", exec::Store::params, PLINTH_DTYPE_F32, {C}).ok());
    ASSERT_TRUE(store.declare("eval.loss.sum", exec::Store::stats, PLINTH_DTYPE_F32, {}).ok());
    ASSERT_TRUE(store.allocate().ok());
    const auto& params = store.buffer(exec::Store::params);
    ASSERT_TRUE((*backend)->upload(params, store.slot("fc.weight").offset, w.data(), w.size() * 4).ok());
    ASSERT_TRUE((*backend)->upload(params, store.slot("fc.bias").offset, bias.data(), bias.size() * 4).ok());
    auto prog = exec::Program::compile(*g, store);
    ASSERT_TRUE(prog.ok()) << prog.status().message();
    ASSERT_TRUE((*prog)->upload_input(x.data(), x.size() * 4).ok());
    ASSERT_TRUE((*prog)->upload_target(labels.data(), labels.size() * 4).ok());
    Status s = (*prog)->run();
    ASSERT_TRUE(s.ok()) << s.message();
    float got = 0;
    ASSERT_TRUE((*backend)
                    ->download(&got, store.buffer(exec::Store::stats), store.slot("eval.loss.sum").offset, 4)
                    .ok());

    std::vector<double> xr(x.size()), wr(w.size()), x64(x.begin(), x.end()), w64(w.begin(), w.end());
    for (size_t i = 0; i < x.size(); ++i) xr[i] = round_to(x[i], mant);
    for (size_t i = 0; i < w.size(); ++i) wr[i] = round_to(w[i], mant);
    const std::vector<double> b64(bias.begin(), bias.end());
    const double want = xent_sum(xr, wr, b64, labels, B, F, C);
    const double full = xent_sum(x64, w64, b64, labels, B, F, C);
    // f32 accumulation of exact products: agrees with the rounded-operand
    // reference to f32 rounding, and is measurably away from full precision
    // (so a pass that cast nothing would fail here).
    const double tol = 3e-6 * std::fabs(want);
    EXPECT_NEAR(got, want, tol) << mant;
    EXPECT_GT(std::fabs(want - full), 10 * tol) << "test data too kind: " << mant;
  }
}

}  // namespace
}  // namespace plinth
