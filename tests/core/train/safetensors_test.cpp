// safetensors_test.cpp — read_safetensors is strict about the header: every
// case here is a file the reader must refuse (or accept) and the message that
// names the file and the tensor(s). The seeds in tests/fuzz/corpus/safetensors
// hold the same shapes of damage for the fuzz target.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

#include <gtest/gtest.h>

#include "train/safetensors.hpp"

namespace {

namespace fs = std::filesystem;

const fs::path kDir = fs::temp_directory_path() / ("plinth_st_test_" + std::to_string(::getpid()));
struct RemoveAtEnd {
  ~RemoveAtEnd() {
    std::error_code ec;
    fs::remove_all(kDir, ec);
  }
} remove_at_end;

// A file of the 8-byte header length, `header`, and `data_bytes` zero bytes.
fs::path write_st(const std::string& name, const std::string& header, size_t data_bytes) {
  const fs::path dir = kDir;
  fs::create_directories(dir);
  const fs::path p = dir / name;
  std::ofstream out(p, std::ios::binary);
  const uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out.put(static_cast<char>((n >> (8 * i)) & 0xff));
  out << header << std::string(data_bytes, '\0');
  return p;
}

std::string entry(const std::string& name, int64_t elems, uint64_t begin, uint64_t end) {
  return "\"" + name + "\": {\"dtype\": \"F32\", \"shape\": [" + std::to_string(elems) +
         "], \"data_offsets\": [" + std::to_string(begin) + ", " + std::to_string(end) + "]}";
}

std::string refusal(const fs::path& p) {
  auto r = plinth::read_safetensors(p);
  EXPECT_FALSE(r.ok()) << p;
  return r.ok() ? std::string() : r.status().message();
}

TEST(safetensors_read, overlapping_ranges_are_refused_naming_both_tensors) {
  auto p = write_st("overlap.st", "{" + entry("a", 2, 0, 8) + ", " + entry("b", 2, 4, 12) + "}", 12);
  EXPECT_EQ(refusal(p), p.string() + ": tensors 'a' [0, 8) and 'b' [4, 12) overlap");
}

TEST(safetensors_read, a_hole_between_tensors_is_refused) {
  auto p = write_st("hole.st", "{" + entry("a", 1, 0, 4) + ", " + entry("b", 1, 8, 12) + "}", 12);
  EXPECT_EQ(
      refusal(p),
      p.string() + ": data bytes [4, 8) belong to no tensor (a hole after tensor 'a', before tensor 'b')");
}

TEST(safetensors_read, a_hole_at_the_start_is_refused) {
  auto p = write_st("start.st", "{" + entry("a", 1, 4, 8) + "}", 8);
  EXPECT_EQ(refusal(p),
            p.string() + ": data bytes [0, 4) belong to no tensor (a hole at the start, before tensor 'a')");
}

TEST(safetensors_read, data_past_the_last_tensor_is_refused) {
  auto p = write_st("trailing.st", "{" + entry("a", 1, 0, 4) + "}", 12);
  EXPECT_EQ(refusal(p),
            p.string() +
                ": data bytes [4, 12) belong to no tensor (after tensor 'a', the data section is 12 "
                "bytes)");
}

TEST(safetensors_read, offsets_past_the_end_are_refused) {
  auto p = write_st("past_end.st", "{" + entry("a", 2, 0, 8) + ", " + entry("b", 1, 8, 12) + "}", 8);
  EXPECT_EQ(refusal(p),
            p.string() + ": tensor 'b': data [8, 12) lies outside the 8 data bytes (truncated file?)");
}

TEST(safetensors_read, a_name_given_twice_is_refused) {
  auto p = write_st("dup.st", "{" + entry("a", 1, 0, 4) + ", " + entry("a", 1, 4, 8) + "}", 8);
  EXPECT_EQ(refusal(p), p.string() + ": tensor 'a' is named twice in the header");
}

// The format asks the ranges to tile the data, not to be listed in order:
// a header listing them out of order (and an empty tensor) is read.
TEST(safetensors_read, unsorted_ranges_that_tile_the_data_are_read) {
  auto p = write_st("unsorted.st",
                    "{" + entry("b", 1, 4, 8) + ", " + entry("a", 1, 0, 4) + ", " + entry("e", 0, 8, 8) +
                        ", \"__metadata__\": {\"step\": \"1\"}}",
                    8);
  auto r = plinth::read_safetensors(p);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->size(), 3u);
}

TEST(safetensors_read, what_the_writer_writes_reads_back) {
  const fs::path p = write_st("w.st", "{}", 0).parent_path() / "written.st";
  std::vector<plinth::NamedTensor> ts(2);
  ts[0].name = "x";
  ts[0].shape = {3};
  ts[0].data.assign(12, 1);
  ts[1].name = "y";
  ts[1].shape = {0};
  ASSERT_TRUE(plinth::write_safetensors(p, ts, {{"step", "3"}}).ok());
  auto r = plinth::read_safetensors(p);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->size(), 2u);
  EXPECT_TRUE(plinth::read_safetensors(write_st("empty.st", "{}", 0)).ok());
}

}  // namespace
