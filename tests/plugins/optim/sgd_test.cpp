// sgd_test.cpp — the `sgd` optimizer against PyTorch's documented SGD
// algorithm written here in double (L2 decay into the gradient, momentum
// buffer = gradient on step 1, dampening, Nesterov), on the unfused path and
// the fused path (PLINTH_OP_SGD_STEP, checked launch by launch).
#include "optim_util.hpp"

using namespace plinth::test;

namespace {

struct sgd_cfg {
  double lr = 0.01, momentum = 0, dampening = 0, wd = 0;
  bool nesterov = false;
};

// torch.optim.SGD docs, maximize = False.
struct sgd_ref {
  std::vector<double> p, b;
  void step(const sgd_cfg& c, double lr, int64_t t, bool decay) {
    for (size_t i = 0; i < p.size(); ++i) {
      double g = test_grad(i, t, p[i]);
      if (decay && c.wd != 0) g += c.wd * p[i];
      if (c.momentum != 0) {
        b[i] = t > 1 ? c.momentum * b[i] + (1 - c.dampening) * g : g;
        g = c.nesterov ? g + c.momentum * b[i] : b[i];
      }
      p[i] -= lr * g;
    }
  }
};

std::string toml_of(const sgd_cfg& c) {
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "lr = %.17g\nmomentum = %.17g\ndampening = %.17g\nweight_decay = %.17g\nnesterov = %s\n",
                c.lr, c.momentum, c.dampening, c.wd, c.nesterov ? "true" : "false");
  return buf;
}

void run_against_reference(const sgd_cfg& c, bool fused, bool decay, int steps) {
  fake_host h;
  auto* t = optimizer_table("sgd");
  plinth_optimizer* opt = nullptr;
  ASSERT_EQ(t->create(h.host(), h.config(toml_of(c)), &opt), PLINTH_OK) << h.last_error();
  const size_t n = 29;
  param_set ps(n, t->num_state_slots(opt), t->num_scratch_slots(opt), decay);
  sgd_ref ref{std::vector<double>(n), std::vector<double>(n, 0.0)};
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
      ASSERT_NEAR(ps.p[i], ref.p[i], 1e-5 + 1e-5 * std::fabs(ref.p[i])) << "step " << s << " elem " << i;
      if (c.momentum != 0) {
        ASSERT_NEAR(ps.state[0][i], ref.b[i], 1e-5 + 1e-5 * std::fabs(ref.b[i])) << "buffer step " << s;
      }
    }
  }
  for (auto& r : ops.log) EXPECT_EQ(r.kind == PLINTH_OP_SGD_STEP, fused) << "op kind " << r.kind;
  t->destroy(opt);
}

}  // namespace

TEST(sgd, plain_matches_reference) {
  run_against_reference({.lr = 0.1}, false, true, 10);
  run_against_reference({.lr = 0.1}, true, true, 10);
}

TEST(sgd, weight_decay_is_added_to_the_gradient) {
  run_against_reference({.lr = 0.1, .wd = 0.3}, false, true, 10);
  run_against_reference({.lr = 0.1, .wd = 0.3}, false, false, 10);  // excluded parameter
}

TEST(sgd, momentum_with_dampening_matches_reference) {
  sgd_cfg c{.lr = 0.05, .momentum = 0.9, .dampening = 0.3, .wd = 0.01};
  run_against_reference(c, false, true, 12);
  run_against_reference(c, true, true, 12);
}

TEST(sgd, nesterov_matches_reference) {
  sgd_cfg c{.lr = 0.05, .momentum = 0.8, .dampening = 0, .wd = 0.02, .nesterov = true};
  run_against_reference(c, false, true, 12);
  run_against_reference(c, true, true, 12);
}

