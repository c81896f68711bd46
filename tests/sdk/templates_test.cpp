// templates_test.cpp — the sdk/template plugins do what they claim, checked
// through their tables (dlopen + plinth_plugin_get, as the core loads them)
// against hand-computed values: the backend's FILL and BINARY ADD and an
// exact supports(); the optimizer's SGD step as one AXPBY; the counter data
// source's fields and samples. The libraries are built from the template
// sources by tests/sdk/CMakeLists.txt (NO_INSTALL).
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "plinth/backend.h"
#include "plinth/data.h"
#include "plinth/optimizer.h"

namespace {

thread_local std::string g_error;
plinth_status set_error(void*, plinth_status code, const char* msg) {
  g_error = msg ? msg : "";
  return code;
}
void log_msg(void*, plinth_log_level, const char*, const char*) {}

const plinth_host* host() {
  static plinth_host h = [] {
    plinth_host x{};
    x.struct_size = PLINTH_HOST_STRUCT_SIZE;
    x.abi_major = PLINTH_ABI_MAJOR;
    x.abi_minor = PLINTH_ABI_MINOR;
    x.log = log_msg;
    x.set_error = set_error;
    return x;  // no config lookups: every test passes a NULL config (defaults)
  }();
  return &h;
}

// The one component's table of a template library.
const void* table_of(const char* path, const char* name, plinth_kind kind) {
  void* lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);  // kept open for the process
  EXPECT_NE(lib, nullptr) << dlerror();
  if (!lib) return nullptr;
  auto get = reinterpret_cast<plinth_plugin_get_fn>(dlsym(lib, PLINTH_PLUGIN_GET_SYMBOL));
  EXPECT_NE(get, nullptr);
  if (!get) return nullptr;
  const plinth_plugin* p = get();
  EXPECT_STREQ(p->name, name);
  EXPECT_EQ(p->abi_major, uint32_t(PLINTH_ABI_MAJOR));
  EXPECT_EQ(p->num_components, 1u);
  EXPECT_EQ(p->components[0].kind, kind);
  EXPECT_STREQ(p->components[0].name, name);
  return p->components[0].table;
}

plinth_tensor f32(plinth_buffer* b, std::vector<int64_t> shape, uint64_t offset = 0) {
  plinth_tensor t{};
  t.struct_size = PLINTH_TENSOR_STRUCT_SIZE;
  t.buffer = b;
  t.offset = offset;
  t.dtype = PLINTH_DTYPE_F32;
  t.ndim = int32_t(shape.size());
  int64_t s = 1;
  for (int d = t.ndim - 1; d >= 0; --d) {
    t.shape[d] = shape[size_t(d)];
    t.strides[d] = s;
    s *= shape[size_t(d)];
  }
  return t;
}

