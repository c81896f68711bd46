// checkpoint_test.cpp — checkpoint folders on disk: written whole and read
// back equal; a corrupt or truncated file makes load fall back to the
// previous good checkpoint; temporary folders of an interrupted write are
// ignored and pruned; keep_last / keep_best decide what survives.
#include <gtest/gtest.h>

#include <fstream>

#include "train/checkpoint.hpp"
#include "util/files.hpp"

namespace plinth::train {
namespace {

namespace fs = std::filesystem;

fs::path fresh(const std::string& name) {
  fs::path d = fs::path(testing::TempDir()) / ("plinth_ckpt_" + name);
  fs::remove_all(d);
  return d;
}

Checkpoint make(int64_t step, double metric = NAN) {
  Checkpoint c;
  c.step = step;
  NamedTensor w{"fc.weight", PLINTH_DTYPE_F32, {2, 2}, std::vector<unsigned char>(16)};
  for (size_t i = 0; i < w.data.size(); ++i) w.data[i] = static_cast<unsigned char>(step + i);
  c.model.push_back(w);
  NamedTensor m = w;
  m.name = "fc.weight.exp_avg";
  c.optimizer.push_back(m);
  c.state["epoch"] = step / 10;
  c.state["metric"] = std::isnan(metric) ? nlohmann::ordered_json() : nlohmann::ordered_json(metric);
  return c;
}

TEST(checkpoint, writes_a_folder_that_reads_back_equal) {
  const fs::path d = fresh("roundtrip");
  ASSERT_TRUE(write_checkpoint(d, make(7)).ok());
  EXPECT_TRUE(fs::exists(d / "step-7" / "model.safetensors"));
  EXPECT_TRUE(fs::exists(d / "step-7" / "optimizer.safetensors"));
  EXPECT_TRUE(fs::exists(d / "step-7" / "state.json"));
  EXPECT_FALSE(fs::exists(d / ".tmp-step-7"));
  auto c = read_checkpoint(d / "step-7");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->step, 7);
  EXPECT_EQ(c->state["epoch"].get<int64_t>(), 0);
  ASSERT_EQ(c->model.size(), 1u);
  EXPECT_EQ(c->model[0].data, make(7).model[0].data);
  EXPECT_EQ(c->optimizer[0].name, "fc.weight.exp_avg");
  // "xxh128:" and the 32 hex digits of XXH3-128
  const std::string pin = c->state["files"]["model.safetensors"].get<std::string>();
  EXPECT_EQ(pin.rfind("xxh128:", 0), 0u) << pin;
  EXPECT_EQ(pin.size(), 7u + 32u) << pin;
  fs::remove_all(d);
}

// The checksum is XXH3-128 of the file's bytes, canonical (big-endian) hex as
// `xxhsum -H2` prints it: checked against values computed by xxhsum 0.8.1.
TEST(checkpoint, xxh128_digest_matches_xxhsum) {
  const fs::path d = fresh("xxh");
  fs::create_directories(d);
  {
    std::ofstream(d / "empty", std::ios::binary);
    std::ofstream(d / "abc", std::ios::binary) << "abc";
  }
  EXPECT_EQ(file_digest(d / "empty", Digest::xxh3_128), "99aa06d3014798d86001c324468d497f");
  EXPECT_EQ(file_digest(d / "abc", Digest::xxh3_128), "06b05ab6733a618578af5f94892f3950");
  fs::remove_all(d);
}

// Checkpoints written before the switch to XXH3 pin a bare sha256 hex: still
// verified, and still caught when the file does not match.
TEST(checkpoint, legacy_sha256_pins_are_verified) {
  const fs::path d = fresh("legacy");
  ASSERT_TRUE(write_checkpoint(d, make(5)).ok());
  const fs::path state = d / "step-5" / "state.json";
  nlohmann::ordered_json j = nlohmann::ordered_json::parse(std::ifstream(state));
  for (const char* f : {"model.safetensors", "optimizer.safetensors"})
    j["files"][f] = sha256_file(d / "step-5" / f);
  std::ofstream(state) << j.dump(2);
  auto c = read_checkpoint(d / "step-5");
  ASSERT_TRUE(c.ok()) << c.status().message();
  j["files"]["model.safetensors"] = std::string(64, '0');
  std::ofstream(state) << j.dump(2);
  c = read_checkpoint(d / "step-5");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("sha256 checksum does not match"), std::string::npos)
      << c.status().message();
  fs::remove_all(d);
}

