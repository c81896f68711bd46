// version_skew_test.cpp — plugins built against another minor of ABI 1 do
// not only load (tests/core/plugin/registry_test.cpp) but run through the
// core's own backend wrapper (exec::Backend): the older-minor fixture's
// table stops before the optional num_threads, the newer-minor one carries
// a field this core does not know. Fixtures: tests/fixtures/CMakeLists.txt.
#include <gtest/gtest.h>

#include <filesystem>
#include <vector>

#include "exec/backend.hpp"
#include "plinth/registry.hpp"

namespace plinth {
namespace {

std::shared_ptr<Registry> open_good_fixtures() {
  DiscoveryOptions o;
  o.pipeline_manifests = {std::filesystem::path(PLINTH_BINARY_DIR) / "tests/fixtures/plugins/good"};
  o.use_environment = o.use_system = o.use_install = false;
  auto r = Registry::open(o);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? *r : nullptr;
}

// FILL 6 floats with 2.5 through the core's wrapper and read them back.
void fill_and_read_back(const Registry& reg, const std::string& component) {
  auto be = exec::Backend::create(reg, component, nullptr, 0);
  ASSERT_TRUE(be.ok()) << be.status().message();
  auto buf = (*be)->alloc(6 * sizeof(float));
  ASSERT_TRUE(buf.ok()) << buf.status().message();
  plinth_tensor out{};
  out.struct_size = PLINTH_TENSOR_STRUCT_SIZE;
  out.buffer = buf->get();
  out.dtype = PLINTH_DTYPE_F32;
  out.ndim = 2;
  out.shape[0] = 2;
  out.shape[1] = 3;
  out.strides[0] = 3;
  out.strides[1] = 1;
  plinth_fill_params fp{PLINTH_FILL_PARAMS_STRUCT_SIZE, 2.5};
  plinth_op op{PLINTH_OP_STRUCT_SIZE, PLINTH_OP_FILL, 0, nullptr, 1, &out, &fp};
  ASSERT_TRUE((*be)->supports(op));
  Status s = (*be)->launch(op, "fill");
  ASSERT_TRUE(s.ok()) << s.message();
  std::vector<float> host(6, 0.0f);
  s = (*be)->download(host.data(), *buf, 0, 6 * sizeof(float));
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_TRUE((*be)->synchronize().ok());
  for (float v : host) EXPECT_EQ(v, 2.5f);
}

TEST(version_skew, older_minor_backend_without_optional_functions_runs_through_the_core) {
  auto reg = open_good_fixtures();
  ASSERT_TRUE(reg);
  auto c = reg->find(PLINTH_KIND_BACKEND, "fx-old");
  ASSERT_TRUE(c.ok()) << c.status().message();
  const auto* t = static_cast<const plinth_backend_v1*>((*c)->table);
  // Smaller struct: the optional num_threads lies beyond what it declares.
  EXPECT_FALSE(PLINTH_HAS_FIELD(t, plinth_backend_v1, num_threads));
  EXPECT_TRUE(PLINTH_HAS_FIELD(t, plinth_backend_v1, launch));
  EXPECT_EQ(reg->owner(*c)->abi_minor, 0u);
  fill_and_read_back(*reg, "fx-old");
}

TEST(version_skew, newer_minor_backend_with_unknown_fields_runs_through_the_core) {
  auto reg = open_good_fixtures();
  ASSERT_TRUE(reg);
  auto c = reg->find(PLINTH_KIND_BACKEND, "fx-new");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_GT(static_cast<const plinth_backend_v1*>((*c)->table)->struct_size, PLINTH_BACKEND_V1_STRUCT_SIZE);
  EXPECT_GT(reg->owner(*c)->abi_minor, static_cast<uint32_t>(PLINTH_ABI_MINOR));
  fill_and_read_back(*reg, "fx-new");
}

}  // namespace
}  // namespace plinth
