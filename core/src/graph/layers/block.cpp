// block.cpp — the `block` layer: places a [[model.block]] `repeat` times, each
// copy with its own parameters (<name>.0., <name>.1., …, or <name>. when 1)
// and its own name scope; a residual block adds the copy's input to the
// output of its last layer. It emits no node of its own except that add.
#include "graph/layers/layer.hpp"

namespace plinth::graph {
namespace {

constexpr int64_t kMaxRepeat = 4096;  // the docs row states it

constexpr config::LayerKey kKeys[] = {
    {"use",
     config::KeyType::string,
     config::LayerKey::required,
     {},
     "string",
     "the name of a [[model.block]]",
     "the `[[model.block]]` to place"},
    {"repeat", config::KeyType::integer, config::LayerKey::defaulted, int64_t{1}, "integer in [1, 4096]",
     "`1`", "copies, each with its own parameters, named `<name>.0.`, `<name>.1.`, … (`<name>.` when 1)",
     [](const LayerSpec& l) {
       const int64_t v = l.integer("repeat");
       return v >= 1 && v <= kMaxRepeat ? ""
                                        : "repeat must be in [1, " + num(kMaxRepeat) + "], got " + num(v);
     }},
};

// A block layer without a name is named after the block it places.
std::pair<std::string, std::string> finish(LayerSpec& l) {
  if (l.name.empty()) l.name = l.string("use");
  return {};
}

Status build(Context& c, const LayerSpec& l, const std::string& name, std::span<const int> in, int& out) {
  Graph& g = c.g;
  const std::string use = l.string("use");
  const config::BlockSpec* b = c.p.model.block(use);
  if (!b) return c.err(l, "no [[model.block]] named '" + use + "'");
  const int64_t repeat = l.integer("repeat");
  int h = in[0];
  for (int64_t r = 0; r < repeat; ++r) {
    std::string copy = name;  // this copy's name: <name>.<r>, or <name> when there is one
    if (repeat > 1) {
      copy += '.';
      copy += std::to_string(r);
    }
    const int x = h;
    c.last_linear_param = -1;
    PLINTH_TRY(c.layers(b->layers, copy + ".", x, h));
    if (b->residual) {
      if (g.values[h].shape != g.values[x].shape)
        return c.err(l, "residual block '" + b->name + "' maps " + shape_str(g.values[x].shape) + " to " +
                            shape_str(g.values[h].shape) + "; its output must have its input's shape");
      if (c.last_linear_param >= 0) c.residual_outputs.push_back(c.last_linear_param);
      const int body = h;
      h = emit_add(c, x, body, copy + ".residual");
      // The next copy's layers read it: its ONNX Add is written now.
      if (c.opt.onnx) PLINTH_TRY(onnx_add(*c.opt.onnx, x, body, h, copy + ".residual"));
    }
    if (repeat > 1) c.full_names[copy] = h;
  }
  out = h;
  return {};
}

// ONNX: nothing of its own; each copy's layers and residual Add were written
// while build placed them.
Status onnx(OnnxContext&, Context&, const LayerSpec&, const std::string&, std::span<const int>, int) {
  return {};
}

}  // namespace

const LayerKind kBlock{"block", kKeys, 1, 1, finish, build, true, onnx};

}  // namespace plinth::graph
