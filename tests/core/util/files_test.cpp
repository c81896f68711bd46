// files_test.cpp — write_file_parts: the bytes on disk are the parts in
// order, and the SHA-256 it reports from memory is the file's (checked
// against sha256_file, which re-reads the file, and a known digest). And
// what an atomic write does with what is at its path: a symlink written
// through, a FIFO, folder or link loop refused (exit 2) and left as it was;
// create_output_folder's bad input (exit 2) against a failed creation (exit 1).
#include "util/files.hpp"

#include <sys/stat.h>
#include <unistd.h>

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

// O_DIRECT through a staging area: the same bytes and digest as an ordinary
// write, for files smaller than a block, off block boundaries, and larger
// than one 16 MiB gathering (so the staging area is refilled), with the
// staging area reused across files; on tmpfs (no O_DIRECT) it falls back.
TEST(files, direct_writes_equal_ordinary_ones) {
  std::vector<fs::path> dirs{temp_dir("direct")};
  if (fs::is_directory("/dev/shm"))
    dirs.push_back(fs::path("/dev/shm") / ("plinth-direct-" + std::to_string(::getpid())));
  plinth::StagingBuffer staging;
  for (const fs::path& d : dirs) {
    fs::create_directories(d);
    for (size_t size : {size_t{0}, size_t{1}, size_t{4095}, size_t{4096}, size_t{70001},
                        (size_t{16} << 20) + 12345, size_t{3} << 20}) {
      // Three parts of unequal sizes, bytes that differ from one offset to the next.
      std::string all(size, '\0');
      for (size_t i = 0; i < size; ++i) all[i] = static_cast<char>((i * 2654435761u) >> 13);
      const std::string_view v = all;
      const std::string_view parts[] = {v.substr(0, size / 3), v.substr(size / 3, size / 7),
                                        v.substr(size / 3 + size / 7)};
      for (auto kind : {plinth::Digest::xxh3_128, plinth::Digest::sha256}) {
        std::string h_direct, h_plain;
        ASSERT_TRUE(plinth::write_file_parts(d / "direct.bin", parts, &h_direct, false, kind, &staging).ok());
        ASSERT_TRUE(plinth::write_file_parts(d / "plain.bin", parts, &h_plain, false, kind).ok());
        EXPECT_EQ(fs::file_size(d / "direct.bin"), size) << d << " " << size;
        EXPECT_TRUE(slurp(d / "direct.bin") == all) << d << " " << size;
        EXPECT_EQ(h_direct, h_plain) << d << " " << size;
        EXPECT_EQ(h_direct, plinth::file_digest(d / "direct.bin", kind)) << d << " " << size;
      }
    }
    fs::remove_all(d);
  }
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

TEST(files, write_file_atomic_writes_through_a_symlink_and_keeps_it) {
  const fs::path d = temp_dir("link");
  { std::ofstream(d / "target") << "old"; }
  fs::permissions(d / "target", fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
  fs::create_symlink("target", d / "link");
  ASSERT_TRUE(plinth::write_file_atomic(d / "link", "new").ok());
  EXPECT_TRUE(fs::is_symlink(d / "link"));
  EXPECT_EQ(fs::read_symlink(d / "link"), fs::path("target"));
  EXPECT_EQ(slurp(d / "target"), "new");
  EXPECT_EQ(fs::status(d / "target").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
  EXPECT_FALSE(fs::exists(d / "target.tmp"));
  EXPECT_FALSE(fs::exists(d / "link.tmp"));
  fs::remove_all(d);
}

TEST(files, write_file_atomic_creates_the_end_of_a_dangling_link_chain) {
  const fs::path d = temp_dir("chain");
  fs::create_directories(d / "sub");
  fs::create_symlink(d / "sub" / "new", d / "abs");  // absolute, to a file not there yet
  fs::create_symlink("abs", d / "rel");
  auto t = plinth::output_target(d / "rel");
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(*t, d / "sub" / "new");
  ASSERT_TRUE(plinth::write_file_atomic(d / "rel", "x").ok());
  EXPECT_TRUE(fs::is_symlink(d / "rel"));
  EXPECT_TRUE(fs::is_symlink(d / "abs"));
  EXPECT_EQ(slurp(d / "sub" / "new"), "x");
  fs::remove_all(d);
}

TEST(files, write_file_atomic_refuses_a_fifo_a_folder_a_loop_and_a_missing_folder) {
  const fs::path d = temp_dir("refuse");
  ASSERT_EQ(::mkfifo((d / "fifo").c_str(), 0644), 0);
  fs::create_symlink("fifo", d / "to-fifo");
  fs::create_directories(d / "folder");
  fs::create_symlink("loop-b", d / "loop-a");
  fs::create_symlink("loop-a", d / "loop-b");
  fs::create_symlink("/dev/null", d / "to-null");
  const struct {
    fs::path path;
    std::string says;
  } cases[] = {
      {d / "fifo", (d / "fifo").string() + ": is a FIFO, not a regular file"},
      {d / "to-fifo", (d / "to-fifo").string() + " -> " + (d / "fifo").string() + ": is a FIFO"},
      {d / "folder", (d / "folder").string() + ": is a folder"},
      {d / "loop-a", "too many levels of symbolic links"},
      {d / "to-null", (d / "to-null").string() + " -> /dev/null: is a character device"},
      {d / "none" / "f", (d / "none" / "f").string() + ": no such folder: " + (d / "none").string()},
  };
  for (const auto& c : cases) {
    plinth::Status s = plinth::write_file_atomic(c.path, "x");
    ASSERT_FALSE(s.ok()) << c.path;
    EXPECT_EQ(s.exit_code(), 2) << s.message();
    EXPECT_NE(s.message().find(c.says), std::string::npos) << s.message();
  }
  struct stat st {};
  ASSERT_EQ(::lstat((d / "fifo").c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  EXPECT_TRUE(fs::is_symlink(d / "to-fifo"));
  EXPECT_TRUE(fs::is_empty(d / "folder"));
  EXPECT_FALSE(fs::exists(d / "fifo.tmp"));
  fs::remove_all(d);
}

TEST(files, write_file_parts_does_not_follow_a_symlink_at_the_file_it_writes) {
  // A link planted at the temporary name (or at a non-atomic write's path)
  // must not redirect the bytes: the file it points at stays as it was.
  const fs::path d = temp_dir("tmplink");
  { std::ofstream(d / "precious") << "keep"; }
  fs::create_symlink("precious", d / "out.tmp");
  fs::create_symlink("precious", d / "direct");
  plinth::Status s = plinth::write_file_atomic(d / "out", "x");
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find((d / "out.tmp").string() + ": is a symbolic link"), std::string::npos)
      << s.message();
  const std::string_view part = "x";
  EXPECT_FALSE(
      plinth::write_file_parts(d / "direct", std::span<const std::string_view>(&part, 1), nullptr, false)
          .ok());
  EXPECT_EQ(slurp(d / "precious"), "keep");
  fs::remove_all(d);
}

TEST(files, create_output_folder_tells_bad_input_from_a_failed_creation) {
  const fs::path d = temp_dir("folder");
  ASSERT_TRUE(plinth::create_output_folder(d / "a" / "b", "the run folder").ok());
  EXPECT_TRUE(fs::is_directory(d / "a" / "b"));
  ASSERT_TRUE(plinth::create_output_folder(d / "a" / "b", "the run folder").ok());  // already there
  { std::ofstream(d / "file") << "keep"; }
  plinth::Status s = plinth::create_output_folder(d / "file", "the run folder");
  EXPECT_EQ(s.exit_code(), 2) << s.message();
  EXPECT_NE(s.message().find((d / "file").string() + " is a regular file, not a folder"), std::string::npos)
      << s.message();
  s = plinth::create_output_folder(d / "file" / "run", "the run folder");
  EXPECT_EQ(s.exit_code(), 2) << s.message();
  EXPECT_NE(s.message().find((d / "file" / "run").string() + ": cannot create the run folder: " +
                             (d / "file").string() + " is a regular file"),
            std::string::npos)
      << s.message();
  EXPECT_EQ(slurp(d / "file"), "keep");
  fs::create_symlink("nowhere", d / "dangling");
  s = plinth::create_output_folder(d / "dangling", "the run folder");
  EXPECT_EQ(s.exit_code(), 2) << s.message();
  // A folder that cannot be written: a run-time failure (root ignores modes).
  if (::geteuid() != 0) {
    fs::create_directories(d / "ro");
    fs::permissions(d / "ro", fs::perms::owner_read | fs::perms::owner_exec);
    s = plinth::create_output_folder(d / "ro" / "run", "the run folder");
    EXPECT_EQ(s.exit_code(), 1) << s.message();
    EXPECT_NE(s.message().find("Permission denied"), std::string::npos) << s.message();
    fs::permissions(d / "ro", fs::perms::owner_all);
  }
  fs::remove_all(d);
}
