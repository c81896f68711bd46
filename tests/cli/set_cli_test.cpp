// `--set key=value` through the built `plinth`: resolve prints the overridden
// pipeline, validate refuses a bad key, a bad value, a plugin key the
// optimizer does not take and a layer past the end (exit 2, one line naming
// the --set), train runs with the overrides and records them (pipeline.toml,
// summary.json, log.txt, and the learning rate it logged), a resume must give
// the same overrides, eval takes them, and a sweep applies them to every
// trial but refuses one on a key it varies. Tiny synthetic-data pipelines.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

const std::string kManifests = std::string(PLINTH_BINARY_DIR) + "/share/plinth/plugins.d";

struct CliRun {
  int rc = -1;
  std::string out;  // stdout and stderr together
};

std::string read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

const char* kPipeline = R"([run]
name = "base"
seed = 1

[data.train]
source = "synthetic"
samples = 120
shape = [6]
num_classes = 3
seed = 4

[data.eval]
source = "synthetic"
samples = 60
shape = [6]
num_classes = 3
seed = 4

[[model.layer]]
type = "linear"
out = 8

[[model.layer]]
type = "relu"

[[model.layer]]
type = "linear"
out = 3

[optimizer]
name = "adamw"
lr = 1e-3

[train]
epochs = 2
batch_size = 20
log_every = 1
)";

class set_cli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(PLINTH_BINARY_DIR) / "tests" /
           ("set-cli-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::ofstream(dir_ / "p.toml") << kPipeline;
  }
  void TearDown() override {
    if (!HasFailure()) fs::remove_all(dir_);
  }
  // plinth in dir_ with only the build's plugins; `args` is shell text.
  CliRun plinth(const std::string& args) const {
    const std::string cmd = "cd '" + dir_.string() + "' && env -u PLINTH_PLUGIN_PATH -u PLINTH_LOG_LEVEL '" +
                            std::string(PLINTH_CLI) +
                            "' --no-system-plugins --no-install-plugins --plugin-path '" + kManifests + "' " +
                            args + " 2>&1";
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
  fs::path dir_;
};

TEST_F(set_cli, resolve_prints_the_overridden_pipeline_and_lists_the_overrides) {
  const CliRun r = plinth(
      "resolve p.toml --set optimizer.lr=3e-4 --set train.batch_size=16 --set 'data.train.shape=[2, 3]' "
      "--set model.layer.0.out=12 --set run.name=renamed");
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_TRUE(has(r.out,
                  "# p.toml, resolved: every default filled in.\n# --set optimizer.lr=3e-4\n"
                  "# --set train.batch_size=16\n"))
      << r.out;
  EXPECT_TRUE(has(r.out, "\nlr = 3e-04\n")) << r.out;  // the shortest text that reads back
  EXPECT_TRUE(has(r.out, "\nbatch_size = 16\n")) << r.out;
  EXPECT_TRUE(has(r.out, "\nshape = [2, 3]\n")) << r.out;
  EXPECT_TRUE(has(r.out, "\nout = 12\n")) << r.out;
  EXPECT_TRUE(has(r.out, "\nname = \"renamed\"\n")) << r.out;
  // Without --set: the file's values, no comment lines.
  const CliRun plain = plinth("resolve p.toml");
  ASSERT_EQ(plain.rc, 0) << plain.out;
  EXPECT_FALSE(has(plain.out, "# --set")) << plain.out;
  EXPECT_TRUE(has(plain.out, "\nlr = 0.001\n")) << plain.out;
}

