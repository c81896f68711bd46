// corpus_test.cpp — replays a fuzz target's committed corpus in the normal
// build: every file under tests/fuzz/corpus/<target>/ goes through the
// target's LLVMFuzzerTestOneInput, which aborts on any broken invariant, so a
// past crash input kept in the corpus is a regression test. No fuzzing here.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include <gtest/gtest.h>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

TEST(fuzz_corpus, every_committed_input_is_handled_without_a_crash) {
  const std::filesystem::path dir = PLINTH_FUZZ_CORPUS;
  ASSERT_TRUE(std::filesystem::is_directory(dir)) << dir;
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.is_regular_file()) files.push_back(e.path());
  ASSERT_GE(files.size(), 3u) << "the corpus of " << dir << " should hold valid and broken inputs";
  for (const auto& f : files) {
    SCOPED_TRACE(f.string());
    std::ifstream in(f, std::ios::binary);
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(LLVMFuzzerTestOneInput(bytes.data(), bytes.size()), 0);
  }
}
