// progressive_test.cpp — progressive resizing ([train.progressive]): the
// schedule against FFCV's get_resolution (numpy values, below), the config
// checks, the refusals before a run (a source that cannot resize, images
// that are not square, a model whose parameters depend on the size), and a
// small run on a PNG folder that trains across two resolution changes, keeps
// one program per resolution in one shared arena, and resumes from a
// checkpoint taken between them at the resolution of its epoch (bit-exact
// resume across processes: tests/examples/resume_progressive.toml).
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "config/pipeline.hpp"
#include "train/progressive.hpp"
#include "train/trainer.hpp"
#include "train/trainer_impl.hpp"
#include "train_test_util.hpp"

namespace plinth {
namespace {

namespace fs = std::filesystem;
using config::ProgressiveSection;

ProgressiveSection ramp(int64_t r0, int64_t r1, int64_t e0, int64_t e1, int64_t step) {
  ProgressiveSection p;
  p.enabled = true;
  p.min_res = r0;
  p.max_res = r1;
  p.start_ramp = e0;
  p.end_ramp = e1;
  p.step = step;
  return p;
}

// Expected values: FFCV's get_resolution with its 32 replaced by `step`,
// made with numpy 1.24 (Debian 12's python3-numpy):
//   def res(e, r0, r1, e0, e1, s):
//       if e <= e0: return r0
//       if e >= e1: return r1
//       x = np.interp([e], [e0, e1], [r0, r1])[0]
//       return min(max(int(np.round(x / s)) * s, r0), r1)
//   [res(e, *cfg) for e in range(16)]
TEST(progressive, resolution_follows_ffcv_get_resolution) {
  struct Case {
    std::array<int64_t, 5> cfg;  // r0, r1, e0, e1, step
    std::array<int64_t, 16> want;
  };
  const Case cases[] = {
      // FFCV's rn50 ramp; epoch 12 is 176 = 5.5 x 32, which rounds half to even: 192.
      {{160, 192, 11, 13, 32},
       {160, 160, 160, 160, 160, 160, 160, 160, 160, 160, 160, 160, 192, 192, 192, 192}},
      {{20, 28, 0, 6, 4}, {20, 20, 24, 24, 24, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28}},
      {{16, 28, 2, 8, 4}, {16, 16, 16, 16, 20, 24, 24, 24, 28, 28, 28, 28, 28, 28, 28, 28}},
      // 18 is no multiple of 4: kept at the start, and epoch 1's 20.5 rounds to 20.
      {{18, 28, 1, 5, 4}, {18, 18, 20, 24, 24, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28}},
      {{12, 28, 0, 4, 8}, {12, 16, 16, 24, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28}},
  };
  for (const Case& c : cases) {
    const auto p = ramp(c.cfg[0], c.cfg[1], c.cfg[2], c.cfg[3], c.cfg[4]);
    for (int64_t e = 0; e < 16; ++e)
      EXPECT_EQ(train::progressive_resolution(p, e, 999), c.want[e]) << "ramp " << c.cfg[0] << " epoch " << e;
  }
}

TEST(progressive, max_res_zero_is_the_full_size_and_the_list_is_largest_first) {
  const auto p = ramp(16, 0, 2, 8, 4);
  EXPECT_EQ(train::progressive_resolution(p, 0, 28), 16);
  EXPECT_EQ(train::progressive_resolution(p, 20, 28), 28);
  EXPECT_EQ(train::progressive_resolutions(p, 16, 28), (std::vector<int64_t>{28, 24, 20, 16}));
  // A run that ends before the ramp does never trains at the larger sizes.
  EXPECT_EQ(train::progressive_resolutions(p, 5, 28), (std::vector<int64_t>{20, 16}));
}

Status parse_error(const std::string& section) {
  auto p = config::parse_pipeline(
      "[data.train]\nsource = \"synthetic\"\n[[model.layer]]\ntype = \"linear\"\nout = 2\n" + section,
      "p.toml");
  return p.ok() ? Status() : p.status();
}

TEST(progressive, config_errors_name_the_key) {
  EXPECT_TRUE(parse_error("[train.progressive]\nmin_res = 8\nend_ramp = 2\n").ok());
  const Status a = parse_error("[train.progressive]\nmin_res = 8\nstart_ramp = 3\nend_ramp = 3\n");
  EXPECT_NE(a.message().find("train.progressive.end_ramp"), std::string::npos) << a.message();
  EXPECT_NE(a.message().find("above start_ramp"), std::string::npos) << a.message();
  const Status b = parse_error("[train.progressive]\nend_ramp = 3\n");
  EXPECT_NE(b.message().find("min_res"), std::string::npos) << b.message();
  const Status c = parse_error("[train.progressive]\nmin_res = 8\nend_ramp = 3\nmin_size = 2\n");
  EXPECT_NE(c.message().find("min_size"), std::string::npos) << c.message();
  const Status d = parse_error("[train.progressive]\nmin_res = 20\nmax_res = 16\nend_ramp = 3\n");
  EXPECT_NE(d.message().find("max_res (16) is below min_res (20)"), std::string::npos) << d.message();
}

// --- runs on a small PNG folder ---------------------------------------------

// A grayscale 8-bit PNG with stored (uncompressed) deflate blocks: enough for
// the decoder under test, written by hand so the test needs no encoder.
uint32_t crc32(const unsigned char* p, size_t n, uint32_t c = 0xffffffffu) {
  for (size_t i = 0; i < n; ++i) {
    c ^= p[i];
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
  }
  return c;
}
void put32(std::string& s, uint32_t v) {
  for (int k = 3; k >= 0; --k) s.push_back(static_cast<char>((v >> (8 * k)) & 0xff));
}
void chunk(std::string& out, const char* type, const std::string& data) {
  put32(out, static_cast<uint32_t>(data.size()));
  std::string td = std::string(type, 4) + data;
  out += td;
  put32(out, crc32(reinterpret_cast<const unsigned char*>(td.data()), td.size()) ^ 0xffffffffu);
}
void write_png(const fs::path& path, int w, int h, const std::vector<unsigned char>& px) {
  std::string raw;
  for (int y = 0; y < h; ++y) {
    raw.push_back(0);  // filter: none
    raw.append(reinterpret_cast<const char*>(px.data()) + static_cast<ptrdiff_t>(y) * w,
               static_cast<size_t>(w));
  }
  std::string z = "\x78\x01";
  z.push_back(1);  // one final stored block (raw is far below 65535 bytes)
  const auto n = static_cast<uint16_t>(raw.size());
  z.push_back(static_cast<char>(n & 0xff));
  z.push_back(static_cast<char>(n >> 8));
  z.push_back(static_cast<char>(~n & 0xff));
  z.push_back(static_cast<char>((~n >> 8) & 0xff));
  z += raw;
  uint32_t a = 1, b = 0;  // adler32
  for (unsigned char c : raw) a = (a + c) % 65521, b = (b + a) % 65521;
  put32(z, (b << 16) | a);
  std::string ihdr;
  put32(ihdr, static_cast<uint32_t>(w));
  put32(ihdr, static_cast<uint32_t>(h));
  ihdr += std::string("\x08\x00\x00\x00\x00", 5);  // 8 bit, grayscale, deflate, no filter, no interlace
  std::string png = "\x89PNG\r\n\x1a\n";
  chunk(png, "IHDR", ihdr);
  chunk(png, "IDAT", z);
  chunk(png, "IEND", "");
  std::ofstream(path, std::ios::binary) << png;
}

// <dir>/<split>/{0-dark,1-light}/NN.png: 12x12 images, class 1 brighter on
// its left half, pixel noise from a fixed LCG.
void write_folder(const fs::path& dir, const char* split, int per_class, uint32_t seed) {
  uint32_t s = seed;
  for (int c = 0; c < 2; ++c) {
    const fs::path d = dir / split / (c == 0 ? "0-dark" : "1-light");
    fs::create_directories(d);
    for (int i = 0; i < per_class; ++i) {
      std::vector<unsigned char> px(144);
      for (int y = 0; y < 12; ++y)
        for (int x = 0; x < 12; ++x) {
          s = s * 1664525u + 1013904223u;
          const int base = (c == 1 && x < 6) ? 170 : 60;
          px[static_cast<size_t>(y * 12 + x)] = static_cast<unsigned char>(base + static_cast<int>(s >> 26));
        }
      write_png(d / (std::to_string(i) + ".png"), 12, 12, px);
    }
  }
}

const char* kPoolModel = R"(
[[model.layer]]
type = "conv2d"
out = 4
kernel = 3
padding = 1
bias = false

[[model.layer]]
type = "relu"

[[model.layer]]
type = "relu"

[[model.layer]]
type = "global_avgpool"

[[model.layer]]
type = "linear"
out = 2
)";

const char* kFlattenModel = R"(
[[model.layer]]
type = "conv2d"
out = 4
kernel = 3
padding = 1

[[model.layer]]
type = "relu"

[[model.layer]]
type = "flatten"

[[model.layer]]
type = "linear"
out = 2
)";

