// onnx_test.cpp — export/onnx.cpp and onnx_export.cpp: every registered
// layer type has an ONNX form; a type without one is refused with the
// layer's name, type and why; a missing run folder is one clear error. The
// forms themselves are checked end to end against ONNX Runtime by
// tests/export/ (label onnx).
#include <gtest/gtest.h>

#include <filesystem>

#include "config/pipeline.hpp"
#include "export/onnx.hpp"
#include "graph/build.hpp"
#include "graph/layers/layer.hpp"
#include "plinth/onnx_export.hpp"

namespace plinth {
namespace {

TEST(onnx_export, every_layer_type_has_an_onnx_form) {
  for (const graph::LayerKind* k : graph::layer_kinds()) EXPECT_NE(k->onnx, nullptr) << k->type;
}

Status identity(graph::Context&, const config::LayerSpec&, const std::string&, std::span<const int> in,
                int& out) {
  out = in[0];
  return {};
}

TEST(onnx_export, refuses_a_layer_type_without_onnx_form_by_name) {
  auto p = config::parse_pipeline(
      "[data.train]\nsource = \"synthetic\"\n[[model.layer]]\ntype = \"relu\"\nname = \"act\"\n", "m.toml");
  ASSERT_TRUE(p.ok()) << p.status().message();
  const graph::LayerKind odd{
      "odd", {}, 1, 1, nullptr, identity, false, nullptr, "it has no standard ONNX op"};
  graph::DataShape data;
  data.input_shape = {4};
  graph::BuildOptions bo;
  bo.training = false;
  graph::Graph g;
  const int in = g.add_value("input", PLINTH_DTYPE_F32, {1, 4}, graph::Role::input);
  graph::Context c{*p, data, bo, g};
  std::vector<NamedTensor> none;
  graph::OnnxContext x(none, "m.safetensors");
  x.bind(in, "input");
  config::LayerSpec l = p->model.layers[0];
  l.type = "odd";
  const int ins[] = {in};
  Status s = graph::onnx_layer(x, c, odd, l, "act", ins, in);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message().rfind("m.toml:", 0), 0u) << s.message();
  EXPECT_NE(s.message().find(": layer 'act' (odd): no ONNX form because it has no standard ONNX op"),
            std::string::npos)
      << s.message();
  // A registered type writes its form.
  EXPECT_TRUE(graph::onnx_layer(x, c, *graph::find_layer_kind("relu"), l, "act", ins, in).ok());
  EXPECT_EQ(x.node_count(), 2u);  // Relu, and the output's Identity
}

TEST(onnx_export, a_missing_run_folder_is_one_clear_error) {
  const auto dir = std::filesystem::temp_directory_path() / "plinth-onnx-test-no-such-run";
  auto e = export_onnx(dir, dir / "m.onnx", nullptr);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().message(), dir.string() + ": no such run folder");
  EXPECT_EQ(e.status().exit_code(), 2);
}

}  // namespace
}  // namespace plinth
