// Tests for sdk/include/plinth/ops.hpp: every ABI 1.x dtype's element size
// and name, against the C types and the names docs/pipeline.md uses. The one
// copy the core and every plugin share (the NCCL plugin's own copy once gave
// u16 one byte). Not here: op names (checked by the backend tests).
#include "plinth/ops.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace {

TEST(sdk_ops, dtype_sizes_are_those_of_the_c_types) {
  EXPECT_EQ(plinth::sdk::dtype_size(PLINTH_DTYPE_F32), sizeof(float));
  EXPECT_EQ(plinth::sdk::dtype_size(PLINTH_DTYPE_F64), sizeof(double));
  EXPECT_EQ(plinth::sdk::dtype_size(PLINTH_DTYPE_F16), sizeof(uint16_t));
  EXPECT_EQ(plinth::sdk::dtype_size(PLINTH_DTYPE_BF16), sizeof(uint16_t));
  EXPECT_EQ(plinth::sdk::dtype_size(PLINTH_DTYPE_I32), sizeof(int32_t));
  EXPECT_EQ(plinth::sdk::dtype_size(PLINTH_DTYPE_I64), sizeof(int64_t));
  EXPECT_EQ(plinth::sdk::dtype_size(PLINTH_DTYPE_U8), sizeof(uint8_t));
  EXPECT_EQ(plinth::sdk::dtype_size(PLINTH_DTYPE_U16), sizeof(uint16_t));
  EXPECT_EQ(plinth::sdk::dtype_size(static_cast<plinth_dtype>(PLINTH_DTYPE_COUNT_V1)), 0u);
  EXPECT_EQ(plinth::sdk::dtype_size(static_cast<plinth_dtype>(-1)), 0u);
  static_assert(plinth::sdk::dtype_size(PLINTH_DTYPE_U16) == 2, "usable at compile time");
}

TEST(sdk_ops, dtype_names_are_the_pipeline_names) {
  const char* expected[] = {"f32", "f16", "bf16", "f64", "i32", "i64", "u8", "u16"};
  static_assert(sizeof expected / sizeof expected[0] == PLINTH_DTYPE_COUNT_V1, "one name per dtype");
  for (int d = 0; d < PLINTH_DTYPE_COUNT_V1; ++d)
    EXPECT_EQ(std::string(plinth::sdk::dtype_name(static_cast<plinth_dtype>(d))), expected[d]) << d;
  EXPECT_EQ(std::string(plinth::sdk::dtype_name(static_cast<plinth_dtype>(PLINTH_DTYPE_COUNT_V1))),
            "unknown-dtype");
}

}  // namespace