TEST(templates, backend_fills_and_adds_dense_f32_and_supports_nothing_else) {
  auto* be = static_cast<const plinth_backend_v1*>(
      table_of(PLINTH_TEMPLATE_BACKEND, "template-backend", PLINTH_KIND_BACKEND));
  ASSERT_NE(be, nullptr);
  plinth_backend_ctx* ctx = nullptr;
  ASSERT_EQ(be->create(host(), nullptr, 0, &ctx), PLINTH_OK);
  plinth_buffer* buf = nullptr;
  ASSERT_EQ(be->buffer_alloc(ctx, 3 * 6 * 4, &buf), PLINTH_OK);  // a, b, out: (2, 3) each
  const float a[6] = {1, 2, 3, 4, 5, 6}, b[6] = {10, 20, 30, 40, 50, 60};
  ASSERT_EQ(be->copy_h2d(ctx, nullptr, buf, 0, a, 24), PLINTH_OK);
  ASSERT_EQ(be->copy_h2d(ctx, nullptr, buf, 24, b, 24), PLINTH_OK);
  plinth_tensor out = f32(buf, {2, 3}, 48);

  plinth_fill_params fp{PLINTH_FILL_PARAMS_STRUCT_SIZE, 2.5};
  plinth_op fill{PLINTH_OP_STRUCT_SIZE, PLINTH_OP_FILL, 0, nullptr, 1, &out, &fp};
  EXPECT_EQ(be->supports(ctx, &fill), 1);
  ASSERT_EQ(be->launch(ctx, nullptr, &fill), PLINTH_OK);
  float got[6];
  ASSERT_EQ(be->copy_d2h(ctx, nullptr, got, buf, 48, 24), PLINTH_OK);
  for (float v : got) EXPECT_EQ(v, 2.5f);

  // out = 0.5 * out + (a + b): 0.5 * 2.5 + 11 = 12.25, ...
  plinth_tensor ins[2] = {f32(buf, {2, 3}, 0), f32(buf, {2, 3}, 24)};
  plinth_binary_params bp{PLINTH_BINARY_PARAMS_STRUCT_SIZE, PLINTH_BINARY_ADD, 0.5f};
  plinth_op add{PLINTH_OP_STRUCT_SIZE, PLINTH_OP_BINARY, 2, ins, 1, &out, &bp};
  EXPECT_EQ(be->supports(ctx, &add), 1);
  ASSERT_EQ(be->launch(ctx, nullptr, &add), PLINTH_OK);
  ASSERT_EQ(be->copy_d2h(ctx, nullptr, got, buf, 48, 24), PLINTH_OK);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(got[i], 1.25f + 11.0f * float(i + 1)) << i;
  bp.beta = 0.0f;  // overwrite
  ASSERT_EQ(be->launch(ctx, nullptr, &add), PLINTH_OK);
  ASSERT_EQ(be->copy_d2h(ctx, nullptr, got, buf, 48, 24), PLINTH_OK);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(got[i], 11.0f * float(i + 1)) << i;

  // Exactly that: not SUB, not a broadcast or transposed view, not f64, not MATMUL.
  bp.fn = PLINTH_BINARY_SUB;
  EXPECT_EQ(be->supports(ctx, &add), 0);
  bp.fn = PLINTH_BINARY_ADD;
  ins[1] = f32(buf, {1, 3}, 24);
  EXPECT_EQ(be->supports(ctx, &add), 0);
  ins[1] = f32(buf, {2, 3}, 24);
  std::swap(ins[1].strides[0], ins[1].strides[1]);
  EXPECT_EQ(be->supports(ctx, &add), 0);
  ins[1] = f32(buf, {2, 3}, 24);
  ins[1].dtype = PLINTH_DTYPE_F64;
  EXPECT_EQ(be->supports(ctx, &add), 0);
  g_error.clear();
  EXPECT_EQ(be->launch(ctx, nullptr, &add), PLINTH_ERR_UNSUPPORTED);
  EXPECT_NE(g_error.find("template-backend"), std::string::npos);
  plinth_matmul_params mp{PLINTH_MATMUL_PARAMS_STRUCT_SIZE, 0, 0, 1.0f, 0.0f};
  plinth_op mm{PLINTH_OP_STRUCT_SIZE, PLINTH_OP_MATMUL, 2, ins, 1, &out, &mp};
  EXPECT_EQ(be->supports(ctx, &mm), 0);
  be->buffer_free(ctx, buf);
  be->destroy(ctx);
}

// A host-memory op table that records and runs AXPBY, where a tensor's
// buffer pointer is the host address of its data.
struct recorder {
  std::vector<plinth_op_kind> kinds;
  static int32_t supports(void*, const plinth_op* op) { return op->kind == PLINTH_OP_AXPBY; }
  static plinth_status launch(void* ctx, const plinth_op* op) {
    auto* self = static_cast<recorder*>(ctx);
    self->kinds.push_back(op->kind);
    if (op->kind != PLINTH_OP_AXPBY || op->num_inputs != 2 || op->num_outputs != 1)
      return PLINTH_ERR_UNSUPPORTED;
    const auto* p = static_cast<const plinth_axpby_params*>(op->params);
    auto at = [](const plinth_tensor& t) { return reinterpret_cast<float*>(t.buffer) + t.offset / 4; };
    int64_t n = 1;
    for (int d = 0; d < op->outputs[0].ndim; ++d) n *= op->outputs[0].shape[d];
    for (int64_t i = 0; i < n; ++i)
      at(op->outputs[0])[i] = p->alpha * at(op->inputs[0])[i] + p->beta * at(op->inputs[1])[i];
    return PLINTH_OK;
  }
};

