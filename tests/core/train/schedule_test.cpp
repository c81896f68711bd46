// schedule_test.cpp — learning-rate schedules checked against values worked
// out by hand from PyTorch's documented formulas, and against the lr that
// PyTorch's own schedulers produced (schedule_fixtures.txt, written by
// make_schedule_fixtures.py); plus plateau state save/restore.
#include "../../../core/src/train/schedule.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <sstream>
#include <vector>

namespace {

using plinth::config::ScheduleSection;
using plinth::train::Schedule;

Schedule make(const ScheduleSection& cfg, double base, int64_t total) {
  auto r = Schedule::create(cfg, base, total);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return std::move(r).value();
}

ScheduleSection section(std::string type) {
  ScheduleSection s;
  s.type = std::move(type);
  return s;
}

constexpr double kPi = 3.14159265358979323846;

TEST(schedule, constant_is_base_lr_at_every_step) {
  Schedule s = make(section("constant"), 0.1, 0);
  for (int64_t step : {1, 2, 100, 100000}) EXPECT_DOUBLE_EQ(s.lr(step), 0.1);
}

TEST(schedule, warmup_rises_linearly_from_base_over_w_to_base) {
  ScheduleSection c = section("constant");
  c.warmup_steps = 4;
  Schedule s = make(c, 0.1, 0);
  EXPECT_DOUBLE_EQ(s.lr(1), 0.025);
  EXPECT_DOUBLE_EQ(s.lr(2), 0.05);
  EXPECT_DOUBLE_EQ(s.lr(3), 0.075);
  EXPECT_DOUBLE_EQ(s.lr(4), 0.1);
  EXPECT_DOUBLE_EQ(s.lr(5), 0.1);
}

TEST(schedule, step_multiplies_by_gamma_every_step_size_steps) {
  ScheduleSection c = section("step");
  c.step_size = 3;
  c.gamma = 0.5;
  Schedule s = make(c, 0.1, 0);
  // lr = 0.1 * 0.5^floor((s-1)/3)
  const double want[] = {0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.0125};
  for (int i = 0; i < 10; ++i) EXPECT_DOUBLE_EQ(s.lr(i + 1), want[i]) << "step " << i + 1;
}

TEST(schedule, cosine_halfway_is_the_midpoint_and_ends_at_min_lr) {
  ScheduleSection c = section("cosine");
  c.min_lr = 0.001;
  Schedule s = make(c, 0.1, 10);
  EXPECT_DOUBLE_EQ(s.lr(1), 0.1);
  EXPECT_NEAR(s.lr(6), 0.0505, 1e-15);  // t=5 of T=10: cos(pi/2)=0
  // t=2: 0.001 + 0.099 * (1 + cos(pi/5)) / 2, cos(pi/5) = (1+sqrt5)/4
  EXPECT_NEAR(s.lr(3), 0.001 + 0.099 * (1 + (1 + std::sqrt(5.0)) / 4) / 2, 1e-15);
  EXPECT_NEAR(s.lr(11), 0.001, 1e-15);   // t = T
  EXPECT_NEAR(s.lr(500), 0.001, 1e-15);  // stays at the floor past the end
}

TEST(schedule, cosine_after_warmup_starts_from_base) {
  ScheduleSection c = section("cosine");
  c.warmup_steps = 2;
  c.min_lr = 0.001;
  Schedule s = make(c, 0.1, 12);  // T = 10 steps after warmup
  EXPECT_DOUBLE_EQ(s.lr(1), 0.05);
  EXPECT_DOUBLE_EQ(s.lr(2), 0.1);
  EXPECT_DOUBLE_EQ(s.lr(3), 0.1);       // t = 0
  EXPECT_NEAR(s.lr(8), 0.0505, 1e-15);  // t = 5
}

TEST(schedule, linear_decays_to_min_lr) {
  ScheduleSection c = section("linear");
  c.min_lr = 0.01;
  Schedule s = make(c, 0.1, 8);
  EXPECT_DOUBLE_EQ(s.lr(1), 0.1);
  EXPECT_NEAR(s.lr(5), 0.055, 1e-15);  // t=4 of 8: halfway
  EXPECT_NEAR(s.lr(3), 0.1 - 0.09 * 2 / 8, 1e-15);
  EXPECT_NEAR(s.lr(9), 0.01, 1e-15);
  EXPECT_NEAR(s.lr(50), 0.01, 1e-15);
}

TEST(schedule, one_cycle_matches_hand_computed_phases) {
  ScheduleSection c = section("one_cycle");
  c.max_lr = 0.01;
  c.pct_start = 0.3;
  Schedule s = make(c, 0.001, 20);
  // initial = 0.01/25 = 4e-4, final = 4e-4/1e4 = 4e-8, phase 1 ends at t = 0.3*20-1 = 5
  EXPECT_NEAR(s.lr(1), 4e-4, 1e-15);
  EXPECT_NEAR(s.lr(6), 0.01, 1e-15);
  EXPECT_NEAR(s.lr(20), 4e-8, 1e-17);
  // t=12: pct = (12-5)/(19-5) = 0.5 -> the midpoint of max and final
  EXPECT_NEAR(s.lr(13), (0.01 + 4e-8) / 2, 1e-16);
  // t=2 in phase 1: pct = 2/5; 0.01 + (4e-4 - 0.01)/2 * (cos(0.4 pi) + 1)
  EXPECT_NEAR(s.lr(3), 0.01 + (4e-4 - 0.01) / 2 * (std::cos(0.4 * kPi) + 1), 1e-16);
}

TEST(schedule, one_cycle_max_lr_defaults_to_base_lr) {
  Schedule s = make(section("one_cycle"), 0.02, 10);
  EXPECT_NEAR(s.lr(1), 0.02 / 25, 1e-15);
}

TEST(schedule, plateau_reduces_after_patience_bad_evaluations) {
  ScheduleSection c = section("plateau");
  c.gamma = 0.5;
  c.patience = 2;
  c.threshold = 0.0;
  c.min_lr = 0.03;
  Schedule s = make(c, 0.1, 0);
  s.observe(1.0);  // best = 1
  s.observe(1.0);  // bad 1
  s.observe(1.0);  // bad 2: tolerated (patience 2)
  EXPECT_DOUBLE_EQ(s.lr(4), 0.1);
  s.observe(1.0);  // bad 3 > patience: 0.05
  EXPECT_DOUBLE_EQ(s.lr(5), 0.05);
  s.observe(0.5);  // improvement resets
  s.observe(0.5);
  s.observe(0.5);
  EXPECT_DOUBLE_EQ(s.lr(8), 0.05);
  s.observe(0.5);  // 0.025 is floored at min_lr
  EXPECT_DOUBLE_EQ(s.lr(9), 0.03);
  for (int i = 0; i < 10; ++i) s.observe(0.5);
  EXPECT_DOUBLE_EQ(s.lr(20), 0.03);
}

TEST(schedule, plateau_threshold_is_relative) {
  ScheduleSection c = section("plateau");
  c.patience = 0;
  c.threshold = 0.1;
  c.gamma = 0.5;
  Schedule s = make(c, 1.0, 0);
  s.observe(1.0);
  s.observe(0.95);  // not < 1.0 * 0.9: counts as bad, patience 0 -> reduce
  EXPECT_DOUBLE_EQ(s.lr(3), 0.5);
  s.observe(0.85);  // < 0.9: better
  EXPECT_DOUBLE_EQ(s.lr(4), 0.5);
}

TEST(schedule, plateau_state_survives_save_and_load) {
  ScheduleSection c = section("plateau");
  c.gamma = 0.5;
  c.patience = 1;
  Schedule a = make(c, 0.1, 0);
  for (double m : {1.0, 0.9, 0.95, 0.95, 0.97}) a.observe(m);
  const std::string saved = a.save();
  Schedule b = make(c, 0.1, 0);
  ASSERT_TRUE(b.load(saved).ok()) << saved;
  EXPECT_EQ(a.state(), b.state());
  EXPECT_EQ(b.lr(7), a.lr(7));
  for (double m : {0.96, 0.96, 0.8}) {
    a.observe(m);
    b.observe(m);
    EXPECT_EQ(a.lr(10), b.lr(10));
  }
  EXPECT_EQ(a.save(), b.save());
}

TEST(schedule, fresh_state_round_trips_infinite_best) {
  Schedule a = make(section("plateau"), 0.1, 0);
  Schedule b = make(section("plateau"), 0.2, 0);
  ASSERT_TRUE(b.load(a.save()).ok()) << a.save();
  EXPECT_TRUE(std::isinf(b.state().best));
  EXPECT_DOUBLE_EQ(b.lr(1), 0.1);
}

TEST(schedule, load_rejects_other_type_and_garbage) {
  Schedule a = make(section("plateau"), 0.1, 0);
  Schedule c = make(section("cosine"), 0.1, 10);
  EXPECT_FALSE(c.load(a.save()).ok());
  EXPECT_NE(c.load(a.save()).message().find("'plateau'"), std::string::npos);
  EXPECT_FALSE(a.load("type=plateau;lr=x;best=1;bad=0;observed=0").ok());
  EXPECT_FALSE(a.load("type=plateau;lr=0.1").ok());
  EXPECT_FALSE(a.load("nonsense").ok());
}

TEST(schedule, make_rejects_impossible_settings) {
  EXPECT_FALSE(Schedule::create(section("constant"), 0.0, 10).ok());
  ScheduleSection cos = section("cosine");
  cos.warmup_steps = 10;
  auto r = Schedule::create(cos, 0.1, 10);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("warmup_steps"), std::string::npos);
  cos.warmup_steps = 0;
  cos.min_lr = 0.5;
  EXPECT_FALSE(Schedule::create(cos, 0.1, 10).ok());
  EXPECT_FALSE(Schedule::create(section("step"), 0.1, 10).ok());  // step_size 0
  EXPECT_FALSE(Schedule::create(section("one_cycle"), 0.1, 1).ok());
  EXPECT_FALSE(Schedule::create(section("exponential"), 0.1, 10).ok());
}

