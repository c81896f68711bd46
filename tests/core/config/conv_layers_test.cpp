// conv_layers_test.cpp — the conv2d, maxpool and avgpool layer keys of
// pipeline.toml: defaults (stride 1 / stride = kernel), the resolved form,
// and each bad value as one error naming its key.
#include <gtest/gtest.h>

#include <string>

#include "../../../core/src/config/pipeline.hpp"

namespace {

using plinth::config::parse_pipeline;

#define EXPECT_HAS(haystack, needle) EXPECT_NE((haystack).find(needle), std::string::npos) << (haystack)

const std::string kHead = "[data.train]\nsource = \"synthetic\"\n";

std::string err_of(const std::string& layers) {
  auto r = parse_pipeline(kHead + layers, "p.toml");
  if (r.ok()) {
    ADD_FAILURE() << "expected an error for:\n" << layers;
    return {};
  }
  return r.status().message();
}

TEST(pipeline_conv_layers, defaults_are_filled_in_and_resolved) {
  auto r = parse_pipeline(kHead + R"([[model.layer]]
type = "conv2d"
out = 8
kernel = 5
padding = 2
[[model.layer]]
type = "maxpool"
kernel = 2
[[model.layer]]
type = "avgpool"
kernel = 3
stride = 1
padding = 1
)",
                          "p.toml");
  ASSERT_TRUE(r.ok()) << r.status().message();
  const auto& ls = r->model.layers;
  ASSERT_EQ(ls.size(), 3u);
  EXPECT_EQ(ls[0].name, "conv2d0");
  EXPECT_EQ(ls[0].integer("out"), 8);
  EXPECT_EQ(ls[0].integer("kernel"), 5);
  EXPECT_EQ(ls[0].integer("stride"), 1);
  EXPECT_EQ(ls[0].integer("padding"), 2);
  EXPECT_TRUE(ls[0].boolean("bias"));
  EXPECT_EQ(ls[1].integer("stride"), 2);  // a pool's stride defaults to its kernel
  EXPECT_EQ(ls[1].integer("padding"), 0);
  EXPECT_EQ(ls[2].integer("stride"), 1);
  const std::string resolved = plinth::config::resolved_toml(*r);
  EXPECT_HAS(
      resolved,
      "type = \"conv2d\"\nname = \"conv2d0\"\nout = 8\nkernel = 5\nstride = 1\npadding = 2\nbias = true");
  EXPECT_HAS(resolved, "type = \"maxpool\"\nname = \"maxpool1\"\nkernel = 2\nstride = 2\npadding = 0");
  // The resolved form parses to the same layers.
  auto again = parse_pipeline(resolved, "p.toml");
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->model.layers[1].integer("stride"), 2);
}

TEST(pipeline_conv_layers, bad_values_name_their_key) {
  EXPECT_HAS(err_of("[[model.layer]]\ntype = \"conv2d\"\nkernel = 3\n"), "model.layer[0].out");
  EXPECT_HAS(err_of("[[model.layer]]\ntype = \"conv2d\"\nout = 4\n"), "model.layer[0].kernel");
  EXPECT_HAS(err_of("[[model.layer]]\ntype = \"conv2d\"\nout = 4\nkernel = 0\n"), "kernel must be in 1..");
  EXPECT_HAS(err_of("[[model.layer]]\ntype = \"conv2d\"\nout = 4\nkernel = 3\nstride = 0\n"),
             "stride must be in 1..");
  EXPECT_HAS(err_of("[[model.layer]]\ntype = \"conv2d\"\nout = 4\nkernel = 3\npadding = -1\n"),
             "padding must be in 0..");
  EXPECT_HAS(err_of("[[model.layer]]\ntype = \"maxpool\"\nkernel = 3\npadding = 2\n"),
             "padding must be in 0..1 (half the kernel), got 2");
  EXPECT_HAS(err_of("[[model.layer]]\ntype = \"avgpool\"\nkernel = 2\nout = 4\n"), "out");
  EXPECT_HAS(err_of("[[model.layer]]\ntype = \"maxpool\"\nkernel = 2\nbias = false\n"), "bias");
}

}  // namespace
