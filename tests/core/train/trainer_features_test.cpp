// trainer_features_test.cpp — clip_grad_norm (against SGD's own update rule:
// with lr 1 and 2 the step is W0 - g and W0 - 2g, which gives g and W0
// independently of the clipping code), the grad_norm metric, early stopping,
// the non-finite policies, checkpoint folders, the summary's time breakdown and
// the TrainOptions hooks (on_step, on_eval, stop_requested).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "config/pipeline.hpp"
#include "plinth/registry.hpp"
#include "train/checkpoint.hpp"
#include "train/safetensors.hpp"
#include "train/trainer.hpp"
#include "train_test_util.hpp"

namespace plinth {
namespace {

namespace fs = std::filesystem;
using train_test::build_tree_registry;
using train_test::metric_lines;

train_test::Run train_text(const std::string& text) { return train_test::train_text(text, "f.toml"); }
train_test::Run train_text(const std::string& text, train::TrainOptions o) {
  return train_test::train_text(text, "f.toml", std::move(o));
}

fs::path out_dir(const std::string& name) { return train_test::fresh_dir("features_" + name); }

// A small classifier on synthetic data; `extra` is appended (sections or keys of [train]).
std::string pipeline(const fs::path& out, const std::string& train_keys, const std::string& extra = "",
                     const std::string& optimizer = "name = \"sgd\"\nlr = 1.0") {
  return train_test::run_sections("f", out, 3) + train_test::synthetic_data("train", 256, "[8]", 3, 4) +
         train_test::synthetic_data("eval", 64, "[8]", 3, 5) + R"(
[[model.layer]]
type = "linear"
out = 16
[[model.layer]]
type = "tanh"
[[model.layer]]
type = "linear"
out = 3
[optimizer]
)" + optimizer +
         "\n[train]\nbatch_size = 64\nlog_every = 1\n" + train_keys + "\n" + extra;
}

std::vector<double> weights(const fs::path& dir) {
  auto w = read_safetensors(dir / "model.safetensors");
  EXPECT_TRUE(w.ok());
  std::vector<double> v;
  if (!w.ok()) return v;
  for (const auto& t : *w) {
    std::vector<float> f(t.data.size() / 4);
    std::memcpy(f.data(), t.data.data(), t.data.size());
    v.insert(v.end(), f.begin(), f.end());
  }
  return v;
}

nlohmann::json summary(const fs::path& dir) {
  std::ifstream in(dir / "summary.json");
  return nlohmann::json::parse(in);
}

TEST(clip_grad_norm, scales_the_step_by_max_norm_over_the_norm) {
  const fs::path out = out_dir("clip");
  const std::string one = "max_steps = 1\n";
  auto a = train_text(pipeline(out, one));                                  // W0 - g
  auto b = train_text(pipeline(out, one, "", "name = \"sgd\"\nlr = 2.0"));  // W0 - 2g
  ASSERT_TRUE(a.status.ok()) << a.status.message();
  ASSERT_TRUE(b.status.ok()) << b.status.message();
  auto w1 = weights(a.dir), w2 = weights(b.dir);
  ASSERT_EQ(w1.size(), w2.size());
  std::vector<double> g(w1.size()), w0(w1.size());
  double norm2 = 0;
  for (size_t i = 0; i < w1.size(); ++i) {
    g[i] = w1[i] - w2[i];
    w0[i] = 2 * w1[i] - w2[i];
    norm2 += g[i] * g[i];
  }
  const double norm = std::sqrt(norm2);
  ASSERT_GT(norm, 0.05);
  // The unclipped run logs the same norm.
  auto m = metric_lines(a.dir);
  ASSERT_FALSE(m.empty());
  ASSERT_TRUE(m[0].contains("grad_norm"));
  EXPECT_NEAR(m[0]["grad_norm"].get<double>(), norm, 1e-4 * norm);

  const double max_norm = norm / 4;
  std::ostringstream clip;
  clip.precision(17);
  clip << one << "clip_grad_norm = " << max_norm << "\n";
  auto c = train_text(pipeline(out, clip.str()));
  ASSERT_TRUE(c.status.ok()) << c.status.message();
  auto wc = weights(c.dir);
  const double coef = max_norm / (norm + 1e-6);
  for (size_t i = 0; i < wc.size(); ++i) EXPECT_NEAR(wc[i], w0[i] - coef * g[i], 2e-6) << i;
  auto mc = metric_lines(c.dir);
  EXPECT_NEAR(mc[0]["grad_norm"].get<double>(), norm, 1e-4 * norm);  // the norm before clipping

  // A max_norm above the norm leaves the step alone.
  std::ostringstream loose;
  loose.precision(17);
  loose << one << "clip_grad_norm = " << norm * 2 << "\n";
  auto d = train_text(pipeline(out, loose.str()));
  ASSERT_TRUE(d.status.ok());
  EXPECT_EQ(weights(d.dir), w1);
  fs::remove_all(out);
}

TEST(early_stop, stops_after_patience_evaluations_without_improvement) {
  const fs::path out = out_dir("early");
  // min_delta so large nothing after the first evaluation counts as better.
  auto r = train_text(pipeline(out, "epochs = 50\neval_every = 1\n",
                               "[early_stop]\nmetric = \"eval.loss\"\npatience = 3\nmin_delta = 1e9\n"));
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_TRUE(r.out.early_stopped);
  EXPECT_EQ(r.out.steps, 4);  // best at step 1, then 3 evaluations without improvement
  EXPECT_TRUE(summary(r.dir)["early_stopped"].get<bool>());
  // Accuracy is maximised by default.
  auto p = config::parse_pipeline(pipeline(out, "", "[early_stop]\nmetric = \"eval.accuracy\"\n"), "f.toml");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->early_stop.mode, "max");
  fs::remove_all(out);
}

