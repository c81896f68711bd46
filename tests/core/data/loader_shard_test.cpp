// loader_shard_test.cpp — data-parallel sharding: the shards of W loaders
// (batch B each) together hold exactly the rows of one loader of batch W*B,
// batch by batch, disjoint, in its order; a short last batch is split evenly.
#include <gtest/gtest.h>

#include <toml++/toml.h>

#include "data/loader.hpp"
#include "plugin/plugin_config.hpp"

namespace plinth::data {
namespace {

struct Fixture {
  std::shared_ptr<Registry> registry;
  toml::table table;
  PluginConfigPtr cfg;
  std::shared_ptr<Source> source;

  explicit Fixture(int64_t samples) {
    DiscoveryOptions o;
    o.pipeline_manifests = {std::filesystem::path(PLINTH_BINARY_DIR) / "share/plinth/plugins.d"};
    o.use_environment = o.use_system = o.use_install = false;
    auto r = Registry::open(o);
    EXPECT_TRUE(r.ok()) << r.status().message();
    registry = *r;
    table =
        toml::parse("samples = " + std::to_string(samples) + "\nshape = [2]\nnum_classes = 4\nseed = 3\n");
    cfg = make_plugin_config(table, "test.toml");
    auto s = Source::open(*registry, "synthetic", cfg.get(), "[data.train]");
    EXPECT_TRUE(s.ok()) << s.status().message();
    source = *s;
  }
};

// Each batch of an epoch as its feature bytes, one entry per row.
std::vector<std::vector<std::string>> batches(Loader& l, int64_t epoch) {
  std::vector<std::vector<std::string>> out;
  const size_t fb = l.source().fields()[0].sample_bytes;
  l.start_epoch(epoch);
  while (const Batch* b = l.next()) {
    EXPECT_TRUE(b->status.ok());
    std::vector<std::string> rows;
    for (int64_t r = 0; r < b->rows; ++r)
      rows.emplace_back(reinterpret_cast<const char*>(b->fields[0].data()) + r * fb, fb);
    out.push_back(rows);
  }
  return out;
}

TEST(loader_shard, shards_of_three_ranks_rebuild_the_global_batches) {
  Fixture f(100);  // 100 = 8 batches of 12, then 4 rows
  LoaderOptions o;
  o.seed = 11;
  o.workers = 1;
  o.batch = 12;
  Loader whole(f.source, o);
  auto global = batches(whole, 2);
  ASSERT_EQ(global.size(), 9u);
  ASSERT_EQ(global.back().size(), 4u);
  std::vector<std::vector<std::vector<std::string>>> parts;
  for (int r = 0; r < 3; ++r) {
    LoaderOptions s = o;
    s.batch = 4;
    s.shard_rank = r;
    s.shard_count = 3;
    Loader l(f.source, s);
    EXPECT_EQ(l.batches_per_epoch(), 9);
    parts.push_back(batches(l, 2));
    ASSERT_EQ(parts.back().size(), 9u);
  }
  for (size_t k = 0; k < global.size(); ++k) {
    std::vector<std::string> joined;
    for (int r = 0; r < 3; ++r) joined.insert(joined.end(), parts[r][k].begin(), parts[r][k].end());
    EXPECT_EQ(joined, global[k]) << "batch " << k;
  }
  // The last batch's 4 rows: floor(r * 4 / 3) .. floor((r + 1) * 4 / 3) -> 1, 1, 2.
  EXPECT_EQ(parts[0].back().size(), 1u);
  EXPECT_EQ(parts[1].back().size(), 1u);
  EXPECT_EQ(parts[2].back().size(), 2u);
}

TEST(loader_shard, drop_last_counts_global_batches) {
  Fixture f(100);
  LoaderOptions o;
  o.batch = 12;
  o.drop_last = true;
  o.shard_count = 4;  // global batch 48: two of them
  o.shard_rank = 3;
  Loader l(f.source, o);
  EXPECT_EQ(l.batches_per_epoch(), 2);
  auto b = batches(l, 0);
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[0].size(), 12u);
  EXPECT_EQ(b[1].size(), 12u);
}

}  // namespace
}  // namespace plinth::data