// --- against PyTorch's schedulers ----------------------------------------------

std::map<std::string, std::vector<double>> load_fixtures() {
  std::map<std::string, std::vector<double>> out;
  std::ifstream in(PLINTH_SOURCE_DIR "/tests/core/train/schedule_fixtures.txt");
  EXPECT_TRUE(in.good()) << "schedule_fixtures.txt missing";
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ss(line);
    std::string name;
    int64_t step = 0;
    double lr = 0;
    ss >> name >> step >> lr;
    auto& v = out[name];
    EXPECT_EQ(static_cast<int64_t>(v.size()) + 1, step) << line;
    v.push_back(lr);
  }
  return out;
}

void expect_matches(const Schedule& s, const std::vector<double>& want, const char* name) {
  ASSERT_FALSE(want.empty()) << name;
  for (std::size_t i = 0; i < want.size(); ++i)
    EXPECT_NEAR(s.lr(static_cast<int64_t>(i) + 1), want[i], 1e-12 * want[i] + 1e-17)
        << name << " step " << i + 1;
}

TEST(schedule, matches_torch_steplr) {
  auto f = load_fixtures();
  ScheduleSection c = section("step");
  c.step_size = 3;
  c.gamma = 0.5;
  expect_matches(make(c, 0.1, 10), f["step"], "step");
}