TEST(checkpoint, truncated_newest_falls_back_to_the_previous) {
  const fs::path d = fresh("truncated");
  ASSERT_TRUE(write_checkpoint(d, make(10)).ok());
  ASSERT_TRUE(write_checkpoint(d, make(20)).ok());
  fs::resize_file(d / "step-20" / "model.safetensors", 40);
  std::vector<std::string> warnings;
  auto c = load_latest_checkpoint(d, &warnings);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->step, 10);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("step-20"), std::string::npos) << warnings[0];
  EXPECT_NE(warnings[0].find("xxh128 checksum does not match"), std::string::npos) << warnings[0];
  fs::remove_all(d);
}

TEST(checkpoint, flipped_byte_or_missing_state_is_skipped) {
  const fs::path d = fresh("corrupt");
  ASSERT_TRUE(write_checkpoint(d, make(1)).ok());
  ASSERT_TRUE(write_checkpoint(d, make(2)).ok());
  ASSERT_TRUE(write_checkpoint(d, make(3)).ok());
  {  // same size, one byte changed
    std::fstream f(d / "step-3" / "optimizer.safetensors", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-1, std::ios::end);
    f.put('\x7f');
  }
  fs::remove(d / "step-2" / "state.json");
  auto c = load_latest_checkpoint(d);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->step, 1);
  fs::remove(d / "step-1" / "state.json");
  EXPECT_FALSE(load_latest_checkpoint(d).has_value());
  fs::remove_all(d);
}

TEST(checkpoint, temporary_folders_are_ignored_and_pruned) {
  const fs::path d = fresh("tmp");
  ASSERT_TRUE(write_checkpoint(d, make(5)).ok());
  fs::create_directories(d / ".tmp-step-9");
  std::ofstream(d / ".tmp-step-9" / "model.safetensors") << "partial";
  auto c = load_latest_checkpoint(d);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->step, 5);
  ASSERT_TRUE(prune_checkpoints(d, 3, 0, false).ok());
  EXPECT_FALSE(fs::exists(d / ".tmp-step-9"));
  EXPECT_TRUE(fs::exists(d / "step-5"));
  fs::remove_all(d);
}

TEST(checkpoint, prune_keeps_the_last_and_the_best) {
  const fs::path d = fresh("prune");
  const double metric[] = {0.9, 0.2, 0.5, 0.7, 0.6, 0.8};  // steps 1..6
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(write_checkpoint(d, make(i + 1, metric[i])).ok());
  ASSERT_TRUE(prune_checkpoints(d, 2, 2, false).ok());  // min: 0.2 (step 2), 0.5 (step 3)
  std::vector<int64_t> left;
  for (const auto& [s, p] : list_checkpoints(d)) left.push_back(s);
  EXPECT_EQ(left, (std::vector<int64_t>{2, 3, 5, 6}));
  ASSERT_TRUE(prune_checkpoints(d, 1, 1, true).ok());  // max among the rest: 0.8 is step 6, also the last
  left.clear();
  for (const auto& [s, p] : list_checkpoints(d)) left.push_back(s);
  EXPECT_EQ(left, (std::vector<int64_t>{6}));
  fs::remove_all(d);
}

TEST(checkpoint, background_writer_finishes_before_wait_returns) {
  const fs::path d = fresh("writer");
  {
    CheckpointWriter w(d, {2, 0, false});
    for (int s = 1; s <= 4; ++s) w.submit(make(s));
    w.wait();
    EXPECT_TRUE(w.take_error().ok());
  }
  std::vector<int64_t> left;
  for (const auto& [s, p] : list_checkpoints(d)) left.push_back(s);
  EXPECT_EQ(left, (std::vector<int64_t>{3, 4}));
  fs::remove_all(d);
}

}  // namespace
}  // namespace plinth::train
