// torch_fixture.hpp — what the tests against PyTorch's fixtures share: the
// plugin registry of the build tree and lookups into a fixture file's tensors
// (tests/fixtures/torch/make_mlp_fixture.py wrote them).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "exec/program.hpp"
#include "graph/build.hpp"
#include "plinth/registry.hpp"
#include "train/safetensors.hpp"
#include "train_test_util.hpp"

namespace plinth::torch_fixture {

inline const std::filesystem::path kTorchFixtures =
    std::filesystem::path(PLINTH_SOURCE_DIR) / "tests/fixtures/torch";

using train_test::build_tree_registry;

inline const NamedTensor& find(const std::vector<NamedTensor>& ts, const std::string& name) {
  for (const auto& t : ts)
    if (t.name == name) return t;
  ADD_FAILURE() << "fixture has no tensor " << name;
  static NamedTensor none;
  return none;
}

inline std::vector<float> floats(const NamedTensor& t) {
  std::vector<float> v(t.data.size() / 4);
  std::memcpy(v.data(), t.data.data(), t.data.size());
  return v;
}

// The data shape of the fixture for `loss`: class ids (3 classes) for
// cross_entropy, f32 targets for mse.
inline graph::DataShape data_shape(const std::vector<NamedTensor>& fx, const std::string& loss) {
  graph::DataShape shape;
  shape.input_shape = {find(fx, "input").shape[1]};
  if (loss == "mse") {
    shape.target_dtype = PLINTH_DTYPE_F32;
    shape.target_shape = {find(fx, "target").shape[1]};
  } else {
    shape.num_classes = 3;
  }
  return shape;
}

// Declare the parameters, gradients and loss stat of `g` in `store`,
// allocate it, and load the fixture's weights (shapes checked).
// Call under ASSERT_NO_FATAL_FAILURE.
inline void load_fixture_weights(exec::Store& store, const graph::Graph& g,
                                 const std::vector<NamedTensor>& fx) {
  for (const auto& p : g.params) {
    const auto& v = g.values[p.value];
    ASSERT_TRUE(store.declare(v.name, exec::Store::params, PLINTH_DTYPE_F32, v.shape).ok());
    ASSERT_TRUE(store.declare(v.name + ".grad", exec::Store::grads, PLINTH_DTYPE_F32, v.shape).ok());
  }
  ASSERT_TRUE(store.declare(g.values[g.loss_sum].name, exec::Store::stats, PLINTH_DTYPE_F32, {}).ok());
  ASSERT_TRUE(store.allocate().ok());
  for (const auto& p : g.params) {
    const auto& v = g.values[p.value];
    const NamedTensor& w = find(fx, v.name);
    ASSERT_EQ(w.shape, v.shape) << v.name;
    ASSERT_TRUE(store.backend()
                    .upload(store.buffer(exec::Store::params), store.slot(v.name).offset, w.data.data(),
                            w.data.size())
                    .ok());
  }
}

// Compile g over `store` (weights loaded), check no op falls back, upload the
// fixture's "input" and "target" and run one step; `out` keeps the program.
// Call under ASSERT_NO_FATAL_FAILURE.
inline void run_on_fixture(exec::Store& store, const graph::Graph& g, const std::vector<NamedTensor>& fx,
                           std::unique_ptr<exec::Program>& out) {
  auto prog = exec::Program::compile(g, store);
  ASSERT_TRUE(prog.ok()) << prog.status().message();
  EXPECT_EQ((*prog)->num_fallbacks(), 0u);
  const NamedTensor& input = find(fx, "input");
  const NamedTensor& target = find(fx, "target");
  ASSERT_TRUE((*prog)->upload_input(input.data.data(), input.data.size()).ok());
  ASSERT_TRUE((*prog)->upload_target(target.data.data(), target.data.size()).ok());
  Status s = (*prog)->run();
  ASSERT_TRUE(s.ok()) << s.message();
  out = std::move(*prog);
}

// The value of a scalar stat (e.g. "loss.sum") after a run.
inline float stat(exec::Store& store, const std::string& name) {
  float v = NAN;
  EXPECT_TRUE(
      store.backend().download(&v, store.buffer(exec::Store::stats), store.slot(name).offset, 4).ok());
  return v;
}

// Every parameter's gradient in `store` against the fixture's "<name>.grad":
// |got - want| <= abs_tol + rel_tol * |want| + max_tol * max|want of that tensor|.
inline void expect_gradients_match(exec::Store& store, const graph::Graph& g,
                                   const std::vector<NamedTensor>& fx, double abs_tol, double rel_tol,
                                   double max_tol = 0.0) {
  for (const auto& p : g.params) {
    const auto& v = g.values[p.value];
    const auto& slot = store.slot(v.name + ".grad");
    std::vector<float> got(slot.bytes / 4);
    ASSERT_TRUE(
        store.backend().download(got.data(), store.buffer(exec::Store::grads), slot.offset, slot.bytes).ok());
    auto want = floats(find(fx, v.name + ".grad"));
    ASSERT_EQ(got.size(), want.size()) << v.name;
    double largest = 0;
    for (float w : want) largest = std::max(largest, static_cast<double>(std::fabs(w)));
    for (size_t i = 0; i < got.size(); ++i)
      EXPECT_NEAR(got[i], want[i], abs_tol + rel_tol * std::fabs(want[i]) + max_tol * largest)
          << v.name << ".grad[" << i << "]";
  }
}

}  // namespace plinth::torch_fixture
