// adamw_test.cpp — the `adamw` optimizer against PyTorch's documented AdamW
// algorithm written here in double (decoupled decay, bias correction), over
// several steps with a scheduled lr, on the unfused path (generic ops) and on
// the fused path (PLINTH_OP_ADAMW_STEP, checked launch by launch).
#include "optim_util.hpp"

using namespace plinth::test;

namespace {

struct adamw_cfg {
  double lr = 1e-3, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0.01;
};

// torch.optim.AdamW docs, amsgrad = False, maximize = False.
struct adamw_ref {
  std::vector<double> p, m, v;
  void step(const adamw_cfg& c, double lr, int64_t t, bool decay) {
    for (size_t i = 0; i < p.size(); ++i) {
      double g = test_grad(i, t, p[i]);
      if (decay) p[i] -= lr * c.wd * p[i];
      m[i] = c.b1 * m[i] + (1 - c.b1) * g;
      v[i] = c.b2 * v[i] + (1 - c.b2) * g * g;
      double mhat = m[i] / (1 - std::pow(c.b1, double(t)));
      double vhat = v[i] / (1 - std::pow(c.b2, double(t)));
      p[i] -= lr * mhat / (std::sqrt(vhat) + c.eps);
    }
  }
};

std::string toml_of(const adamw_cfg& c) {
  char buf[256];
  std::snprintf(buf, sizeof buf, "lr = %.17g\nbetas = [%.17g, %.17g]\neps = %.17g\nweight_decay = %.17g\n",
                c.lr, c.b1, c.b2, c.eps, c.wd);
  return buf;
}

// Runs `steps` steps through the plugin and the reference side by side.
void run_against_reference(const adamw_cfg& c, bool fused, bool decay, int steps) {
  fake_host h;
  auto* t = optimizer_table("adamw");
  plinth_optimizer* opt = nullptr;
  ASSERT_EQ(t->create(h.host(), h.config(toml_of(c)), &opt), PLINTH_OK) << h.last_error();
  EXPECT_DOUBLE_EQ(t->base_lr(opt), c.lr);
  const size_t n = 37;
  param_set ps(n, t->num_state_slots(opt), t->num_scratch_slots(opt), decay);
  adamw_ref ref{std::vector<double>(n), std::vector<double>(n, 0.0), std::vector<double>(n, 0.0)};
  for (size_t i = 0; i < n; ++i) ps.p[i] = static_cast<float>(ref.p[i] = test_init(i));
  host_ops ops;
  ops.fused = fused;
  for (int64_t s = 1; s <= steps; ++s) {
    const double lr = test_lr(c.lr, s);
    for (size_t i = 0; i < n; ++i) ps.g[i] = static_cast<float>(test_grad(i, s, ps.p[i]));
    plinth_optim_step_info info{PLINTH_OPTIM_STEP_INFO_STRUCT_SIZE, lr, s};
    ASSERT_EQ(t->step(opt, &ops.table, &ps.desc, &info), PLINTH_OK) << h.last_error();
    ref.step(c, lr, s, decay);
    for (size_t i = 0; i < n; ++i) {
      ASSERT_NEAR(ps.p[i], ref.p[i], 2e-5 + 2e-5 * std::fabs(ref.p[i])) << "step " << s << " elem " << i;
      ASSERT_NEAR(ps.state[0][i], ref.m[i], 1e-5 + 1e-4 * std::fabs(ref.m[i])) << "exp_avg step " << s;
      ASSERT_NEAR(ps.state[1][i], ref.v[i], 1e-7 + 1e-4 * std::fabs(ref.v[i])) << "exp_avg_sq step " << s;
    }
  }
  for (auto& r : ops.log) EXPECT_EQ(r.kind == PLINTH_OP_ADAMW_STEP, fused) << "op kind " << r.kind;
  t->destroy(opt);
}

}  // namespace

TEST(adamw, unfused_matches_reference_with_defaults) { run_against_reference({}, false, true, 12); }

TEST(adamw, unfused_matches_reference_with_strong_decay_and_custom_betas) {
  adamw_cfg c{.lr = 0.05, .b1 = 0.8, .b2 = 0.95, .eps = 1e-3, .wd = 0.5};
  run_against_reference(c, false, true, 15);
}

TEST(adamw, parameter_excluded_from_decay_gets_none) {
  adamw_cfg c{.lr = 0.05, .b1 = 0.9, .b2 = 0.99, .eps = 1e-6, .wd = 0.5};
  run_against_reference(c, false, false, 10);
  run_against_reference(c, true, false, 10);
}

TEST(adamw, fused_path_matches_reference) {
  adamw_cfg c{.lr = 0.02, .b1 = 0.85, .b2 = 0.98, .eps = 1e-6, .wd = 0.1};
  run_against_reference(c, true, true, 12);
}

