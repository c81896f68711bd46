// plinth/ops.hpp — C++ helpers about the op set of backend.h for plugin and
// tool authors: the name of an op kind ("MATMUL"), as the core, the CPU
// backend and plinth-plugin-check print it, and a dtype's name ("bf16") and
// element size: the one copy of each that the core and the plugins share.
// Header-only; not part of the ABI.
#pragma once

#include <cstddef>
#include <cstdint>

#include "plinth/backend.h"

namespace plinth::sdk {

// Bytes of one element of `d`; 0 for a value outside ABI 1.x's dtypes.
constexpr size_t dtype_size(plinth_dtype d) {
  switch (d) {
    case PLINTH_DTYPE_F64:
    case PLINTH_DTYPE_I64:
      return 8;
    case PLINTH_DTYPE_F32:
    case PLINTH_DTYPE_I32:
      return 4;
    case PLINTH_DTYPE_F16:
    case PLINTH_DTYPE_BF16:
    case PLINTH_DTYPE_U16:
      return 2;
    case PLINTH_DTYPE_U8:
      return 1;
    default:
      return 0;
  }
}

// "f32", "f16", "bf16", "f64", "i32", "i64", "u8", "u16" (as the pipeline,
// run folders and error messages write them); "unknown-dtype" for any other value.
constexpr const char* dtype_name(plinth_dtype d) {
  switch (d) {
    case PLINTH_DTYPE_F32:
      return "f32";
    case PLINTH_DTYPE_F16:
      return "f16";
    case PLINTH_DTYPE_BF16:
      return "bf16";
    case PLINTH_DTYPE_F64:
      return "f64";
    case PLINTH_DTYPE_I32:
      return "i32";
    case PLINTH_DTYPE_I64:
      return "i64";
    case PLINTH_DTYPE_U8:
      return "u8";
    case PLINTH_DTYPE_U16:
      return "u16";
    default:
      return "unknown-dtype";
  }
}

// "FILL" .. "LION_STEP" for the ops of ABI 1.2; nullptr for any other value.
inline const char* op_name(int32_t kind) {
  static const char* const names[] = {"FILL",
                                      "CAST",
                                      "UNARY",
                                      "UNARY_BACKWARD",
                                      "BINARY",
                                      "AXPBY",
                                      "MATMUL",
                                      "REDUCE",
                                      "SOFTMAX",
                                      "SOFTMAX_BACKWARD",
                                      "CROSS_ENTROPY",
                                      "CROSS_ENTROPY_BACKWARD",
                                      "LAYERNORM",
                                      "LAYERNORM_BACKWARD",
                                      "EMBEDDING",
                                      "EMBEDDING_BACKWARD",
                                      "ATTENTION",
                                      "ATTENTION_BACKWARD",
                                      "DROPOUT",
                                      "DROPOUT_BACKWARD",
                                      "SQUARED_NORM",
                                      "IS_FINITE",
                                      "ARGMAX",
                                      "ADAMW_STEP",
                                      "SGD_STEP",
                                      "CONV2D",
                                      "CONV2D_BACKWARD",
                                      "POOL2D",
                                      "POOL2D_BACKWARD",
                                      "BATCHNORM",
                                      "BATCHNORM_BACKWARD",
                                      "SELECT",
                                      "LION_STEP"};
  static_assert(sizeof names / sizeof names[0] == PLINTH_OP_COUNT_V1_2, "one name per op");
  return kind >= 0 && kind < PLINTH_OP_COUNT_V1_2 ? names[kind] : nullptr;
}

}  // namespace plinth::sdk
