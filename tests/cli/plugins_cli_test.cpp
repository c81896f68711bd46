// Runs the built `plinth` binary (PLINTH_CLI) on the fixture manifests and
// checks its output and exit codes: --version, plugins list / inspect /
// doctor, and bad input (exit 2).
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

struct CliRun {
  int rc = -1;
  std::string out;  // stdout and stderr together
};

const std::string kFx = std::string(PLINTH_BINARY_DIR) + "/tests/fixtures/plugins";

// CliRun plinth with `args`, isolated from the user's and the system's plugins.
CliRun plinth(const std::string& args) {
  const std::string cmd = "env -u PLINTH_PLUGIN_PATH -u PLINTH_LOG_LEVEL '" + std::string(PLINTH_CLI) +
                          "' --no-system-plugins --no-install-plugins " + args + " 2>&1";
  CliRun r;
  FILE* f = popen(cmd.c_str(), "r");
  if (!f) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) r.out.append(buf, n);
  int st = pclose(f);
  r.rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

TEST(cli, version_names_the_abi) {
  CliRun r = plinth("--version");
  EXPECT_EQ(r.rc, 0);
  EXPECT_EQ(r.out.rfind("plinth ", 0), 0u) << r.out;
  EXPECT_TRUE(has(r.out, "(ABI 1.2)")) << r.out;
}

TEST(cli, help_works_on_every_command) {
  for (const char* c : {"--help", "plugins --help", "plugins list --help", "plugins inspect --help",
                        "plugins doctor --help"}) {
    CliRun r = plinth(c);
    EXPECT_EQ(r.rc, 0) << c;
    EXPECT_TRUE(has(r.out, "Usage")) << c << ": " << r.out;
  }
}

TEST(cli, bad_input_exits_2) {
  EXPECT_EQ(plinth("frobnicate").rc, 2);
  EXPECT_EQ(plinth("plugins list --no-such-option").rc, 2);
  EXPECT_EQ(plinth("--log-level loud plugins list").rc, 2);
  CliRun r = plinth("--plugin-path " + kFx + "/good plugins inspect no-such-plugin");
  EXPECT_EQ(r.rc, 2);
  EXPECT_TRUE(has(r.out, "no plugin named 'no-such-plugin'")) << r.out;
  CliRun m = plinth("--plugin-path /nonexistent/plinth.toml plugins list");
  EXPECT_EQ(m.rc, 2);
  EXPECT_TRUE(has(m.out, "/nonexistent/plinth.toml")) << m.out;
}

TEST(cli, list_shows_a_table_of_plugins) {
  CliRun r = plinth("--log-level warn plugins list --plugin-path " + kFx + "/good");
  EXPECT_EQ(r.rc, 0) << r.out;
  EXPECT_TRUE(has(r.out, "NAME")) << r.out;
  EXPECT_TRUE(has(r.out, "STATE"));
  EXPECT_TRUE(has(r.out, "fx-good-backend  backend"));
  EXPECT_TRUE(has(r.out, "libfx-good-backend.so"));
  EXPECT_TRUE(has(r.out, "loaded"));
}

TEST(cli, inspect_shows_what_a_backend_declares_and_its_devices) {
  CliRun r = plinth("--log-level warn --plugin-path " + kFx + "/good plugins inspect fx-good-backend");
  EXPECT_EQ(r.rc, 0) << r.out;
  for (const char* part : {"state:        loaded", "version:      1.0.0", "abi:          1.2",
                           "score:        7", "sha256:", "vendor:       Plinth tests", "backend 'fx-host'",
                           "device_count: 1", "fixture host device", "memory_kind: host"})
    EXPECT_TRUE(has(r.out, part)) << part << "\n" << r.out;
}

TEST(cli, inspect_shows_components_and_config_keys) {
  CliRun r = plinth("--log-level warn --plugin-path " + kFx + "/good plugins inspect fx-good-optim");
  EXPECT_EQ(r.rc, 0) << r.out;
  EXPECT_TRUE(has(r.out, "optimizer 'fx-sgd'")) << r.out;
  EXPECT_TRUE(has(r.out, "optimizer 'fx-momentum'"));
  EXPECT_TRUE(has(r.out, "config keys: lr, momentum"));
}

