// files_test.cpp — write_file_parts: the bytes on disk are the parts in
// order, and the SHA-256 it reports from memory is the file's (checked
// against sha256_file, which re-reads the file, and a known digest).
#include "util/files.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

fs::path temp_dir(const char* name) {
  fs::path d = fs::temp_directory_path() / (std::string("plinth_files_test_") + name);
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

}  // namespace

TEST(files, write_file_parts_writes_the_parts_in_order_and_hashes_them) {
  const fs::path d = temp_dir("parts");
  // Many parts (more than one writev batch of 64), empty ones among them.
  std::vector<std::string> owned;
  std::string expected;
  for (int i = 0; i < 150; ++i) {
    owned.push_back(i % 7 == 0 ? std::string()
                               : std::string(static_cast<size_t>(i * 37 % 5000), 'a' + i % 26));
    expected += owned.back();
  }
  std::vector<std::string_view> parts(owned.begin(), owned.end());
  for (bool atomic : {true, false}) {
    const fs::path f = d / (atomic ? "atomic.bin" : "direct.bin");
    std::string hash;
    ASSERT_TRUE(plinth::write_file_parts(f, parts, &hash, atomic).ok());
    EXPECT_EQ(slurp(f), expected);
    EXPECT_EQ(hash, plinth::sha256_file(f));
    EXPECT_FALSE(fs::exists(fs::path(f.string() + ".tmp")));
  }
  fs::remove_all(d);
}

TEST(files, write_file_parts_hash_is_the_standard_sha256) {
  const fs::path d = temp_dir("known");
  const std::string_view parts[] = {"a", "", "bc"};
  std::string hash;
  ASSERT_TRUE(plinth::write_file_parts(d / "abc", parts, &hash).ok());
  // FIPS 180-2's example: SHA-256("abc").
  EXPECT_EQ(hash, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  fs::remove_all(d);
}

TEST(files, write_file_parts_names_the_file_it_cannot_create) {
  const fs::path d = temp_dir("missing");
  const std::string_view part = "x";
  const fs::path f = d / "no-such-folder" / "f.bin";
  auto s = plinth::write_file_parts(f, std::span<const std::string_view>(&part, 1), nullptr, false);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find(f.string() + ": cannot create"), std::string::npos) << s.message();
  fs::remove_all(d);
}
