// executor_test.cpp — exec::Executor, the one backend-or-fallback dispatch:
// a program's plan, a single op, and the optimizer's op table, on the CPU
// backend and on the fixture backend "fx-host" (FILL only) with and without
// the CPU fallback. Values are checked against arithmetic done here.
// Not here: whole runs through the fallback (tests/examples/fallback_test.sh).
#include <gtest/gtest.h>

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
                          fs::path(PLINTH_BINARY_DIR) / "tests/fixtures/plugins/good"};
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

}  // namespace
}  // namespace plinth::exec
