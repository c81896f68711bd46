// mixed_precision_test.cpp — [train] precision and dynamic loss scaling
// through the trainer: bf16 and fp16 loss curves stay near fp32's; an fp16
// overflow (an input past fp16's range, or a loss scale too large for the
// gradients) halves the scale and leaves the weights and optimizer state as
// they were; the scale grows after the configured clean steps; and it
// survives a checkpoint resume.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>

#include <nlohmann/json.hpp>

#include "config/pipeline.hpp"
#include "exec/backend.hpp"
#include "plinth/registry.hpp"
#include "train/checkpoint.hpp"
#include "train/safetensors.hpp"
#include "train/trainer.hpp"
#include "train_test_util.hpp"

namespace plinth {
namespace {

namespace fs = std::filesystem;
using train_test::build_tree_registry;

train_test::Run train_text(const std::string& text, bool resume = false) {
  return train_test::train_text(text, "m.toml", resume);
}
std::vector<nlohmann::json> train_lines(const fs::path& dir) { return train_test::metric_lines(dir, true); }

fs::path out_dir(const std::string& name) { return train_test::fresh_dir("mixed_" + name); }

// An MLP on synthetic data, AdamW; `train_keys` go into [train].
std::string mlp(const fs::path& out, const std::string& train_keys, const std::string& extra = "") {
  return train_test::run_sections("m", out, 3) + train_test::synthetic_data("train", 512, "[32]", 4, 4) + R"(
[[model.layer]]
type = "linear"
out = 64
[[model.layer]]
type = "relu"
[[model.layer]]
type = "linear"
out = 64
[[model.layer]]
type = "relu"
[[model.layer]]
type = "linear"
out = 4
[optimizer]
name = "adamw"
lr = 0.003
[train]
batch_size = 64
log_every = 1
)" + train_keys +
         "\n" + extra;
}

std::vector<unsigned char> bytes_of(const std::vector<NamedTensor>& ts) {
  std::vector<unsigned char> v;
  for (const auto& t : ts) v.insert(v.end(), t.data.begin(), t.data.end());
  return v;
}

// Whether the CPU backend has native bf16 matmuls here (else bf16 runs fp32).
bool cpu_has_bf16() {
  auto b = exec::Backend::create(*build_tree_registry(), "cpu", nullptr, 0);
  return b.ok() && (*b)->properties().has_bf16;
}

// The loss curve of `precision` against fp32's, step by step.
void check_curve_near_fp32(const std::string& precision, double rel_tol) {
  const fs::path out = out_dir("curve_" + precision);
  auto a = train_text(mlp(out / "a", "epochs = 4\n"));
  ASSERT_TRUE(a.status.ok()) << a.status.message();
  auto b = train_text(mlp(out / "b", "epochs = 4\nprecision = \"" + precision + "\"\n"));
  ASSERT_TRUE(b.status.ok()) << b.status.message();
  const auto la = train_lines(a.out.run_dir), lb = train_lines(b.out.run_dir);
  ASSERT_EQ(la.size(), 32u);
  ASSERT_EQ(lb.size(), la.size());
  double max_rel = 0;
  bool differs = false;
  for (size_t i = 0; i < la.size(); ++i) {
    const double x = la[i]["loss"].get<double>(), y = lb[i]["loss"].get<double>();
    max_rel = std::max(max_rel, std::fabs(y - x) / x);
    differs |= x != y;
  }
  EXPECT_LT(max_rel, rel_tol) << precision;
  // Both learn: the last loss is well below the first.
  EXPECT_LT(lb.back()["loss"].get<double>(), 0.8 * lb.front()["loss"].get<double>());
  // And the low-precision run really ran in low precision.
  if (precision == "fp16" || cpu_has_bf16()) {
    EXPECT_TRUE(differs) << precision << " gave fp32's losses";
  }
  std::printf("%s: largest relative loss difference from fp32 over %zu steps: %.2e\n", precision.c_str(),
              la.size(), max_rel);
  fs::remove_all(out);
}

TEST(mixed_precision, bf16_loss_curve_stays_near_fp32) { check_curve_near_fp32("bf16", 0.02); }

TEST(mixed_precision, fp16_loss_curve_stays_near_fp32) { check_curve_near_fp32("fp16", 0.01); }

TEST(mixed_precision, fp16_logs_the_loss_scale_and_bf16_does_not_scale) {
  const fs::path out = out_dir("scale_logged");
  auto a = train_text(mlp(out / "a", "max_steps = 3\nprecision = \"fp16\"\n"));
  ASSERT_TRUE(a.status.ok()) << a.status.message();
  for (const auto& j : train_lines(a.out.run_dir)) EXPECT_EQ(j["loss_scale"].get<double>(), 65536.0);
  auto b = train_text(mlp(out / "b", "max_steps = 3\nprecision = \"bf16\"\n"));
  ASSERT_TRUE(b.status.ok()) << b.status.message();
  for (const auto& j : train_lines(b.out.run_dir)) EXPECT_FALSE(j.contains("loss_scale"));
  fs::remove_all(out);
}

// 8 rows, batches of 2, no shuffling: row 3 (in the second batch) is 1e5,
// finite in f32 but past fp16's largest value (65504), so in fp16 the second
// step of every epoch overflows; in fp32 nothing does.
std::string overflow_pipeline(const fs::path& out, const std::string& train_keys) {
  return train_test::run_sections("o", out) +
         train_test::csv_train_data(
             out, "0.5,1,0\n-1,0.25,1\n1e5,1,0\n0.1,0.2,1\n1,1,0\n-0.5,2,1\n0.3,-1,0\n2,0.5,1\n") +
         R"(
[[model.layer]]
type = "linear"
out = 4
[[model.layer]]
type = "tanh"
[[model.layer]]
type = "linear"
out = 2
[optimizer]
name = "adamw"
lr = 0.1
[checkpoint]
every_steps = 1
keep_last = 100
[train]
batch_size = 2
log_every = 1
epochs = 3
)" + train_keys;
}