TEST(schedule, matches_torch_cosine_annealing) {
  auto f = load_fixtures();
  ScheduleSection c = section("cosine");
  c.min_lr = 0.001;
  expect_matches(make(c, 0.1, 10), f["cosine"], "cosine");
}

TEST(schedule, matches_torch_linearlr_decay) {
  auto f = load_fixtures();
  ScheduleSection c = section("linear");
  c.min_lr = 0.01;
  expect_matches(make(c, 0.1, 8), f["linear"], "linear");
}

TEST(schedule, matches_torch_one_cycle) {
  auto f = load_fixtures();
  ScheduleSection c = section("one_cycle");
  c.max_lr = 0.01;
  c.pct_start = 0.3;
  expect_matches(make(c, 0.01, 20), f["one_cycle"], "one_cycle");
  ScheduleSection d = section("one_cycle");
  d.pct_start = 0.25;
  expect_matches(make(d, 0.05, 7), f["one_cycle_odd"], "one_cycle_odd");
}

TEST(schedule, matches_torch_reduce_on_plateau) {
  auto f = load_fixtures();
  ScheduleSection c = section("plateau");
  c.gamma = 0.5;
  c.patience = 2;
  c.threshold = 1e-3;
  c.min_lr = 0.02;
  Schedule s = make(c, 0.1, 0);
  const double metrics[] = {1.0,    0.9,    0.9, 0.9, 0.9, 0.85, 0.8499, 0.8499,
                            0.8499, 0.8499, 0.8, 0.8, 0.8, 0.8,  0.8};
  const auto& want = f["plateau"];
  ASSERT_EQ(want.size(), std::size(metrics) + 1);
  for (std::size_t i = 0; i < want.size(); ++i) {
    EXPECT_NEAR(s.lr(static_cast<int64_t>(i) + 1), want[i], 1e-15) << "step " << i + 1;
    if (i < std::size(metrics)) s.observe(metrics[i]);
  }
}

}  // namespace
