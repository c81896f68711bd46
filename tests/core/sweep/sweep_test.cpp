// sweep_test.cpp — the sweep file reader, the trials it makes (grid order,
// seeded random draws and their distribution), each trial's pipeline text,
// the key checks against a base pipeline, and the ASHA rungs and promotion
// decisions against sequences worked out by hand. No processes are run
// (tests/cli/sweep_cli_test.cpp runs real sweeps).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "config/pipeline.hpp"
#include "sweep/sweep.hpp"

namespace plinth::sweep {
namespace {

namespace fs = std::filesystem;

const char* kBase = R"(
[run]
name = "base"
[data.train]
source = "synthetic"
samples = 60
shape = [4]
num_classes = 2
[[model.layer]]
type = "linear"
out = 8
[[model.layer]]
type = "relu"
[[model.layer]]
type = "linear"
out = 2
[optimizer]
name = "adamw"
lr = 1e-3
[train]
epochs = 1
)";

SweepSpec parse_ok(const std::string& text) {
  auto s = parse_sweep(text, "/tmp/x/sweep.toml");
  EXPECT_TRUE(s) << s.status().message();
  return s ? *s : SweepSpec{};
}

std::string parse_err(const std::string& text) {
  auto s = parse_sweep(text, "/tmp/x/sweep.toml");
  EXPECT_FALSE(s);
  return s ? "" : s.status().message();
}

TEST(sweep_spec, reads_every_key_with_defaults) {
  SweepSpec s = parse_ok(R"([sweep]
base = "pipeline.toml"
[sweep.params]
"optimizer.lr" = [1e-3, 3e-3]
"model.layer.0.out" = [8, 16, 32]
)");
  EXPECT_EQ(s.base, fs::path("/tmp/x/pipeline.toml"));
  EXPECT_EQ(s.name, "sweep");
  EXPECT_EQ(s.method, "grid");
  EXPECT_EQ(s.metric, "eval_loss");
  EXPECT_EQ(s.mode, "min");
  EXPECT_EQ(s.parallel, 1);
  EXPECT_FALSE(s.asha.enabled);
  ASSERT_EQ(s.params.size(), 2u);
  EXPECT_EQ(s.params[1].key, "model.layer.0.out");
  EXPECT_EQ(s.params[1].line, 5);

  SweepSpec a = parse_ok(R"([sweep]
base = "/p.toml"
name = "lr"
method = "random"
seed = 7
[sweep.params]
"optimizer.lr" = { log_uniform = [1e-4, 1e-1] }
[sweep.asha]
metric = "eval_accuracy"
min_steps = 10
max_steps = 90
)");
  EXPECT_EQ(a.trials, 10);   // the random default
  EXPECT_EQ(a.mode, "max");  // follows eval_accuracy
  EXPECT_TRUE(a.asha.enabled);
  EXPECT_EQ(a.asha.reduction_factor, 3);
  EXPECT_EQ(a.params[0].kind, Param::Kind::log_uniform);
  EXPECT_DOUBLE_EQ(a.params[0].lo, 1e-4);
}

TEST(sweep_spec, rejects_an_unknown_key_naming_line_and_key) {
  std::string e = parse_err("[sweep]\nbase = \"p.toml\"\nparalel = 2\n[sweep.params]\n\"a.b\" = [1]\n");
  EXPECT_NE(e.find("/tmp/x/sweep.toml:3:1: sweep.paralel: unknown key (did you mean 'parallel'?)"),
            std::string::npos)
      << e;
  e = parse_err("[sweep]\nbase = \"p.toml\"\n[sweep.params]\n\"a.b\" = [1]\n[sweep.asha]\nmin_step = 1\n");
  EXPECT_NE(e.find(":6:1: sweep.asha.min_step: unknown key (did you mean 'min_steps'?)"), std::string::npos)
      << e;
}

TEST(sweep_spec, rejects_an_empty_grid_and_bad_ranges) {
  std::string e = parse_err("[sweep]\nbase = \"p.toml\"\n[sweep.params]\n\"optimizer.lr\" = []\n");
  EXPECT_NE(e.find(":4:18: sweep.params.\"optimizer.lr\": the list of values is empty"), std::string::npos)
      << e;
  e = parse_err(
      "[sweep]\nbase = \"p.toml\"\nmethod = \"random\"\n[sweep.params]\n\"optimizer.lr\" = { uniform = [0.5, "
      "0.1] }\n");
  EXPECT_NE(e.find(":5:"), std::string::npos) << e;
  EXPECT_NE(e.find("low < high"), std::string::npos) << e;
  e = parse_err(
      "[sweep]\nbase = \"p.toml\"\nmethod = \"random\"\n[sweep.params]\n\"optimizer.lr\" = { log_uniform = "
      "[0, 1] }\n");
  EXPECT_NE(e.find("log_uniform needs low > 0"), std::string::npos) << e;
  e = parse_err(
      "[sweep]\nbase = \"p.toml\"\n[sweep.params]\n\"optimizer.lr\" = { log_uniform = [1e-4, 1] }\n");
  EXPECT_NE(e.find("method = \"grid\" needs a list"), std::string::npos) << e;
  e = parse_err(
      "[sweep]\nbase = \"p.toml\"\nmethod = \"random\"\n[sweep.params]\n\"optimizer.lr\" = { loguniform = "
      "[1, 2] }\n");
  EXPECT_NE(e.find("did you mean 'log_uniform'"), std::string::npos) << e;
  e = parse_err("[sweep]\n[sweep.params]\n\"a.b\" = [1]\n");
  EXPECT_NE(e.find("sweep.base: missing"), std::string::npos) << e;
  e = parse_err(
      "[sweep]\nbase = \"p.toml\"\n[sweep.params]\n\"a.b\" = [1]\n[sweep.asha]\nmin_steps = 10\nmax_steps = "
      "5\n");
  EXPECT_NE(e.find(":7:13:"), std::string::npos) << e;
  EXPECT_NE(e.find("sweep.asha.max_steps"), std::string::npos) << e;
}

TEST(sweep_trials, grid_varies_the_last_parameter_fastest) {
  SweepSpec s = parse_ok(R"([sweep]
base = "p.toml"
[sweep.params]
"optimizer.lr" = [0.1, 0.2]
"model.layer.0.out" = [8, 16, 32]
)");
  auto t = make_trials(s);
  ASSERT_TRUE(t);
  ASSERT_EQ(t->size(), 6u);
  EXPECT_EQ((*t)[0].id, "trial-000");
  EXPECT_EQ(std::get<double>((*t)[0].values[0]), 0.1);
  EXPECT_EQ(std::get<int64_t>((*t)[0].values[1]), 8);
  EXPECT_EQ(std::get<int64_t>((*t)[2].values[1]), 32);
  EXPECT_EQ(std::get<double>((*t)[3].values[0]), 0.2);
  EXPECT_EQ(std::get<int64_t>((*t)[3].values[1]), 8);
  EXPECT_EQ((*t)[5].id, "trial-005");
}

TEST(sweep_trials, random_draws_are_seeded_and_log_uniform_is_uniform_in_the_log) {
  const std::string text = R"([sweep]
base = "p.toml"
method = "random"
trials = 4000
seed = 11
[sweep.params]
"optimizer.lr" = { log_uniform = [1e-4, 1e-1] }
"x.y" = { choice = ["a", "b"] }
"x.z" = { uniform = [2, 4] }
)";
  SweepSpec s = parse_ok(text);
  auto a = make_trials(s);
  auto b = make_trials(s);
  ASSERT_TRUE(a && b);
  ASSERT_EQ(a->size(), 4000u);
  size_t below_geo_mean = 0, below_arith_mean = 0, is_a = 0, below_3 = 0;
  for (size_t i = 0; i < a->size(); ++i) {
    const double lr = std::get<double>((*a)[i].values[0]);
    EXPECT_EQ(lr, std::get<double>((*b)[i].values[0]));
    ASSERT_GE(lr, 1e-4);
    ASSERT_LE(lr, 1e-1);
    below_geo_mean += lr < std::sqrt(1e-4 * 1e-1);  // the median of a log-uniform
    below_arith_mean += lr < (1e-4 + 1e-1) / 2;     // ~ (log 0.05 - log 1e-4)/(log 1e-1 - log 1e-4) = 0.90
    is_a += std::get<std::string>((*a)[i].values[1]) == "a";
    const double z = std::get<double>((*a)[i].values[2]);
    ASSERT_GE(z, 2.0);
    ASSERT_LT(z, 4.0);
    below_3 += z < 3.0;
  }
  EXPECT_NEAR(below_geo_mean / 4000.0, 0.5, 0.03);
  EXPECT_NEAR(below_arith_mean / 4000.0, std::log(0.05005 / 1e-4) / std::log(1e3), 0.03);
  EXPECT_NEAR(is_a / 4000.0, 0.5, 0.03);
  EXPECT_NEAR(below_3 / 4000.0, 0.5, 0.03);
  s.seed = 12;
  auto c = make_trials(s);
  EXPECT_NE(std::get<double>((*a)[0].values[0]), std::get<double>((*c)[0].values[0]));
}

