// loader_test.cpp — the prefetching loader over the synthetic source: every
// sample once per epoch, seeded order (same seed same order, epochs differ),
// drop_last, and worker threads giving the same bytes as a serial read; a
// resolution per epoch, and the `images` source's read context (augmented
// bytes independent of worker count, resume and epoch).
#include <gtest/gtest.h>

#include <unistd.h>

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

namespace plinth::data {
namespace {

// The `images` source (ABI 1.2 read_ctx) through the loader: augmented bytes
// that do not depend on the worker count, a resumed epoch that reads what the
// full one read, epochs that differ, and a resolution passed to the source.
struct ImagesFixture {
  std::filesystem::path dir;
  std::shared_ptr<Registry> registry;
  toml::table table;
  PluginConfigPtr cfg;
  std::shared_ptr<Source> source;
  ImagesFixture() {
    dir = std::filesystem::temp_directory_path() / ("plinth-loader-images-" + std::to_string(::getpid()));
    const std::filesystem::path fx = std::filesystem::path(PLINTH_SOURCE_DIR) / "tests/fixtures/images";
    const char* files[] = {"smooth.jpg",      "smooth.png", "big.jpg",
                           "progressive.jpg", "rgb.png",    "smooth444.jpg"};
    for (int k = 0; k < 30; ++k) {
      const auto cls = dir / ("c" + std::to_string(k % 3));
      std::filesystem::create_directories(cls);
      const std::string f = files[k % 6];
      std::filesystem::copy_file(fx / f, cls / (std::to_string(k) + "_" + f),
                                 std::filesystem::copy_options::overwrite_existing);
    }
    DiscoveryOptions o;
    o.pipeline_manifests = {std::filesystem::path(PLINTH_BINARY_DIR) / "share/plinth/plugins.d"};
    o.use_environment = o.use_system = o.use_install = false;
    auto r = Registry::open(o);
    EXPECT_TRUE(r.ok()) << r.status().message();
    registry = *r;
    table =
        toml::parse("root = '" + dir.string() +
                    "'\nchannels = 3\nsize = 16\nrandom_resized_crop = true\nflip = true\npad_crop = 2\n");
    cfg = make_plugin_config(table, "test.toml");
    auto s = Source::open(*registry, "images", cfg.get(), "[data.train]");
    EXPECT_TRUE(s.ok()) << s.status().message();
    source = *s;
  }
  ~ImagesFixture() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

std::vector<std::vector<unsigned char>> epoch_bytes(Loader& l, int64_t epoch, int64_t skip = 0,
                                                    Resolution res = {}) {
  std::vector<std::vector<unsigned char>> out;
  l.start_epoch(epoch, skip, res);
  while (const Batch* b = l.next()) {
    EXPECT_TRUE(b->status.ok()) << b->status.message();
    EXPECT_EQ(b->res, res);
    out.emplace_back(b->fields[0].begin(), b->fields[0].begin() + b->rows * int64_t(b->sample_bytes[0]));
  }
  return out;
}

TEST(loader, images_augmentation_is_the_same_for_any_worker_count_and_on_resume) {
  ImagesFixture f;
  ASSERT_TRUE(f.source);
  EXPECT_TRUE(f.source->has_read_ctx());
  LoaderOptions o;
  o.batch = 4;
  o.seed = 2;
  o.read_seed = 77;
  o.workers = 1;
  Loader one(f.source, o);
  o.workers = 4;
  o.prefetch = 2;
  Loader four(f.source, o);
  const auto e0 = epoch_bytes(one, 0), e1 = epoch_bytes(one, 1);
  EXPECT_EQ(e0, epoch_bytes(four, 0));
  EXPECT_EQ(e1, epoch_bytes(four, 1));
  // Resume at batch 3 of epoch 1: the rest of that epoch, byte for byte.
  const auto rest = epoch_bytes(four, 1, 3);
  ASSERT_EQ(rest.size(), e1.size() - 3);
  for (size_t k = 0; k < rest.size(); ++k) EXPECT_EQ(rest[k], e1[k + 3]) << k;
  // Without shuffling, the same samples in the same order: only the
  // augmentation differs between epochs, and it does.
  o.shuffle = false;
  Loader plain(f.source, o);
  EXPECT_NE(epoch_bytes(plain, 0), epoch_bytes(plain, 1));
  // Another run seed, other draws.
  o.read_seed = 78;
  Loader other(f.source, o);
  o.read_seed = 77;
  Loader same(f.source, o);
  EXPECT_NE(epoch_bytes(other, 0), epoch_bytes(same, 0));
}

TEST(loader, images_read_at_the_epochs_resolution) {
  ImagesFixture f;
  ASSERT_TRUE(f.source);
  LoaderOptions o;
  o.batch = 8;
  o.shuffle = false;
  o.read_seed = 5;
  o.workers = 2;
  Loader l(f.source, o);
  const auto small = epoch_bytes(l, 2, 0, {8, 12});
  ASSERT_FALSE(small.empty());
  EXPECT_EQ(small[0].size(), 8u * 3 * 8 * 12 * 4);
  // The same as the source read directly with that context.
  std::vector<float> img(3 * 8 * 12 * 8);
  std::vector<int32_t> lab(8);
  void* bufs[] = {img.data(), lab.data()};
  std::vector<uint64_t> idx = {0, 1, 2, 3, 4, 5, 6, 7};
  ReadContext ctx;
  ctx.seed = 5;
  ctx.epoch = 2;
  ctx.res = {8, 12};
  ASSERT_TRUE(f.source->read(ctx, idx.data(), idx.size(), bufs).ok());
  EXPECT_EQ(std::memcmp(small[0].data(), img.data(), small[0].size()), 0);
  // And the full size again afterwards.
  const auto full = epoch_bytes(l, 2);
  EXPECT_EQ(full[0].size(), 8u * 3 * 16 * 16 * 4);
}

}  // namespace
}  // namespace plinth::data
