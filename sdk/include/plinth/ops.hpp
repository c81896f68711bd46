// plinth/ops.hpp — C++ helpers about the op set of backend.h for plugin and
// tool authors: the name of an op kind ("MATMUL"), as the core, the CPU
// backend and plinth-plugin-check print it. Header-only; not part of the ABI.
#pragma once

#include <cstdint>

#include "plinth/backend.h"

namespace plinth::sdk {

// "FILL" .. "POOL2D_BACKWARD" for the ops of ABI 1.1; nullptr for any other value.
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
                                      "POOL2D_BACKWARD"};
  static_assert(sizeof names / sizeof names[0] == PLINTH_OP_COUNT_V1_1, "one name per op");
  return kind >= 0 && kind < PLINTH_OP_COUNT_V1_1 ? names[kind] : nullptr;
}

}  // namespace plinth::sdk