TEST(cli, doctor_is_happy_with_the_good_fixtures) {
  CliRun r = plinth("plugins doctor --plugin-path " + kFx + "/good");
  EXPECT_EQ(r.rc, 0) << r.out;
  EXPECT_TRUE(has(r.out, "4 loaded, 0 failed")) << r.out;
  // Manifests given with --plugin-path say so (not "(pipeline)").
  EXPECT_TRUE(has(r.out, "/good/10-backend.toml (--plugin-path): 1 entry")) << r.out;
  EXPECT_FALSE(has(r.out, "(pipeline)")) << r.out;
}

TEST(cli, doctor_explains_every_broken_fixture_and_exits_1) {
  CliRun r = plinth("--log-level off plugins doctor --plugin-path " + kFx + "/good --plugin-path " + kFx +
                    "/broken");
  EXPECT_EQ(r.rc, 1) << r.out;
  for (const char* part : {"FAILED    fx-missing-file",
                           "library not found",
                           "hint: check the path in",
                           "FAILED    fx-not-elf",
                           "not a shared library",
                           "FAILED    fx-no-entry",
                           "PLINTH_EXPORT",
                           "FAILED    fx-abi2",
                           "built for ABI 2.0, this core provides ABI 1.2",
                           "rebuild against Plinth SDK 1",
                           "FAILED    fx-small-table",
                           "FAILED    fx-null-fn",
                           "launch left NULL",
                           "FAILED    fx-init-error",
                           "cannot open /dev/fx0",
                           "FAILED    fx-sha-mismatch",
                           "sha256 mismatch",
                           "FAILED    fx-wrong-kind",
                           "declares kind 'optimizer'",
                           "FAILED    fx-init-throw",
                           "boom from init",
                           "missing-name.toml:2:1:",
                           "syntax-error.toml:3:",
                           "ok        fx-good-backend",
                           "4 loaded, 10 failed, 0 shadowed, 2 manifest error(s)"})
    EXPECT_TRUE(has(r.out, part)) << part << "\n" << r.out;
}

TEST(cli, doctor_logs_one_line_per_broken_plugin_on_stderr) {
  CliRun r = plinth("plugins doctor --plugin-path " + kFx + "/broken");
  EXPECT_EQ(r.rc, 1);
  size_t warn_lines = 0;
  for (size_t p = r.out.find("[warning] plugin '"); p != std::string::npos;
       p = r.out.find("[warning] plugin '", p + 1))
    ++warn_lines;
  EXPECT_EQ(warn_lines, 10u) << r.out;
}

TEST(cli, doctor_shows_shadowing) {
  CliRun r = plinth("plugins doctor --plugin-path " + kFx + "/shadow");
  EXPECT_EQ(r.rc, 0) << r.out;
  EXPECT_TRUE(has(r.out, "shadowed  fx-dup")) << r.out;
  EXPECT_TRUE(has(r.out, "optimizer 'fx-sgd' is shadowed by plugin 'fx-opt-high'")) << r.out;
}

TEST(cli, plugin_path_environment_is_read) {
  const std::string cmd = "PLINTH_PLUGIN_PATH='" + kFx + "/good' '" + std::string(PLINTH_CLI) +
                          "' --no-system-plugins --no-install-plugins --log-level off plugins list 2>&1";
  FILE* f = popen(cmd.c_str(), "r");
  ASSERT_TRUE(f);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  EXPECT_EQ(pclose(f), 0);
  EXPECT_TRUE(has(out, "fx-new-minor")) << out;
}

// Found by search (not named), so train and the others open these only when
// used; list and doctor still open every one and report fx-init-error.
TEST(cli, list_and_doctor_open_every_plugin) {
  for (const char* cmd : {"list", "doctor"}) {
    const std::string line = "PLINTH_PLUGIN_PATH='" + kFx + "/lazy' '" + std::string(PLINTH_CLI) +
                             "' --no-system-plugins --no-install-plugins --log-level off plugins " + cmd +
                             " 2>&1";
    FILE* f = popen(line.c_str(), "r");
    ASSERT_TRUE(f);
    std::string out;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
    pclose(f);
    EXPECT_FALSE(has(out, "unopened")) << cmd << ":\n" << out;
    if (std::string(cmd) == "list")
      EXPECT_TRUE(has(out, "failed")) << out;
    else
      EXPECT_TRUE(has(out, "2 loaded, 1 failed")) << out;
  }
}