TEST(early_stop, needs_evaluation_data) {
  std::string text = pipeline("/nonexistent-out", "", "[early_stop]\nmetric = \"eval.loss\"\n");
  text.replace(text.find("[data.eval]"), 11, "[data.unused]");
  auto p = config::parse_pipeline(text, "f.toml");
  EXPECT_FALSE(p.ok());  // [data.unused] is not a split
  text = pipeline("/nonexistent-out", "", "[early_stop]\nmetric = \"eval.loss\"\n");
  const size_t a = text.find("[data.eval]"), b = text.find("[[model.layer]]");
  text.erase(a, b - a);
  auto r = train_text(text);
  EXPECT_FALSE(r.status.ok());
  EXPECT_NE(r.status.message().find("early_stop.metric needs a [data.eval]"), std::string::npos)
      << r.status.message();
  EXPECT_FALSE(fs::exists("/nonexistent-out"));
}

// 8 rows of 2 features and a class; row 3 (the second batch of 2) holds a
// large finite f32 (a CSV cell past f32 is refused), which the model squares
// past f32's range, so every epoch's second step has non-finite gradients.
std::string nonfinite_pipeline(const fs::path& out, const std::string& train_keys) {
  return train_test::run_sections("f", out) +
         train_test::csv_train_data(
             out, "0.5,1,0\n-1,0.25,1\n3e38,1,0\n0.1,0.2,1\n1,1,0\n-0.5,2,1\n0.3,-1,0\n2,0.5,1\n") +
         R"(
[[model.layer]]
type = "linear"
name = "a"
out = 2
[[model.layer]]
type = "mul"
inputs = ["a", "a"]
[optimizer]
name = "sgd"
lr = 0.1
[train]
batch_size = 2
log_every = 1
epochs = 3
)" + train_keys;
}

TEST(on_nonfinite, stop_fails_at_the_first_nonfinite_step) {
  const fs::path out = out_dir("nonfinite_stop");
  auto r = train_text(nonfinite_pipeline(out, ""));
  ASSERT_FALSE(r.status.ok());
  EXPECT_NE(r.status.message().find("non-finite gradients at step 2"), std::string::npos)
      << r.status.message();
  // The bad update was not applied: the weights written are finite.
  for (double w : weights(out / "f")) ASSERT_TRUE(std::isfinite(w));
  fs::remove_all(out);
}

TEST(on_nonfinite, skip_drops_the_bad_updates_and_goes_on) {
  const fs::path out = out_dir("nonfinite_skip");
  auto r = train_text(nonfinite_pipeline(out, "on_nonfinite = \"skip\"\n"));
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_EQ(r.out.steps, 12);
  EXPECT_EQ(r.out.skipped_steps, 3);
  EXPECT_EQ(summary(out / "f")["skipped_steps"].get<int64_t>(), 3);
  for (double w : weights(out / "f")) ASSERT_TRUE(std::isfinite(w));
  fs::remove_all(out);
}

