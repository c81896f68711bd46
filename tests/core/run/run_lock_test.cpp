// run_lock_test.cpp — one writer per run folder (run/run_lock.cpp): a second
// lock on a held folder is refused with the holder's PID, a new run never
// claims a folder that exists, and an export-style writer inside a locked
// folder is refused. Not here: two `plinth` processes on one run
// (tests/faults, the second_writer case).
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "run/run_lock.hpp"

namespace plinth::run {
namespace {

namespace fs = std::filesystem;

fs::path temp_dir(const std::string& name) {
  fs::path d = fs::path(testing::TempDir()) / ("plinth_run_lock_" + name);
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

std::string read(const fs::path& p) {
  std::ifstream in(p);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

TEST(run_lock, a_second_writer_is_refused_with_the_holders_pid) {
  const fs::path d = temp_dir("second");
  auto first = RunLock::take(d);
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_TRUE(run_is_locked(d));
  // flock locks belong to the open file: a second open in this process conflicts like another process.
  auto second = RunLock::take(d);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().exit_code(), 2);
  const std::string pid = "PID " + std::to_string(::getpid());
  EXPECT_NE(second.status().message().find(pid), std::string::npos) << second.status().message();
  EXPECT_NE(second.status().message().find(d.string()), std::string::npos);
  // The PID is written only when the writer says so (a refused writer leaves the file alone).
  EXPECT_EQ(read(d / "lock"), "");
  first->write_pid();
  EXPECT_EQ(read(d / "lock"), std::to_string(::getpid()) + "\n");
  { RunLock gone = std::move(*first); }
  EXPECT_FALSE(run_is_locked(d));
  EXPECT_TRUE(RunLock::take(d).ok());
  fs::remove_all(d);
}

TEST(run_lock, a_new_run_claims_a_folder_no_one_has) {
  const fs::path d = temp_dir("claim");
  auto a = claim_new_folder(d / "runs", "r");
  ASSERT_TRUE(a.ok()) << a.status().message();
  EXPECT_EQ(a->dir, d / "runs" / "r");
  EXPECT_EQ(a->suffix, 0);
  // r exists (and is locked): the next run takes r-2, then r-3 past an unlocked r-2.
  auto b = claim_new_folder(d / "runs", "r");
  ASSERT_TRUE(b.ok()) << b.status().message();
  EXPECT_EQ(b->dir, d / "runs" / "r-2");
  EXPECT_EQ(b->suffix, 2);
  { ClaimedFolder gone = std::move(*b); }
  auto c = claim_new_folder(d / "runs", "r");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->dir, d / "runs" / "r-3");
  EXPECT_EQ(c->suffix, 3);
  fs::remove_all(d);
}

TEST(run_lock, writing_into_a_locked_folder_is_refused) {
  const fs::path d = temp_dir("enclosing");
  fs::create_directories(d / "run" / "checkpoints");
  auto outside = lock_enclosing_run(d / "elsewhere.safetensors");
  ASSERT_TRUE(outside.ok());
  EXPECT_FALSE(outside->has_value());
  auto held = RunLock::take(d / "run");
  ASSERT_TRUE(held.ok());
  for (const fs::path& f : {d / "run" / "model.safetensors", d / "run" / "checkpoints" / "x.safetensors"}) {
    auto inside = lock_enclosing_run(f);
    ASSERT_FALSE(inside.ok()) << f;
    EXPECT_NE(inside.status().message().find("PID " + std::to_string(::getpid())), std::string::npos);
  }
  { RunLock gone = std::move(*held); }
  auto free = lock_enclosing_run(d / "run" / "model.safetensors");
  ASSERT_TRUE(free.ok());
  EXPECT_TRUE(free->has_value());
  fs::remove_all(d);
}

}  // namespace
}  // namespace plinth::run