class sweep_base : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() / ("plinth_sweep_test_" + std::to_string(::getpid()));
    fs::create_directories(dir / "data");
    std::ofstream(dir / "pipeline.toml") << kBase;
    std::ofstream(dir / "data" / "x.csv") << "a,b\n";
    auto p = config::load_pipeline(dir / "pipeline.toml");
    ASSERT_TRUE(p) << p.status().message();
    doc = p->document;
  }
  void TearDown() override { fs::remove_all(dir); }
  SweepSpec spec(const std::string& params, const std::string& extra = "") {
    auto s = parse_sweep("[sweep]\nbase = \"pipeline.toml\"\n" + extra + "[sweep.params]\n" + params,
                         dir / "sweep.toml");
    EXPECT_TRUE(s) << s.status().message();
    return s ? *s : SweepSpec{};
  }
  fs::path dir;
  toml::table doc;
};

TEST_F(sweep_base, checks_keys_against_the_base_pipeline) {
  SweepSpec ok =
      spec("\"optimizer.lr\" = [1e-3, 1e-2]\n\"model.layer.0.out\" = [4, 8]\n\"train.max_steps\" = [5]\n");
  EXPECT_TRUE(check_params(ok, doc).ok());
  EXPECT_TRUE(ok.params[1].integer);
  EXPECT_FALSE(ok.params[0].integer);

  SweepSpec past = spec("\"optimizer.lr\" = [1e-3]\n\"model.layer.7.out\" = [4]\n");
  Status e = check_params(past, doc);
  EXPECT_NE(
      e.message().find((dir / "sweep.toml").string() + ":5:1: sweep.params.\"model.layer.7.out\": index 7 "
                                                       "is past the end of 'model.layer' (it has 3"),
      std::string::npos)
      << e.message();

  SweepSpec neg = spec("\"model.layer.0.out\" = [4, -3]\n");
  e = check_params(neg, doc);
  EXPECT_NE(e.message().find(":4:1: sweep.params.\"model.layer.0.out\": -3 is not accepted"),
            std::string::npos)
      << e.message();

  SweepSpec typo = spec("\"trian.max_steps\" = [4]\n");
  e = check_params(typo, doc);
  EXPECT_NE(e.message().find("sweep.params.\"trian.max_steps\""), std::string::npos) << e.message();
  EXPECT_NE(e.message().find("did you mean 'train'"), std::string::npos) << e.message();

  SweepSpec not_index = spec("\"model.layer.out\" = [4]\n");
  e = check_params(not_index, doc);
  EXPECT_NE(e.message().find("'model.layer' is an array: the next part must be an index"), std::string::npos)
      << e.message();
}

