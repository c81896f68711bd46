// graph.hpp — the static training graph: values (tensors with a shape and a
// role) and nodes (one backend op each). Built once from the pipeline's
// [model] and [loss] (graph/build.cpp), differentiated by graph/autodiff.cpp,
// then laid out by exec/planner and flattened by exec/program.
//
// Notation: B batch rows, F input features, C classes / output features.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "plinth/backend.h"
#include "plinth/status.hpp"

namespace plinth::graph {

enum class Role {
  input,       // the batch's input field, written by the loader
  target,      // the batch's target field
  param,       // a trained weight (persistent)
  grad,        // a parameter's gradient (persistent: lives until the optimizer step)
  activation,  // forward or backward intermediate (arena, reused)
  stat,        // persistent scalars the step accumulates (loss sum)
};

struct Value {
  std::string name;
  plinth_dtype dtype = PLINTH_DTYPE_F32;
  std::vector<int64_t> shape;
  Role role = Role::activation;
  int alias_of = -1;  // >= 0: a view of that value's bytes
  // A view's layout in elements of its root; empty strides: contiguous from
  // `offset` (a reshape). Strided views (attention's heads in a fused qkv,
  // a broadcast position table) carry one stride per dim, 0 broadcasts.
  std::vector<int64_t> strides;
  int64_t offset = 0;
  int grad = -1;  // the gradient value, once autodiff made one

  int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
  }
};

using Params =
    std::variant<std::monostate, plinth_fill_params, plinth_unary_params, plinth_binary_params,
                 plinth_axpby_params, plinth_matmul_params, plinth_reduce_params, plinth_xent_params,
                 plinth_layernorm_params, plinth_dropout_params, plinth_attention_params,
                 plinth_conv2d_params, plinth_pool2d_params, plinth_batchnorm_params>;

struct Node;
class Autodiff;  // graph/autodiff.hpp
// Appends the backward nodes of one forward node (its layer file defines it).
using BackwardFn = Status (*)(Autodiff&, const Node&);

struct Node {
  plinth_op_kind kind;
  std::vector<int> inputs;
  std::vector<int> outputs;
  Params params;
  std::string layer;              // the layer it belongs to, for messages and profiles
  BackwardFn backward = nullptr;  // null: not differentiable (autodiff fails if it is reached)
};

// How a layer's parameter is initialised (PyTorch's defaults).
struct ParamInit {
  enum Kind { uniform, constant, normal } kind = uniform;
  double a = 0.0;  // uniform: bound (U(-a, a)); constant: the value; normal: std (mean 0)
};

struct Parameter {
  int value = -1;
  ParamInit init;
  bool weight_decay = true;  // biases and norm gains are excluded
  // false: kept fixed ([train] freeze, or the base weights under [model.lora]):
  // no gradient is computed for it, and the optimizer has no state for it.
  bool trainable = true;
  bool lora = false;  // a LoRA adapter matrix (<layer>.lora_A / .lora_B .weight)
  // Persistent state that a forward op updates in place, not a weight
  // (batchnorm's running_mean / running_var, torch's "buffers"): never
  // trainable, so no gradient, optimizer state or weight decay; saved,
  // restored and loaded by [init] like a weight. Under data parallelism the
  // trainer averages buffers over ranks after every optimizer step.
  bool buffer = false;
};

struct Graph {
  std::vector<Value> values;
  std::vector<Node> forward;   // model + loss
  std::vector<Node> backward;  // derived; empty for an eval graph
  std::vector<Parameter> params;
  int input = -1;       // (B, ...) from the data source
  int target = -1;      // (B) i32 class ids, or the prediction's shape for mse
  int prediction = -1;  // model output (B, C)
  int losses = -1;      // per-row losses (B)
  int loss_sum = -1;    // scalar f32, += sum(losses) every step (role stat)
  int argmax = -1;      // (B * positions) i32, eval graphs with cross-entropy only
  int64_t batch = 0;
  // Predictions per sample: 1 for a class per sample, T for a token sequence
  // (the loss of a sample is then the mean over its T positions).
  int64_t positions = 1;
  // The backward op that seeds dL/dprediction (index into `backward`), and the
  // factor its scale parameter carries besides 1/rows: the cross-entropy
  // backward's scale is `loss_seed_factor / rows`, mse's UNARY alpha is
  // `2 / (features per row) / rows`. Lets a step rescale the loss (grad_accum).
  int loss_seed = -1;
  float loss_seed_factor = 1.f;

  int add_value(std::string name, plinth_dtype dtype, std::vector<int64_t> shape, Role role);
  int add_view(int of, std::vector<int64_t> shape, std::string name);
  // A strided view of `of`'s root: shape and strides in elements, offset from the root's start.
  int add_strided(int of, std::vector<int64_t> shape, std::vector<int64_t> strides, int64_t offset,
                  std::string name);
  int root(int v) const {
    while (values[v].alias_of >= 0) v = values[v].alias_of;
    return v;
  }
};

}  // namespace plinth::graph
