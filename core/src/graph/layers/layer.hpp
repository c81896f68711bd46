// layer.hpp — what a layer type is: its keys (with types, defaults, checks
// and doc lines, read by config/pipeline.cpp), how many inputs it takes, and
// the forward nodes it emits, each carrying the backward function that
// differentiates it. Every type lives in one file, graph/layers/<type>.cpp,
// and is listed in registry.cpp. Not here: the graph driver (graph/build.cpp).
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/layer_spec.hpp"
#include "config/pipeline.hpp"
#include "export/onnx.hpp"
#include "graph/autodiff.hpp"
#include "graph/build.hpp"
#include "graph/graph.hpp"
#include "plinth/status.hpp"

namespace plinth::graph {

using config::LayerSpec;

// The state a layer's build function works in: the graph, the pipeline and
// what earlier layers left for later ones (tied tables, residual outputs).
struct Context {
  Context(const config::Pipeline& p_, const DataShape& d_, const BuildOptions& o_, Graph& g_)
      : p(p_), data(d_), opt(o_), g(g_) {}
  const config::Pipeline& p;
  const DataShape& data;
  const BuildOptions& opt;
  Graph& g;
  bool gpt2 = false;                  // [model] init = "gpt2"
  uint64_t dropout_index = 0;         // counter of dropout layers: each draws its own masks
  std::map<std::string, int> tables;  // embedding layer (full name) -> its table
  int last_linear_param = -1;         // index into g.params of the latest linear weight
  std::vector<int> residual_outputs;  // g.params indices of each residual branch's last linear
  std::vector<int> lora_hits;         // per [model.lora] target pattern: layers it matched

  // "<file>:<line>:<col>: layer '<name>' (<type>): <what>"
  Status err(const LayerSpec& l, const std::string& what) const;
  // A new parameter value, listed in g.params in creation order.
  int param(const std::string& name, std::vector<int64_t> shape, ParamInit init, bool decay);
  // A new buffer (Parameter::buffer): persistent, never trained, filled with `value` at start.
  int buffer(const std::string& name, std::vector<int64_t> shape, double value);
  // Builds a list of layers (the model, or one repeat of a block's body)
  // named `prefix`<name>, from `input`, with its own name scope inside the
  // current ones; `out` is the last layer's output (graph/build.cpp).
  Status layers(const std::vector<LayerSpec>& ls, const std::string& prefix, int input, int& out);

