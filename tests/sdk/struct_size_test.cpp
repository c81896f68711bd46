// struct_size_test.cpp — every PLINTH_*_STRUCT_SIZE macro against its struct:
// it must reach the struct's end (only trailing padding may follow), so a
// field appended without moving the macro to it fails to compile; and its
// ABI 1.x value is pinned. (A field small enough to fit in trailing padding
// is caught by abi_baseline.c only once its offset is added there.)
#include <gtest/gtest.h>

#include <cstddef>

#include "plinth/backend.h"
#include "plinth/comm.h"
#include "plinth/data.h"
#include "plinth/optimizer.h"
#include "plinth/plugin.h"

namespace {

// The macro covers everything but trailing padding.
template <class T>
constexpr bool reaches_end(std::size_t macro) {
  return macro <= sizeof(T) && sizeof(T) - macro < alignof(T);
}

static_assert(reaches_end<plinth_host>(PLINTH_HOST_STRUCT_SIZE),
              "PLINTH_HOST_STRUCT_SIZE does not reach the end of plinth_host");
static_assert(reaches_end<plinth_component>(PLINTH_COMPONENT_STRUCT_SIZE),
              "PLINTH_COMPONENT_STRUCT_SIZE does not reach the end of plinth_component");
static_assert(reaches_end<plinth_plugin>(PLINTH_PLUGIN_STRUCT_SIZE),
              "PLINTH_PLUGIN_STRUCT_SIZE does not reach the end of plinth_plugin");
static_assert(reaches_end<plinth_device_properties>(PLINTH_DEVICE_PROPERTIES_STRUCT_SIZE),
              "PLINTH_DEVICE_PROPERTIES_STRUCT_SIZE does not reach the end of plinth_device_properties");
static_assert(reaches_end<plinth_tensor>(PLINTH_TENSOR_STRUCT_SIZE),
              "PLINTH_TENSOR_STRUCT_SIZE does not reach the end of plinth_tensor");
static_assert(reaches_end<plinth_fill_params>(PLINTH_FILL_PARAMS_STRUCT_SIZE),
              "PLINTH_FILL_PARAMS_STRUCT_SIZE does not reach the end of plinth_fill_params");
static_assert(reaches_end<plinth_unary_params>(PLINTH_UNARY_PARAMS_STRUCT_SIZE),
              "PLINTH_UNARY_PARAMS_STRUCT_SIZE does not reach the end of plinth_unary_params");
static_assert(reaches_end<plinth_binary_params>(PLINTH_BINARY_PARAMS_STRUCT_SIZE),
              "PLINTH_BINARY_PARAMS_STRUCT_SIZE does not reach the end of plinth_binary_params");
static_assert(reaches_end<plinth_axpby_params>(PLINTH_AXPBY_PARAMS_STRUCT_SIZE),
              "PLINTH_AXPBY_PARAMS_STRUCT_SIZE does not reach the end of plinth_axpby_params");
static_assert(reaches_end<plinth_matmul_params>(PLINTH_MATMUL_PARAMS_STRUCT_SIZE),
              "PLINTH_MATMUL_PARAMS_STRUCT_SIZE does not reach the end of plinth_matmul_params");
static_assert(reaches_end<plinth_reduce_params>(PLINTH_REDUCE_PARAMS_STRUCT_SIZE),
              "PLINTH_REDUCE_PARAMS_STRUCT_SIZE does not reach the end of plinth_reduce_params");
static_assert(reaches_end<plinth_xent_params>(PLINTH_XENT_PARAMS_STRUCT_SIZE),
              "PLINTH_XENT_PARAMS_STRUCT_SIZE does not reach the end of plinth_xent_params");
static_assert(reaches_end<plinth_layernorm_params>(PLINTH_LAYERNORM_PARAMS_STRUCT_SIZE),
              "PLINTH_LAYERNORM_PARAMS_STRUCT_SIZE does not reach the end of plinth_layernorm_params");
static_assert(reaches_end<plinth_attention_params>(PLINTH_ATTENTION_PARAMS_STRUCT_SIZE),
              "PLINTH_ATTENTION_PARAMS_STRUCT_SIZE does not reach the end of plinth_attention_params");
static_assert(reaches_end<plinth_dropout_params>(PLINTH_DROPOUT_PARAMS_STRUCT_SIZE),
              "PLINTH_DROPOUT_PARAMS_STRUCT_SIZE does not reach the end of plinth_dropout_params");
static_assert(reaches_end<plinth_adamw_params>(PLINTH_ADAMW_PARAMS_STRUCT_SIZE),
              "PLINTH_ADAMW_PARAMS_STRUCT_SIZE does not reach the end of plinth_adamw_params");
static_assert(reaches_end<plinth_sgd_params>(PLINTH_SGD_PARAMS_STRUCT_SIZE),
              "PLINTH_SGD_PARAMS_STRUCT_SIZE does not reach the end of plinth_sgd_params");
static_assert(reaches_end<plinth_conv2d_params>(PLINTH_CONV2D_PARAMS_STRUCT_SIZE),
              "PLINTH_CONV2D_PARAMS_STRUCT_SIZE does not reach the end of plinth_conv2d_params");
static_assert(reaches_end<plinth_pool2d_params>(PLINTH_POOL2D_PARAMS_STRUCT_SIZE),
              "PLINTH_POOL2D_PARAMS_STRUCT_SIZE does not reach the end of plinth_pool2d_params");
static_assert(reaches_end<plinth_op>(PLINTH_OP_STRUCT_SIZE),
              "PLINTH_OP_STRUCT_SIZE does not reach the end of plinth_op");
static_assert(reaches_end<plinth_backend_v1>(PLINTH_BACKEND_V1_STRUCT_SIZE),
              "PLINTH_BACKEND_V1_STRUCT_SIZE does not reach the end of plinth_backend_v1");
static_assert(reaches_end<plinth_comm_info>(PLINTH_COMM_INFO_STRUCT_SIZE),
              "PLINTH_COMM_INFO_STRUCT_SIZE does not reach the end of plinth_comm_info");
static_assert(reaches_end<plinth_comm_v1>(PLINTH_COMM_V1_STRUCT_SIZE),
              "PLINTH_COMM_V1_STRUCT_SIZE does not reach the end of plinth_comm_v1");
static_assert(reaches_end<plinth_optim_ops>(PLINTH_OPTIM_OPS_STRUCT_SIZE),
              "PLINTH_OPTIM_OPS_STRUCT_SIZE does not reach the end of plinth_optim_ops");
static_assert(reaches_end<plinth_optim_param>(PLINTH_OPTIM_PARAM_STRUCT_SIZE),
              "PLINTH_OPTIM_PARAM_STRUCT_SIZE does not reach the end of plinth_optim_param");
static_assert(reaches_end<plinth_optim_step_info>(PLINTH_OPTIM_STEP_INFO_STRUCT_SIZE),
              "PLINTH_OPTIM_STEP_INFO_STRUCT_SIZE does not reach the end of plinth_optim_step_info");
static_assert(reaches_end<plinth_optimizer_v1>(PLINTH_OPTIMIZER_V1_STRUCT_SIZE),
              "PLINTH_OPTIMIZER_V1_STRUCT_SIZE does not reach the end of plinth_optimizer_v1");
static_assert(reaches_end<plinth_data_info>(PLINTH_DATA_INFO_STRUCT_SIZE),
              "PLINTH_DATA_INFO_STRUCT_SIZE does not reach the end of plinth_data_info");
static_assert(reaches_end<plinth_data_field>(PLINTH_DATA_FIELD_STRUCT_SIZE),
              "PLINTH_DATA_FIELD_STRUCT_SIZE does not reach the end of plinth_data_field");
static_assert(reaches_end<plinth_data_v1>(PLINTH_DATA_V1_STRUCT_SIZE),
              "PLINTH_DATA_V1_STRUCT_SIZE does not reach the end of plinth_data_v1");

struct Pinned {
  const char* name;
  std::size_t value, baseline;
};

const Pinned kPinned[] = {
    {"PLINTH_HOST_STRUCT_SIZE", PLINTH_HOST_STRUCT_SIZE, 112},
    {"PLINTH_COMPONENT_STRUCT_SIZE", PLINTH_COMPONENT_STRUCT_SIZE, 48},
    {"PLINTH_PLUGIN_STRUCT_SIZE", PLINTH_PLUGIN_STRUCT_SIZE, 72},
    {"PLINTH_DEVICE_PROPERTIES_STRUCT_SIZE", PLINTH_DEVICE_PROPERTIES_STRUCT_SIZE, 168},
    {"PLINTH_TENSOR_STRUCT_SIZE", PLINTH_TENSOR_STRUCT_SIZE, 160},
    {"PLINTH_FILL_PARAMS_STRUCT_SIZE", PLINTH_FILL_PARAMS_STRUCT_SIZE, 16},
    {"PLINTH_UNARY_PARAMS_STRUCT_SIZE", PLINTH_UNARY_PARAMS_STRUCT_SIZE, 20},
    {"PLINTH_BINARY_PARAMS_STRUCT_SIZE", PLINTH_BINARY_PARAMS_STRUCT_SIZE, 16},
    {"PLINTH_AXPBY_PARAMS_STRUCT_SIZE", PLINTH_AXPBY_PARAMS_STRUCT_SIZE, 20},  // 1.0: 16; 1.2 appended fn
    {"PLINTH_AXPBY_PARAMS_V1_STRUCT_SIZE", PLINTH_AXPBY_PARAMS_V1_STRUCT_SIZE, 16},
    {"PLINTH_MATMUL_PARAMS_STRUCT_SIZE", PLINTH_MATMUL_PARAMS_STRUCT_SIZE, 24},
    {"PLINTH_REDUCE_PARAMS_STRUCT_SIZE", PLINTH_REDUCE_PARAMS_STRUCT_SIZE, 16},
    {"PLINTH_XENT_PARAMS_STRUCT_SIZE", PLINTH_XENT_PARAMS_STRUCT_SIZE,
     20},  // 1.0: 16; 1.2 appended label_smoothing
    {"PLINTH_XENT_PARAMS_V1_STRUCT_SIZE", PLINTH_XENT_PARAMS_V1_STRUCT_SIZE, 16},
    {"PLINTH_LAYERNORM_PARAMS_STRUCT_SIZE", PLINTH_LAYERNORM_PARAMS_STRUCT_SIZE, 12},
    {"PLINTH_ATTENTION_PARAMS_STRUCT_SIZE", PLINTH_ATTENTION_PARAMS_STRUCT_SIZE, 16},
    {"PLINTH_DROPOUT_PARAMS_STRUCT_SIZE", PLINTH_DROPOUT_PARAMS_STRUCT_SIZE, 32},
    {"PLINTH_ADAMW_PARAMS_STRUCT_SIZE", PLINTH_ADAMW_PARAMS_STRUCT_SIZE, 40},
    {"PLINTH_SGD_PARAMS_STRUCT_SIZE", PLINTH_SGD_PARAMS_STRUCT_SIZE, 40},
    {"PLINTH_CONV2D_PARAMS_STRUCT_SIZE", PLINTH_CONV2D_PARAMS_STRUCT_SIZE, 36},        // 1.1
    {"PLINTH_POOL2D_PARAMS_STRUCT_SIZE", PLINTH_POOL2D_PARAMS_STRUCT_SIZE, 40},        // 1.1
    {"PLINTH_BATCHNORM_PARAMS_STRUCT_SIZE", PLINTH_BATCHNORM_PARAMS_STRUCT_SIZE, 20},  // 1.2
    {"PLINTH_LION_PARAMS_STRUCT_SIZE", PLINTH_LION_PARAMS_STRUCT_SIZE, 24},            // 1.2
    {"PLINTH_OP_STRUCT_SIZE", PLINTH_OP_STRUCT_SIZE, 48},
    {"PLINTH_BACKEND_V1_STRUCT_SIZE", PLINTH_BACKEND_V1_STRUCT_SIZE, 176},
    {"PLINTH_BACKEND_V1_MIN_STRUCT_SIZE", PLINTH_BACKEND_V1_MIN_STRUCT_SIZE, 168},
    {"PLINTH_COMM_INFO_STRUCT_SIZE", PLINTH_COMM_INFO_STRUCT_SIZE, 24},
    {"PLINTH_COMM_V1_STRUCT_SIZE", PLINTH_COMM_V1_STRUCT_SIZE, 80},
    {"PLINTH_OPTIM_OPS_STRUCT_SIZE", PLINTH_OPTIM_OPS_STRUCT_SIZE, 32},
    {"PLINTH_OPTIM_PARAM_STRUCT_SIZE", PLINTH_OPTIM_PARAM_STRUCT_SIZE, 356},
    {"PLINTH_OPTIM_STEP_INFO_STRUCT_SIZE", PLINTH_OPTIM_STEP_INFO_STRUCT_SIZE, 24},
    {"PLINTH_OPTIMIZER_V1_STRUCT_SIZE", PLINTH_OPTIMIZER_V1_STRUCT_SIZE, 64},
    {"PLINTH_DATA_INFO_STRUCT_SIZE", PLINTH_DATA_INFO_STRUCT_SIZE, 24},
    {"PLINTH_DATA_FIELD_STRUCT_SIZE", PLINTH_DATA_FIELD_STRUCT_SIZE, 152},
    {"PLINTH_DATA_V1_STRUCT_SIZE", PLINTH_DATA_V1_STRUCT_SIZE,
     88},  // 1.0: 72; 1.1 appended metadata; 1.2 read_ctx
    {"PLINTH_DATA_V1_MIN_STRUCT_SIZE", PLINTH_DATA_V1_MIN_STRUCT_SIZE, 48},
    {"PLINTH_DATA_READ_CONTEXT_STRUCT_SIZE", PLINTH_DATA_READ_CONTEXT_STRUCT_SIZE, 32},  // 1.2
};

TEST(sdk_abi, struct_size_macros_keep_their_pinned_values) {
  for (const auto& p : kPinned) EXPECT_EQ(p.value, p.baseline) << p.name;
}

TEST(sdk_abi, minimum_sizes_cover_the_required_functions_only) {
  EXPECT_LT(PLINTH_BACKEND_V1_MIN_STRUCT_SIZE, PLINTH_BACKEND_V1_STRUCT_SIZE);  // num_threads is optional
  EXPECT_EQ(PLINTH_BACKEND_V1_MIN_STRUCT_SIZE, offsetof(plinth_backend_v1, num_threads));
  EXPECT_EQ(PLINTH_DATA_V1_MIN_STRUCT_SIZE, offsetof(plinth_data_v1, next));
  EXPECT_EQ(PLINTH_OPTIMIZER_V1_MIN_STRUCT_SIZE, PLINTH_OPTIMIZER_V1_STRUCT_SIZE);
  EXPECT_EQ(PLINTH_COMM_V1_MIN_STRUCT_SIZE, PLINTH_COMM_V1_STRUCT_SIZE);
}

TEST(sdk_abi, data_table_of_abi_1_0_ends_where_metadata_begins) {
  // A 1.0 data plugin's table is 72 bytes: it does not cover metadata, so the
  // core must treat metadata as absent (PLINTH_HAS_FIELD), not read past it.
  plinth_data_v1 t{};
  t.struct_size = 72;
  EXPECT_EQ(offsetof(plinth_data_v1, metadata), 72u);
  EXPECT_FALSE(PLINTH_HAS_FIELD(&t, plinth_data_v1, metadata));
  EXPECT_TRUE(PLINTH_HAS_FIELD(&t, plinth_data_v1, restore_position));
  EXPECT_GE(t.struct_size, PLINTH_DATA_V1_MIN_STRUCT_SIZE);  // and it still loads
}

TEST(sdk_abi, version_is_1_2) {
  EXPECT_EQ(PLINTH_ABI_MAJOR, 1);
  EXPECT_EQ(PLINTH_ABI_MINOR, 2);
}

}  // namespace