TEST_F(sweep_base, trial_pipeline_sets_the_values_and_parses_back) {
  SweepSpec s =
      spec("\"optimizer.lr\" = [0.25]\n\"model.layer.2.out\" = [2]\n\"model.layer.0.out\" = [12.0]\n");
  ASSERT_TRUE(check_params(s, doc).ok());
  // A data path relative to the base pipeline is made absolute.
  doc["data"]["train"].as_table()->insert_or_assign("file", "data/x.csv");
  TrialSettings st{"trial-004", dir / "runs" / "sw", 3, 40};
  auto text = trial_pipeline(s, doc, {0.25, int64_t{2}, 12.0}, st);
  ASSERT_TRUE(text) << text.status().message();
  auto p = config::parse_pipeline(*text, dir / "runs" / "sw" / "trial-004.toml");
  ASSERT_TRUE(p) << p.status().message() << "\n" << *text;
  EXPECT_EQ(p->run.name, "trial-004");
  EXPECT_EQ(p->run.out_dir, dir / "runs" / "sw");
  EXPECT_EQ(p->backend.threads, 3);
  EXPECT_EQ(p->train.max_steps, 40);
  EXPECT_EQ(p->checkpoint.keep_last, 1);
  EXPECT_EQ(p->model.layers[0].integer("out"), 12);  // 12.0 on an integer key
  EXPECT_EQ(p->model.layers[2].integer("out"), 2);
  EXPECT_EQ(p->optimizer.table["lr"].value<double>(), 0.25);
  EXPECT_EQ(p->train_data.table["file"].value<std::string>(), (dir / "data" / "x.csv").string());
}