std::string folder_pipeline(const fs::path& data, const fs::path& out, const std::string& model,
                            const std::string& progressive) {
  return train_test::run_sections("prog", out, 5) + "[data.train]\nsource = \"images\"\nroot = \"" +
         (data / "train").string() + "\"\nchannels = 1\nsize = [12, 12]\nflip = true\nworkers = 2\n" +
         "[data.eval]\nsource = \"images\"\nroot = \"" + (data / "test").string() +
         "\"\nchannels = 1\nsize = [12, 12]\nshuffle = false\n" + model +
         "\n[optimizer]\nname = \"adamw\"\nlr = 0.01\n[schedule]\ntype = \"cosine\"\n"
         "[train]\nepochs = 3\nbatch_size = 16\nlog_every = 1\n[checkpoint]\nat_end = true\n" +
         progressive;
}

// The image folder the tests share, built once per process and removed at its exit.
struct DataFolder {
  fs::path path;
  DataFolder() {
    // Per process: ctest runs this file's tests side by side, each building it.
    path = train_test::fresh_dir("progressive_data_" + std::to_string(::getpid()));
    write_folder(path, "train", 24, 7);
    write_folder(path, "test", 8, 8);
  }
  ~DataFolder() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

const fs::path& data_folder() {
  static const DataFolder d;
  return d.path;
}

// 12x12 data: epoch 0 at 8, epoch 1 at 10 (interp 10), epoch 2 at 12.
const char* kRamp = "[train.progressive]\nmin_res = 8\nend_ramp = 2\nstep = 2\n";

Result<train::TrainerPtr> prepare_text(const std::string& text, bool resume = false, int64_t stop_at = 0) {
  auto p = config::parse_pipeline(text, "prog.toml");
  if (!p.ok()) return p.status();
  train::TrainOptions o;
  o.progress = false;
  o.resume = resume;
  o.stop_at_step = stop_at;
  return train::prepare(std::move(*p), train_test::build_tree_registry(), o);
}

std::string file_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

TEST(progressive, trains_across_resolution_changes_in_one_arena_and_resumes_between_them) {
  const fs::path out = train_test::fresh_dir("progressive_run");
  const std::string text = folder_pipeline(data_folder(), out / "whole", kPoolModel, kRamp);
  auto t = prepare_text(text);
  ASSERT_TRUE(t.ok()) << t.status().message();
  auto res = train::run(**t);
  ASSERT_TRUE(res.ok()) << res.status().message();
  EXPECT_EQ(res->steps, 9);  // 48 images, batch 16: 3 steps an epoch
  EXPECT_GE(res->final_eval_accuracy, 0.0);
  // One training program per resolution (0: the data's own 12x12), all in one arena.
  std::vector<int64_t> resolutions;
  for (const auto& [key, prog] : (*t)->train_progs) {
    resolutions.push_back(key.second);
    EXPECT_EQ(prog->arena().get(), (*t)->train_progs.begin()->second->arena().get());
  }
  EXPECT_EQ(resolutions, (std::vector<int64_t>{0, 8, 10}));
  // Evaluation ran at the full size only.
  for (const auto& [key, prog] : (*t)->eval_progs) EXPECT_EQ(key.second, 0);
  const std::string whole = file_bytes(res->run_dir / "model.safetensors");
  ASSERT_FALSE(whole.empty());

  // The same run stopped at step 4 (epoch 1, at 10x10) and resumed.
  const std::string split = folder_pipeline(data_folder(), out / "split", kPoolModel, kRamp);
  auto a = prepare_text(split, false, 4);
  ASSERT_TRUE(a.ok()) << a.status().message();
  auto ra = train::run(**a);
  ASSERT_TRUE(ra.ok()) << ra.status().message();
  EXPECT_EQ(ra->steps, 4);
  auto b = prepare_text(split, true);
  ASSERT_TRUE(b.ok()) << b.status().message();
  auto rb = train::run(**b);
  ASSERT_TRUE(rb.ok()) << rb.status().message();
  EXPECT_EQ(rb->resumed_from, 4);
  EXPECT_EQ(rb->steps, 9);
  // Bit-exact resume is checked across processes, killed at random moments
  // (train.resume_with_progressive_resizing_is_exact): two runs in one
  // process are not bit-identical on the CPU backend, progressive or not.
  const auto lines = train_test::metric_lines(rb->run_dir, true);
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.back()["step"], 9);

