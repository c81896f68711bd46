// onnx.hpp — the ONNX graph that a model's layers write themselves into for
// `plinth export RUN --onnx` (opset 17, IR version 8). graph/build.cpp calls
// onnx_layer after building each layer of an evaluation graph; the layer's
// own `onnx` function (next to its `build`, graph/layers/) adds the standard
// ONNX nodes that compute the same output, with the run's weights as
// initializers. Not here: reading the run (export/onnx_export.cpp), the
// protobuf types (only onnx.cpp includes them).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/layer_spec.hpp"
#include "plinth/status.hpp"
#include "train/safetensors.hpp"

namespace plinth::graph {

struct Context;
struct LayerKind;

// The opset every exported model imports (the default domain only).
inline constexpr int64_t kOnnxOpset = 17;

// One attribute of an ONNX node: INT, FLOAT, INTS or STRING.
struct OnnxAttr {
  std::string name;
  std::variant<int64_t, float, std::vector<int64_t>, std::string> value;
};

// The ONNX graph being written, and which ONNX tensor holds each Plinth value
// that a layer reads or writes (graph.hpp's value indices).
class OnnxContext {
 public:
  // `weights`: the run's tensors (LoRA merged), by name; `from` names their
  // file for errors.
  OnnxContext(const std::vector<NamedTensor>& weights, std::string from);
  ~OnnxContext();
  OnnxContext(const OnnxContext&) = delete;
  OnnxContext& operator=(const OnnxContext&) = delete;

  // The ONNX tensor holding Plinth value v; an internal error if no layer wrote it.
  Result<std::string> tensor(int v) const;
  void bind(int v, std::string tensor);

  // Appends a node with one output, named `out` (made unique with a suffix
  // when taken); returns the output's name.
  std::string node(std::string_view op, std::vector<std::string> inputs, std::string out,
                   std::vector<OnnxAttr> attrs = {});
  // The run's tensor `name` (a parameter of the graph being built, e.g.
  // "fc.weight") as an initializer of the same name, written once however
  // often it is asked for. Errors name the weights file: missing, not f32,
  // or not the shape the model has.
  Result<std::string> weight(const Context& c, const std::string& name);
  // Constant initializers: int64 1-D, and f32 of any shape (a scalar: {}).
  std::string ints(const std::string& name, std::vector<int64_t> values);
  std::string floats(const std::string& name, std::vector<float> values, std::vector<int64_t> shape = {});

  // A model of token ids (i32 (B, T)) gets a symbolic sequence length, unless
  // a layer ties T into a shape (flatten, batchnorm over T): then it stays T.
  bool sequence_dynamic = false;

  // The serialised ModelProto: `input` (input dtype, per-sample shape after
  // the symbolic batch dim) goes in, Plinth value `output` comes out as
  // `output_name`; metadata_props as given. An error when it exceeds
  // protobuf's 2 GiB (no external data files).
  Result<std::string> model(const std::string& graph_name, const std::string& input_name, bool input_i32,
                            const std::vector<int64_t>& input_shape, int output,
                            const std::vector<int64_t>& output_shape, const std::string& output_name,
                            const std::vector<std::pair<std::string, std::string>>& metadata) const;
  size_t node_count() const;
  size_t initializer_count() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The ONNX form of layer `l` (full name `name`) just built from inputs `in`
// to output `out`: its kind's onnx function, or "layer 'x' (type): no ONNX
// form because ..." when the type has none.
Status onnx_layer(OnnxContext& x, Context& c, const LayerKind& kind, const config::LayerSpec& l,
                  const std::string& name, std::span<const int> in, int out);

// Shared by the layers (defined in the file named).
// linear.cpp: y (.., out) = x (.., in) W^T + b as Gemm (2-D) or MatMul + Add,
// W the initializer `weight` (out, in); `bias` "" for none.
Result<std::string> onnx_linear(OnnxContext& x, const Context& c, const std::string& in, size_t rank,
                                const std::string& weight, const std::string& bias, const std::string& name);
// conv2d.cpp: Plinth value `in` as an ONNX (B, C, H, W) tensor, a (B, H, W)
// one Unsqueezed to (B, 1, H, W) as image_geometry reads it.
Result<std::string> onnx_image(OnnxContext& x, const Context& c, int in, const std::string& name);
// add.cpp: the ONNX Add of Plinth values a and b into y (residual blocks too).
Status onnx_add(OnnxContext& x, int a, int b, int y, const std::string& name);

}  // namespace plinth::graph