TEST_F(set_cli, validate_refuses_a_bad_key_a_bad_value_and_keys_the_pipeline_lacks) {
  struct Case {
    std::string set, message;
  };
  const Case cases[] = {
      {"train.batch_sise=4",
       "plinth: error: --set train.batch_sise=4: train.batch_sise: unknown key (did you "
       "mean 'batch_size'?)\n"},
      {"train.batch_size=big",
       "plinth: error: --set train.batch_size=big: train.batch_size: expected an "
       "integer, got 'big'\n"},
      {"data.train.samples=1.5",
       "--set data.train.samples=1.5: data.train.samples: expected an integer, got a "
       "float (1.5)"},
      // Found once the optimizer plugin's keys are known: still named by the --set.
      {"optimizer.lrr=3e-4",
       "plinth: error: --set optimizer.lrr=3e-4: optimizer.lrr: unknown key (did you "
       "mean 'lr'?)\n"},
      {"optimizer.momentum=0.9", "--set optimizer.momentum=0.9: optimizer.momentum: unknown key"},
      {"model.layer.3.out=4",
       "--set model.layer.3.out=4: model.layer.3: index 3 is past the end (the pipeline "
       "has 3, counted from 0)"},
      {"model.layer.1.out=4", "--set model.layer.1.out=4: model.layer.1.out: not a key of a 'relu' layer"},
      {"train.epochs", "--set train.epochs: expected key=value"},
  };
  for (const Case& c : cases) {
    const CliRun r = plinth("validate p.toml --set '" + c.set + "'");
    EXPECT_EQ(r.rc, 2) << c.set << ": " << r.out;
    EXPECT_TRUE(has(r.out, c.message)) << c.set << ": " << r.out;
  }
  const CliRun ok = plinth("validate p.toml --set optimizer.lr=0.01 --set model.layer.0.out=4");
  EXPECT_EQ(ok.rc, 0) << ok.out;
  EXPECT_TRUE(has(ok.out, "p.toml: ok")) << ok.out;
  EXPECT_FALSE(fs::exists(dir_ / "runs")) << "validate writes nothing";
}

TEST_F(set_cli, train_uses_the_overrides_and_records_them_in_the_run_folder) {
  const CliRun r = plinth(
      "train --no-progress p.toml --set run.name=over --set optimizer.lr=0.02 --set train.epochs=1 "
      "--set model.layer.0.out=5");
  ASSERT_EQ(r.rc, 0) << r.out;
  const fs::path run = dir_ / "runs" / "over";
  ASSERT_TRUE(fs::is_directory(run)) << r.out;
  const std::string pipeline = read(run / "pipeline.toml");
  EXPECT_TRUE(has(pipeline,
                  "# --set run.name=over\n# --set optimizer.lr=0.02\n# --set train.epochs=1\n"
                  "# --set model.layer.0.out=5\n"))
      << pipeline;
  EXPECT_TRUE(has(pipeline, "\nlr = 0.02\n")) << pipeline;
  EXPECT_TRUE(has(pipeline, "\nepochs = 1\n")) << pipeline;
  EXPECT_TRUE(has(pipeline, "\nout = 5\n")) << pipeline;
  const json summary = json::parse(read(run / "summary.json"), nullptr, false);
  ASSERT_TRUE(summary.is_object());
  EXPECT_EQ(summary["overrides"],
            json::array({"run.name=over", "optimizer.lr=0.02", "train.epochs=1", "model.layer.0.out=5"}));
  EXPECT_EQ(summary["steps"], 6);  // one epoch of 120 samples in batches of 20
  EXPECT_TRUE(has(read(run / "log.txt"), "overridden: --set optimizer.lr=0.02")) << read(run / "log.txt");
  // The run trained with them: the logged learning rate, the first layer's width.
  std::istringstream metrics(read(run / "metrics.jsonl"));
  int lines = 0;
  for (std::string line; std::getline(metrics, line);) {
    const json m = json::parse(line, nullptr, false);
    if (!m.contains("lr")) continue;
    EXPECT_NEAR(m["lr"].get<double>(), 0.02, 1e-7) << line;
    ++lines;
  }
  EXPECT_GE(lines, 6);
  // The recorded pipeline reads back as the same run: resolving it gives the same keys.
  const CliRun again = plinth("resolve runs/over/pipeline.toml");
  ASSERT_EQ(again.rc, 0) << again.out;
  EXPECT_TRUE(has(again.out, "\nlr = 0.02\n")) << again.out;
}

