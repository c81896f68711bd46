// precision.hpp — the mixed-precision pass: a rewrite of a built graph
// (forward and backward) so every MATMUL reads bf16 or f16 copies of its f32
// operands and still writes f32 (the backend accumulates in f32). Master
// weights, gradients and every other op stay f32. Not here: loss scaling
// (train/trainer.cpp) or what the backend does with the low-precision inputs.
#pragma once

#include <string_view>

#include "graph/graph.hpp"
#include "plinth/status.hpp"

namespace plinth::graph {

// The dtype of matmul inputs for [train] precision: "fp32" -> F32,
// "bf16" -> BF16, "fp16" -> F16; anything else is an error.
Result<plinth_dtype> matmul_dtype(std::string_view precision);

struct PrecisionStats {
  int matmuls = 0;  // MATMUL nodes rewritten
  int casts = 0;    // CAST nodes inserted
};

// Rewrite `g` in place for matmul inputs of `dtype` (BF16 or F16; F32 leaves
// the graph as it is). For each MATMUL, in[0] and in[1] when f32 are replaced
// by a low-precision copy made by a CAST just before the first node that
// needs it; later MATMULs (forward or backward) reading the same value reuse
// that copy, until a node writes the value (or any view of its bytes) again.
// A copy is a new contiguous value with the operand's shape (a CAST copies
// between layouts, so a strided view becomes dense). The bias (in[2]) and
// every output stay f32. g.loss_seed is kept pointing at the same node.
Result<PrecisionStats> cast_matmul_inputs(Graph& g, plinth_dtype dtype);

}  // namespace plinth::graph
