// lion_test.cpp — the `lion` optimizer against Lion run in PyTorch
// (tests/fixtures/torch/lion.safetensors, written by make_lion_fixture.py:
// float32 tensors, a scheduled lr, weight decay on one parameter and off on
// another), step by step, on the composed path (AXPBYs, one with SIGN) and
// on the fused path (PLINTH_OP_LION_STEP, checked launch by launch); then
// its config and malformed-step errors.
#include <filesystem>
#include <map>

#include "optim_util.hpp"
#include "train/safetensors.hpp"

using namespace plinth::test;

namespace {

const std::map<std::string, plinth::NamedTensor>& fixture() {
  static const std::map<std::string, plinth::NamedTensor> fx = [] {
    std::map<std::string, plinth::NamedTensor> m;
    auto r = plinth::read_safetensors(std::filesystem::path(PLINTH_SOURCE_DIR) /
                                      "tests/fixtures/torch/lion.safetensors");
    EXPECT_TRUE(r.ok()) << r.status().message();
    if (r.ok())
      for (auto& t : *r) m.emplace(t.name, t);
    return m;
  }();
  return fx;
}

std::vector<float> floats(const std::string& name) {
  auto it = fixture().find(name);
  EXPECT_NE(it, fixture().end()) << "fixture has no " << name;
  if (it == fixture().end()) return {};
  const auto& b = it->second.data;
  std::vector<float> v(b.size() / 4);
  std::memcpy(v.data(), b.data(), v.size() * 4);
  return v;
}

// One fixture case through the plugin: the decayed parameter and the one
// excluded from decay, every step checked against PyTorch's float32 values.
void run_case(const std::string& name, bool fused) {
  const auto hyper = floats(name + ".hyper"), lrs = floats(name + ".lr"), p0 = floats(name + ".p0"),
             grads = floats(name + ".grads");
  ASSERT_EQ(hyper.size(), 3u);
  ASSERT_FALSE(lrs.empty());
  const size_t n = p0.size();
  ASSERT_EQ(grads.size(), n * lrs.size());
  fake_host h;
  auto* t = optimizer_table("lion");
  ASSERT_NE(t, nullptr);
  char cfg[256];
  std::snprintf(cfg, sizeof cfg, "lr = %.17g\nbetas = [%.17g, %.17g]\nweight_decay = %.17g\n", double(lrs[0]),
                double(hyper[0]), double(hyper[1]), double(hyper[2]));
  plinth_optimizer* opt = nullptr;
  ASSERT_EQ(t->create(h.host(), h.config(cfg), &opt), PLINTH_OK) << h.last_error();
  ASSERT_EQ(t->num_state_slots(opt), 1);
  EXPECT_STREQ(t->state_slot_name(opt, 0), "exp_avg");
  param_set decayed(n, 1, t->num_scratch_slots(opt), true), plain(n, 1, t->num_scratch_slots(opt), false);
  decayed.p = plain.p = p0;
  host_ops ops;
  ops.fused = fused;
  for (size_t s = 1; s <= lrs.size(); ++s) {
    for (param_set* ps : {&decayed, &plain}) {
      std::memcpy(ps->g.data(), grads.data() + (s - 1) * n, n * 4);
      plinth_optim_step_info info{PLINTH_OPTIM_STEP_INFO_STRUCT_SIZE, double(lrs[s - 1]), int64_t(s)};
      ASSERT_EQ(t->step(opt, &ops.table, &ps->desc, &info), PLINTH_OK) << h.last_error();
    }
    const auto want_p = floats(name + ".param." + std::to_string(s));
    const auto want_m = floats(name + ".exp_avg." + std::to_string(s));
    const auto want_nd = floats(name + ".nodecay." + std::to_string(s));
    for (size_t i = 0; i < n; ++i) {
      ASSERT_NEAR(decayed.p[i], want_p[i], 1e-6 + 1e-6 * std::fabs(want_p[i]))
          << name << " step " << s << " elem " << i;
      ASSERT_NEAR(decayed.state[0][i], want_m[i], 1e-6 + 1e-6 * std::fabs(want_m[i]))
          << name << " exp_avg step " << s << " elem " << i;
      ASSERT_NEAR(plain.p[i], want_nd[i], 1e-6 + 1e-6 * std::fabs(want_nd[i]))
          << name << " (no decay) step " << s << " elem " << i;
    }
  }
  for (auto& r : ops.log) EXPECT_EQ(r.kind == PLINTH_OP_LION_STEP, fused) << "op kind " << r.kind;
  t->destroy(opt);
}

}  // namespace

TEST(lion, composed_path_matches_pytorch_fixture) {
  for (const char* c : {"paper", "betas", "no_decay"}) run_case(c, false);
}

TEST(lion, fused_path_matches_pytorch_fixture) {
  for (const char* c : {"paper", "betas", "no_decay"}) run_case(c, true);
}

