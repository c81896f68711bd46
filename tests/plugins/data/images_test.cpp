// images_test.cpp — the `images` data source. Decoding against PIL (the
// pixels tests/fixtures/images/make_images.py stored in pil.json: PNG exact,
// JPEG within a measured tolerance), the antialiased resampling against PIL's
// BILINEAR resize with a box, the folder and list forms (class order,
// skipped files, labels, metadata "classes"), the augmentation's
// determinism (a function of seed, epoch and index: same bytes in any order,
// batch or thread; epochs and seeds differ), pad/flip geometry against a
// brute-force search over every shift and flip, random-resized-crop boxes
// against their definition, progressive resolution, and each bad input.
#include <algorithm>
#include <cmath>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "augment.hpp"
#include "data_util.hpp"
#include "image_decode.hpp"

using namespace plinth::test;
namespace fs = std::filesystem;

namespace {

const fs::path k_fixtures = fs::path(PLINTH_SOURCE_DIR) / "tests/fixtures/images";

const nlohmann::json& pil() {
  static const nlohmann::json j = [] {
    std::ifstream f(k_fixtures / "pil.json");
    return nlohmann::json::parse(f);
  }();
  return j;
}

std::vector<unsigned char> fixture(const std::string& name) {
  return read_bytes((k_fixtures / name).string());
}

// A folder of class folders of fixture files: {class, {file names}}.
using spec = std::vector<std::pair<std::string, std::vector<std::string>>>;

struct image_folder {
  temp_dir dir;
  explicit image_folder(const spec& classes) {
    for (const auto& [c, files] : classes) {
      fs::create_directories(dir.path / "root" / c);
      for (const auto& f : files) {
        // "name=fixture" copies a fixture under another name.
        const auto eq = f.find('=');
        const std::string to = eq == std::string::npos ? f : f.substr(0, eq);
        const std::string from = eq == std::string::npos ? f : f.substr(eq + 1);
        if (fs::exists(k_fixtures / from))
          fs::copy_file(k_fixtures / from, dir.path / "root" / c / to);
        else
          write_text((dir.path / "root" / c / to).string(), from);
      }
    }
  }
  std::string root() const { return (dir.path / "root").string(); }
};

struct reader {
  fake_host h;
  std::unique_ptr<opened> o;
  int64_t C = 0, H = 0, W = 0;
  reader(const std::string& cfg) {
    o = std::make_unique<opened>(h, "images", h.config(cfg));
    EXPECT_EQ(o->status, PLINTH_OK) << h.last_error();
    if (o->status != PLINTH_OK) return;
    auto f = o->field(0);
    EXPECT_EQ(f.ndim, 3);
    C = f.shape[0], H = f.shape[1], W = f.shape[2];
  }
  // Samples `idx` with a read context; images at (h, w) (0: own size).
  std::vector<float> read(const std::vector<uint64_t>& idx, uint64_t seed = 0, uint64_t epoch = 0,
                          int32_t rh = 0, int32_t rw = 0, std::vector<int32_t>* labels = nullptr) {
    plinth_data_read_context ctx{};
    ctx.struct_size = PLINTH_DATA_READ_CONTEXT_STRUCT_SIZE;
    ctx.seed = seed, ctx.epoch = epoch, ctx.height = rh, ctx.width = rw;
    const size_t per = size_t(C) * (rh ? rh : H) * (rw ? rw : W);
    std::vector<float> img(per * idx.size());
    std::vector<int32_t> lab(idx.size());
    void* bufs[] = {img.data(), lab.data()};
    EXPECT_EQ(o->t->read_ctx(o->src, &ctx, idx.data(), idx.size(), bufs), PLINTH_OK) << h.last_error();
    if (labels) *labels = lab;
    return img;
  }
};

std::string open_error(const std::string& cfg, plinth_status want = PLINTH_ERR_BAD_DATA) {
  fake_host h;
  opened o(h, "images", h.config(cfg));
  EXPECT_EQ(o.status, want) << h.last_error();
  EXPECT_EQ(o.src, nullptr);
  return h.last_error();
}

// ---------------------------------------------------------------------------
// Decoding against PIL.

TEST(images, decoding_matches_pil) {
  double worst_jpeg = 0;
  for (const auto& [name, want] : pil()["files"].items()) {
    const auto bytes = fixture(name);
    for (int C : {3, 1}) {
      plinth::data::decoded_image im;
      std::string err;
      ASSERT_TRUE(plinth::data::decode_image(bytes.data(), bytes.size(), C, 1 << 26, 0, 0, im, err))
          << name << ": " << err;
      ASSERT_EQ(im.width, want["width"].get<int>()) << name;
      ASSERT_EQ(im.height, want["height"].get<int>()) << name;
      ASSERT_EQ(im.channels, C);
      const auto& ref = want[C == 3 ? "rgb" : "l"];
      ASSERT_EQ(im.pixels.size(), ref.size()) << name;
      const bool jpeg = name.size() > 4 && name.substr(name.size() - 4) == ".jpg";
      int worst = 0;
      for (size_t i = 0; i < ref.size(); ++i)
        worst = std::max(worst, std::abs(int(im.pixels[i]) - ref[i].get<int>()));
      if (jpeg)
        worst_jpeg = std::max(worst_jpeg, double(worst));
      else
        EXPECT_EQ(worst, 0) << name << " C=" << C;  // PNG: lossless, exact
    }
  }
  // libjpeg-turbo with the same IDCT (islow) and fancy upsampling as PIL's:
  // measured 0 here (PIL 9.4, libjpeg-turbo 2.1.5); a different libjpeg
  // under PIL may round differently by a level or two.
  EXPECT_LE(worst_jpeg, 2.0);
  std::printf("JPEG decode vs PIL: max |difference| %g levels of 255\n", worst_jpeg);
}

TEST(images, decodes_16_bit_gray_and_sniffs_the_format_not_the_name) {
  const auto bytes = fixture("gray16.png");
  plinth::data::decoded_image im;
  std::string err;
  ASSERT_TRUE(plinth::data::decode_image(bytes.data(), bytes.size(), 0, 1 << 26, 0, 0, im, err)) << err;
  EXPECT_EQ(im.channels, 1);
  EXPECT_EQ(im.width, 4);
  EXPECT_EQ(im.height, 3);
  const auto jpg = fixture("smooth.jpg");
  EXPECT_EQ(plinth::data::sniff_image(jpg.data(), jpg.size()), plinth::data::image_format::jpeg);
  EXPECT_EQ(plinth::data::sniff_image(bytes.data(), bytes.size()), plinth::data::image_format::png);
}

TEST(images, jpeg_dct_scaling_decodes_smaller_but_not_below_the_asked_size) {
  const auto bytes = fixture("big.jpg");  // 256 x 192
  plinth::data::decoded_image im;
  std::string err;
  ASSERT_TRUE(plinth::data::decode_image(bytes.data(), bytes.size(), 3, 1 << 26, 60, 40, im, err)) << err;
  EXPECT_EQ(im.width, 64);  // 1/4: the smallest m/8 scale keeping >= 60 x 40
  EXPECT_EQ(im.height, 48);
  ASSERT_TRUE(plinth::data::decode_image(bytes.data(), bytes.size(), 3, 1 << 26, 0, 0, im, err)) << err;
  EXPECT_EQ(im.width, 256);
}

// ---------------------------------------------------------------------------
// Resampling against PIL's BILINEAR resize (with box=).

TEST(images, resampling_matches_pil_bilinear_with_a_box) {
  const auto bytes = fixture("smooth.png");
  plinth::data::decoded_image im;
  std::string err;
  ASSERT_TRUE(plinth::data::decode_image(bytes.data(), bytes.size(), 3, 1 << 26, 0, 0, im, err)) << err;
  std::vector<float> scratch;
  for (const auto& c : pil()["boxes"]) {
    const auto b = c["box"];
    const int ow = c["size"][0], oh = c["size"][1];
    plinth::data::crop_box box{b[0].get<double>(), b[1].get<double>(), b[2].get<double>(),
                               b[3].get<double>()};
    std::vector<float> out(size_t(3) * oh * ow);
    plinth::data::resample_box(im.pixels.data(), im.width, im.height, 3, box, ow, oh, out.data(), scratch);
    double worst = 0;
    for (int y = 0; y < oh; ++y)
      for (int x = 0; x < ow; ++x)
        for (int ch = 0; ch < 3; ++ch) {
          const double ref = c["rgb"][size_t((y * ow + x) * 3 + ch)].get<double>();
          worst = std::max(worst, std::abs(out[(size_t(ch) * oh + y) * ow + x] - ref));
        }
    // PIL rounds to 8 bits after each pass; this keeps floats: within one level.
    EXPECT_LE(worst, 1.0) << "box " << b.dump() << " -> " << ow << "x" << oh;
  }
}

TEST(images, resize_then_center_crop_matches_torchvision_on_pil) {
  image_folder f(spec{{"a", {"smooth.png"}}});
  const auto& want = pil()["resize_center_crop"];
  reader r("root = '" + f.root() + "'\nresize = 20\ncenter_crop = 16\n");
  ASSERT_EQ(r.H, 16);
  ASSERT_EQ(r.W, 16);
  auto img = r.read({0});
  double worst = 0;
  for (int y = 0; y < 16; ++y)
    for (int x = 0; x < 16; ++x)
      for (int c = 0; c < 3; ++c)
        worst = std::max(worst, std::abs(img[(size_t(c) * 16 + y) * 16 + x] * 255.0 -
                                         want["rgb"][size_t((y * 16 + x) * 3 + c)].get<double>()));
  EXPECT_LE(worst, 1.0);
}

// ---------------------------------------------------------------------------
// Folder and list forms.

TEST(images, folder_classes_in_byte_order_files_sorted_others_skipped) {
  image_folder f(spec{{"b_dog", {"2.png=rgb.png", "1.PNG=rgb.png", "notes.txt=hello"}},
                      {"Zebra", {"x.jpg=smooth.jpg"}},
                      {"a_cat", {"k.png=rgb.png", ".hidden.png=rgb.png"}}});
  write_text(f.dir / "root/README", "not a class");
  reader r("root = '" + f.root() + "'\nchannels = 3\nsize = [9, 13]\n");
  ASSERT_EQ(r.o->info().num_samples, 4u);
  EXPECT_EQ(r.o->field(1).num_classes, 3);
  std::vector<int32_t> labels;
  r.read({0, 1, 2, 3}, 0, 0, 0, 0, &labels);
  // Byte order: "Zebra" < "a_cat" < "b_dog"; files sorted: 1.PNG < 2.png.
  EXPECT_EQ(labels, (std::vector<int32_t>{0, 1, 2, 2}));
  size_t len = 0;
  ASSERT_EQ(r.o->t->metadata(r.o->src, "classes", nullptr, 0, &len), PLINTH_OK);
  std::string v(len + 1, '\0');
  ASSERT_EQ(r.o->t->metadata(r.o->src, "classes", v.data(), v.size(), &len), PLINTH_OK);
  v.resize(len);
  EXPECT_EQ(nlohmann::json::parse(v), nlohmann::json::parse(R"(["Zebra","a_cat","b_dog"])"));
}

TEST(images, pixels_are_normalised_per_channel) {
  image_folder f(spec{{"a", {"rgb.png"}}});
  reader r("root = '" + f.root() + "'\nmean = [0.5, 0.25, 0.0]\nstd = [0.5, 0.25, 2.0]\n");
  ASSERT_EQ(r.C, 3);
  ASSERT_EQ(r.H, 9);
  ASSERT_EQ(r.W, 13);
  auto img = r.read({0});
  const auto& ref = pil()["files"]["rgb.png"]["rgb"];
  const double mean[] = {0.5, 0.25, 0.0}, sd[] = {0.5, 0.25, 2.0};
  for (int c = 0; c < 3; ++c)
    for (int k = 0; k < 9 * 13; ++k)
      EXPECT_NEAR(img[size_t(c) * 117 + k], (ref[size_t(k * 3 + c)].get<double>() / 255.0 - mean[c]) / sd[c],
                  1e-5);
}

TEST(images, csv_and_jsonl_lists_relative_to_the_list_file) {
  temp_dir d;
  fs::create_directories(d.path / "img");
  fs::copy_file(k_fixtures / "rgb.png", d.path / "img/a,b.png");  // a comma in a path: split at the last
  fs::copy_file(k_fixtures / "gray.png", d.path / "img/g.png");
  write_text(d / "l.csv", "path,label\nimg/a,b.png,3\n\nimg/g.png,1\r\n");
  {
    reader r("list = '" + (d / "l.csv") + "'\nchannels = 1\nsize = 8\n");
    ASSERT_EQ(r.o->info().num_samples, 2u);
    EXPECT_EQ(r.o->field(1).num_classes, 4);  // ids: max + 1
    std::vector<int32_t> labels;
    r.read({0, 1}, 0, 0, 0, 0, &labels);
    EXPECT_EQ(labels, (std::vector<int32_t>{3, 1}));
  }
  write_text(
      d / "l.jsonl",
      "{\"path\": \"img/g.png\", \"label\": \"zebra\"}\n{\"label\":\"ant\",\"path\":\"img/a,b.png\"}\n");
  {
    reader r("list = '" + (d / "l.jsonl") + "'\nchannels = 3\nsize = 8\n");
    std::vector<int32_t> labels;
    r.read({0, 1}, 0, 0, 0, 0, &labels);
    EXPECT_EQ(labels, (std::vector<int32_t>{1, 0}));  // names numbered in byte order
    EXPECT_EQ(r.o->field(1).num_classes, 2);
  }
}

// ---------------------------------------------------------------------------
// Augmentation: determinism and geometry.

const char* k_train =
    "random_resized_crop = true\ncrop_scale = [0.3, 1.0]\nflip = true\npad_crop = 2\nsize = 16\n";

TEST(images, augmentation_is_a_function_of_seed_epoch_and_index) {
  image_folder f(
      {{"a", {"1.jpg=smooth.jpg", "2.png=smooth.png", "3.jpg=big.jpg"}}, {"b", {"4.jpg=progressive.jpg"}}});
  reader r("root = '" + f.root() + "'\n" + k_train);
  const size_t per = size_t(r.C * r.H * r.W);
  auto all = r.read({0, 1, 2, 3}, 7, 3);
  // One at a time, in another order, on other threads: the same bytes.
  std::vector<std::vector<float>> one(4);
  std::vector<std::thread> ts;
  for (uint64_t i : {3, 1, 0, 2}) ts.emplace_back([&, i] { one[i] = r.read({i}, 7, 3); });
  for (auto& t : ts) t.join();
  for (size_t i = 0; i < 4; ++i)
    EXPECT_EQ(std::memcmp(one[i].data(), all.data() + i * per, per * sizeof(float)), 0) << i;
  EXPECT_NE(r.read({0, 1, 2, 3}, 7, 4), all);  // another epoch
  EXPECT_NE(r.read({0, 1, 2, 3}, 8, 3), all);  // another seed
  EXPECT_EQ(r.read({0, 1, 2, 3}, 7, 3), all);  // again
  // read() is read_ctx at seed 0, epoch 0, own size.
  std::vector<float> img(per * 2);
  std::vector<int32_t> lab(2);
  void* bufs[] = {img.data(), lab.data()};
  const uint64_t idx[] = {2, 3};
  ASSERT_EQ(r.o->t->read(r.o->src, idx, 2, bufs), PLINTH_OK);
  EXPECT_EQ(img, r.read({2, 3}, 0, 0));
}

TEST(images, pad_crop_and_flip_are_a_shift_and_mirror_of_the_image) {
  image_folder f(spec{{"a", {"rgb.png"}}});
  reader r("root = '" + f.root() + "'\npad_crop = 3\nflip = true\n");
  const int H = 9, W = 13;
  const auto& ref = pil()["files"]["rgb.png"]["rgb"];
  auto px = [&](int c, int y, int x) -> double {
    return y < 0 || y >= H || x < 0 || x >= W ? 0.0 : ref[size_t((y * W + x) * 3 + c)].get<double>() / 255.0;
  };
  std::set<std::tuple<int, int, int>> seen;
  for (uint64_t epoch = 0; epoch < 1500; ++epoch) {
    auto img = r.read({0}, 1, epoch);
    // Brute force: exactly the (dy, dx, flip) that explain every pixel.
    int matches = 0;
    for (int dy = -3; dy <= 3; ++dy)
      for (int dx = -3; dx <= 3; ++dx)
        for (int fl = 0; fl < 2; ++fl) {
          bool ok = true;
          for (int c = 0; c < 3 && ok; ++c)
            for (int y = 0; y < H && ok; ++y)
              for (int x = 0; x < W && ok; ++x)
                ok = std::abs(img[(size_t(c) * H + y) * W + x] - px(c, y + dy, (fl ? W - 1 - x : x) + dx)) <
                     1e-6;
          if (ok) ++matches, seen.insert({dy, dx, fl});
        }
    ASSERT_EQ(matches, 1) << "epoch " << epoch;
  }
  EXPECT_EQ(seen.size(), 7u * 7u * 2u);  // every shift and both flips occur
}

TEST(images, random_resized_crop_boxes_follow_their_definition) {
  int fallback = 0;
  for (uint64_t i = 0; i < 2000; ++i) {
    plinth::data::sample_rng rng(5, 0, i);
    const int W = 40 + int(i % 50), H = 30 + int(i % 17);
    auto b = plinth::data::random_resized_crop(W, H, 0.25, 0.9, 0.75, 4.0 / 3.0, rng);
    ASSERT_GE(b.x0, 0);
    ASSERT_GE(b.y0, 0);
    ASSERT_LE(b.x1, W);
    ASSERT_LE(b.y1, H);
    ASSERT_EQ(b.x0, std::floor(b.x0));
    ASSERT_EQ(b.y1, std::floor(b.y1));
    const double w = b.x1 - b.x0, h = b.y1 - b.y0, area = w * h / (double(W) * H);
    // Rounding the sides to integers moves area and ratio a little.
    const bool inside =
        area > 0.25 * 0.85 && area < 0.9 * 1.15 && w / h > 0.75 * 0.85 && w / h < 4.0 / 3.0 * 1.15;
    if (!inside) ++fallback;
  }
  EXPECT_EQ(fallback, 0);
  // An image too thin for the ratio range falls back to the centered crop.
  plinth::data::sample_rng rng(1, 0, 0);
  auto b = plinth::data::random_resized_crop(100, 4, 0.9, 1.0, 0.75, 1.3333, rng);
  EXPECT_EQ(b.y0, 0);
  EXPECT_EQ(b.y1, 4);
  EXPECT_EQ(b.x1 - b.x0, 5);  // round(4 * 1.3333)
  EXPECT_EQ(b.x0, 47);        // (100 - 5) / 2
}

TEST(images, philox_matches_the_published_known_answer) {
  // Random123's kat_vectors, philox4x32_10: counter and key all ones.
  const uint32_t ctr[4] = {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, key[2] = {0xffffffff, 0xffffffff};
  uint32_t out[4];
  plinth::data::philox4x32_10(ctr, key, out);
  EXPECT_EQ(out[0], 0x408f276du);
  EXPECT_EQ(out[1], 0x41c83b0eu);
  EXPECT_EQ(out[2], 0xa20bc7c6u);
  EXPECT_EQ(out[3], 0x6d5451fdu);
}

TEST(images, a_read_context_resolution_resizes_the_crop_straight_to_it) {
  image_folder f(spec{{"a", {"smooth.png"}}});
  reader r("root = '" + f.root() + "'\n");
  ASSERT_EQ(r.H, 30);
  ASSERT_EQ(r.W, 40);
  auto img = r.read({0}, 0, 0, 10, 10);
  ASSERT_EQ(img.size(), 300u);
  const auto& want = pil()["boxes"][2];  // (0, 0, 40, 30) -> 10 x 10
  ASSERT_EQ(want["size"][0].get<int>(), 10);
  double worst = 0;
  for (int y = 0; y < 10; ++y)
    for (int x = 0; x < 10; ++x)
      for (int c = 0; c < 3; ++c)
        worst = std::max(worst, std::abs(img[(size_t(c) * 10 + y) * 10 + x] * 255.0 -
                                         want["rgb"][size_t((y * 10 + x) * 3 + c)].get<double>()));
  EXPECT_LE(worst, 1.0);
}

// ---------------------------------------------------------------------------
// Bad input: one error naming the file.

TEST(images, bad_files_are_errors_naming_them) {
  auto jpg = fixture("smooth.jpg");
  auto png = fixture("rgb.png");
  std::vector<unsigned char> corrupt_jpg = jpg;
  for (size_t i = 200; i < 400 && i < corrupt_jpg.size(); ++i) corrupt_jpg[i] = 0xff;  // markers in the scan
  std::vector<unsigned char> cut_jpg(jpg.begin(), jpg.begin() + long(jpg.size() / 2));
  std::vector<unsigned char> cut_png(png.begin(), png.begin() + long(png.size() - 30));
  struct bad_case {
    std::string name;
    std::vector<unsigned char> bytes;
    std::string verify, expect;
  };
  std::vector<bad_case> cases = {
      {"corrupt.jpg", corrupt_jpg, "decode", "JPEG"},
      {"cut.jpg", cut_jpg, "decode", "JPEG"},
      {"cut.png", cut_png, "decode", "PNG"},
      {"text.png", {'h', 'e', 'l', 'l', 'o'}, "header", "not a JPEG or PNG"},
      {"empty.jpg", {}, "header", "not a JPEG or PNG"},
  };
  for (const auto& c : cases) {
    temp_dir d;
    fs::create_directories(d.path / "a");
    fs::copy_file(k_fixtures / "rgb.png", d.path / "a/0.png");
    write_bytes((d.path / "a" / c.name).string(), c.bytes);
    const std::string path = (d.path / "a" / c.name).string();
    const std::string err = open_error("root = '" + d.path.string() + "'\nverify = '" + c.verify + "'\n");
    EXPECT_NE(err.find(path), std::string::npos) << err;
    EXPECT_NE(err.find(c.expect), std::string::npos) << err;
    // Not verified at open: the read names it.
    if (c.verify == "decode") {
      reader r("root = '" + d.path.string() + "'\nverify = 'none'\nsize = 8\n");
      std::vector<float> img(3 * 64);
      std::vector<int32_t> lab(1);
      void* bufs[] = {img.data(), lab.data()};
      const uint64_t i = 1;
      EXPECT_EQ(r.o->t->read(r.o->src, &i, 1, bufs), PLINTH_ERR_BAD_DATA) << c.name;
      EXPECT_NE(r.h.last_error().find(path), std::string::npos) << r.h.last_error();
    }
  }
}

TEST(images, headers_checked_before_allocation_and_channels_must_agree) {
  image_folder f(spec{{"a", {"rgb.png", "z.png=gray.png"}}});
  std::string err = open_error("root = '" + f.root() + "'\n");
  EXPECT_NE(err.find("z.png"), std::string::npos) << err;
  EXPECT_NE(err.find("set channels"), std::string::npos) << err;
  reader ok("root = '" + f.root() + "'\nchannels = 3\nsize = 8\n");  // converts: fine
  err = open_error("root = '" + f.root() + "'\nmax_pixels = 100\nchannels = 3\n");
  EXPECT_NE(err.find("rgb.png"), std::string::npos) << err;
  EXPECT_NE(err.find("over max_pixels = 100"), std::string::npos) << err;
  // A PNG header claiming 0 x 5 pixels.
  auto png = fixture("gray.png");
  std::vector<unsigned char> zero = png;
  zero[16] = zero[17] = zero[18] = zero[19] = 0;  // IHDR width
  temp_dir d;
  fs::create_directories(d.path / "a");
  write_bytes((d.path / "a/zero.png").string(), zero);
  err = open_error("root = '" + d.path.string() + "'\n");
  EXPECT_NE(err.find("zero.png"), std::string::npos) << err;
  // A huge JPEG header is refused from its header alone: 60000 x 60000.
  auto jpg = fixture("gray.jpg");
  for (size_t p = 2; p + 9 < jpg.size();) {  // walk the marker segments to SOF0
    ASSERT_EQ(jpg[p], 0xff);
    if (jpg[p + 1] == 0xc0) {  // length(2) precision(1) height(2) width(2)
      jpg[p + 5] = 0xea, jpg[p + 6] = 0x60, jpg[p + 7] = 0xea, jpg[p + 8] = 0x60;
      break;
    }
    p += 2 + (size_t(jpg[p + 2]) << 8 | jpg[p + 3]);
  }
  write_bytes((d.path / "a/zero.png").string(), png);
  write_bytes((d.path / "a/huge.jpg").string(), jpg);
  err = open_error("root = '" + d.path.string() + "'\n");
  EXPECT_NE(err.find("huge.jpg"), std::string::npos) << err;
  EXPECT_NE(err.find("60000x60000"), std::string::npos) << err;
}

TEST(images, folder_and_list_errors) {
  image_folder f(spec{{"a", {"rgb.png"}}, {"empty", {"notes.txt=x"}}});
  std::string err = open_error("root = '" + f.root() + "'\n");
  EXPECT_NE(err.find("empty"), std::string::npos) << err;
  EXPECT_NE(err.find("has no image files"), std::string::npos) << err;
  temp_dir d;
  write_text(d / "l.csv", "x.png,1\nnocomma\n");
  err = open_error("list = '" + (d / "l.csv") + "'\n");
  EXPECT_NE(err.find("l.csv':2"), std::string::npos) << err;
  write_text(d / "l.jsonl", "{\"path\": \"x.png\", \"label\": 1}\n{\"path\": 3, \"label\": 1}\n");
  err = open_error("list = '" + (d / "l.jsonl") + "'\n");
  EXPECT_NE(err.find("l.jsonl':2"), std::string::npos) << err;
  write_text(d / "m.csv", "missing.png,0\n");
  err = open_error("list = '" + (d / "m.csv") + "'\n", PLINTH_ERR_IO);
  EXPECT_NE(err.find("missing.png"), std::string::npos) << err;
  err = open_error("root = '" + f.root() + "'\nlist = 'x'\n", PLINTH_ERR_INVALID_ARGUMENT);
  EXPECT_NE(err.find("exactly one"), std::string::npos) << err;
  err = open_error("root = '" + f.root() + "'\nrandom_resized_crop = true\nresize = 8\n",
                   PLINTH_ERR_INVALID_ARGUMENT);
  EXPECT_NE(err.find("pick one"), std::string::npos) << err;
}

}  // namespace
