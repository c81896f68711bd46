// idx_test.cpp — the `idx` data source: reads small IDX files written here
// (plain and gzip) and checks every pixel against (u8 * scale - mean) / std
// computed in double, the schema, and each error case the format can hit.
#include <cmath>
#include <thread>

#include "data_util.hpp"

using namespace plinth::test;

namespace {

constexpr int N = 7, R = 4, C = 3;  // samples, rows, cols

std::vector<unsigned char> be32(uint32_t v) {
  return {static_cast<unsigned char>(v >> 24), static_cast<unsigned char>(v >> 16),
          static_cast<unsigned char>(v >> 8), static_cast<unsigned char>(v)};
}

unsigned char pixel(int n, int k) { return static_cast<unsigned char>((n * 37 + k * 11 + 5) % 256); }
unsigned char label(int n) { return static_cast<unsigned char>((n * 3) % 10); }

std::vector<unsigned char> images_file(int n = N, int rows = R, int cols = C) {
  std::vector<unsigned char> b;
  for (auto v : {be32(0x00000803), be32(n), be32(rows), be32(cols)}) b.insert(b.end(), v.begin(), v.end());
  for (int i = 0; i < n; ++i)
    for (int k = 0; k < rows * cols; ++k) b.push_back(pixel(i, k));
  return b;
}

std::vector<unsigned char> labels_file(int n = N) {
  std::vector<unsigned char> b;
  for (auto v : {be32(0x00000801), be32(n)}) b.insert(b.end(), v.begin(), v.end());
  for (int i = 0; i < n; ++i) b.push_back(label(i));
  return b;
}

std::string cfg_text(const std::string& images, const std::string& labels, const std::string& extra = "") {
  return "images = \"" + images + "\"\nlabels = \"" + labels + "\"\n" + extra;
}

// Opens with the given files and expects failure; returns the message.
std::string open_error(const std::string& images, const std::string& labels, plinth_status want,
                       const std::string& extra = "") {
  fake_host h;
  opened o(h, "idx", h.config(cfg_text(images, labels, extra)));
  EXPECT_EQ(o.status, want) << h.last_error();
  EXPECT_EQ(o.src, nullptr);
  return h.last_error();
}

}  // namespace

TEST(idx, reads_plain_files_with_schema_and_scaled_pixels) {
  temp_dir d;
  write_bytes(d / "img", images_file());
  write_bytes(d / "lbl", labels_file());
  fake_host h;
  // Relative paths resolve against the config's folder.
  opened o(h, "idx", h.config(cfg_text("img", "lbl", "mean = 0.25\nstd = 0.5\n"), d.path));
  ASSERT_EQ(o.status, PLINTH_OK) << h.last_error();
  auto info = o.info();
  EXPECT_EQ(info.num_samples, uint64_t{N});
  EXPECT_EQ(info.num_fields, 2);
  EXPECT_EQ(info.flags, 0u);
  auto img = o.field(0), lbl = o.field(1);
  EXPECT_STREQ(img.name, "image");
  EXPECT_EQ(img.dtype, PLINTH_DTYPE_F32);
  ASSERT_EQ(img.ndim, 2);
  EXPECT_EQ(img.shape[0], R);
  EXPECT_EQ(img.shape[1], C);
  EXPECT_STREQ(lbl.name, "label");
  EXPECT_EQ(lbl.dtype, PLINTH_DTYPE_I32);
  EXPECT_EQ(lbl.ndim, 0);
  EXPECT_EQ(lbl.num_classes, 10);

  const uint64_t idx[3] = {6, 0, 3};
  std::vector<float> x(3 * R * C);
  std::vector<int32_t> y(3);
  void* bufs[2] = {x.data(), y.data()};
  ASSERT_EQ(o.t->read(o.src, idx, 3, bufs), PLINTH_OK) << h.last_error();
  for (int i = 0; i < 3; ++i) {
    int n = static_cast<int>(idx[i]);
    EXPECT_EQ(y[i], label(n));
    for (int k = 0; k < R * C; ++k) {
      double want = (pixel(n, k) * (1.0 / 255.0) - 0.25) / 0.5;
      EXPECT_NEAR(x[i * R * C + k], want, 1e-6) << "sample " << n << " pixel " << k;
    }
  }
}