  // The resumed part started in epoch 1 at its resolution.
  const std::string log = file_bytes(rb->run_dir / "log.txt");
  const size_t resumed = log.rfind("resuming from");
  ASSERT_NE(resumed, std::string::npos) << log;
  EXPECT_NE(log.find("epoch 1: training at 10x10", resumed), std::string::npos) << log.substr(resumed);
  EXPECT_EQ(log.find("training at 8x8", resumed), std::string::npos) << log.substr(resumed);
}

TEST(progressive, refuses_a_model_whose_parameters_depend_on_the_size) {
  const fs::path out = train_test::fresh_dir("progressive_flatten");
  auto t = prepare_text(folder_pipeline(data_folder(), out, kFlattenModel, kRamp));
  ASSERT_FALSE(t.ok());
  const std::string m = t.status().message();
  EXPECT_NE(m.find("prog.toml:"), std::string::npos) << m;
  EXPECT_NE(m.find("[train.progressive]"), std::string::npos) << m;
  EXPECT_NE(m.find("linear3.weight"), std::string::npos) << m;
  EXPECT_NE(m.find("(2, 576) at 12x12 but (2, 400) at 10x10"), std::string::npos) << m;
  EXPECT_NE(m.find("global average pooling"), std::string::npos) << m;
  EXPECT_FALSE(fs::exists(out)) << "nothing is written before the checks pass";
}

TEST(progressive, refuses_a_source_that_cannot_resize_and_images_that_are_not_square) {
  const fs::path out = train_test::fresh_dir("progressive_synthetic");
  auto with_shape = [&](const std::string& shape) {
    return train_test::run_sections("s", out, 1) + train_test::synthetic_data("train", 32, shape, 2, 3) +
           kPoolModel + "[train]\nepochs = 3\nbatch_size = 8\n" + kRamp;
  };
  auto a = prepare_text(with_shape("[1, 12, 12]"));
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.status().message().find("'synthetic' cannot read images at 10x10"), std::string::npos)
      << a.status().message();
  auto b = prepare_text(with_shape("[1, 12, 10]"));
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.status().message().find("needs square images"), std::string::npos) << b.status().message();
  EXPECT_NE(b.status().message().find("(1, 12, 10)"), std::string::npos) << b.status().message();
}

}  // namespace
}  // namespace plinth
