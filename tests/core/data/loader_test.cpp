// loader_test.cpp — the prefetching loader over the synthetic source: every
// sample once per epoch, seeded order (same seed same order, epochs differ),
// drop_last, and worker threads giving the same bytes as a serial read.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <set>

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
        toml::parse("samples = " + std::to_string(samples) + "\nshape = [3]\nnum_classes = 4\nseed = 9\n");
    cfg = make_plugin_config(table, "test.toml");
    auto s = Source::open(*registry, "synthetic", cfg.get(), "[data.train]");
    EXPECT_TRUE(s.ok()) << s.status().message();
    source = *s;
  }
};

// The sample index a batch row holds, recovered by matching feature bytes.
std::vector<std::vector<unsigned char>> all_samples(Source& s) {
  std::vector<std::vector<unsigned char>> out;
  for (uint64_t i = 0; i < s.size(); ++i) {
    std::vector<unsigned char> f(s.fields()[0].sample_bytes), l(s.fields()[1].sample_bytes);
    void* bufs[] = {f.data(), l.data()};
    EXPECT_TRUE(s.read(&i, 1, bufs).ok());
    out.push_back(f);
  }
  return out;
}

std::vector<int64_t> epoch_order(Loader& loader, Source& s, int64_t epoch) {
  auto samples = all_samples(s);
  const uint64_t fb = s.fields()[0].sample_bytes;
  std::vector<int64_t> order;
  loader.start_epoch(epoch);
  while (const Batch* b = loader.next()) {
    EXPECT_TRUE(b->status.ok());
    for (int64_t r = 0; r < b->rows; ++r) {
      auto it = std::find_if(samples.begin(), samples.end(), [&](const auto& x) {
        return std::memcmp(x.data(), b->fields[0].data() + r * fb, fb) == 0;
      });
      EXPECT_NE(it, samples.end());
      order.push_back(it - samples.begin());
    }
  }
  return order;
}

TEST(loader, every_sample_once_per_epoch_in_a_seeded_order) {
  Fixture f(103);
  LoaderOptions o;
  o.batch = 10;
  o.seed = 5;
  Loader a(f.source, o), b(f.source, o);
  EXPECT_EQ(a.batches_per_epoch(), 11);
  auto e0 = epoch_order(a, *f.source, 0);
  ASSERT_EQ(e0.size(), 103u);
  EXPECT_EQ(std::set<int64_t>(e0.begin(), e0.end()).size(), 103u);
  EXPECT_EQ(e0, epoch_order(b, *f.source, 0));  // same seed, same order
  auto e1 = epoch_order(a, *f.source, 1);
  EXPECT_NE(e0, e1);  // a new order each epoch
  std::vector<int64_t> identity(103);
  for (int i = 0; i < 103; ++i) identity[i] = i;
  EXPECT_NE(e0, identity);
}

TEST(loader, drop_last_skips_the_partial_batch) {
  Fixture f(103);
  LoaderOptions o;
  o.batch = 10;
  o.drop_last = true;
  Loader l(f.source, o);
  EXPECT_EQ(l.batches_per_epoch(), 10);
  EXPECT_EQ(epoch_order(l, *f.source, 0).size(), 100u);
}

TEST(loader, workers_give_the_same_batches_as_a_serial_read) {
  Fixture f(257);
  LoaderOptions o;
  o.batch = 16;
  o.seed = 3;
  o.workers = 0;
  Loader serial(f.source, o);
  o.workers = 3;
  o.prefetch = 2;
  Loader parallel(f.source, o);
  for (int epoch = 0; epoch < 3; ++epoch) {
    serial.start_epoch(epoch);
    parallel.start_epoch(epoch);
    for (;;) {
      const Batch* a = serial.next();
      const Batch* b = parallel.next();
      ASSERT_EQ(a == nullptr, b == nullptr);
      if (!a) break;
      ASSERT_EQ(a->rows, b->rows);
      for (size_t k = 0; k < a->fields.size(); ++k)
        EXPECT_EQ(std::memcmp(a->fields[k].data(), b->fields[k].data(),
                              a->rows * f.source->fields()[k].sample_bytes),
                  0);
    }
  }
}

TEST(loader, no_order_without_shuffle) {
  Fixture f(20);
  LoaderOptions o;
  o.batch = 7;
  o.shuffle = false;
  Loader l(f.source, o);
  auto order = epoch_order(l, *f.source, 0);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(order[i], i);
}

}  // namespace
}  // namespace plinth::data

