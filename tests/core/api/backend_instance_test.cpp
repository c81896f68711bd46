// backend_instance_test.cpp — the public API tools drive backends with
// (plinth/backend_instance.hpp, plinth/plugins.hpp), through the public
// headers only: buffers round-trip through the CPU backend, a launch runs,
// "auto" selects a backend, and a plugin's settings parse into a
// plinth_config or fail with file:line:col. Not here: op numerics
// (plinth-plugin-check, tests/backends/).
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <vector>

#include "plinth/backend_instance.hpp"
#include "plinth/plugins.hpp"

namespace plinth {
namespace {

namespace fs = std::filesystem;

std::shared_ptr<Registry> build_tree_registry() {
  DiscoveryOptions o;
  o.pipeline_manifests = {fs::path(PLINTH_BINARY_DIR) / "share/plinth/plugins.d"};
  o.use_environment = o.use_user = o.use_system = o.use_install = false;
  auto r = Registry::open(o);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return *r;
}

TEST(api_backend_instance, buffers_round_trip_and_a_fill_runs) {
  auto reg = build_tree_registry();
  auto cfg = PluginConfig::parse("threads = 1\n", "test.toml");
  ASSERT_TRUE(cfg.ok()) << cfg.status().message();
  auto be = BackendInstance::create(*reg, "cpu", cfg->get(), 0);
  ASSERT_TRUE(be.ok()) << be.status().message();
  EXPECT_EQ(be->name(), "cpu");
  ASSERT_NE(be->table(), nullptr);

  std::vector<float> in{1, 2, 3, 4}, out(4, 0);
  auto buf = be->alloc(in.size() * sizeof(float));
  ASSERT_TRUE(buf.ok()) << buf.status().message();
  EXPECT_EQ(buf->size(), 16u);
  ASSERT_TRUE(be->upload(*buf, 0, in.data(), 16).ok());
  ASSERT_TRUE(be->download(out.data(), *buf, 0, 16).ok());
  EXPECT_EQ(out, in);

  plinth_tensor t{};
  t.struct_size = PLINTH_TENSOR_STRUCT_SIZE;
  t.buffer = buf->get();
  t.dtype = PLINTH_DTYPE_F32;
  t.ndim = 1;
  t.shape[0] = 4;
  t.strides[0] = 1;
  plinth_fill_params fill{};
  fill.struct_size = PLINTH_FILL_PARAMS_STRUCT_SIZE;
  fill.value = 2.5;
  plinth_op op{};
  op.struct_size = PLINTH_OP_STRUCT_SIZE;
  op.kind = PLINTH_OP_FILL;
  op.num_outputs = 1;
  op.outputs = &t;
  op.params = &fill;
  ASSERT_TRUE(be->supports(op));
  ASSERT_TRUE(be->launch(op, "fill").ok());
  ASSERT_TRUE(be->synchronize().ok());
  ASSERT_TRUE(be->download(out.data(), *buf, 0, 16).ok());
  EXPECT_EQ(out, std::vector<float>(4, 2.5f));
  EXPECT_GE(be->peak_bytes(), 16u);
}

TEST(api_backend_instance, auto_selects_an_installed_backend_and_names_are_known) {
  auto reg = build_tree_registry();
  auto name = select_backend(*reg, "auto");
  ASSERT_TRUE(name.ok()) << name.status().message();
  EXPECT_FALSE(name->empty());
  auto named = select_backend(*reg, "cpu");  // a component name is returned as is
  ASSERT_TRUE(named.ok()) << named.status().message();
  EXPECT_EQ(*named, "cpu");
  EXPECT_STREQ(op_name(PLINTH_OP_MATMUL), "matmul");
  EXPECT_EQ(dtype_size(PLINTH_DTYPE_BF16), 2u);
  EXPECT_STREQ(kind_name(PLINTH_KIND_OPTIMIZER), "optimizer");
  EXPECT_EQ(kind_from_name("comm"), PLINTH_KIND_COMM);
}

TEST(api_plugin_config, a_syntax_error_names_the_source_line_and_column) {
  auto cfg = PluginConfig::parse("lr = 0.1\nbetas = [0.9,\n", "opt.toml");
  ASSERT_FALSE(cfg.ok());
  EXPECT_EQ(cfg.status().code(), errc::config);
  EXPECT_EQ(cfg.status().message().rfind("opt.toml:", 0), 0u) << cfg.status().message();
  EXPECT_NE(cfg.status().message().find("syntax"), std::string::npos) << cfg.status().message();
}

}  // namespace
}  // namespace plinth
