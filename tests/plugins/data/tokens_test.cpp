// tokens_test.cpp — the `tokens` data source: llm.c shards and raw uint16
// files written here, windows and their one-token-shifted targets checked
// against the ids the test wrote, strides, globs and lists of shards, and
// every error the format can hit (magic, version, count, ids, block_size).
#include <atomic>
#include <thread>

#include "data_util.hpp"

using namespace plinth::test;

namespace {

constexpr int V = 50;  // vocab_size of the test shards

// The id the test writes at position k of shard `s`.
uint16_t id_at(int s, int64_t k) { return static_cast<uint16_t>((k * 7 + s * 13 + 3) % V); }

void le16(std::vector<unsigned char>& b, uint16_t v) {
  b.push_back(static_cast<unsigned char>(v));
  b.push_back(static_cast<unsigned char>(v >> 8));
}

std::vector<unsigned char> raw_tokens(int s, int64_t n) {
  std::vector<unsigned char> b;
  for (int64_t k = 0; k < n; ++k) le16(b, id_at(s, k));
  return b;
}

// An llm.c shard: 256 little-endian int32 (magic, version, count, zeros).
std::vector<unsigned char> llmc_shard(int s, int64_t n, int32_t magic = 20240520, int32_t version = 1,
                                      int64_t count = -1) {
  std::vector<unsigned char> b(1024, 0);
  const int32_t h[3] = {magic, version, static_cast<int32_t>(count < 0 ? n : count)};
  for (int i = 0; i < 3; ++i)
    for (int k = 0; k < 4; ++k)
      b[4 * i + k] = static_cast<unsigned char>(static_cast<uint32_t>(h[i]) >> (8 * k));
  auto t = raw_tokens(s, n);
  b.insert(b.end(), t.begin(), t.end());
  return b;
}

// A TOML literal string of `path`.
std::string q(const std::string& path) {
  std::string s(1, '\'');
  s.append(path).push_back('\'');
  return s;
}

std::string cfg(const std::string& path, int T, const std::string& extra = "") {
  return "path = " + path + "\nblock_size = " + std::to_string(T) + "\nvocab_size = " + std::to_string(V) +
         "\n" + extra;
}

// Reads samples `idx` and returns (tokens, targets), each (n, T).
std::pair<std::vector<int32_t>, std::vector<int32_t>> read(opened& o, std::vector<uint64_t> idx, int T) {
  std::vector<int32_t> x(idx.size() * T), y(idx.size() * T);
  void* bufs[2] = {x.data(), y.data()};
  EXPECT_EQ(o.t->read(o.src, idx.data(), idx.size(), bufs), PLINTH_OK);
  return {x, y};
}

std::string open_error(const std::string& text, plinth_status want) {
  fake_host h;
  opened o(h, "tokens", h.config(text));
  EXPECT_EQ(o.status, want) << h.last_error();
  EXPECT_EQ(o.src, nullptr);
  return h.last_error();
}

}  // namespace

TEST(tokens, every_offset_is_a_window_with_targets_shifted_by_one) {
  temp_dir d;
  write_bytes(d / "s.bin", llmc_shard(0, 20));
  fake_host h;
  opened o(h, "tokens", h.config(cfg("'s.bin'", 4), d.path));
  ASSERT_EQ(o.status, PLINTH_OK) << h.last_error();
  EXPECT_EQ(o.info().num_samples, 16u);  // offsets 0..15: the last window is tokens 15..19
  EXPECT_EQ(o.info().num_fields, 2);
  for (int f = 0; f < 2; ++f) {
    auto fd = o.field(f);
    EXPECT_STREQ(fd.name, f == 0 ? "tokens" : "targets");
    EXPECT_EQ(fd.dtype, PLINTH_DTYPE_I32);
    ASSERT_EQ(fd.ndim, 1);
    EXPECT_EQ(fd.shape[0], 4);
    EXPECT_EQ(fd.num_classes, V);
  }
  auto [x, y] = read(o, {15, 0, 7}, 4);
  const int64_t starts[3] = {15, 0, 7};
  for (int r = 0; r < 3; ++r)
    for (int t = 0; t < 4; ++t) {
      EXPECT_EQ(x[r * 4 + t], id_at(0, starts[r] + t)) << r << "," << t;
      EXPECT_EQ(y[r * 4 + t], id_at(0, starts[r] + t + 1)) << r << "," << t;
    }
  const uint64_t past = 16;
  EXPECT_EQ(o.t->read(o.src, &past, 1, std::vector<void*>{x.data(), y.data()}.data()),
            PLINTH_ERR_INVALID_ARGUMENT);
}

