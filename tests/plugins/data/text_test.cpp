// text_test.cpp — the `text` data source: the character vocabulary (sorted
// unique code points, checked against a std::set built here from the same
// text as UTF-32), the encoding, windows with targets shifted by one, the
// train/val split sizes of nanoGPT's prepare.py, the vocab metadata as JSON,
// and each error (invalid UTF-8 by byte offset, block_size, keys).
#include <cmath>
#include <set>

#include <nlohmann/json.hpp>

#include "data_util.hpp"

using namespace plinth::test;

namespace {

// The same text as UTF-8 bytes (what the file holds) and as code points.
const std::string k_utf8 = "Héllo, wörld — \"ok\"\\\n\tnaïve 🙂 end.\x01";
const std::u32string k_u32 = U"Héllo, wörld — \"ok\"\\\n\tnaïve 🙂 end.\x01";

std::string cfg(const std::string& path, int T, const std::string& extra = "") {
  return "path = '" + path + "'\nblock_size = " + std::to_string(T) + "\n" + extra;
}

std::string vocab_of(opened& o) {
  size_t len = 0;
  EXPECT_EQ(o.t->metadata(o.src, "vocab", nullptr, 0, &len), PLINTH_OK);
  std::string v(len + 1, '\0');
  size_t got = 0;
  EXPECT_EQ(o.t->metadata(o.src, "vocab", v.data(), v.size(), &got), PLINTH_OK);
  EXPECT_EQ(got, len);
  EXPECT_EQ(v[len], '\0');
  v.resize(len);
  return v;
}

std::string open_error(const std::string& text, plinth_status want) {
  fake_host h;
  opened o(h, "text", h.config(text));
  EXPECT_EQ(o.status, want) << h.last_error();
  EXPECT_EQ(o.src, nullptr);
  return h.last_error();
}

// UTF-8 of one code point, written independently of the plugin's encoder.
std::string utf8(char32_t c) {
  std::string s;
  if (c < 0x80) {
    s += static_cast<char>(c);
  } else if (c < 0x800) {
    s += static_cast<char>(0xC0 | (c >> 6));
    s += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    s += static_cast<char>(0xE0 | (c >> 12));
    s += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    s += static_cast<char>(0xF0 | (c >> 18));
    s += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    s += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (c & 0x3F));
  }
  return s;
}

}  // namespace

TEST(text, vocabulary_is_the_sorted_unique_code_points_and_ids_are_their_ranks) {
  temp_dir d;
  write_text(d / "in.txt", k_utf8);
  fake_host h;
  opened o(h, "text", h.config(cfg("in.txt", 5, "val_fraction = 0.0\n"), d.path));
  ASSERT_EQ(o.status, PLINTH_OK) << h.last_error();
  const std::set<char32_t> chars(k_u32.begin(), k_u32.end());
  const std::vector<char32_t> sorted(chars.begin(), chars.end());
  auto rank = [&](char32_t c) {
    return static_cast<int32_t>(std::find(sorted.begin(), sorted.end(), c) - sorted.begin());
  };

  auto j = nlohmann::json::parse(vocab_of(o));
  EXPECT_EQ(j["type"], "char");
  ASSERT_EQ(j["tokens"].size(), sorted.size());
  for (size_t i = 0; i < sorted.size(); ++i)
    EXPECT_EQ(j["tokens"][i].get<std::string>(), utf8(sorted[i])) << i;
  for (int f = 0; f < 2; ++f) {
    auto fd = o.field(f);
    EXPECT_STREQ(fd.name, f == 0 ? "tokens" : "targets");
    EXPECT_EQ(fd.dtype, PLINTH_DTYPE_I32);
    ASSERT_EQ(fd.ndim, 1);
    EXPECT_EQ(fd.shape[0], 5);
    EXPECT_EQ(fd.num_classes, static_cast<int64_t>(sorted.size()));
  }
  const uint64_t n = k_u32.size();  // val_fraction 0: all in train
  ASSERT_EQ(o.info().num_samples, n - 5);
  for (uint64_t i = 0; i < n - 5; ++i) {
    std::vector<int32_t> x(5), y(5);
    void* bufs[2] = {x.data(), y.data()};
    ASSERT_EQ(o.t->read(o.src, &i, 1, bufs), PLINTH_OK);
    for (int t = 0; t < 5; ++t) {
      EXPECT_EQ(x[t], rank(k_u32[i + t])) << i << "," << t;
      EXPECT_EQ(y[t], rank(k_u32[i + t + 1])) << i << "," << t;
    }
  }
}

TEST(text, splits_the_first_part_to_train_and_the_rest_to_val_like_prepare_py) {
  temp_dir d;
  std::string s;
  for (int i = 0; i < 100; ++i) s += static_cast<char>('a' + (i * 7) % 26);
  write_text(d / "in.txt", s);
  struct Case {
    const char* extra;
    uint64_t chars;          // characters in the split
    uint64_t first;          // offset of its first character in the file
  } cases[] = {{"", 90, 0},  // int(100 * 0.9)
               {"split = 'val'\n", 10, 90},
               {"val_fraction = 0.25\n", 75, 0},
               {"split = 'val'\nval_fraction = 0.25\n", 25, 75},
               {"split = 'val'\nval_fraction = 0.333\n", 34, 66}};  // floor(100 * 0.667) = 66
  for (const auto& c : cases) {
    SCOPED_TRACE(c.extra);
    fake_host h;
    opened o(h, "text", h.config(cfg("in.txt", 4, c.extra), d.path));
    ASSERT_EQ(o.status, PLINTH_OK) << h.last_error();
    EXPECT_EQ(o.info().num_samples, c.chars - 4);
    // The vocabulary comes from the whole file, whichever split.
    EXPECT_EQ(o.field(0).num_classes, 26);
    std::vector<int32_t> x(4), y(4);
    void* bufs[2] = {x.data(), y.data()};
    const uint64_t last = c.chars - 5;
    ASSERT_EQ(o.t->read(o.src, &last, 1, bufs), PLINTH_OK);
    for (int t = 0; t < 4; ++t) {  // 'a' + k has id k: all 26 letters occur
      EXPECT_EQ(x[t], s[c.first + last + t] - 'a');
      EXPECT_EQ(y[t], s[c.first + last + t + 1] - 'a');
    }
  }
}

