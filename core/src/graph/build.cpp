// build.cpp — from [model] layers and [loss] to a forward graph: the driver
// that resolves each layer's inputs by name (scopes of blocks and repeats)
// and asks its type (graph/layers/) to emit its nodes, then the loss
// (graph/loss.cpp) and autodiff (graph/autodiff.cpp). Not here: any layer's
// own forward or backward.
#include "graph/build.hpp"

#include <fnmatch.h>

#include <cmath>

#include "exec/backend.hpp"
#include "graph/layers/layer.hpp"
#include "graph/loss.hpp"
#include "util/checked.hpp"

namespace plinth::graph {

int Graph::add_value(std::string name, plinth_dtype dtype, std::vector<int64_t> shape, Role role) {
  Value v;
  v.name = std::move(name);
  v.dtype = dtype;
  v.shape = std::move(shape);
  v.role = role;
  values.push_back(std::move(v));
  return static_cast<int>(values.size()) - 1;
}

int Graph::add_view(int of, std::vector<int64_t> shape, std::string name) {
  int v = add_value(std::move(name), values[of].dtype, std::move(shape), values[of].role);
  values[v].alias_of = of;
  values[v].offset = values[of].offset;  // a reshape of a contiguous view keeps its start
  return v;
}

int Graph::add_strided(int of, std::vector<int64_t> shape, std::vector<int64_t> strides, int64_t offset,
                       std::string name) {
  int v = add_view(of, std::move(shape), std::move(name));
  values[v].strides = std::move(strides);
  values[v].offset += offset;
  return v;
}

// Name resolution of `inputs` (docs/pipeline.md): a dotted name is a full
// layer name from the model's top ("h.0.mlp"); a plain name is looked up in
// the innermost scope (the current block repeat) first, then outward. The
// first scope whose list declares the name decides: a layer there not yet
// built is a forward reference (or, the layer itself or the block being
// built, a cycle). `input` names the scope's input.
namespace {

// The largest tensor a pipeline may ask for, 2^40 bytes (1 TiB): past what
// any host or device allocates, and far below where element counts, byte
// counts and view offsets (int64) overflow, so no size computed from them
// downstream can wrap. The same bound holds for all parameters together.
constexpr int64_t kMaxTensorBytes = int64_t{1} << 40;
// Layers a model may expand to (blocks times repeat, nested).
constexpr size_t kMaxLayers = 100000;

// "" or why a value of g.values[from..] is too large to allocate.
std::string oversized(const Graph& g, size_t from) {
  for (size_t v = from; v < g.values.size(); ++v) {
    const Value& x = g.values[v];
    const auto bytes = util::checked_size(x.shape, static_cast<int64_t>(exec::dtype_size(x.dtype)));
    if (!bytes || *bytes > kMaxTensorBytes)
      return "tensor '" + x.name + "' of shape " + shape_str(x.shape) + " needs " +
             (bytes ? std::to_string(*bytes) + " bytes" : std::string("more bytes than int64 counts")) +
             ", over the limit of 2^40 bytes (1 TiB) per tensor";
  }
  return "";
}

// The layer's integer keys, " (max_len = 8, ...)": what to make smaller.
std::string integer_keys(const LayerSpec& l) {
  std::string s;
  for (const auto& [k, v] : l.keys)
    if (const int64_t* i = std::get_if<int64_t>(&v))
      s += (s.empty() ? " (" : ", ") + k + " = " + std::to_string(*i);
  return s.empty() ? s : s + ")";
}

Status resolve(Context& c, const LayerSpec& l, const std::string& name, int& v) {
  if (name.find('.') != std::string::npos) {
    auto it = c.full_names.find(name);
    if (it == c.full_names.end())
      return c.err(l,
                   "inputs: unknown input '" + name +
                       "' (a dotted name is the full name of a layer built before this one, e.g. 'h.0.mlp')");
    v = it->second;
    return {};
  }
  for (size_t s = c.scopes.size(); s-- > 0;) {
    const Context::Scope& sc = c.scopes[s];
    if (auto it = sc.built.find(name); it != sc.built.end()) {
      v = it->second;
      return {};
    }
    for (const LayerSpec& d : *sc.list) {
      if (d.name != name) continue;
      if (&d == sc.current)  // itself, or the block layer being built
        return c.err(l, "inputs: '" + name + "' is a cycle: a layer cannot take its own output");
      return c.err(l, "inputs: '" + name + "' is a forward reference: that layer (line " +
                          std::to_string(d.where.begin.line) +
                          ") comes after this one; a layer takes inputs only from layers before it");
    }
    if (name == "input") {
      v = sc.input;
      return {};
    }
  }
  std::string known;
  for (size_t s = c.scopes.size(); s-- > 0;)
    for (const auto& [k, _] : c.scopes[s].built) known += (known.empty() ? "'" : ", '") + k + "'";
  return c.err(l, "inputs: unknown input '" + name +
                      "' (layers before this one: " + (known.empty() ? std::string("none") : known) +
                      "; 'input' is the model's or block's input)");
}

}  // namespace

Status Context::layers(const std::vector<LayerSpec>& ls, const std::string& prefix, int input, int& out) {
  scopes.push_back({&ls, {}, input});
  int h = input;  // the running activation: the default input of the next layer
  for (const LayerSpec& l : ls) {
    last = &l;
    scopes.back().current = &l;
    std::vector<int> in;
    if (l.inputs.empty()) in.push_back(h);
    for (const std::string& name : l.inputs) {
      int v = -1;
      PLINTH_TRY(resolve(*this, l, name, v));
      in.push_back(v);
    }
    const LayerKind* kind = find_layer_kind(l.type);
    if (!kind) return err(l, "unknown layer type");
    const int n = static_cast<int>(in.size());
    if (n < kind->min_inputs || (kind->max_inputs >= 0 && n > kind->max_inputs))
      return err(l, "inputs: takes " +
                        (kind->min_inputs == kind->max_inputs ? std::to_string(kind->min_inputs)
                         : kind->max_inputs < 0
                             ? std::to_string(kind->min_inputs) + " or more"
                             : std::to_string(kind->min_inputs) + " to " + std::to_string(kind->max_inputs)) +
                        " input" + (kind->min_inputs == 1 && kind->max_inputs == 1 ? "" : "s") + ", got " +
                        std::to_string(n));
    if (!kind->any_dtype)
      for (int v : in)
        if (g.values[v].dtype != PLINTH_DTYPE_F32)
          return err(l, "expects f32 input, got " + std::string(exec::dtype_name(g.values[v].dtype)) +
                            " (token ids need an embedding layer first)");
    if (++layers_built > kMaxLayers)
      return err(l, "the model expands to more than " + std::to_string(kMaxLayers) +
                        " layers (blocks placed with repeat, nested)");
    int y = -1;
    const size_t first_value = g.values.size();
    PLINTH_TRY(kind->build(*this, l, prefix + l.name, in, y));
    if (opt.onnx) PLINTH_TRY(onnx_layer(*opt.onnx, *this, *kind, l, prefix + l.name, in, y));
    if (const std::string why = oversized(g, first_value); !why.empty()) return err(l, why + integer_keys(l));
    scopes.back().built[l.name] = y;
    full_names[prefix + l.name] = y;
    h = y;
  }
  scopes.pop_back();
  out = h;
  return {};
}

namespace {

// [train] freeze and [model.lora]: which parameters are trained. Every
// pattern must match something, so a typo cannot silently train (or freeze)
// the wrong layers.
Status mark_trainable(const config::Pipeline& p, Graph& g, const std::vector<int>& lora_hits) {
  auto names = [&] {
    std::string s;
    for (size_t i = 0; i < g.params.size() && i < 6; ++i)
      s += (i ? ", " : "") + g.values[g.params[i].value].name;
    return s + (g.params.size() > 6 ? ", ..." : "");
  };
  const auto& lr = p.model.lora;
  for (size_t i = 0; i < lora_hits.size(); ++i)
    if (lora_hits[i] == 0)
      return error(errc::config, p.source.string() + ":" + std::to_string(lr.where.begin.line) +
                                     ": model.lora.targets: '" + lr.targets[i] +
                                     "' matches no linear layer with its own weight (layers are named as "
                                     "their weights without '.weight': " +
                                     names() + ")");
  // Under LoRA only the adapters train.
  if (lr.enabled)
    for (auto& prm : g.params) prm.trainable = prm.lora;
  for (const std::string& pat : p.train.freeze) {
    bool hit = false;
    for (auto& prm : g.params)
      if (fnmatch(pat.c_str(), g.values[prm.value].name.c_str(), 0) == 0) {
        prm.trainable = false;
        hit = true;
      }
    if (!hit)
      return error(errc::config, p.source.string() + ":" + std::to_string(p.train.freeze_where.begin.line) +
                                     ": train.freeze: '" + pat + "' matches no parameter (" + names() + ")");
  }
  bool any = false;
  for (const auto& prm : g.params) any = any || prm.trainable;
  if (!any && !g.params.empty())
    return error(errc::config,
                 p.source.string() + ": train.freeze: every parameter is frozen; nothing to train");
  return {};
}

}  // namespace

Result<Graph> build(const config::Pipeline& p, const DataShape& data, const BuildOptions& opt) {
  Graph g;
  const int64_t B = opt.batch;
  g.batch = B;
  std::vector<int64_t> in_shape{B};
  in_shape.insert(in_shape.end(), data.input_shape.begin(), data.input_shape.end());
  if (data.input_dtype != PLINTH_DTYPE_F32 && data.input_dtype != PLINTH_DTYPE_I32)
    return error(errc::config, p.source.string() +
                                   ": the input field must be f32 (features) or i32 (token ids), got " +
                                   exec::dtype_name(data.input_dtype));
  g.input = g.add_value("input", data.input_dtype, in_shape, Role::input);
  if (const std::string why = oversized(g, 0); !why.empty())
    return error(errc::config,
                 p.source.string() + ": the input batch: " + why + " (batch size " + std::to_string(B) + ")");

  if (opt.onnx) opt.onnx->bind(g.input, "input");
  Context c{p, data, opt, g};
  c.gpt2 = p.model.init == "gpt2";
  c.lora_hits.assign(p.model.lora.targets.size(), 0);
  int h = -1;  // the model's output
  PLINTH_TRY(c.layers(p.model.layers, "", g.input, h));
  int64_t param_bytes = 0;
  for (const auto& prm : g.params) {
    const Value& x = g.values[prm.value];
    const auto add = util::checked_add(
        param_bytes, *util::checked_size(x.shape, static_cast<int64_t>(exec::dtype_size(x.dtype))));
    if (!add || *add > kMaxTensorBytes)
      return error(errc::config,
                   p.source.string() +
                       ": the model's parameters together need more than 2^40 bytes (1 TiB), the "
                       "limit (at '" +
                       x.name + "')");
    param_bytes = *add;
  }
  PLINTH_TRY(mark_trainable(p, g, c.lora_hits));
  // GPT-2's init: each residual branch's output projection N(0, 0.02 / sqrt(branches)).
  if (c.gpt2 && !c.residual_outputs.empty())
    for (int i : c.residual_outputs)
      g.params[static_cast<size_t>(i)].init.a =
          0.02 / std::sqrt(static_cast<double>(c.residual_outputs.size()));
  if (g.values[h].dtype != PLINTH_DTYPE_F32)
    return error(errc::config,
                 p.source.string() + ": the model's output must be f32 (add an embedding or linear layer)");
  PLINTH_TRY(build_loss(c, data, h));
  if (opt.training) PLINTH_TRY(differentiate(g, opt.accumulate_param_grads));
  return g;
}

}  // namespace plinth::graph