TEST(tokens, stride_gives_windows_at_multiples_of_the_stride) {
  temp_dir d;
  write_bytes(d / "s.bin", llmc_shard(0, 20));
  fake_host h;
  opened o(h, "tokens", h.config(cfg("'s.bin'", 4, "stride = 4\n"), d.path));
  ASSERT_EQ(o.status, PLINTH_OK) << h.last_error();
  EXPECT_EQ(o.info().num_samples, 4u);  // offsets 0, 4, 8, 12 (16 would need token 20)
  auto [x, y] = read(o, {3}, 4);
  for (int t = 0; t < 4; ++t) {
    EXPECT_EQ(x[t], id_at(0, 12 + t));
    EXPECT_EQ(y[t], id_at(0, 13 + t));
  }
}

TEST(tokens, a_glob_reads_shards_in_sorted_order_and_windows_stay_inside_a_shard) {
  temp_dir d;
  write_bytes(d / "train_001.bin", raw_tokens(1, 8));   // 5 windows of T = 3
  write_bytes(d / "train_000.bin", raw_tokens(0, 10));  // 7 windows
  write_bytes(d / "val_000.bin", raw_tokens(2, 10));
  fake_host h;
  opened o(h, "tokens", h.config(cfg("'train_*.bin'", 3, "format = 'raw'\n"), d.path));
  ASSERT_EQ(o.status, PLINTH_OK) << h.last_error();
  EXPECT_EQ(o.info().num_samples, 12u);
  auto [x, y] = read(o, {6, 7, 11}, 3);
  for (int t = 0; t < 3; ++t) {
    EXPECT_EQ(x[0 + t], id_at(0, 6 + t));  // the last window of train_000
    EXPECT_EQ(y[0 + t], id_at(0, 7 + t));
    EXPECT_EQ(x[3 + t], id_at(1, 0 + t));  // the first of train_001
    EXPECT_EQ(y[3 + t], id_at(1, 1 + t));
    EXPECT_EQ(x[6 + t], id_at(1, 4 + t));  // the last of train_001
    EXPECT_EQ(y[6 + t], id_at(1, 5 + t));
  }
}

TEST(tokens, a_list_of_paths_keeps_its_order_and_may_mix_globs) {
  temp_dir d;
  write_bytes(d / "b.bin", llmc_shard(1, 6));
  write_bytes(d / "a.bin", llmc_shard(0, 5));
  fake_host h;
  opened o(h, "tokens", h.config(cfg("['b.bin', 'a*.bin']", 2), d.path));
  ASSERT_EQ(o.status, PLINTH_OK) << h.last_error();
  EXPECT_EQ(o.info().num_samples, 4u + 3u);
  auto [x, y] = read(o, {0, 4}, 2);
  EXPECT_EQ(x[0], id_at(1, 0));
  EXPECT_EQ(x[2], id_at(0, 0));
  EXPECT_EQ(y[3], id_at(0, 2));
}