TEST(text, stride_gives_windows_at_multiples_of_the_stride) {
  temp_dir d;
  write_text(d / "in.txt", "abcdefghijklmnopqrstuvwxyz");
  fake_host h;
  opened o(h, "text", h.config(cfg("in.txt", 4, "val_fraction = 0\nstride = 4\n"), d.path));
  ASSERT_EQ(o.status, PLINTH_OK) << h.last_error();
  EXPECT_EQ(o.info().num_samples, 6u);  // offsets 0, 4, ..., 20 (24 would need 29 characters)
  std::vector<int32_t> x(4), y(4);
  void* bufs[2] = {x.data(), y.data()};
  const uint64_t i = 5;
  ASSERT_EQ(o.t->read(o.src, &i, 1, bufs), PLINTH_OK);
  EXPECT_EQ(x, (std::vector<int32_t>{20, 21, 22, 23}));
  EXPECT_EQ(y, (std::vector<int32_t>{21, 22, 23, 24}));
}

TEST(text, metadata_is_snprintf_like_and_unknown_keys_are_not_found) {
  temp_dir d;
  write_text(d / "in.txt", "ba\nab\nba\nab");
  fake_host h;
  opened o(h, "text", h.config(cfg("in.txt", 2), d.path));
  ASSERT_EQ(o.status, PLINTH_OK) << h.last_error();
  const std::string want = R"({"type":"char","tokens":["\n","a","b"]})";
  size_t len = 0;
  ASSERT_EQ(o.t->metadata(o.src, "vocab", nullptr, 0, &len), PLINTH_OK);
  EXPECT_EQ(len, want.size());
  std::string buf(want.size(), 'x');  // no room for the NUL: nothing written
  ASSERT_EQ(o.t->metadata(o.src, "vocab", buf.data(), buf.size(), &len), PLINTH_OK);
  EXPECT_EQ(buf, std::string(want.size(), 'x'));
  EXPECT_EQ(vocab_of(o), want);
  h.clear_error();
  EXPECT_EQ(o.t->metadata(o.src, "merges", nullptr, 0, &len), PLINTH_ERR_NOT_FOUND);
  EXPECT_EQ(h.last_error(), "");
}

TEST(text, rejects_invalid_utf8_naming_the_byte_offset) {
  temp_dir d;
  struct Case {
    std::string bytes;
    size_t offset;
  } cases[] = {
      {"ab\xC3(", 2},             // a lead byte without its continuation
      {"abc\xC0\xAF", 3},         // overlong '/'
      {"a\xED\xA0\x80", 1},       // a UTF-16 surrogate
      {"ok\xF4\x90\x80\x80", 2},  // above U+10FFFF
      {"é\x80", 2},               // a stray continuation byte
      {"abcd\xE2\x82", 4},        // cut off at the end of the file
  };
  for (const auto& c : cases) {
    write_text(d / "bad.txt", c.bytes);
    auto e = open_error(cfg(d / "bad.txt", 1, "val_fraction = 0\n"), PLINTH_ERR_BAD_DATA);
    const std::string file = d / "bad.txt";
    std::string at = "invalid UTF-8 at byte offset ";
    at += std::to_string(c.offset);
    at += ' ';
    EXPECT_NE(e.find(file), std::string::npos) << e;
    EXPECT_NE(e.find(at), std::string::npos) << e;
  }
}

TEST(text, rejects_a_block_size_larger_than_the_split) {
  temp_dir d;
  write_text(d / "in.txt", std::string(3000, 'z'));
  auto e = open_error(cfg(d / "in.txt", 512, "split = 'val'\n"), PLINTH_ERR_BAD_DATA);
  EXPECT_NE(e.find("block_size 512 needs at least 513 characters, the val split of '" + (d / "in.txt") +
                   "' has 300"),
            std::string::npos)
      << e;
}

TEST(text, rejects_missing_files_keys_and_bad_values) {
  temp_dir d;
  write_text(d / "in.txt", "hello world");
  auto e = open_error(cfg(d / "none.txt", 2), PLINTH_ERR_IO);
  EXPECT_NE(e.find(d / "none.txt"), std::string::npos) << e;
  e = open_error("block_size = 2\n", PLINTH_ERR_NOT_FOUND);
  EXPECT_NE(e.find("missing key 'path'"), std::string::npos) << e;
  e = open_error("path = '" + (d / "in.txt") + "'\n", PLINTH_ERR_NOT_FOUND);
  EXPECT_NE(e.find("missing key 'block_size'"), std::string::npos) << e;
  e = open_error(cfg(d / "in.txt", 2, "split = 'test'\n"), PLINTH_ERR_INVALID_ARGUMENT);
  EXPECT_NE(e.find("'split'"), std::string::npos) << e;
  e = open_error(cfg(d / "in.txt", 2, "val_fraction = 1.0\n"), PLINTH_ERR_INVALID_ARGUMENT);
  EXPECT_NE(e.find("'val_fraction'"), std::string::npos) << e;
  e = open_error(cfg(d / "in.txt", 2, "stride = 0\n"), PLINTH_ERR_INVALID_ARGUMENT);
  EXPECT_NE(e.find("'stride'"), std::string::npos) << e;
}