TEST(adamw, launches_exactly_the_fused_op_with_its_params) {
  fake_host h;
  auto* t = optimizer_table("adamw");
  plinth_optimizer* opt = nullptr;
  ASSERT_EQ(
      t->create(h.host(), h.config("lr = 0.5\nbetas = [0.7, 0.8]\neps = 0.01\nweight_decay = 0.25\n"), &opt),
      PLINTH_OK);
  param_set ps(5, 2, 2, true);
  host_ops ops;
  ops.fused = true;
  plinth_optim_step_info info{PLINTH_OPTIM_STEP_INFO_STRUCT_SIZE, 0.125, 3};
  ASSERT_EQ(t->step(opt, &ops.table, &ps.desc, &info), PLINTH_OK);
  ASSERT_EQ(ops.log.size(), 1u);
  const launch_record& r = ops.log[0];
  EXPECT_EQ(r.kind, PLINTH_OP_ADAMW_STEP);
  ASSERT_GE(r.params.size(), PLINTH_ADAMW_PARAMS_STRUCT_SIZE);
  plinth_adamw_params q;
  std::memcpy(&q, r.params.data(), sizeof q);
  EXPECT_FLOAT_EQ(q.lr, 0.125f);  // the scheduled lr, not the config's
  EXPECT_FLOAT_EQ(q.beta1, 0.7f);
  EXPECT_FLOAT_EQ(q.beta2, 0.8f);
  EXPECT_FLOAT_EQ(q.eps, 0.01f);
  EXPECT_FLOAT_EQ(q.weight_decay, 0.25f);
  EXPECT_EQ(q.step, 3);
  ASSERT_EQ(r.in.size(), 4u);
  ASSERT_EQ(r.out.size(), 3u);
  EXPECT_EQ(r.in[0].buffer, ps.desc.param.buffer);
  EXPECT_EQ(r.in[1].buffer, ps.desc.grad.buffer);
  EXPECT_EQ(r.in[2].buffer, ps.state_t[0].buffer);
  EXPECT_EQ(r.in[3].buffer, ps.state_t[1].buffer);
  EXPECT_EQ(r.out[0].buffer, ps.desc.param.buffer);
  EXPECT_EQ(r.out[1].buffer, ps.state_t[0].buffer);
  EXPECT_EQ(r.out[2].buffer, ps.state_t[1].buffer);
  // Excluded from decay: the fused op gets weight_decay 0.
  ps.desc.apply_weight_decay = 0;
  ASSERT_EQ(t->step(opt, &ops.table, &ps.desc, &info), PLINTH_OK);
  std::memcpy(&q, ops.log.back().params.data(), sizeof q);
  EXPECT_EQ(q.weight_decay, 0.0f);
  t->destroy(opt);
}

TEST(adamw, asks_for_the_fused_op_and_falls_back_to_generic_ops) {
  fake_host h;
  auto* t = optimizer_table("adamw");
  plinth_optimizer* opt = nullptr;
  ASSERT_EQ(t->create(h.host(), h.config(""), &opt), PLINTH_OK);
  param_set ps(4, 2, 2, true);
  host_ops ops;
  plinth_optim_step_info info{PLINTH_OPTIM_STEP_INFO_STRUCT_SIZE, 1e-3, 1};
  ASSERT_EQ(t->step(opt, &ops.table, &ps.desc, &info), PLINTH_OK);
  ASSERT_FALSE(ops.asked.empty());
  EXPECT_EQ(ops.asked[0], PLINTH_OP_ADAMW_STEP);
  EXPECT_GT(ops.log.size(), 1u);
  for (auto& r : ops.log) EXPECT_NE(r.kind, PLINTH_OP_ADAMW_STEP);
  t->destroy(opt);
}

TEST(adamw, declares_state_and_scratch_slots) {
  fake_host h;
  auto* t = optimizer_table("adamw");
  plinth_optimizer* opt = nullptr;
  ASSERT_EQ(t->create(h.host(), nullptr, &opt), PLINTH_OK);
  EXPECT_DOUBLE_EQ(t->base_lr(opt), 1e-3);
  ASSERT_EQ(t->num_state_slots(opt), 2);
  EXPECT_STREQ(t->state_slot_name(opt, 0), "exp_avg");
  EXPECT_STREQ(t->state_slot_name(opt, 1), "exp_avg_sq");
  EXPECT_EQ(t->num_scratch_slots(opt), 2);
  t->destroy(opt);
}

TEST(adamw, rejects_invalid_hyperparameters_naming_the_key) {
  fake_host h;
  auto* t = optimizer_table("adamw");
  for (auto [cfg, key] :
       {std::pair{"lr = 0.0", "'lr'"}, std::pair{"lr = -1e-3", "'lr'"}, std::pair{"eps = 0.0", "'eps'"},
        std::pair{"betas = [1.0, 0.9]", "'betas'[0]"}, std::pair{"betas = [0.9, -0.1]", "'betas'[1]"},
        std::pair{"betas = [0.9]", "'betas'"}, std::pair{"weight_decay = -0.1", "'weight_decay'"}}) {
    plinth_optimizer* opt = nullptr;
    EXPECT_EQ(t->create(h.host(), h.config(cfg), &opt), PLINTH_ERR_INVALID_ARGUMENT) << cfg;
    EXPECT_EQ(opt, nullptr);
    EXPECT_NE(h.last_error().find(key), std::string::npos) << cfg << ": " << h.last_error();
  }
}
