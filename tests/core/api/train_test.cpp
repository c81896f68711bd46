// train_test.cpp — the public C++ API an application trains with
// (plinth/pipeline.hpp, plinth/train.hpp, plinth/runs.hpp), through the
// public headers only: pipeline errors with file:line:col, the overrides,
// training with the step/evaluation callbacks and a stop request,
// evaluation, and reading the run back. Not here: the trainer's numerics
// (tests/core/train/).
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "plinth/pipeline.hpp"
#include "plinth/runs.hpp"
#include "plinth/train.hpp"

namespace plinth {
namespace {

namespace fs = std::filesystem;

DiscoveryOptions build_tree_plugins() {
  DiscoveryOptions o;
  o.pipeline_manifests = {fs::path(PLINTH_BINARY_DIR) / "share/plinth/plugins.d"};
  o.use_environment = o.use_user = o.use_system = o.use_install = false;
  return o;
}

fs::path out_dir(const std::string& name) {
  fs::path d = fs::path(testing::TempDir()) / ("plinth_api_" + name);
  fs::remove_all(d);
  return d;
}

// 16 steps in all (2 epochs of 8 batches), a metrics line every step and
// an evaluation every 4.
constexpr const char* kPipeline = R"(
[run]
name = "api"
seed = 2

[data.train]
source = "synthetic"
samples = 128
shape = [8]
num_classes = 3
workers = 1

[data.eval]
source = "synthetic"
samples = 32
shape = [8]
num_classes = 3
seed = 9
workers = 1

[[model.layer]]
type = "linear"
out = 16

[[model.layer]]
type = "relu"

[[model.layer]]
type = "linear"
out = 3

[optimizer]
name = "sgd"
lr = 0.1

[train]
epochs = 2
batch_size = 16
log_every = 1
eval_every = 4
)";

Pipeline parse(const std::string& out) {
  auto p = Pipeline::parse(kPipeline, "api.toml");
  EXPECT_TRUE(p.ok()) << p.status().message();
  p->set_out_dir(out);
  return std::move(*p);
}

TEST(api_pipeline, errors_name_the_file_line_and_column) {
  std::string text = kPipeline;
  text.replace(text.find("seed = 2\n"), 9, "seed = 2\nsede = 3\n");  // line 5
  auto p = Pipeline::parse(text, "bad.toml");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), errc::config);
  EXPECT_TRUE(p.status().is_bad_input());
  EXPECT_EQ(p.status().message().rfind("bad.toml:5:1: ", 0), 0u) << p.status().message();
  EXPECT_NE(p.status().message().find("seed"), std::string::npos) << p.status().message();
}

TEST(api_pipeline, overrides_show_in_the_resolved_pipeline) {
  Pipeline p = parse("/tmp/somewhere");
  EXPECT_EQ(p.name(), "api");
  EXPECT_EQ(p.run_dir(), fs::path("/tmp/somewhere/api"));
  p.set_max_steps(5);
  EXPECT_EQ(p.max_steps(), 5);
  EXPECT_TRUE(p.set_precision("bf16").ok());
  EXPECT_EQ(p.set_precision("fp8").code(), errc::invalid_argument);
  const std::string r = p.resolved_toml();
  EXPECT_NE(r.find("max_steps = 5"), std::string::npos) << r;
  EXPECT_NE(r.find("precision = \"bf16\""), std::string::npos) << r;
  Pipeline copy = p;  // a deep copy: changing it leaves p alone
  copy.set_name("other");
  EXPECT_EQ(p.name(), "api");
  EXPECT_EQ(copy.name(), "other");
}

TEST(api_pipeline, a_missing_plugin_manifest_is_the_pipelines_error) {
  auto p =
      Pipeline::parse("[plugins]\nmanifests = [\"no-such-folder\"]\n" + std::string(kPipeline), "m.toml");
  ASSERT_TRUE(p.ok()) << p.status().message();
  auto reg = open_registry(*p, build_tree_plugins());
  ASSERT_FALSE(reg.ok());
  EXPECT_EQ(reg.status().code(), errc::config);
  EXPECT_NE(reg.status().message().find("m.toml:2:"), std::string::npos) << reg.status().message();
}

