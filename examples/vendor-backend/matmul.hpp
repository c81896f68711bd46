// matmul.hpp — the vendor backend's one op: f32 MATMUL with the semantics of
// plinth/backend.h (trans_a, trans_b, alpha, beta, optional bias, batch dims
// broadcast by size 1, stride 0 or absence). Checking is separate from
// running so supports() and launch() agree exactly. Not here: queueing.
#pragma once

#include <string>

#include "plinth/backend.h"

namespace vendor {

// A tensor view resolved to a host address (the buffer's bytes + offset).
struct view {
  float* data = nullptr;
  int ndim = 0;
  int64_t shape[PLINTH_MAX_DIMS] = {};
  int64_t strides[PLINTH_MAX_DIMS] = {};
};

struct matmul_job {
  view a, b, out, bias;  // bias.data == nullptr when there is none
  bool trans_a = false, trans_b = false;
  float alpha = 1.0f, beta = 0.0f;
};

// True when `op` is a MATMUL this backend runs; else false and *why says
// what is not supported (dtype, rank, layout) or malformed (shapes).
bool matmul_check(const plinth_op& op, std::string* why);

// Runs a checked job: out = alpha * op(a) @ op(b) + beta * out (+ bias).
void matmul_run(const matmul_job& job);

}  // namespace vendor