TEST(asha, rungs_grow_by_eta_and_end_at_max_steps) {
  EXPECT_EQ(rung_steps(10, 90, 3), (std::vector<int64_t>{10, 30, 90}));
  EXPECT_EQ(rung_steps(10, 100, 3), (std::vector<int64_t>{10, 30, 90, 100}));
  EXPECT_EQ(rung_steps(50, 600, 3), (std::vector<int64_t>{50, 150, 450, 600}));
  EXPECT_EQ(rung_steps(7, 7, 3), (std::vector<int64_t>{7}));
  EXPECT_EQ(rung_steps(1, 16, 2), (std::vector<int64_t>{1, 2, 4, 8, 16}));
}

TEST(asha, promotes_the_top_third_of_a_rung_once) {
  Asha a(3, 3, /*maximize=*/true);
  a.record(0, 0, 0.5);
  a.record(1, 0, 0.9);
  EXPECT_FALSE(a.promotable(0));  // floor(2/3) = 0
  a.record(2, 0, 0.7);
  EXPECT_EQ(a.promotable(0), 1);  // floor(3/3) = 1: the best, 0.9
  a.mark_promoted(1, 0);
  EXPECT_FALSE(a.promotable(0));
  a.record(3, 0, 0.95);
  EXPECT_EQ(a.promotable(0), 3);  // floor(4/3) = 1: 0.95 now leads
  a.mark_promoted(3, 0);
  a.record(4, 0, std::nullopt);
  a.record(5, 0, 0.8);
  EXPECT_FALSE(a.promotable(0));  // floor(6/3) = 2: trials 3 and 1, both promoted
  EXPECT_FALSE(a.promotable(2));  // the last rung promotes nowhere
  Asha m(2, 2, /*maximize=*/false);
  m.record(0, 0, 0.3);
  m.record(1, 0, 0.1, /*final=*/true);  // best, but ended on its own
  m.record(2, 0, 0.2);
  m.record(3, 0, std::nullopt);
  EXPECT_EQ(m.promotable(0), 2);  // floor(4/2) = 2: 1 (final) and 2
}

TEST(asha, sequential_jobs_follow_the_hand_worked_order) {
  // eta 3, two rungs, six trials with rung-0 accuracies below (rung 1 is
  // the last). Worked by hand from the rule: promotions first, else a new trial.
  const double v0[] = {0.5, 0.9, 0.7, 0.95, 0.1, 0.2};
  Asha a(2, 3, true);
  std::vector<std::pair<int, int>> jobs;
  int next_new = 0;
  while (auto j = a.next_job(next_new, 6)) {
    jobs.emplace_back(j->trial, j->rung);
    if (j->rung == 0)
      ++next_new;
    else
      a.mark_promoted(j->trial, j->rung - 1);
    a.record(j->trial, j->rung, j->rung == 0 ? v0[j->trial] : 1.0);
    ASSERT_LT(jobs.size(), 20u);
  }
  const std::vector<std::pair<int, int>> expect = {{0, 0}, {1, 0}, {2, 0}, {1, 1},
                                                   {3, 0}, {3, 1}, {4, 0}, {5, 0}};
  EXPECT_EQ(jobs, expect);
}

TEST(asha, promotion_from_a_higher_rung_comes_first) {
  Asha a(3, 2, false);
  a.record(0, 0, 1.0);
  a.record(1, 0, 2.0);
  a.record(0, 1, 0.5);
  a.mark_promoted(0, 0);
  a.record(2, 1, 0.7);  // (as if promoted earlier)
  a.record(3, 0, 0.1);
  a.record(4, 0, 0.2);
  // Rung 1 has 2 done: floor(2/2) = 1, trial 0 (0.5); rung 0 has trial 3 to promote too.
  auto j = a.next_job(5, 9);
  ASSERT_TRUE(j);
  EXPECT_EQ(j->trial, 0);
  EXPECT_EQ(j->rung, 2);
}

}  // namespace
}  // namespace plinth::sweep