TEST(api_train, trains_into_the_run_folder_and_reads_it_back) {
  const fs::path out = out_dir("train");
  Pipeline p = parse(out.string());
  auto reg = open_registry(p, build_tree_plugins());
  ASSERT_TRUE(reg.ok()) << reg.status().message();
  auto t = Trainer::prepare(std::move(p), *reg);
  ASSERT_TRUE(t.ok()) << t.status().message();
  auto r = t->train();
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->steps, 16);
  EXPECT_EQ(r->run_dir, out / "api");
  EXPECT_FALSE(r->interrupted);
  EXPECT_GE(r->final_eval_accuracy, 0.0);
  EXPECT_GT(r->final_eval_loss, 0.0);

  auto run = read_run(r->run_dir);
  ASSERT_TRUE(run.ok()) << run.status().message();
  EXPECT_EQ(run->name, "api");
  EXPECT_EQ(run->status, "finished");
  EXPECT_EQ(run->steps, 16);
  EXPECT_EQ(find_runs(out), std::vector<fs::path>{out / "api"});
  auto csv = metrics_csv(r->run_dir / "metrics.jsonl");
  ASSERT_TRUE(csv.ok()) << csv.status().message();
  EXPECT_EQ(csv->rfind("step,epoch,time_s", 0), 0u) << *csv;
  auto html = report_html({r->run_dir}, "api runs");
  ASSERT_TRUE(html.ok()) << html.status().message();
  EXPECT_NE(html->find("api runs"), std::string::npos);
  auto w = export_weights(r->run_dir, out / "w.safetensors");
  ASSERT_TRUE(w.ok()) << w.status().message();
  EXPECT_EQ(w->tensors, 4u);  // two linear layers: weight and bias each
  EXPECT_TRUE(fs::exists(out / "w.safetensors"));
}

TEST(api_train, evaluates_the_prepared_model_writing_nothing) {
  const fs::path out = out_dir("eval");
  auto reg = open_registry(parse(out.string()), build_tree_plugins());
  ASSERT_TRUE(reg.ok()) << reg.status().message();
  auto t = Trainer::prepare(parse(out.string()), *reg);
  ASSERT_TRUE(t.ok()) << t.status().message();
  auto e = t->evaluate();
  ASSERT_TRUE(e.ok()) << e.status().message();
  EXPECT_GT(e->loss, 0.0);
  EXPECT_GE(e->accuracy, 0.0);
  EXPECT_LE(e->accuracy, 1.0);
  EXPECT_FALSE(fs::exists(out / "api"));
}

// The callbacks map onto the trainer's TrainOptions hooks (on_step,
// on_eval, stop_requested), which the trainer calls between steps. These
// two tests fail on a trainer that declares the hooks but never calls them.
TEST(api_train, callbacks_see_every_logged_step_and_every_evaluation) {
  const fs::path out = out_dir("callbacks");
  auto reg = open_registry(parse(out.string()), build_tree_plugins());
  ASSERT_TRUE(reg.ok()) << reg.status().message();
  std::vector<StepInfo> steps;
  std::vector<EvalInfo> evals;
  TrainOptions o;
  o.on_step = [&](const StepInfo& s) { steps.push_back(s); };
  o.on_eval = [&](const EvalInfo& e) { evals.push_back(e); };
  auto t = Trainer::prepare(parse(out.string()), *reg, o);
  ASSERT_TRUE(t.ok()) << t.status().message();
  auto r = t->train();
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(steps.size(), 16u);  // log_every = 1
  for (size_t i = 0; i < steps.size(); ++i) {
    EXPECT_EQ(steps[i].step, static_cast<int64_t>(i + 1));
    EXPECT_EQ(steps[i].total_steps, 16);
    EXPECT_GT(steps[i].loss, 0.0);
    EXPECT_NEAR(steps[i].lr, 0.1, 1e-12);
  }
  ASSERT_GE(evals.size(), 4u);  // eval_every = 4: steps 4, 8, 12, 16
  for (int i = 0; i < 4; ++i) EXPECT_EQ(evals[size_t(i)].step, 4 * (i + 1));
  EXPECT_DOUBLE_EQ(evals.back().loss, r->final_eval_loss);
}

TEST(api_train, stop_requested_ends_the_run_after_that_step) {
  const fs::path out = out_dir("stop");
  auto reg = open_registry(parse(out.string()), build_tree_plugins());
  ASSERT_TRUE(reg.ok()) << reg.status().message();
  int64_t last = 0;
  TrainOptions o;
  o.on_step = [&](const StepInfo& s) { last = s.step; };
  o.stop_requested = [&] { return last >= 5; };
  auto t = Trainer::prepare(parse(out.string()), *reg, o);
  ASSERT_TRUE(t.ok()) << t.status().message();
  auto r = t->train();
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->steps, 5);
  EXPECT_TRUE(r->interrupted);
  EXPECT_TRUE(fs::exists(r->run_dir / "summary.json"));
}

}  // namespace
}  // namespace plinth
