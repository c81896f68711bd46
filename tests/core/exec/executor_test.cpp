// executor_test.cpp — exec::Executor, the one backend-or-fallback dispatch:
// a program's plan, a single op, and the optimizer's op table, on the CPU
// backend and on the fixture backend "fx-host" (FILL only) with and without
// the CPU fallback; an ABI 1.2 field (label smoothing) kept from backends of
// ABI 1.1 (fx-xent-11 / fx-xent-12, which claim CROSS_ENTROPY). Values are
// checked against arithmetic done here.
// Not here: whole runs through the fallback (tests/examples/fallback_test.sh).
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "exec/executor.hpp"
#include "exec/store.hpp"
#include "plinth/registry.hpp"

namespace plinth::exec {
namespace {

namespace fs = std::filesystem;

std::shared_ptr<Registry> registry() {
  DiscoveryOptions o;
  o.pipeline_manifests = {fs::path(PLINTH_BINARY_DIR) / "share/plinth/plugins.d",
                          fs::path(PLINTH_BINARY_DIR) / "tests/fixtures/plugins/good",
                          fs::path(PLINTH_BINARY_DIR) / "tests/fixtures/plugins/xent"};
  o.use_environment = o.use_system = o.use_install = false;
  auto r = Registry::open(o);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? *r : nullptr;
}

// y = 2 x + 1 over four floats of one buffer (in place), and a FILL of them.
struct Ops {
  plinth_tensor x{};
  plinth_unary_params affine{sizeof(plinth_unary_params), PLINTH_UNARY_IDENTITY, 2.f, 1.f};
  plinth_fill_params three{sizeof(plinth_fill_params), 3.0};
  plinth_op unary{}, fill{};
  explicit Ops(plinth_buffer* buf) {
    x = make_tensor(buf, 0, PLINTH_DTYPE_F32, {4});
    unary = {sizeof(plinth_op), PLINTH_OP_UNARY, 1, &x, 1, &x, &affine};
    fill = {sizeof(plinth_op), PLINTH_OP_FILL, 0, nullptr, 1, &x, &three};
  }
};

std::vector<float> read4(Backend& b, const Buffer& buf) {
  std::vector<float> v(4);
  EXPECT_TRUE(b.download(v.data(), buf, 0, 16).ok());
  return v;
}

TEST(executor, runs_on_the_backend_when_it_supports_the_op) {
  auto reg = registry();
  ASSERT_TRUE(reg);
  auto cpu = Backend::create(*reg, "cpu", nullptr, 0);
  ASSERT_TRUE(cpu.ok()) << cpu.status().message();
  Executor ex(*cpu);
  auto buf = (*cpu)->alloc(16);
  ASSERT_TRUE(buf.ok());
  Ops ops(buf->get());
  auto planned = ex.plan(ops.unary, "layer 'a'");
  ASSERT_TRUE(planned.ok());
  EXPECT_FALSE(*planned);
  ASSERT_TRUE(ex.launch(ops.fill, "fill").ok());
  ASSERT_TRUE(ex.launch(ops.unary, "affine").ok());
  EXPECT_EQ(read4(**cpu, *buf), (std::vector<float>{7, 7, 7, 7}));
  plinth_optim_ops oo = ex.optimizer_ops();
  EXPECT_EQ(oo.supports(oo.ctx, &ops.unary), 1);
  EXPECT_EQ(oo.launch(oo.ctx, &ops.unary), PLINTH_OK);
  EXPECT_EQ(read4(**cpu, *buf), (std::vector<float>{15, 15, 15, 15}));
}

TEST(executor, without_a_fallback_an_unsupported_op_is_refused_at_plan) {
  auto reg = registry();
  ASSERT_TRUE(reg);
  auto fx = Backend::create(*reg, "fx-host", nullptr, 0);
  ASSERT_TRUE(fx.ok()) << fx.status().message();
  Executor ex(*fx);
  auto buf = (*fx)->alloc(16);
  ASSERT_TRUE(buf.ok());
  Ops ops(buf->get());
  EXPECT_FALSE(ex.can_run(ops.unary));
  EXPECT_TRUE(ex.can_run(ops.fill));
  auto planned = ex.plan(ops.unary, "layer 'fc1'");
  ASSERT_FALSE(planned.ok());
  EXPECT_EQ(planned.status().code(), errc::unsupported);
  EXPECT_NE(planned.status().message().find("does not support op"), std::string::npos);
  EXPECT_NE(planned.status().message().find("of layer 'fc1'"), std::string::npos);
  EXPECT_NE(planned.status().message().find("allow_fallback = false"), std::string::npos);
  plinth_optim_ops oo = ex.optimizer_ops();
  EXPECT_EQ(oo.supports(oo.ctx, &ops.unary), 0);
}

TEST(executor, program_trainer_and_optimizer_ops_share_the_fallback) {
  auto reg = registry();
  ASSERT_TRUE(reg);
  auto fx = Backend::create(*reg, "fx-host", nullptr, 0);
  ASSERT_TRUE(fx.ok()) << fx.status().message();
  auto cpu = Backend::create(*reg, "cpu", nullptr, 0);
  ASSERT_TRUE(cpu.ok());
  Executor ex(*fx, std::make_shared<Fallback>(*fx, *cpu));
  auto buf = (*fx)->alloc(16);
  ASSERT_TRUE(buf.ok());
  Ops ops(buf->get());
  EXPECT_TRUE(ex.can_run(ops.unary));
  auto planned = ex.plan(ops.unary, "layer 'fc1'");
  ASSERT_TRUE(planned.ok()) << planned.status().message();
  EXPECT_TRUE(*planned);
  auto fill_planned = ex.plan(ops.fill, "layer 'fc1'");
  ASSERT_TRUE(fill_planned.ok());
  EXPECT_FALSE(*fill_planned);  // the backend has FILL
  ASSERT_TRUE(ex.launch(ops.fill, "fill").ok());
  ASSERT_TRUE(ex.run_fallback(ops.unary, "layer 'fc1'").ok());  // as a compiled program runs it
  EXPECT_EQ(read4(**fx, *buf), (std::vector<float>{7, 7, 7, 7}));
  ASSERT_TRUE(ex.launch(ops.unary, "gradient clipping").ok());  // as the trainer runs its own ops
  EXPECT_EQ(read4(**fx, *buf), (std::vector<float>{15, 15, 15, 15}));
  plinth_optim_ops oo = ex.optimizer_ops();  // as an optimizer plugin runs its step
  EXPECT_EQ(oo.supports(oo.ctx, &ops.unary), 1);
  EXPECT_EQ(oo.launch(oo.ctx, &ops.unary), PLINTH_OK);
  EXPECT_EQ(read4(**fx, *buf), (std::vector<float>{31, 31, 31, 31}));
}

// CROSS_ENTROPY over two rows of three logits, all in one buffer.
struct Xent {
  plinth_tensor ins[2]{}, outs[2]{};
  plinth_xent_params params{};
  plinth_op op{};
  Xent(plinth_buffer* buf, float smoothing, size_t struct_size = PLINTH_XENT_PARAMS_STRUCT_SIZE) {
    ins[0] = make_tensor(buf, 0, PLINTH_DTYPE_F32, {2, 3});    // logits
    ins[1] = make_tensor(buf, 32, PLINTH_DTYPE_I32, {2});      // targets
    outs[0] = make_tensor(buf, 64, PLINTH_DTYPE_F32, {2});     // losses
    outs[1] = make_tensor(buf, 96, PLINTH_DTYPE_F32, {2, 3});  // probs
    params.struct_size = struct_size;
    params.ignore_index = -1;
    params.scale = 1.0f;
    params.label_smoothing = smoothing;
    op = {sizeof(plinth_op), PLINTH_OP_CROSS_ENTROPY, 2, ins, 2, outs, &params};
  }
};

// AXPBY's fn (ABI 1.2) goes only to a backend built against 1.2 or later;
// an older one would read the 16 bytes it knows and skip the function.
TEST(executor, axpby_with_a_function_reaches_only_backends_of_abi_1_2) {
  plinth_tensor t[3]{};
  plinth_axpby_params sign{PLINTH_AXPBY_PARAMS_STRUCT_SIZE, 1.0f, 0.5f, PLINTH_UNARY_SIGN};
  plinth_axpby_params plain{PLINTH_AXPBY_PARAMS_STRUCT_SIZE, 1.0f, 0.5f, PLINTH_UNARY_IDENTITY};
  plinth_axpby_params v1{PLINTH_AXPBY_PARAMS_V1_STRUCT_SIZE, 1.0f, 0.5f,
                         PLINTH_UNARY_SIGN};  // fn not covered
  const plinth_op with_fn{sizeof(plinth_op), PLINTH_OP_AXPBY, 2, t, 1, t + 2, &sign};
  const plinth_op without{sizeof(plinth_op), PLINTH_OP_AXPBY, 2, t, 1, t + 2, &plain};
  const plinth_op old_caller{sizeof(plinth_op), PLINTH_OP_AXPBY, 2, t, 1, t + 2, &v1};
  EXPECT_FALSE(abi_covers(with_fn, 1, 0));
  EXPECT_FALSE(abi_covers(with_fn, 1, 1));
  EXPECT_TRUE(abi_covers(with_fn, 1, 2));
  EXPECT_TRUE(abi_covers(with_fn, 1, 7));
  EXPECT_TRUE(abi_covers(without, 1, 1));
  EXPECT_TRUE(abi_covers(old_caller, 1, 0));
}

TEST(executor, label_smoothing_reaches_only_backends_of_abi_1_2_and_falls_back_otherwise) {
  auto reg = registry();
  ASSERT_TRUE(reg);
  auto old = Backend::create(*reg, "fx-xent-11", nullptr, 0);
  ASSERT_TRUE(old.ok()) << old.status().message();
  auto cur = Backend::create(*reg, "fx-xent-12", nullptr, 0);
  ASSERT_TRUE(cur.ok()) << cur.status().message();
  auto cpu = Backend::create(*reg, "cpu", nullptr, 0);
  ASSERT_TRUE(cpu.ok());
  auto buf = (*old)->alloc(128);
  ASSERT_TRUE(buf.ok());
  Xent plain(buf->get(), 0.0f), smoothed(buf->get(), 0.25f);
  // A 1.1 caller's struct ends before the field: whatever lies there is not read.
  Xent v1(buf->get(), 0.25f, PLINTH_XENT_PARAMS_V1_STRUCT_SIZE);
  EXPECT_TRUE((*old)->supports(plain.op));
  EXPECT_TRUE((*old)->supports(v1.op));
  EXPECT_FALSE((*old)->supports(smoothed.op));
  EXPECT_TRUE((*cur)->supports(smoothed.op));
  EXPECT_TRUE(abi_covers(smoothed.op, 1, 2));
  EXPECT_FALSE(abi_covers(smoothed.op, 1, 0));
  EXPECT_TRUE(abi_covers(plain.op, 1, 1));

  // Without the fallback the program is refused at plan; with it the op runs on the CPU.
  auto refused = Executor(*old).plan(smoothed.op, "layer 'loss'");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("does not support op cross_entropy"), std::string::npos)
      << refused.status().message();
  Executor ex(*old, std::make_shared<Fallback>(*old, *cpu));
  auto planned = ex.plan(smoothed.op, "layer 'loss'");
  ASSERT_TRUE(planned.ok()) << planned.status().message();
  EXPECT_TRUE(*planned);
  const float logits[6] = {1.0f, 2.0f, 0.5f, -1.0f, 0.0f, 3.0f};
  const int32_t targets[2] = {1, 0};
  ASSERT_TRUE((*old)->upload(*buf, 0, logits, sizeof logits).ok());
  ASSERT_TRUE((*old)->upload(*buf, 32, targets, sizeof targets).ok());
  ASSERT_TRUE(ex.run_fallback(smoothed.op, "layer 'loss'").ok());
  float loss[2];
  ASSERT_TRUE((*old)->download(loss, *buf, 64, sizeof loss).ok());
  // torch: (1 - s) (lse - x[t]) + s mean_c(lse - x[c]), s = 0.25
  for (int n = 0; n < 2; ++n) {
    const float* x = logits + 3 * n;
    const double lse = std::log(std::exp(double(x[0])) + std::exp(double(x[1])) + std::exp(double(x[2])));
    const double want = 0.75 * (lse - x[targets[n]]) + 0.25 * (lse - (double(x[0]) + x[1] + x[2]) / 3.0);
    EXPECT_NEAR(loss[n], want, 1e-6) << "row " << n;
  }
}

}  // namespace
}  // namespace plinth::exec