TEST(idx, reads_gzip_files_like_plain_ones) {
  temp_dir d;
  write_gz(d / "img.gz", images_file());
  write_gz(d / "lbl.gz", labels_file());
  fake_host h;
  opened o(h, "idx", h.config(cfg_text(d / "img.gz", d / "lbl.gz", "scale = 2.0\n")));
  ASSERT_EQ(o.status, PLINTH_OK) << h.last_error();
  EXPECT_EQ(o.info().num_samples, uint64_t{N});
  const uint64_t idx[1] = {5};
  std::vector<float> x(R * C);
  int32_t y = -1;
  void* bufs[2] = {x.data(), &y};
  ASSERT_EQ(o.t->read(o.src, idx, 1, bufs), PLINTH_OK);
  EXPECT_EQ(y, label(5));
  for (int k = 0; k < R * C; ++k) EXPECT_FLOAT_EQ(x[k], pixel(5, k) * 2.0f);
}

TEST(idx, concurrent_reads_match_a_serial_read) {
  temp_dir d;
  const int n = 300;
  write_gz(d / "img.gz", images_file(n, 8, 8));
  write_bytes(d / "lbl", labels_file(n));
  fake_host h;
  opened o(h, "idx", h.config(cfg_text(d / "img.gz", d / "lbl")));
  ASSERT_EQ(o.status, PLINTH_OK) << h.last_error();
  std::vector<uint64_t> order(n);
  for (int i = 0; i < n; ++i) order[i] = static_cast<uint64_t>((i * 131) % n);
  std::vector<float> xs(n * 64);
  std::vector<int32_t> ys(n);
  void* sb[2] = {xs.data(), ys.data()};
  ASSERT_EQ(o.t->read(o.src, order.data(), n, sb), PLINTH_OK);
  constexpr int T = 6;
  std::vector<std::vector<float>> xt(T, std::vector<float>(n * 64));
  std::vector<std::vector<int32_t>> yt(T, std::vector<int32_t>(n));
  std::vector<plinth_status> st(T, PLINTH_ERR_INTERNAL);
  std::vector<std::thread> threads;
  for (int t = 0; t < T; ++t)
    threads.emplace_back([&, t] {
      // Each thread reads in batches of 7, in its own order of batches.
      plinth_status s = PLINTH_OK;
      for (int rep = 0; rep < 20 && s == PLINTH_OK; ++rep)
        for (int b0 = 0; b0 < n && s == PLINTH_OK; b0 += 7) {
          int start = (b0 + t * 49) % n;
          start -= start % 7;
          size_t cnt = static_cast<size_t>(std::min(7, n - start));
          void* b[2] = {xt[t].data() + start * 64, yt[t].data() + start};
          s = o.t->read(o.src, order.data() + start, cnt, b);
        }
      st[t] = s;
    });
  for (auto& th : threads) th.join();
  for (int t = 0; t < T; ++t) {
    EXPECT_EQ(st[t], PLINTH_OK);
    EXPECT_EQ(0, std::memcmp(xt[t].data(), xs.data(), xs.size() * sizeof(float))) << "thread " << t;
    EXPECT_EQ(yt[t], ys) << "thread " << t;
  }
}

