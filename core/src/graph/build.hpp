// build.hpp — build the forward graph of a pipeline's model and loss for a
// given batch size, and derive its backward (autodiff). Shape errors name the
// layer and both shapes. Not here: memory layout or execution.
#pragma once

#include <cstdint>
#include <vector>

#include "config/pipeline.hpp"
#include "graph/graph.hpp"
#include "plinth/status.hpp"

namespace plinth::graph {

struct DataShape {
  plinth_dtype input_dtype = PLINTH_DTYPE_F32;
  std::vector<int64_t> input_shape;  // per sample
  plinth_dtype target_dtype = PLINTH_DTYPE_I32;
  std::vector<int64_t> target_shape;  // per sample
  int64_t num_classes = 0;            // 0: unknown / not a label
};

class OnnxContext;  // export/onnx.hpp

struct BuildOptions {
  int64_t batch = 1;
  bool training = true;  // false: dropout is the identity, no backward, argmax kept
  // Parameter gradients are added to (+=) instead of written, so several
  // micro-batches sum into them; the caller zeroes them once per optimizer step.
  bool accumulate_param_grads = false;
  // Non-null (with training = false): each layer also writes its ONNX form
  // here (`plinth export --onnx`).
  OnnxContext* onnx = nullptr;
};

// The forward graph (model + loss) for `batch` rows, with backward when training.
Result<Graph> build(const config::Pipeline& pipeline, const DataShape& data, const BuildOptions& options);

// Append the backward pass of g.forward to g.backward (reverse-mode autodiff).
// With `accumulate`, parameter gradients are summed into (see BuildOptions).
Status differentiate(Graph& g, bool accumulate = false);

}  // namespace plinth::graph