TEST(lion, composed_path_is_three_axpbys_the_first_with_sign) {
  fake_host h;
  auto* t = optimizer_table("lion");
  plinth_optimizer* opt = nullptr;
  ASSERT_EQ(t->create(h.host(), h.config(""), &opt), PLINTH_OK);
  EXPECT_DOUBLE_EQ(t->base_lr(opt), 1e-4);  // the paper's default
  param_set ps(6, 1, t->num_scratch_slots(opt), true);
  host_ops ops;
  plinth_optim_step_info info{PLINTH_OPTIM_STEP_INFO_STRUCT_SIZE, 1e-4, 1};
  ASSERT_EQ(t->step(opt, &ops.table, &ps.desc, &info), PLINTH_OK) << h.last_error();
  ASSERT_FALSE(ops.asked.empty());
  EXPECT_EQ(ops.asked[0], PLINTH_OP_LION_STEP);
  ASSERT_EQ(ops.log.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(ops.log[i].kind, PLINTH_OP_AXPBY);
    plinth_axpby_params a{};
    ASSERT_EQ(ops.log[i].params.size(), size_t(PLINTH_AXPBY_PARAMS_STRUCT_SIZE));
    std::memcpy(&a, ops.log[i].params.data(), ops.log[i].params.size());
    EXPECT_EQ(a.fn, i == 0 ? PLINTH_UNARY_SIGN : PLINTH_UNARY_IDENTITY) << i;
  }
  t->destroy(opt);
}

TEST(lion, launches_the_fused_op_with_the_scheduled_lr_and_no_decay_when_excluded) {
  fake_host h;
  auto* t = optimizer_table("lion");
  plinth_optimizer* opt = nullptr;
  ASSERT_EQ(t->create(h.host(), h.config("lr = 0.5\nbetas = [0.7, 0.8]\nweight_decay = 0.25\n"), &opt),
            PLINTH_OK);
  param_set ps(5, 1, 1, true);
  host_ops ops;
  ops.fused = true;
  plinth_optim_step_info info{PLINTH_OPTIM_STEP_INFO_STRUCT_SIZE, 0.125, 3};
  ASSERT_EQ(t->step(opt, &ops.table, &ps.desc, &info), PLINTH_OK);
  ASSERT_EQ(ops.log.size(), 1u);
  plinth_lion_params q;
  ASSERT_GE(ops.log[0].params.size(), PLINTH_LION_PARAMS_STRUCT_SIZE);
  std::memcpy(&q, ops.log[0].params.data(), sizeof q);
  EXPECT_FLOAT_EQ(q.lr, 0.125f);
  EXPECT_FLOAT_EQ(q.beta1, 0.7f);
  EXPECT_FLOAT_EQ(q.beta2, 0.8f);
  EXPECT_FLOAT_EQ(q.weight_decay, 0.25f);
  ASSERT_EQ(ops.log[0].in.size(), 3u);
  ASSERT_EQ(ops.log[0].out.size(), 2u);
  EXPECT_EQ(ops.log[0].out[1].buffer, ps.state_t[0].buffer);
  ps.desc.apply_weight_decay = 0;
  ASSERT_EQ(t->step(opt, &ops.table, &ps.desc, &info), PLINTH_OK);
  std::memcpy(&q, ops.log.back().params.data(), sizeof q);
  EXPECT_EQ(q.weight_decay, 0.0f);
  t->destroy(opt);
}

TEST(lion, rejects_bad_config_naming_the_key) {
  fake_host h;
  auto* t = optimizer_table("lion");
  struct bad {
    const char* toml;
    const char* says;
  } cases[] = {{"lr = 0\n", "'lr'"},
               {"lr = -1e-4\n", "'lr'"},
               {"weight_decay = -1\n", "'weight_decay'"},
               {"betas = [0.9]\n", "'betas'"},
               {"betas = [0.9, 1.0]\n", "'betas'[1]"},
               {"betas = [-0.1, 0.99]\n", "'betas'[0]"}};
  for (const auto& c : cases) {
    plinth_optimizer* opt = nullptr;
    EXPECT_NE(t->create(h.host(), h.config(c.toml), &opt), PLINTH_OK) << c.toml;
    EXPECT_EQ(opt, nullptr);
    EXPECT_NE(h.last_error().find(c.says), std::string::npos) << c.toml << ": " << h.last_error();
    EXPECT_NE(h.last_error().find("lion"), std::string::npos) << h.last_error();
  }
}

TEST(lion, malformed_steps_return_errors_and_change_nothing) {
  fake_host h;
  auto* t = optimizer_table("lion");
  plinth_optimizer* opt = nullptr;
  ASSERT_EQ(t->create(h.host(), h.config("lr = 0.1\n"), &opt), PLINTH_OK);
  param_set ps(4, 1, 1, true);
  for (size_t i = 0; i < 4; ++i) ps.p[i] = float(i), ps.g[i] = 1.0f;
  const auto before = ps.p;
  host_ops ops;
  plinth_optim_step_info info{PLINTH_OPTIM_STEP_INFO_STRUCT_SIZE, 0.1, 1};
  plinth_optim_step_info step0 = info, nan_lr = info;
  step0.step = 0;
  nan_lr.lr = std::nan("");
  EXPECT_NE(t->step(opt, &ops.table, &ps.desc, &step0), PLINTH_OK);
  EXPECT_NE(t->step(opt, &ops.table, &ps.desc, &nan_lr), PLINTH_OK);
  EXPECT_NE(t->step(opt, nullptr, &ps.desc, &info), PLINTH_OK);
  plinth_optim_param no_state = ps.desc;
  no_state.state = nullptr;
  EXPECT_NE(t->step(opt, &ops.table, &no_state, &info), PLINTH_OK);
  EXPECT_NE(h.last_error().find("lion"), std::string::npos) << h.last_error();
  EXPECT_EQ(ps.p, before);
  EXPECT_TRUE(ops.log.empty());
  t->destroy(opt);
}