TEST(on_nonfinite, skip_gives_up_after_max_nonfinite_in_a_row) {
  const fs::path out = out_dir("nonfinite_max");
  auto r = train_text(nonfinite_pipeline(out, "on_nonfinite = \"skip\"\nmax_nonfinite = 1\n"));
  ASSERT_FALSE(r.status.ok());
  EXPECT_NE(r.status.message().find("1 steps in a row"), std::string::npos) << r.status.message();
  fs::remove_all(out);
}

TEST(checkpoint, every_steps_writes_verified_folders_and_keeps_the_last) {
  const fs::path out = out_dir("ckpt");
  auto r = train_text(pipeline(out, "epochs = 3\n", "[checkpoint]\nevery_steps = 2\nkeep_last = 2\n"));
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_EQ(r.out.steps, 12);
  auto all = train::list_checkpoints(r.dir / "checkpoints");
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].first, 10);
  EXPECT_EQ(all[1].first, 12);  // at_end: the final step (also a multiple of 2: written once)
  auto c = train::read_checkpoint(all[1].second);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->state["epoch"].get<int64_t>(), 3);
  EXPECT_EQ(c->state["position"].get<int64_t>(), 0);
  // The checkpoint's weights are the final weights, bit for bit.
  auto final_w = read_safetensors(r.dir / "model.safetensors");
  ASSERT_TRUE(final_w.ok());
  ASSERT_EQ(c->model.size(), final_w->size());
  for (size_t i = 0; i < c->model.size(); ++i) {
    EXPECT_EQ(c->model[i].name, (*final_w)[i].name);
    EXPECT_EQ(c->model[i].data, (*final_w)[i].data);
  }
  // AdamW-less SGD has no state slots; the sidecar names the pipeline and plugins.
  EXPECT_TRUE(c->state["pipeline"].is_string());
  EXPECT_TRUE(c->state["plugins"].is_array());
  auto s = summary(r.dir);
  for (const char* k : {"data_wait", "forward_backward", "optimizer", "checkpoint", "evaluation", "other"})
    EXPECT_GE(s["time_breakdown_s"][k].get<double>(), 0.0) << k;
  fs::remove_all(out);
}

// summary.json's memory_bytes: the parameter, gradient and AdamW state bytes
// of an 8-16-3 MLP counted here from its shapes (each slot may be padded to
// 64 bytes), the need as their sum plus the activation peak, arenas at least
// that peak, a backend peak at least the need; and the first step's time.
TEST(summary, memory_bytes_and_first_step_time) {
  const fs::path out = out_dir("memory");
  auto r = train_text(pipeline(out, "epochs = 1\n", "", "name = \"adamw\"\nlr = 0.01"));
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  auto s = summary(r.dir);
  const auto& m = s["memory_bytes"];
  const uint64_t params = 4 * (8 * 16 + 16 + 16 * 3 + 3);  // 780 bytes in four tensors
  for (const char* k : {"parameters", "gradients"}) {
    EXPECT_GE(m[k].get<uint64_t>(), params) << k;
    EXPECT_LT(m[k].get<uint64_t>(), params + 4 * 64) << k;
  }
  EXPECT_GE(m["optimizer_state"].get<uint64_t>(), 2 * params);  // exp_avg, exp_avg_sq
  EXPECT_LT(m["optimizer_state"].get<uint64_t>(), 2 * (params + 4 * 64));
  // Batch 64: at least the input (64 x 8) and the logits (64 x 3) are live at once.
  EXPECT_GE(m["activation_need"].get<uint64_t>(), 4u * 64 * (8 + 3));
  EXPECT_GE(m["activation_arenas"].get<uint64_t>(), m["activation_need"].get<uint64_t>());
  EXPECT_EQ(m["need"].get<uint64_t>(), m["parameters"].get<uint64_t>() + m["gradients"].get<uint64_t>() +
                                           m["optimizer_state"].get<uint64_t>() +
                                           m["activation_need"].get<uint64_t>());
  EXPECT_GE(m["backend_peak"].get<uint64_t>(), m["need"].get<uint64_t>());
  EXPECT_GT(s["first_step_s"].get<double>(), 0.0);
  EXPECT_LE(s["first_step_s"].get<double>(), s["wall_seconds"].get<double>());
  fs::remove_all(out);
}