TEST(templates, optimizer_takes_one_plain_sgd_step_as_axpby) {
  auto* opt = static_cast<const plinth_optimizer_v1*>(
      table_of(PLINTH_TEMPLATE_OPTIMIZER, "template-optimizer", PLINTH_KIND_OPTIMIZER));
  ASSERT_NE(opt, nullptr);
  plinth_optimizer* o = nullptr;
  ASSERT_EQ(opt->create(host(), nullptr, &o), PLINTH_OK);
  EXPECT_EQ(opt->base_lr(o), 0.01);
  EXPECT_EQ(opt->num_state_slots(o), 0);
  EXPECT_EQ(opt->num_scratch_slots(o), 0);
  float param[4] = {1.0f, -2.0f, 0.5f, 0.0f}, grad[4] = {0.5f, 1.0f, -4.0f, 2.0f};
  recorder rec;
  plinth_optim_ops ops{PLINTH_OPTIM_OPS_STRUCT_SIZE, &rec, recorder::supports, recorder::launch};
  plinth_optim_param p{};
  p.struct_size = PLINTH_OPTIM_PARAM_STRUCT_SIZE;
  p.name = "w";
  p.param = f32(reinterpret_cast<plinth_buffer*>(param), {4});
  p.grad = f32(reinterpret_cast<plinth_buffer*>(grad), {4});
  plinth_optim_step_info info{PLINTH_OPTIM_STEP_INFO_STRUCT_SIZE, 0.25, 1};  // the scheduled lr
  ASSERT_EQ(opt->step(o, &ops, &p, &info), PLINTH_OK);
  ASSERT_EQ(rec.kinds.size(), 1u);
  // p - 0.25 * g, by hand.
  EXPECT_EQ(param[0], 0.875f);
  EXPECT_EQ(param[1], -2.25f);
  EXPECT_EQ(param[2], 1.5f);
  EXPECT_EQ(param[3], -0.5f);
  opt->destroy(o);
}

TEST(templates, data_source_counts_labels_and_one_hot_features) {
  auto* src_t =
      static_cast<const plinth_data_v1*>(table_of(PLINTH_TEMPLATE_DATA, "template-data", PLINTH_KIND_DATA));
  ASSERT_NE(src_t, nullptr);
  plinth_data_source* src = nullptr;
  ASSERT_EQ(src_t->open(host(), nullptr, &src), PLINTH_OK);  // defaults: 64 samples, 4 classes
  plinth_data_info info{};
  info.struct_size = PLINTH_DATA_INFO_STRUCT_SIZE;
  ASSERT_EQ(src_t->info(src, &info), PLINTH_OK);
  EXPECT_EQ(info.num_samples, 64u);
  EXPECT_EQ(info.num_fields, 2);
  EXPECT_EQ(info.flags, 0u);
  plinth_data_field x{}, label{};
  x.struct_size = label.struct_size = PLINTH_DATA_FIELD_STRUCT_SIZE;
  ASSERT_EQ(src_t->field(src, 0, &x), PLINTH_OK);
  ASSERT_EQ(src_t->field(src, 1, &label), PLINTH_OK);
  EXPECT_STREQ(x.name, "x");
  EXPECT_EQ(x.dtype, PLINTH_DTYPE_F32);
  EXPECT_EQ(x.ndim, 1);
  EXPECT_EQ(x.shape[0], 4);
  EXPECT_STREQ(label.name, "label");
  EXPECT_EQ(label.dtype, PLINTH_DTYPE_I32);
  EXPECT_EQ(label.ndim, 0);
  EXPECT_EQ(label.num_classes, 4);

  const uint64_t idx[3] = {0, 5, 63};
  float xs[12];
  int32_t ls[3];
  void* const bufs[2] = {xs, ls};
  ASSERT_EQ(src_t->read(src, idx, 3, bufs), PLINTH_OK);
  const int32_t want[3] = {0, 1, 3};  // i mod 4
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(ls[i], want[i]);
    for (int j = 0; j < 4; ++j) EXPECT_EQ(xs[i * 4 + j], j == want[i] ? 1.0f : 0.0f) << i << "," << j;
  }
  const uint64_t bad = 64;
  g_error.clear();
  EXPECT_EQ(src_t->read(src, &bad, 1, bufs), PLINTH_ERR_INVALID_ARGUMENT);
  EXPECT_NE(g_error.find("64 out of range"), std::string::npos) << g_error;
  src_t->close(src);
}

}  // namespace