  // Name scopes of the lists being built, outermost first (graph/build.cpp).
  struct Scope {
    const std::vector<LayerSpec>* list = nullptr;
    std::map<std::string, int> built;    // layer name -> its output, of layers built so far
    int input = -1;                      // what `input` names: the model's or the block repeat's input
    const LayerSpec* current = nullptr;  // the layer of `list` being built
  };
  std::vector<Scope> scopes;
  std::map<std::string, int> full_names;  // every built layer's full name ("h.0.mlp") -> its output
  const LayerSpec* last = nullptr;        // the latest layer built, for errors about the model's output
  size_t layers_built = 0;                // every copy of every layer, for the model's size limit
};

// A layer type. `build` appends its forward nodes for layer `l`, named `name`
// (with its block prefix), reading `in` (min_inputs..max_inputs values) and
// leaving its output value in `out`.
struct LayerKind {
  std::string_view type;
  std::span<const config::LayerKey> keys;  // besides type, name and inputs
  int min_inputs = 1;
  int max_inputs = 1;  // -1: any number
  // Checks between keys and defaults that depend on other keys, after every
  // key is read: "" or {key, error}. May be null.
  std::pair<std::string, std::string> (*finish)(LayerSpec&) = nullptr;
  Status (*build)(Context&, const LayerSpec& l, const std::string& name, std::span<const int> in, int& out);
  bool any_dtype = false;  // takes non-f32 inputs (token ids, reshapes); others need f32
  // Its ONNX form (export/onnx.hpp): the nodes that compute `out` from `in`
  // in an evaluation graph, for `plinth export --onnx`. Null: the export
  // refuses the layer, saying why with `no_onnx`.
  Status (*onnx)(OnnxContext&, Context&, const LayerSpec& l, const std::string& name, std::span<const int> in,
                 int out) = nullptr;
  std::string_view no_onnx = {};
};

// Every layer type (registry.cpp), in docs/pipeline.md's order.
std::span<const LayerKind* const> layer_kinds();
const LayerKind* find_layer_kind(std::string_view type);

// A number as the key checks print it: "1", "0.25", "1e-05".
std::string num(double v);
std::string num(int64_t v);
// Checks for a key table: the key's value > 0 / >= 0 ("out must be > 0, got 0").
std::string positive(const LayerSpec& l, std::string_view key);

// "(2, 3)", "(4,)"
std::string shape_str(const std::vector<int64_t>& s);
plinth_unary_params unary(plinth_unary_fn fn, float alpha = 1.f, float beta = 0.f);

// Shared by layers that emit the same ops (defined in the file named).
// linear.cpp: y (.., out) = x (.., in) W^T + b with LoRA when targeted; `w`
// >= 0 reuses that (tied) weight.
int emit_linear(Context& c, int x, int64_t out, bool bias, const std::string& name, int w = -1);
// add.cpp: y = a + b (same shape, or b a stride-0 broadcast view).
int emit_add(Context& c, int a, int b, const std::string& name);
Status add_backward(Autodiff& ad, const Node& n);
// add.cpp: the gradient of a broadcast input `in` (a stride-0 view): `dy`
// (shaped like the output) summed over the broadcast dims into the elements
// of in's root gradient that the view reads; the rest of it stays 0.
void sum_into_broadcast(Autodiff& ad, int in, int dy, const std::string& layer);
// add.cpp: the inputs of an elementwise layer (add, mul) broadcast to one
// shape (NumPy's rules): `views` are the inputs, each as a stride-0 view
// where it is broadcast; an error names the layer, its inputs and shapes.
Status broadcast_inputs(Context& c, const LayerSpec& l, const std::string& name, std::span<const int> in,
                        std::vector<int>& views);
// The name of input i of layer l, for messages ("the previous layer" by default).
std::string input_name(const LayerSpec& l, size_t i);
// conv2d.cpp: the input of an image layer, (B, C, H, W) or (B, H, W) read as
// (B, 1, H, W), with its square kernel k, stride s and padding, and the
// output size OH x OW (rounded down); an error names the shapes.
struct ImageGeometry {
  int x = -1;  // (B, C, H, W)
  int64_t B = 0, C = 0, H = 0, W = 0, OH = 0, OW = 0;
};
Status image_geometry(Context& c, const LayerSpec& l, const std::string& name, int in, ImageGeometry& geo);

// The registration table: every layer type, one line each, in
// docs/pipeline.md's order (X(<its LayerKind>, "<file in this folder>")).
// registry.cpp lists them from here; each is defined in its own file.
#define PLINTH_LAYER_TYPES(X)                     \
  X(kLinear, "linear.cpp")                        \
  X(kRelu, "activation.cpp")                      \
  X(kGelu, "activation.cpp")                      \
  X(kTanh, "activation.cpp")                      \
  X(kSigmoid, "activation.cpp")                   \
  X(kSilu, "activation.cpp")                      \
  X(kDropout, "dropout.cpp")                      \
  X(kLayernorm, "layernorm.cpp")                  \
  X(kBatchnorm, "batchnorm.cpp")                  \
  X(kFlatten, "flatten.cpp")                      \
  X(kEmbedding, "embedding.cpp")                  \
  X(kPositionEmbedding, "position_embedding.cpp") \
  X(kAttention, "attention.cpp")                  \
  X(kBlock, "block.cpp")                          \
  X(kConv2d, "conv2d.cpp")                        \
  X(kMaxpool, "pool.cpp")                         \
  X(kAvgpool, "pool.cpp")                         \
  X(kGlobalAvgpool, "pool.cpp")                   \
  X(kAdd, "add.cpp")                              \
  X(kMul, "mul.cpp")                              \
  X(kConcat, "concat.cpp")

#define PLINTH_DECLARE_LAYER(id, file) extern const LayerKind id;
PLINTH_LAYER_TYPES(PLINTH_DECLARE_LAYER)
#undef PLINTH_DECLARE_LAYER

}  // namespace plinth::graph