TEST(loss_scale, fp16_overflow_halves_the_scale_and_skips_the_update) {
  const fs::path out = out_dir("overflow");
  // The default on_nonfinite is "stop": with loss scaling an overflow is
  // expected, skipped and backed off instead.
  auto r = train_text(overflow_pipeline(out, "precision = \"fp16\"\nloss_scale_growth_interval = 2\n"));
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_EQ(r.out.steps, 12);
  EXPECT_EQ(r.out.skipped_steps, 3);
  // GradScaler's arithmetic by hand: steps 2, 6, 10 overflow (x0.5, count
  // reset); two clean steps in a row double the scale.
  const double want[] = {65536, 32768, 32768, 65536, 65536, 32768, 32768, 65536, 65536, 32768, 32768, 65536};
  const auto lines = train_lines(r.out.run_dir);
  ASSERT_EQ(lines.size(), 12u);
  for (size_t i = 0; i < 12; ++i)
    EXPECT_EQ(lines[i]["loss_scale"].get<double>(), want[i]) << "step " << i + 1;
  // The weights and AdamW's moments after the overflowing step are those of
  // the step before, bit for bit; a clean step changes them.
  auto ck = [&](int step) {
    auto c = train::read_checkpoint(r.out.run_dir / "checkpoints" / ("step-" + std::to_string(step)));
    EXPECT_TRUE(c.ok()) << step;
    return c.ok() ? std::pair{bytes_of(c->model), bytes_of(c->optimizer)}
                  : std::pair<std::vector<unsigned char>, std::vector<unsigned char>>{};
  };
  for (int bad : {2, 6, 10}) {
    EXPECT_EQ(ck(bad), ck(bad - 1)) << "step " << bad << " changed the state";
    EXPECT_NE(ck(bad + 1).first, ck(bad).first) << "step " << bad + 1 << " did not update";
  }
  // Without loss scaling the same fp16 overflow is a non-finite step under
  // on_nonfinite = "stop"; in fp32 the data is harmless.
  auto s = train_text(
      overflow_pipeline(out_dir("overflow_noscale"), "precision = \"fp16\"\nloss_scaling = false\n"));
  ASSERT_FALSE(s.status.ok());
  EXPECT_NE(s.status.message().find("non-finite gradients at step 2"), std::string::npos)
      << s.status.message();
  auto f = train_text(overflow_pipeline(out_dir("overflow_fp32"), ""));
  ASSERT_TRUE(f.status.ok()) << f.status.message();
  EXPECT_EQ(f.out.skipped_steps, 0);
  fs::remove_all(out);
  fs::remove_all(out_dir("overflow_noscale"));
  fs::remove_all(out_dir("overflow_fp32"));
}

TEST(loss_scale, too_large_a_scale_backs_off_until_the_gradients_fit_fp16) {
  const fs::path out = out_dir("huge_scale");
  // 2^40: dL/dlogits (about 0.1 / 64 per element) times 2^40 is far past
  // 65504, so the first steps overflow in the backward casts only.
  auto r = train_text(
      mlp(out, "max_steps = 40\nprecision = \"fp16\"\nloss_scale_init = 1099511627776\nmax_nonfinite = 40\n",
          "[checkpoint]\nevery_steps = 1\nkeep_last = 100\n"));
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  const auto lines = train_lines(r.out.run_dir);
  ASSERT_EQ(lines.size(), 40u);
  const int64_t skipped = r.out.skipped_steps;
  ASSERT_GE(skipped, 10);  // at least down to 2^30
  ASSERT_LT(skipped, 40);
  for (int64_t i = 0; i < skipped; ++i)
    EXPECT_EQ(lines[i]["loss_scale"].get<double>(), std::ldexp(1.0, 39 - static_cast<int>(i))) << i;
  EXPECT_EQ(lines[skipped]["loss_scale"].get<double>(), std::ldexp(1.0, 40 - static_cast<int>(skipped)));
  // No update before the first clean step: AdamW's moments are still zero
  // and the weights never moved; the clean step moves them.
  auto first = train::read_checkpoint(r.out.run_dir / "checkpoints" / "step-1");
  auto last_bad = train::read_checkpoint(r.out.run_dir / "checkpoints" / ("step-" + std::to_string(skipped)));
  auto good = train::read_checkpoint(r.out.run_dir / "checkpoints" / ("step-" + std::to_string(skipped + 1)));
  ASSERT_TRUE(first.ok() && last_bad.ok() && good.ok());
  EXPECT_EQ(bytes_of(first->model), bytes_of(last_bad->model));
  for (unsigned char c : bytes_of(last_bad->optimizer)) ASSERT_EQ(c, 0);
  EXPECT_NE(bytes_of(good->model), bytes_of(last_bad->model));
  fs::remove_all(out);
}

