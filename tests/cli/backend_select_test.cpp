// Backend selection on a machine without the device a backend needs, with
// the fixture backends of tests/fixtures/plugins/nodev: fx-nodev (score 50,
// device_count fails with a reason) and fx-zero (one device, score 0).
// `[backend] name = "auto"` must pass both over for the CPU backend, naming
// why in one log line; naming fx-nodev must fail with the plugin's reason,
// exit 2 and no runs/; `plinth plugins doctor` must say why for each. A
// named backend opens no plugin the run does not use.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace fs = std::filesystem;

namespace {

const std::string kFx = std::string(PLINTH_BINARY_DIR) + "/tests/fixtures/plugins";
const std::string kInstall = std::string(PLINTH_BINARY_DIR) + "/share/plinth/plugins.d";
const std::string kReason = "fx-nodev: no accelerator found (/dev/fxaccel0 is missing)";

struct CliRun {
  int rc = -1;
  std::string out;  // stdout and stderr together
};

// Run plinth in `dir` with only the given plugin folders.
CliRun plinth_in(const fs::path& dir, const std::string& args) {
  const std::string cmd = "cd '" + dir.string() + "' && env -u PLINTH_PLUGIN_PATH -u PLINTH_LOG_LEVEL '" +
                          std::string(PLINTH_CLI) + "' --no-system-plugins --no-install-plugins " + args +
                          " 2>&1";
  CliRun r;
  FILE* f = popen(cmd.c_str(), "r");
  if (!f) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) r.out.append(buf, n);
  const int st = pclose(f);
  r.rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

class BackendSelect : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("plinth-backend-select-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  // A tiny synthetic-data pipeline with [backend] name = `backend`.
  void write_pipeline(const std::string& backend) {
    std::ofstream(dir_ / "p.toml") << "[run]\nname = \"sel\"\n\n[backend]\nname = \"" << backend
                                   << "\"\n\n[data.train]\nsource = \"synthetic\"\nsamples = 16\n"
                                      "shape = [4]\nnum_classes = 2\n\n[[model.layer]]\ntype = \"linear\"\n"
                                      "out = 2\n\n[train]\nepochs = 1\nbatch_size = 8\n";
  }
  fs::path dir_;
};

TEST_F(BackendSelect, auto_skips_backends_without_a_device_and_falls_back_to_cpu) {
  write_pipeline("auto");
  CliRun r = plinth_in(
      dir_, "--plugin-path " + kFx + "/nodev --plugin-path " + kInstall + " train --no-progress p.toml");
  ASSERT_EQ(r.rc, 0) << r.out;
  // One line: the choice, each backend skipped and why (the plugin's own words).
  const std::string line_start = "[backend] name = \"auto\": using 'cpu'; skipped: ";
  const size_t at = r.out.find(line_start);
  ASSERT_NE(at, std::string::npos) << r.out;
  const std::string line = r.out.substr(at, r.out.find('\n', at) - at);
  EXPECT_TRUE(has(line, "fx-nodev (no device: " + kReason + ")")) << line;
  EXPECT_TRUE(has(line, "fx-zero (score 0")) << line;
  EXPECT_EQ(r.out.find(line_start, at + 1), std::string::npos) << "logged twice:\n" << r.out;
  // The run records the backend that ran, not "auto".
  std::ifstream f(dir_ / "runs" / "sel" / "pipeline.toml");
  ASSERT_TRUE(f) << r.out;
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  EXPECT_TRUE(has(text, "name = \"cpu\"")) << text;
  EXPECT_FALSE(has(text, "\"auto\"")) << text;
}

TEST_F(BackendSelect, auto_prefers_a_higher_scoring_backend_that_has_a_device) {
  write_pipeline("auto");
  // fx-host (score 7, one device) beats cpu; fx-nodev (score 50) has no device.
  CliRun r = plinth_in(dir_, "--plugin-path " + kFx + "/nodev --plugin-path " + kFx + "/good --plugin-path " +
                                 kInstall + " validate p.toml");
  EXPECT_EQ(r.rc, 0) << r.out;
  EXPECT_TRUE(has(r.out, "[backend] name = \"auto\": using 'fx-host'")) << r.out;
}

TEST_F(BackendSelect, naming_a_backend_without_a_device_fails_with_its_reason_and_writes_nothing) {
  write_pipeline("fx-nodev");
  CliRun r = plinth_in(
      dir_, "--plugin-path " + kFx + "/nodev --plugin-path " + kInstall + " train --no-progress p.toml");
  EXPECT_EQ(r.rc, 2) << r.out;
  EXPECT_TRUE(has(r.out, "plinth: error: backend 'fx-nodev': no device (" + kReason + ")\n")) << r.out;
  EXPECT_FALSE(fs::exists(dir_ / "runs")) << r.out;
}

TEST_F(BackendSelect, auto_without_any_usable_backend_is_an_error) {
  write_pipeline("auto");
  // No install folder: no cpu to fall back to.
  CliRun r = plinth_in(dir_, "--plugin-path " + kFx + "/nodev validate p.toml");
  EXPECT_EQ(r.rc, 2) << r.out;
  EXPECT_TRUE(has(r.out, "no installed backend can run here")) << r.out;
  EXPECT_TRUE(has(r.out, kReason)) << r.out;
  EXPECT_FALSE(fs::exists(dir_ / "runs")) << r.out;
}

TEST_F(BackendSelect, doctor_says_why_each_backend_cannot_run) {
  CliRun r = plinth_in(dir_, "plugins doctor --plugin-path " + kFx + "/nodev --plugin-path " + kFx + "/good");
  EXPECT_EQ(r.rc, 0) << r.out;  // no device is not a broken plugin
  EXPECT_TRUE(has(r.out, "no device backend 'fx-nodev' (fx-nodev): " + kReason + "\n")) << r.out;
  EXPECT_TRUE(has(r.out, "score 0   backend 'fx-zero' (fx-zero): plinth_plugin_score() is 0")) << r.out;
  EXPECT_FALSE(has(r.out, "backend 'fx-host' (")) << r.out;  // it has a device and scores 7
}

// Plugins found by search are opened only when used: with fx-init-abort (its
// init ends the process) found first, training on the CPU backend must never
// open it, and the run lists the plugins it used and no other.
TEST_F(BackendSelect, a_named_backend_opens_only_the_plugins_the_run_uses) {
  write_pipeline("cpu");
  const std::string cmd = "cd '" + dir_.string() + "' && PLINTH_PLUGIN_PATH='" + kFx +
                          "/lazy-abort:" + kInstall + "' '" + std::string(PLINTH_CLI) +
                          "' --no-system-plugins --no-install-plugins train --no-progress p.toml 2>&1";
  FILE* f = popen(cmd.c_str(), "r");
  ASSERT_TRUE(f);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  const int st = pclose(f);
  ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << out;
  std::ifstream in(dir_ / "runs" / "sel" / "plugins.json");
  std::string used((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (const char* name : {"plinth-backend-cpu", "plinth-data-std", "plinth-optim-std"})
    EXPECT_TRUE(has(used, name)) << used;
  for (const char* name : {"fx-init-abort", "plinth-backend-cuda", "plinth-backend-hip", "plinth-comm-mpi"})
    EXPECT_FALSE(has(used, name)) << used;
}

}  // namespace