TEST(sgd, launches_exactly_the_fused_op_with_its_params) {
  fake_host h;
  auto* t = optimizer_table("sgd");
  plinth_optimizer* opt = nullptr;
  ASSERT_EQ(t->create(h.host(), h.config("lr = 0.3\nmomentum = 0.9\nnesterov = true\nweight_decay = 0.125\n"),
                      &opt),
            PLINTH_OK);
  ASSERT_EQ(t->num_state_slots(opt), 1);
  EXPECT_STREQ(t->state_slot_name(opt, 0), "momentum_buffer");
  param_set ps(6, 1, t->num_scratch_slots(opt), true);
  host_ops ops;
  ops.fused = true;
  plinth_optim_step_info info{PLINTH_OPTIM_STEP_INFO_STRUCT_SIZE, 0.0625, 4};
  ASSERT_EQ(t->step(opt, &ops.table, &ps.desc, &info), PLINTH_OK);
  ASSERT_EQ(ops.log.size(), 1u);
  const launch_record& r = ops.log[0];
  EXPECT_EQ(r.kind, PLINTH_OP_SGD_STEP);
  plinth_sgd_params q;
  ASSERT_GE(r.params.size(), sizeof q);
  std::memcpy(&q, r.params.data(), sizeof q);
  EXPECT_FLOAT_EQ(q.lr, 0.0625f);
  EXPECT_FLOAT_EQ(q.momentum, 0.9f);
  EXPECT_FLOAT_EQ(q.dampening, 0.0f);
  EXPECT_FLOAT_EQ(q.weight_decay, 0.125f);
  EXPECT_EQ(q.nesterov, 1);
  EXPECT_EQ(q.step, 4);
  ASSERT_EQ(r.in.size(), 2u);
  ASSERT_EQ(r.out.size(), 2u);
  EXPECT_EQ(r.in[0].buffer, ps.desc.param.buffer);
  EXPECT_EQ(r.in[1].buffer, ps.desc.grad.buffer);
  EXPECT_EQ(r.out[0].buffer, ps.desc.param.buffer);
  EXPECT_EQ(r.out[1].buffer, ps.state_t[0].buffer);
  t->destroy(opt);
}

TEST(sgd, slots_follow_config) {
  fake_host h;
  auto* t = optimizer_table("sgd");
  plinth_optimizer* opt = nullptr;
  ASSERT_EQ(t->create(h.host(), nullptr, &opt), PLINTH_OK);
  EXPECT_DOUBLE_EQ(t->base_lr(opt), 0.01);
  EXPECT_EQ(t->num_state_slots(opt), 0);
  EXPECT_EQ(t->num_scratch_slots(opt), 0);
  t->destroy(opt);
}

TEST(sgd, rejects_invalid_hyperparameters_naming_the_key) {
  fake_host h;
  auto* t = optimizer_table("sgd");
  for (auto [cfg, key] :
       {std::pair{"lr = 0.0", "'lr'"}, std::pair{"momentum = -0.5", "'momentum'"},
        std::pair{"nesterov = true", "'nesterov'"},
        std::pair{"nesterov = true\nmomentum = 0.9\ndampening = 0.1", "'dampening'"},
        std::pair{"weight_decay = -1.0", "'weight_decay'"}, std::pair{"lr = \"fast\"", "lr"}}) {
    plinth_optimizer* opt = nullptr;
    EXPECT_NE(t->create(h.host(), h.config(cfg), &opt), PLINTH_OK) << cfg;
    EXPECT_EQ(opt, nullptr);
    EXPECT_NE(h.last_error().find(key), std::string::npos) << cfg << ": " << h.last_error();
  }
}

TEST(sgd, rejects_bad_step_arguments) {
  fake_host h;
  auto* t = optimizer_table("sgd");
  plinth_optimizer* opt = nullptr;
  ASSERT_EQ(t->create(h.host(), h.config("momentum = 0.9"), &opt), PLINTH_OK);
  param_set ps(3, 1, 0, true);
  host_ops ops;
  plinth_optim_step_info info{PLINTH_OPTIM_STEP_INFO_STRUCT_SIZE, 0.1, 0};
  EXPECT_EQ(t->step(opt, &ops.table, &ps.desc, &info), PLINTH_ERR_INVALID_ARGUMENT);
  EXPECT_NE(h.last_error().find("step count"), std::string::npos) << h.last_error();
  info.step = 1;
  ps.desc.state = nullptr;
  EXPECT_EQ(t->step(opt, &ops.table, &ps.desc, &info), PLINTH_ERR_INVALID_ARGUMENT);
  EXPECT_NE(h.last_error().find("'w'"), std::string::npos) << h.last_error();
  t->destroy(opt);
}