TEST(loss_scale, grows_after_the_interval_of_clean_steps) {
  const fs::path out = out_dir("growth");
  auto r = train_text(mlp(out,
                          "max_steps = 12\nprecision = \"fp16\"\nloss_scale_init = 1024\n"
                          "loss_scale_growth_interval = 3\nloss_scale_growth = 4.0\n"));
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_EQ(r.out.skipped_steps, 0);
  const auto lines = train_lines(r.out.run_dir);
  ASSERT_EQ(lines.size(), 12u);
  for (int i = 0; i < 12; ++i)
    EXPECT_EQ(lines[i]["loss_scale"].get<double>(), 1024.0 * std::pow(4.0, (i + 1) / 3)) << "step " << i + 1;
  fs::remove_all(out);
}

TEST(loss_scale, is_saved_in_checkpoints_and_restored_on_resume) {
  const fs::path out = out_dir("resume");
  const std::string text = mlp(out,
                               "max_steps = 12\nprecision = \"fp16\"\nloss_scale_init = 1024\n"
                               "loss_scale_growth_interval = 3\n",
                               "[checkpoint]\nevery_steps = 5\n");
  auto a = train_text(text);
  ASSERT_TRUE(a.status.ok()) << a.status.message();
  const auto want = train_lines(a.out.run_dir);
  auto w = read_safetensors(a.out.run_dir / "model.safetensors");
  ASSERT_TRUE(w.ok());
  // step 5: grown once at step 3, two clean steps since.
  auto c5 = train::read_checkpoint(a.out.run_dir / "checkpoints" / "step-5");
  ASSERT_TRUE(c5.ok()) << c5.status().message();
  EXPECT_EQ(c5->state["loss_scale"].get<double>(), 2048.0);
  EXPECT_EQ(c5->state["loss_scale_clean_steps"].get<int64_t>(), 2);
  // As if killed after step 5: drop the later checkpoints and resume.
  fs::remove_all(a.out.run_dir / "checkpoints" / "step-10");
  fs::remove_all(a.out.run_dir / "checkpoints" / "step-12");
  auto b = train_text(text, true);
  ASSERT_TRUE(b.status.ok()) << b.status.message();
  EXPECT_EQ(b.out.resumed_from, 5);
  const auto got = train_lines(b.out.run_dir);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_EQ(got[i]["loss_scale"].get<double>(), want[i]["loss_scale"].get<double>()) << "step " << i + 1;
  EXPECT_EQ(got.back()["loss_scale"].get<double>(), 1024.0 * 16);  // grown at 3, 6, 9, 12
  auto w2 = read_safetensors(b.out.run_dir / "model.safetensors");
  ASSERT_TRUE(w2.ok());
  EXPECT_EQ(bytes_of(*w2), bytes_of(*w));  // the resumed run ends bit for bit where the whole one did
  fs::remove_all(out);
}

TEST(loss_scale, bad_settings_are_refused_with_the_key) {
  for (const char* bad : {"loss_scale_init = 0", "loss_scale_growth_interval = 0", "loss_scale_growth = 1.0",
                          "loss_scale_backoff = 1.0", "loss_scale_backoff = 0"}) {
    auto p = config::parse_pipeline(mlp("/tmp", std::string(bad) + "\n"), "m.toml");
    ASSERT_FALSE(p.ok()) << bad;
    const std::string key(bad, std::string(bad).find(' '));
    EXPECT_NE(p.status().message().find(key), std::string::npos) << p.status().message();
    EXPECT_NE(p.status().message().find("m.toml"), std::string::npos) << p.status().message();
  }
  auto p = config::parse_pipeline(mlp("/tmp", "precision = \"fp16\"\n"), "m.toml");
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->train.loss_scaling);
  p = config::parse_pipeline(mlp("/tmp", "precision = \"bf16\"\n"), "m.toml");
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(p->train.loss_scaling);
}

}  // namespace
}  // namespace plinth