// Plugins whose init crashes, aborts, exits or hangs: doctor probes each in
// a child process and names how it died, still reports the good plugins,
// and exits 1 itself instead of dying, hanging or reporting success.
TEST(cli, doctor_names_each_plugin_whose_init_crashes_exits_or_hangs) {
  const std::string dir = kFx + "/init-crash";
  for (const char* cmd : {"doctor", "list"}) {
    CliRun r =
        plinth("--log-level off plugins " + std::string(cmd) + " --probe-timeout 2 --plugin-path " + dir);
    if (std::string(cmd) == "list") {
      EXPECT_EQ(r.rc, 0) << r.out;
      EXPECT_TRUE(has(r.out, "fx-good-backend")) << r.out;
      continue;
    }
    EXPECT_EQ(r.rc, 1) << r.out;
    auto reason_of = [&](const std::string& name) {
      const size_t at = r.out.find("FAILED    " + name + " ");
      if (at == std::string::npos) return std::string();
      const size_t line = r.out.find("reason: ", at);
      return line == std::string::npos ? std::string() : r.out.substr(line, r.out.find('\n', line) - line);
    };
    // Under AddressSanitizer a SIGSEGV is its report and exit; elsewhere the signal.
    if (!std::getenv("ASAN_OPTIONS"))
      EXPECT_EQ(reason_of("fx-init-segv"),
                "reason: died of signal 11 (SIGSEGV) during init (in a probe process; not loaded)")
          << r.out;
    EXPECT_EQ(reason_of("fx-init-abort"),
              "reason: aborted (SIGABRT) during init (in a probe process; not loaded)")
        << r.out;
    EXPECT_EQ(reason_of("fx-init-exit"),
              "reason: exited with status 0 during init (in a probe process; not loaded)")
        << r.out;
    EXPECT_EQ(reason_of("fx-init-hang"),
              "reason: hung past the 2 s limit (killed) during init (in a probe process; not loaded)")
        << r.out;
    EXPECT_TRUE(has(r.out, "ok        fx-good-backend")) << r.out;
    EXPECT_TRUE(has(r.out, "ok        fx-good-optim")) << r.out;
    EXPECT_TRUE(has(r.out, "2 loaded, 4 failed")) << r.out;
  }
}

// The same plugins in `plinth train`, which does not probe: a plugin whose
// init calls exit(0) must not make the run look like a success, and one
// that crashes is named before the process dies of the signal.
TEST(cli, train_names_a_plugin_that_exits_or_crashes_in_init) {
  const std::string dir = ::testing::TempDir() + "plinth-init-crash-" + std::to_string(::getpid());
  ASSERT_EQ(std::system(("mkdir -p '" + dir + "'").c_str()), 0);
  for (const char* which : {"exit", "segv", "abort"}) {
    const std::string pipeline = dir + "/" + which + ".toml";
    FILE* f = std::fopen(pipeline.c_str(), "w");
    ASSERT_TRUE(f);
    std::fprintf(f,
                 "[plugins]\nmanifests = [\"%s/init-crash/%s\"]\n[data.train]\nsource = \"synthetic\"\n"
                 "samples = 16\nshape = [4]\nnum_classes = 2\n[[model.layer]]\ntype = \"linear\"\nout = 2\n",
                 kFx.c_str(),
                 std::string(which) == "exit"   ? "40-exit.toml"
                 : std::string(which) == "segv" ? "20-segv.toml"
                                                : "30-abort.toml");
    std::fclose(f);
    CliRun r = plinth("train --no-progress --out-dir '" + dir + "/runs' '" + pipeline + "'");
    const std::string name = std::string("fx-init-") + which;
    EXPECT_NE(r.rc, 0) << r.out;
    EXPECT_TRUE(
        has(r.out, "plinth: error: plugin '" + name + "' (" + kFx + "/lib/lib" + name + ".so) during init: "))
        << r.out;
    if (std::string(which) == "exit") {
      EXPECT_EQ(r.rc, 2) << r.out;
      EXPECT_TRUE(has(r.out, "the plugin ended the process (exit() called from plugin code)")) << r.out;
    }
  }
  std::system(("rm -rf '" + dir + "'").c_str());
}

}  // namespace
