// source_test.cpp — data::Source::metadata(): the `text` source's vocabulary
// through the real plinth-data-std library, an unknown key, a source without
// metadata, and a plugin whose table has ABI 1.0's size (metadata absent:
// the core must not call the slot beyond struct_size).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <toml++/toml.h>
#include <nlohmann/json.hpp>

#include "data/source.hpp"
#include "plugin/plugin_config.hpp"

namespace plinth::data {
namespace {

std::shared_ptr<Registry> registry() {
  DiscoveryOptions o;
  o.pipeline_manifests = {std::filesystem::path(PLINTH_BINARY_DIR) / "share/plinth/plugins.d",
                          std::filesystem::path(PLINTH_ABI_1_0_MANIFESTS)};
  o.use_environment = o.use_system = o.use_install = false;
  auto r = Registry::open(o);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? *r : nullptr;
}

struct Opened {
  std::shared_ptr<Registry> reg = registry();
  toml::table table;
  PluginConfigPtr cfg;
  std::shared_ptr<Source> src;
  Opened(const std::string& component, const std::string& toml_text) {
    table = toml::parse(toml_text);
    cfg = make_plugin_config(table, "test.toml");
    auto s = Source::open(*reg, component, cfg.get(), "[data.train]");
    EXPECT_TRUE(s.ok()) << s.status().message();
    if (s.ok()) src = *s;
  }
};

TEST(source, metadata_returns_the_text_sources_vocabulary) {
  const auto path = std::filesystem::temp_directory_path() / "plinth-source-test-vocab.txt";
  std::ofstream(path, std::ios::binary) << "abcab\nba";
  Opened o("text", "path = '" + path.string() + "'\nblock_size = 2\n");
  ASSERT_TRUE(o.src);
  auto v = o.src->metadata("vocab");
  ASSERT_TRUE(v.ok()) << v.status().message();
  ASSERT_TRUE(v->has_value());
  auto j = nlohmann::json::parse(**v);
  EXPECT_EQ(j["type"], "char");
  EXPECT_EQ(j["tokens"], nlohmann::json({"\n", "a", "b", "c"}));
  auto none = o.src->metadata("no-such-key");
  ASSERT_TRUE(none.ok()) << none.status().message();
  EXPECT_FALSE(none->has_value());
  std::filesystem::remove(path);
}

TEST(source, metadata_is_absent_for_a_source_without_it) {
  Opened o("synthetic", "samples = 4\n");
  ASSERT_TRUE(o.src);
  auto v = o.src->metadata("vocab");
  ASSERT_TRUE(v.ok()) << v.status().message();
  EXPECT_FALSE(v->has_value());
}

TEST(source, metadata_is_absent_for_an_abi_1_0_table_and_never_called) {
  Opened o("abi-1-0-data", "");
  ASSERT_TRUE(o.src);
  EXPECT_EQ(o.src->size(), 3u);  // the 1.0 plugin loads and opens
  auto v = o.src->metadata("vocab");
  ASSERT_TRUE(v.ok()) << v.status().message();
  EXPECT_FALSE(v->has_value()) << "read a table slot beyond its struct_size: got " << **v;
}

}  // namespace
}  // namespace plinth::data