TEST_F(set_cli, resume_needs_the_overrides_the_run_was_started_with) {
  const std::string sets = "--set run.name=res --set optimizer.lr=0.005";
  CliRun r = plinth("train --no-progress p.toml " + sets + " --stop-at-step 3");
  ASSERT_EQ(r.rc, 0) << r.out;
  ASSERT_TRUE(has(r.out, "paused at --stop-at-step")) << r.out;
  // Another learning rate: another pipeline; the message says what the run had.
  r = plinth("train --no-progress p.toml --resume --set run.name=res --set optimizer.lr=0.05");
  EXPECT_EQ(r.rc, 2) << r.out;
  EXPECT_TRUE(has(r.out, "written by a different pipeline")) << r.out;
  EXPECT_TRUE(has(r.out,
                  "the run was started with --set run.name=res --set optimizer.lr=0.005, this command "
                  "gives --set run.name=res --set optimizer.lr=0.05"))
      << r.out;
  // The same overrides resume it.
  r = plinth("train --no-progress p.toml --resume " + sets);
  EXPECT_EQ(r.rc, 0) << r.out;
  EXPECT_TRUE(has(r.out, "resumed from step 3")) << r.out;
}

TEST_F(set_cli, eval_takes_the_overrides) {
  // [init] from a run and a smaller evaluation set, both from the command line.
  ASSERT_EQ(plinth("train --no-progress p.toml --set run.name=src --set train.epochs=1").rc, 0);
  const CliRun r = plinth("eval p.toml --set init.from=runs/src --set data.eval.samples=30");
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_TRUE(has(r.out, "{\"eval_loss\": ")) << r.out;
  const CliRun bad = plinth("eval p.toml --set init.form=runs/src");
  EXPECT_EQ(bad.rc, 2) << bad.out;
  EXPECT_TRUE(has(bad.out, "--set init.form=runs/src: init.form: unknown key (did you mean 'from'?)"))
      << bad.out;
}

TEST_F(set_cli, sweep_applies_the_overrides_to_every_trial) {
  std::ofstream(dir_ / "s.toml") << "[sweep]\nbase = \"p.toml\"\nname = \"sw\"\n\n[sweep.params]\n"
                                    "\"optimizer.lr\" = [0.01, 0.02]\n";
  const CliRun clash = plinth("sweep s.toml --set optimizer.lr=0.5");
  EXPECT_EQ(clash.rc, 2) << clash.out;
  EXPECT_TRUE(has(clash.out, "--set optimizer.lr=0.5: optimizer.lr: the sweep varies this key")) << clash.out;
  EXPECT_FALSE(fs::exists(dir_ / "runs" / "sw"));
  const CliRun bad = plinth("sweep s.toml --set train.epohcs=1");
  EXPECT_EQ(bad.rc, 2) << bad.out;
  EXPECT_TRUE(has(bad.out, "--set train.epohcs=1: train.epohcs: unknown key (did you mean 'epochs'?)"))
      << bad.out;
  const CliRun r = plinth("sweep s.toml --set train.epochs=1 --set model.layer.0.out=4");
  ASSERT_EQ(r.rc, 0) << r.out;
  for (const char* trial : {"trial-000", "trial-001"}) {
    const std::string text = read(dir_ / "runs" / "sw" / (std::string(trial) + ".toml"));
    EXPECT_TRUE(has(text, "epochs = 1")) << text;
    EXPECT_TRUE(has(text, "out = 4")) << text;
    const json summary = json::parse(read(dir_ / "runs" / "sw" / trial / "summary.json"), nullptr, false);
    ASSERT_TRUE(summary.is_object()) << trial;
    EXPECT_EQ(summary["steps"], 6) << trial;
  }
}

}  // namespace

// The closing `done:` line says "target not reached" only for a run that had
// a target ([train] target_metric); a run without one has nothing to report.
TEST_F(set_cli, done_line_names_an_unreached_target_only_when_one_was_set) {
  const CliRun none = plinth("train --no-progress p.toml");
  ASSERT_EQ(none.rc, 0) << none.out;
  EXPECT_TRUE(has(none.out, "\ndone: ")) << none.out;
  EXPECT_FALSE(has(none.out, "target")) << none.out;
  const CliRun missed = plinth(
      "train --no-progress p.toml --set run.name=missed --set train.target_metric=eval.loss "
      "--set train.target_value=1e-9");
  ASSERT_EQ(missed.rc, 0) << missed.out;
  EXPECT_TRUE(has(missed.out, ", target not reached; run: ")) << missed.out;
}