TEST(idx, rejects_out_of_range_index_naming_it) {
  temp_dir d;
  write_bytes(d / "img", images_file());
  write_bytes(d / "lbl", labels_file());
  fake_host h;
  opened o(h, "idx", h.config(cfg_text(d / "img", d / "lbl")));
  ASSERT_EQ(o.status, PLINTH_OK);
  const uint64_t idx[2] = {1, N};
  std::vector<float> x(2 * R * C);
  std::vector<int32_t> y(2);
  void* bufs[2] = {x.data(), y.data()};
  EXPECT_EQ(o.t->read(o.src, idx, 2, bufs), PLINTH_ERR_INVALID_ARGUMENT);
  EXPECT_NE(h.last_error().find("index 7"), std::string::npos) << h.last_error();
}

TEST(idx, missing_file_names_the_path) {
  temp_dir d;
  write_bytes(d / "lbl", labels_file());
  std::string msg = open_error(d / "nope", d / "lbl", PLINTH_ERR_IO);
  EXPECT_NE(msg.find(d / "nope"), std::string::npos) << msg;
}

TEST(idx, missing_key_is_reported) {
  fake_host h;
  opened o(h, "idx", h.config("labels = \"x\"\n"));
  EXPECT_EQ(o.status, PLINTH_ERR_NOT_FOUND);
  EXPECT_NE(h.last_error().find("'images'"), std::string::npos) << h.last_error();
}

TEST(idx, wrong_magic_names_found_and_expected) {
  temp_dir d;
  write_bytes(d / "img", images_file());
  write_bytes(d / "lbl", labels_file());
  // Swapped: the labels file given as images.
  std::string msg = open_error(d / "lbl", d / "img", PLINTH_ERR_BAD_DATA);
  EXPECT_NE(msg.find(d / "lbl"), std::string::npos) << msg;
  EXPECT_NE(msg.find("0x00000801"), std::string::npos) << msg;
  EXPECT_NE(msg.find("0x00000803"), std::string::npos) << msg;
  // Not IDX at all.
  write_text(d / "junk", "hello world, not idx");
  msg = open_error(d / "junk", d / "lbl", PLINTH_ERR_BAD_DATA);
  EXPECT_NE(msg.find("0x68656c6c"), std::string::npos) << msg;
}

TEST(idx, truncated_file_names_expected_and_actual_bytes) {
  temp_dir d;
  auto img = images_file();
  img.resize(img.size() - 5);
  write_bytes(d / "img", img);
  write_gz(d / "img.gz", img);
  write_bytes(d / "lbl", labels_file());
  const std::string want = std::to_string(16 + N * R * C);
  const std::string got = std::to_string(16 + N * R * C - 5);
  for (std::string p : {d / "img", d / "img.gz"}) {
    std::string msg = open_error(p, d / "lbl", PLINTH_ERR_BAD_DATA);
    EXPECT_NE(msg.find(p), std::string::npos) << msg;
    EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
    EXPECT_NE(msg.find(want), std::string::npos) << msg;
    EXPECT_NE(msg.find(got), std::string::npos) << msg;
  }
  // A header cut short.
  write_bytes(d / "short", {0, 0, 8, 3, 0, 0});
  std::string msg = open_error(d / "short", d / "lbl", PLINTH_ERR_BAD_DATA);
  EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
}

TEST(idx, cut_off_gzip_stream_is_an_error) {
  temp_dir d;
  write_gz(d / "full.gz", images_file(50, 10, 10));
  auto gz = read_bytes(d / "full.gz");
  gz.resize(gz.size() / 2);
  write_bytes(d / "cut.gz", gz);
  write_bytes(d / "lbl", labels_file(50));
  std::string msg = open_error(d / "cut.gz", d / "lbl", PLINTH_ERR_BAD_DATA);
  EXPECT_NE(msg.find(d / "cut.gz"), std::string::npos) << msg;
}

TEST(idx, count_mismatch_names_both_files) {
  temp_dir d;
  write_bytes(d / "img", images_file(N));
  write_bytes(d / "lbl", labels_file(N - 1));
  std::string msg = open_error(d / "img", d / "lbl", PLINTH_ERR_BAD_DATA);
  EXPECT_NE(msg.find(d / "img"), std::string::npos) << msg;
  EXPECT_NE(msg.find(d / "lbl"), std::string::npos) << msg;
  EXPECT_NE(msg.find("7 images"), std::string::npos) << msg;
  EXPECT_NE(msg.find("6 labels"), std::string::npos) << msg;
}