TEST(checkpoint, resume_of_a_finished_run_changes_nothing) {
  const fs::path out = out_dir("resume_done");
  const std::string text = pipeline(out, "epochs = 2\n", "", "name = \"adamw\"\nlr = 0.01");
  auto a = train_text(text);
  ASSERT_TRUE(a.status.ok());
  const auto w = weights(a.dir);
  auto p = config::parse_pipeline(text, "f.toml");
  train::TrainOptions o;
  o.progress = false;
  o.resume = true;
  auto t = train::prepare(std::move(*p), build_tree_registry(), o);
  ASSERT_TRUE(t.ok());
  auto r = train::run(**t);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->run_dir, a.dir);  // the folder is reused
  EXPECT_EQ(r->resumed_from, 8);
  EXPECT_EQ(weights(r->run_dir), w);
  // A checkpoint of AdamW holds both moments of every parameter.
  auto c = train::read_checkpoint(a.dir / "checkpoints" / "step-8");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->optimizer.size(), 2 * c->model.size());
  fs::remove_all(out);
}

TEST(hooks, on_step_and_on_eval_see_the_metrics_lines) {
  const fs::path out = out_dir("hooks");
  std::vector<StepInfo> steps;
  std::vector<EvalInfo> evals;
  train::TrainOptions o;
  o.on_step = [&](const StepInfo& e) { steps.push_back(e); };
  o.on_eval = [&](const EvalInfo& e) { evals.push_back(e); };
  auto r = train_text(pipeline(out, "max_steps = 6\neval_every = 3\n"), o);
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  std::vector<nlohmann::json> step_lines, eval_lines;
  for (const auto& j : metric_lines(r.dir)) (j.contains("eval_loss") ? eval_lines : step_lines).push_back(j);
  ASSERT_EQ(steps.size(), 6u);  // log_every = 1
  ASSERT_EQ(steps.size(), step_lines.size());
  for (size_t i = 0; i < steps.size(); ++i) {
    EXPECT_EQ(steps[i].step, step_lines[i]["step"].get<int64_t>());
    EXPECT_EQ(steps[i].total_steps, 6);
    EXPECT_EQ(steps[i].loss, step_lines[i]["loss"].get<double>());
    EXPECT_EQ(steps[i].lr, step_lines[i]["lr"].get<double>());
    EXPECT_EQ(steps[i].seconds, step_lines[i]["time_s"].get<double>());
  }
  ASSERT_EQ(evals.size(), 2u);  // steps 3 and 6
  ASSERT_EQ(evals.size(), eval_lines.size());
  for (size_t i = 0; i < evals.size(); ++i) {
    EXPECT_EQ(evals[i].step, eval_lines[i]["step"].get<int64_t>());
    EXPECT_EQ(evals[i].loss, eval_lines[i]["eval_loss"].get<double>());
    EXPECT_EQ(evals[i].accuracy, eval_lines[i]["eval_accuracy"].get<double>());
  }
  fs::remove_all(out);
}

TEST(hooks, stop_requested_ends_the_run_as_ctrl_c_does) {
  const fs::path out = out_dir("hooks_stop");
  int64_t seen = 0;
  int polls = 0;
  train::TrainOptions o;
  o.on_step = [&](const StepInfo& e) { seen = e.step; };
  o.stop_requested = [&] {
    ++polls;
    return seen >= 3;
  };
  auto r = train_text(pipeline(out, "max_steps = 20\n"), o);
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_TRUE(r.out.interrupted);
  EXPECT_EQ(r.out.stop_signal, 0);
  EXPECT_EQ(r.out.steps, 3);
  EXPECT_EQ(polls, 4);  // before the first step, then after each
  const auto s = summary(r.dir);
  EXPECT_TRUE(s["interrupted"].get<bool>());
  EXPECT_EQ(s["steps"].get<int64_t>(), 3);
  EXPECT_EQ(s["status"].get<std::string>(), "ok");
  EXPECT_TRUE(fs::exists(r.dir / "model.safetensors"));
  EXPECT_TRUE(fs::exists(r.dir / "checkpoints" / "step-3" / "state.json"));  // [checkpoint] at_end
  fs::remove_all(out);
}

}  // namespace
}  // namespace plinth
