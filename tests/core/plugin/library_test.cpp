// Tests for core/src/plugin/library.cpp: sha256 against the FIPS 180-2
// test vectors, ELF detection, and refusing a file the loader cannot open.
#include "plugin/library.hpp"

#include <gtest/gtest.h>

#include "test_util.hpp"

namespace plinth {
namespace {

TEST(library, sha256_matches_the_published_test_vectors) {
  test::TempDir tmp;
  test::write_file(tmp.path() / "abc", "abc");
  test::write_file(tmp.path() / "empty", "");
  EXPECT_EQ(file_sha256(tmp.path() / "abc").value(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(file_sha256(tmp.path() / "empty").value(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(file_sha256(tmp.path() / "none").status().code(), errc::io);
}

TEST(library, detects_elf_files) {
  test::TempDir tmp;
  test::write_file(tmp.path() / "text.so", "hello");
  EXPECT_FALSE(has_elf_magic(tmp.path() / "text.so"));
  EXPECT_TRUE(has_elf_magic(test::fixtures_dir() / "lib" / "libfx-good-backend.so"));
}

TEST(library, refuses_what_the_loader_cannot_open) {
  test::TempDir tmp;
  test::write_file(tmp.path() / "fake.so",
                   "\x7f"
                   "ELF but truncated");
  auto r = Library::open(tmp.path() / "fake.so");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), errc::bad_data);
  EXPECT_NE(r.status().message().find("dynamic loader"), std::string::npos);
  // The loader's own words (dlerror: the file and what is wrong with it), not
  // the errno of some earlier system call.
  EXPECT_NE(r.status().message().find("fake.so: "), std::string::npos) << r.status().message();
  EXPECT_EQ(r.status().message().find("Bad file descriptor"), std::string::npos) << r.status().message();
  EXPECT_EQ(Library::open(tmp.path() / "absent.so").status().code(), errc::io);
}

TEST(library, opens_and_finds_the_entry_symbol) {
  auto r = Library::open(test::fixtures_dir() / "lib" / "libfx-good-backend.so");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE((*r)->has(PLINTH_PLUGIN_GET_SYMBOL));
  EXPECT_FALSE((*r)->has("no_such_symbol"));
  auto get = (*r)->get<const plinth_plugin*()>(PLINTH_PLUGIN_GET_SYMBOL);
  ASSERT_NE(get, nullptr);
  EXPECT_STREQ(get()->name, "fx-good-backend");
}

}  // namespace
}  // namespace plinth