TEST(tokens, concurrent_reads_match_a_serial_read) {
  temp_dir d;
  write_bytes(d / "s.bin", llmc_shard(0, 500));
  fake_host h;
  opened o(h, "tokens", h.config(cfg("'s.bin'", 16), d.path));
  ASSERT_EQ(o.status, PLINTH_OK) << h.last_error();
  ASSERT_EQ(o.info().num_samples, 484u);
  std::vector<std::thread> ts;
  std::atomic<int> bad{0};
  for (int k = 0; k < 4; ++k)
    ts.emplace_back([&, k] {
      for (uint64_t i = k; i < 484; i += 4) {  // 500 - 17 + 1 windows
        std::vector<int32_t> x(16), y(16);
        void* bufs[2] = {x.data(), y.data()};
        if (o.t->read(o.src, &i, 1, bufs) != PLINTH_OK) ++bad;
        for (int t = 0; t < 16; ++t)
          if (x[t] != id_at(0, i + t) || y[t] != id_at(0, i + t + 1)) ++bad;
      }
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(bad.load(), 0);
}

TEST(tokens, has_no_vocab_metadata_and_says_so_without_an_error) {
  temp_dir d;
  write_bytes(d / "s.bin", llmc_shard(0, 20));
  fake_host h;
  opened o(h, "tokens", h.config(cfg("'s.bin'", 4), d.path));
  ASSERT_EQ(o.status, PLINTH_OK) << h.last_error();
  ASSERT_TRUE(PLINTH_HAS_FIELD(o.t, plinth_data_v1, metadata));
  h.clear_error();
  size_t len = 0;
  EXPECT_EQ(o.t->metadata(o.src, "vocab", nullptr, 0, &len), PLINTH_ERR_NOT_FOUND);
  EXPECT_EQ(h.last_error(), "");
}

// --- errors: one message naming the file and the offset or key -------------

TEST(tokens, rejects_a_wrong_magic_with_a_hint_for_raw_files) {
  temp_dir d;
  write_bytes(d / "s.bin", llmc_shard(0, 20, 12345));
  auto e = open_error(cfg(q(d / "s.bin"), 4), PLINTH_ERR_BAD_DATA);
  EXPECT_NE(e.find(d / "s.bin"), std::string::npos) << e;
  EXPECT_NE(e.find("wrong magic 12345 at byte offset 0, expected 20240520"), std::string::npos) << e;
  EXPECT_NE(e.find("format = \"raw\""), std::string::npos) << e;
}

TEST(tokens, rejects_a_wrong_version) {
  temp_dir d;
  write_bytes(d / "s.bin", llmc_shard(0, 20, 20240520, 2));
  auto e = open_error(cfg(q(d / "s.bin"), 4), PLINTH_ERR_BAD_DATA);
  EXPECT_NE(e.find(d / "s.bin"), std::string::npos) << e;
  EXPECT_NE(e.find("unsupported version 2 at byte offset 4, expected 1"), std::string::npos) << e;
  EXPECT_NE(e.find("uint32"), std::string::npos) << e;
}

TEST(tokens, rejects_a_header_count_that_does_not_match_the_file_size) {
  temp_dir d;
  write_bytes(d / "short.bin", llmc_shard(0, 20, 20240520, 1, 300));  // says 300, holds 20
  auto e = open_error(cfg(q(d / "short.bin"), 4), PLINTH_ERR_BAD_DATA);
  EXPECT_NE(e.find(d / "short.bin"), std::string::npos) << e;
  EXPECT_NE(e.find("token count 300 (byte offset 8) needs 1624 bytes, the file has 1064 (truncated)"),
            std::string::npos)
      << e;
  write_bytes(d / "long.bin", llmc_shard(0, 20, 20240520, 1, 10));
  e = open_error(cfg(q(d / "long.bin"), 4), PLINTH_ERR_BAD_DATA);
  EXPECT_NE(e.find("needs 1044 bytes, the file has 1064 (trailing bytes)"), std::string::npos) << e;
  auto cut = llmc_shard(0, 20);
  cut.resize(100);
  write_bytes(d / "cut.bin", cut);
  e = open_error(cfg(q(d / "cut.bin"), 4), PLINTH_ERR_BAD_DATA);
  EXPECT_NE(e.find("truncated header: 100 bytes"), std::string::npos) << e;
}

TEST(tokens, rejects_a_raw_file_of_odd_size) {
  temp_dir d;
  auto b = raw_tokens(0, 20);
  b.push_back(1);
  write_bytes(d / "odd.bin", b);
  auto e = open_error(cfg(q(d / "odd.bin"), 4, "format = 'raw'\n"), PLINTH_ERR_BAD_DATA);
  EXPECT_NE(e.find(d / "odd.bin"), std::string::npos) << e;
  EXPECT_NE(e.find("41 bytes is not a whole number of uint16 tokens"), std::string::npos) << e;
}

TEST(tokens, rejects_the_first_token_id_not_below_vocab_size_by_byte_offset) {
  temp_dir d;
  auto b = llmc_shard(0, 20);
  b[1024 + 2 * 9] = 0x34;  // token 9 = 0x1234 = 4660; token 15 also bad, but later
  b[1024 + 2 * 9 + 1] = 0x12;
  b[1024 + 2 * 15] = 0xff;
  write_bytes(d / "s.bin", b);
  auto e = open_error(cfg(q(d / "s.bin"), 4), PLINTH_ERR_BAD_DATA);
  EXPECT_NE(e.find(d / "s.bin"), std::string::npos) << e;
  EXPECT_NE(e.find("token id 4660 at byte offset 1042 (token 9) is not below vocab_size = 50"),
            std::string::npos)
      << e;
  // Raw files: the offset counts from byte 0.
  auto r = raw_tokens(0, 20);
  r[2 * 3] = V;  // exactly vocab_size is out of range
  r[2 * 3 + 1] = 0;
  write_bytes(d / "r.bin", r);
  e = open_error(cfg(q(d / "r.bin"), 4, "format = 'raw'\n"), PLINTH_ERR_BAD_DATA);
  EXPECT_NE(e.find("token id 50 at byte offset 6 (token 3)"), std::string::npos) << e;
}

TEST(tokens, rejects_a_block_size_larger_than_the_data) {
  temp_dir d;
  write_bytes(d / "s.bin", llmc_shard(0, 300));
  auto e = open_error(cfg(q(d / "s.bin"), 512), PLINTH_ERR_BAD_DATA);
  EXPECT_NE(e.find("block_size 512 needs at least 513 tokens, '" + (d / "s.bin") + "' has 300"),
            std::string::npos)
      << e;
  // T + 1 tokens exactly is one window.
  fake_host h;
  opened o(h, "tokens", h.config(cfg("'s.bin'", 299), d.path));
  ASSERT_EQ(o.status, PLINTH_OK) << h.last_error();
  EXPECT_EQ(o.info().num_samples, 1u);
}

TEST(tokens, rejects_missing_files_keys_and_bad_values) {
  temp_dir d;
  write_bytes(d / "s.bin", llmc_shard(0, 20));
  const std::string s = q(d / "s.bin");
  auto e = open_error(cfg(q(d / "none.bin"), 4), PLINTH_ERR_IO);
  EXPECT_NE(e.find(d / "none.bin"), std::string::npos) << e;
  e = open_error(cfg(q(d / "none_*.bin"), 4), PLINTH_ERR_NOT_FOUND);
  EXPECT_NE(e.find("none_*.bin' matches no file"), std::string::npos) << e;
  e = open_error("block_size = 4\nvocab_size = 50\n", PLINTH_ERR_NOT_FOUND);
  EXPECT_NE(e.find("missing key 'path'"), std::string::npos) << e;
  e = open_error("path = " + s + "\nvocab_size = 50\n", PLINTH_ERR_NOT_FOUND);
  EXPECT_NE(e.find("missing key 'block_size'"), std::string::npos) << e;
  e = open_error("path = " + s + "\nblock_size = 4\n", PLINTH_ERR_NOT_FOUND);
  EXPECT_NE(e.find("missing key 'vocab_size'"), std::string::npos) << e;
  e = open_error("path = " + s + "\nblock_size = 4\nvocab_size = 70000\n", PLINTH_ERR_INVALID_ARGUMENT);
  EXPECT_NE(e.find("'vocab_size'"), std::string::npos) << e;
  e = open_error(cfg(s, 0), PLINTH_ERR_INVALID_ARGUMENT);
  EXPECT_NE(e.find("'block_size'"), std::string::npos) << e;
  e = open_error(cfg(s, 4, "stride = 0\n"), PLINTH_ERR_INVALID_ARGUMENT);
  EXPECT_NE(e.find("'stride'"), std::string::npos) << e;
  e = open_error(cfg(s, 4, "format = 'npy'\n"), PLINTH_ERR_INVALID_ARGUMENT);
  EXPECT_NE(e.find("'format'"), std::string::npos) << e;
}

TEST(tokens, a_shard_truncated_after_open_is_an_error_naming_it_not_sigbus) {
  temp_dir d;
  write_bytes(d / "s.bin", llmc_shard(0, 4000));
  fake_host h;
  opened o(h, "tokens", h.config(cfg("'s.bin'", 8), d.path));
  ASSERT_EQ(o.status, PLINTH_OK) << h.last_error();
  const uint64_t last = o.info().num_samples - 1;
  auto [x, y] = read(o, {last}, 8);
  EXPECT_EQ(x[0], id_at(0, static_cast<int64_t>(last)));
  std::filesystem::resize_file(d / "s.bin", 1024 + 2 * 100);  // what `truncate -s` does mid-run
  std::vector<int32_t> bx(8), by(8);
  void* bufs[2] = {bx.data(), by.data()};
  EXPECT_EQ(o.t->read(o.src, &last, 1, bufs), PLINTH_ERR_BAD_DATA);
  EXPECT_NE(
      h.last_error().find("s.bin': the file changed while in use: it had 9024 bytes when opened and now "
                          "has 1224"),
      std::string::npos)
      << h.last_error();
  const uint64_t first = 0;  // a window still inside the file reads
  EXPECT_EQ(o.t->read(o.src, &first, 1, bufs), PLINTH_OK) << h.last_error();
}