TEST(idx, label_not_below_num_classes_names_index_and_value) {
  temp_dir d;
  write_bytes(d / "img", images_file());
  write_bytes(d / "lbl", labels_file());
  // Labels are (3n) % 10: 0 3 6 9 2 5 8; with num_classes = 8, index 3 (9) fails first.
  std::string msg = open_error(d / "img", d / "lbl", PLINTH_ERR_BAD_DATA, "num_classes = 8\n");
  EXPECT_NE(msg.find(d / "lbl"), std::string::npos) << msg;
  EXPECT_NE(msg.find("label 9"), std::string::npos) << msg;
  EXPECT_NE(msg.find("index 3"), std::string::npos) << msg;
}

TEST(idx, rejects_bad_normalisation_and_wrong_key_type) {
  temp_dir d;
  write_bytes(d / "img", images_file());
  write_bytes(d / "lbl", labels_file());
  std::string msg = open_error(d / "img", d / "lbl", PLINTH_ERR_INVALID_ARGUMENT, "std = 0.0\n");
  EXPECT_NE(msg.find("'std'"), std::string::npos) << msg;
  msg = open_error(d / "img", d / "lbl", PLINTH_ERR_INVALID_ARGUMENT, "scale = \"big\"\n");
  EXPECT_NE(msg.find("scale"), std::string::npos) << msg;
}

TEST(idx, lists_its_config_keys) {
  const plinth_component* c = find_component("idx");
  ASSERT_NE(c, nullptr);
  std::vector<std::string> keys;
  for (auto k = c->config_keys; *k; ++k) keys.emplace_back(*k);
  EXPECT_EQ(keys, (std::vector<std::string>{"images", "labels", "scale", "mean", "std", "num_classes"}));
}

// The files examples/mnist/prepare_data.sh writes (skipped when not fetched):
// the documented 8,000/2,000 split, 28x28 images, every class present.
TEST(idx, reads_the_prepared_mnist_files_when_present) {
  const std::string dir = std::string(PLINTH_SOURCE_DIR) + "/examples/mnist/data/";
  for (const char* split : {"train", "t10k"}) {
    const std::string img = dir + split + "-images-idx3-ubyte.gz",
                      lbl = dir + split + "-labels-idx1-ubyte.gz";
    if (!std::filesystem::exists(img) || !std::filesystem::exists(lbl))
      GTEST_SKIP() << "run examples/mnist/prepare_data.sh to fetch " << img;
    fake_host h;
    opened o(h, "idx", h.config(cfg_text(img, lbl)));
    ASSERT_EQ(o.status, PLINTH_OK) << h.last_error();
    const uint64_t n = std::string(split) == "train" ? 8000 : 2000;
    ASSERT_EQ(o.info().num_samples, n);
    EXPECT_EQ(o.field(0).shape[0], 28);
    EXPECT_EQ(o.field(0).shape[1], 28);
    std::vector<uint64_t> idx(n);
    for (uint64_t i = 0; i < n; ++i) idx[i] = i;
    std::vector<float> x(n * 784);
    std::vector<int32_t> y(n);
    void* b[2] = {x.data(), y.data()};
    ASSERT_EQ(o.t->read(o.src, idx.data(), n, b), PLINTH_OK);
    std::vector<int> count(10);
    for (int32_t v : y) ++count[v];
    for (int c : count) EXPECT_GT(c, static_cast<int>(n / 20));
    // Real digits: mostly background, some full-intensity strokes.
    size_t zero = 0, full = 0;
    for (float v : x) zero += v == 0.0f, full += v == 1.0f;
    EXPECT_GT(zero, x.size() / 2);
    EXPECT_GT(full, 0u);
  }
}