namespace plinth::data {
namespace {

// Resume starts an epoch part-way: the batches from `skip` on must be those
// of a full epoch, with worker threads and a small ring (where releasing a
// batch that was never handed out used to clear a filled slot and hang).
TEST(loader, starting_an_epoch_part_way_gives_the_rest_of_that_epoch) {
  Fixture f(200);
  LoaderOptions o;
  o.batch = 8;
  o.seed = 11;
  o.workers = 0;
  Loader full(f.source, o);
  o.workers = 3;
  o.prefetch = 1;
  Loader part(f.source, o);
  for (int64_t skip : {1, 2, 3, 7, 24, 25}) {
    full.start_epoch(2);
    for (int64_t i = 0; i < skip; ++i) ASSERT_NE(full.next(), nullptr);
    part.start_epoch(2, skip);
    int64_t n = 0;
    for (;;) {
      const Batch* a = full.next();
      const Batch* b = part.next();
      ASSERT_EQ(a == nullptr, b == nullptr) << "skip " << skip;
      if (!a) break;
      ASSERT_EQ(a->index, b->index);
      EXPECT_EQ(
          std::memcmp(a->fields[0].data(), b->fields[0].data(), a->rows * f.source->fields()[0].sample_bytes),
          0);
      ++n;
    }
    EXPECT_EQ(n, 25 - std::min<int64_t>(skip, 25)) << "skip " << skip;
  }
}

}  // namespace
}  // namespace plinth::data

namespace plinth::data {
namespace {

// A resolution: image fields (rank 2 or 3) change shape, others do not; a
// source without read_ctx (synthetic) reads at its own shape and refuses
// another with an error naming it, in the batch's status.
TEST(loader, resolution_of_a_source_without_read_context) {
  Field img{"x", PLINTH_DTYPE_F32, {3, 8, 6}, 0, 3 * 8 * 6 * 4};
  Field lab{"y", PLINTH_DTYPE_I32, {}, 4, 4};
  EXPECT_TRUE(is_image_field(img));
  EXPECT_FALSE(is_image_field(lab));
  EXPECT_EQ(shape_at(img, {4, 5}), (std::vector<int64_t>{3, 4, 5}));
  EXPECT_EQ(shape_at(img, {}), img.shape);
  EXPECT_EQ(sample_bytes_at(img, {4, 5}), 3u * 4 * 5 * 4);
  EXPECT_EQ(sample_bytes_at(lab, {4, 5}), 4u);

  Fixture f(30);  // synthetic, shape [3]: no image field
  LoaderOptions o;
  o.batch = 8;
  Loader l(f.source, o);
  l.start_epoch(0, 0, {16, 16});  // nothing to resize: fine
  const Batch* b = l.next();
  ASSERT_NE(b, nullptr);
  EXPECT_TRUE(b->status.ok()) << b->status.message();
  EXPECT_EQ(b->res, (Resolution{16, 16}));
  EXPECT_EQ(b->sample_bytes[0], f.source->fields()[0].sample_bytes);
}

TEST(loader, refuses_a_resolution_the_source_cannot_give) {
  DiscoveryOptions d;
  d.pipeline_manifests = {std::filesystem::path(PLINTH_BINARY_DIR) / "share/plinth/plugins.d"};
  d.use_environment = d.use_system = d.use_install = false;
  auto r = Registry::open(d);
  ASSERT_TRUE(r.ok()) << r.status().message();
  toml::table t = toml::parse("samples = 20\nshape = [1, 4, 4]\nnum_classes = 2\n");
  auto cfg = make_plugin_config(t, "test.toml");
  auto s = Source::open(**r, "synthetic", cfg.get(), "[data.train]");
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_FALSE((*s)->has_read_ctx());
  LoaderOptions o;
  o.batch = 5;
  o.workers = 2;
  Loader l(*s, o);
  l.start_epoch(0, 0, {4, 4});  // its own shape: read as usual
  const Batch* b = l.next();
  ASSERT_NE(b, nullptr);
  EXPECT_TRUE(b->status.ok()) << b->status.message();
  l.start_epoch(0, 0, {2, 2});
  b = l.next();
  ASSERT_NE(b, nullptr);
  ASSERT_FALSE(b->status.ok());
  EXPECT_NE(b->status.message().find("[data.train]"), std::string::npos) << b->status.message();
  EXPECT_NE(b->status.message().find("2x2"), std::string::npos) << b->status.message();
}

}  // namespace
}  // namespace plinth::data
