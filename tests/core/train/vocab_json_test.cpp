// vocab_json_test.cpp — the run folder's vocab.json: a run whose train source
// is `text` writes the source's vocabulary (checked against the sorted
// distinct characters of the file, computed here), and a run on a source
// without one (synthetic) writes none. Likewise classes.json: an `images`
// run writes its class folders' names in label (byte) order.
#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "config/pipeline.hpp"
#include "plinth/registry.hpp"
#include "train/trainer.hpp"
#include "train_test_util.hpp"

namespace plinth {
namespace {

namespace fs = std::filesystem;

// Trains `pipeline` for its steps; returns the run folder (empty on failure).
fs::path train(const std::string& pipeline) {
  auto r = train_test::train_text(pipeline, "v.toml");
  EXPECT_TRUE(r.status.ok()) << r.status.message();
  return r.dir;
}

TEST(vocab_json, a_text_run_writes_the_sources_vocabulary) {
  const fs::path dir = fs::path(testing::TempDir()) / "plinth_vocab_json_text";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string text = "the \"quick\" brown fox\njumps over the lazy dog\n\tand back again.\n";
  std::ofstream(dir / "input.txt", std::ios::binary) << text;
  const std::set<char> chars(text.begin(), text.end());  // ASCII: a char is a code point
  const auto run = train("[run]\nname = \"v\"\nout_dir = \"" + (dir / "runs").string() +
                         "\"\n[backend]\nthreads = 1\n"
                         "[data.train]\nsource = \"text\"\npath = \"" +
                         (dir / "input.txt").string() +
                         "\"\nblock_size = 8\nval_fraction = 0.0\n"
                         "[[model.layer]]\ntype = \"embedding\"\ndim = 8\n"
                         "[[model.layer]]\ntype = \"linear\"\nout = " +
                         std::to_string(chars.size()) +
                         "\n"
                         "[loss]\ntype = \"cross_entropy\"\n"
                         "[optimizer]\nname = \"sgd\"\nlr = 0.1\n[train]\nbatch_size = 4\nmax_steps = 2\n");
  ASSERT_FALSE(run.empty());
  std::ifstream in(run / "vocab.json");
  ASSERT_TRUE(in) << (run / "vocab.json");
  const auto j = nlohmann::json::parse(in);
  nlohmann::json want = nlohmann::json::array();
  for (char c : chars) want.push_back(std::string(1, c));
  EXPECT_EQ(j["type"], "char");
  EXPECT_EQ(j["tokens"], want);
  fs::remove_all(dir);
}

TEST(vocab_json, a_run_on_a_source_without_a_vocabulary_writes_none) {
  const fs::path dir = fs::path(testing::TempDir()) / "plinth_vocab_json_synthetic";
  fs::remove_all(dir);
  const auto run = train("[run]\nname = \"s\"\nout_dir = \"" + (dir / "runs").string() +
                         "\"\n[backend]\nthreads = 1\n"
                         "[data.train]\nsource = \"synthetic\"\nsamples = 16\nshape = [4]\nnum_classes = 3\n"
                         "[[model.layer]]\ntype = \"linear\"\nout = 3\n"
                         "[optimizer]\nname = \"sgd\"\nlr = 0.1\n[train]\nbatch_size = 4\nmax_steps = 1\n");
  ASSERT_FALSE(run.empty());
  EXPECT_TRUE(fs::exists(run / "plugins.json"));
  EXPECT_FALSE(fs::exists(run / "vocab.json"));
  EXPECT_FALSE(fs::exists(run / "classes.json"));
  fs::remove_all(dir);
}

TEST(vocab_json, an_images_run_writes_its_class_names) {
  const fs::path dir = fs::path(testing::TempDir()) / "plinth_classes_json_images";
  fs::remove_all(dir);
  const fs::path fx = fs::path(PLINTH_SOURCE_DIR) / "tests/fixtures/images";
  for (const char* c : {"b_dog", "a_cat", "Zebra"}) {
    fs::create_directories(dir / "img" / c);
    fs::copy_file(fx / "rgb.png", dir / "img" / c / "0.png");
    fs::copy_file(fx / "rgb.png", dir / "img" / c / "1.png");
  }
  const auto run = train("[run]\nname = \"i\"\nout_dir = \"" + (dir / "runs").string() +
                         "\"\n[backend]\nthreads = 1\n"
                         "[data.train]\nsource = \"images\"\nroot = \"" +
                         (dir / "img").string() +
                         "\"\nsize = 8\nflip = true\n"
                         "[[model.layer]]\ntype = \"flatten\"\n"
                         "[[model.layer]]\ntype = \"linear\"\nout = 3\n"
                         "[optimizer]\nname = \"sgd\"\nlr = 0.1\n[train]\nbatch_size = 2\nmax_steps = 2\n");
  ASSERT_FALSE(run.empty());
  std::ifstream in(run / "classes.json");
  ASSERT_TRUE(in) << (run / "classes.json");
  EXPECT_EQ(nlohmann::json::parse(in), nlohmann::json::parse(R"(["Zebra", "a_cat", "b_dog"])"));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace plinth
