// torch_fixture.hpp — what the tests against PyTorch's fixtures share: the
// plugin registry of the build tree and lookups into a fixture file's tensors
// (tests/fixtures/torch/make_mlp_fixture.py wrote them).
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "plinth/registry.hpp"
#include "train/safetensors.hpp"

namespace plinth::torch_fixture {

inline const std::filesystem::path kTorchFixtures =
    std::filesystem::path(PLINTH_SOURCE_DIR) / "tests/fixtures/torch";

// The plugins built into this build tree, and nothing else.
inline std::shared_ptr<Registry> build_tree_registry() {
  DiscoveryOptions o;
  o.pipeline_manifests = {std::filesystem::path(PLINTH_BINARY_DIR) / "share/plinth/plugins.d"};
  o.use_environment = o.use_system = o.use_install = false;
  auto r = Registry::open(o);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? *r : nullptr;
}

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

}  // namespace plinth::torch_fixture
