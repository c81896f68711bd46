// registry.cpp — the one table of layer types (each defined in its own file
// of this folder), looked up by config/pipeline.cpp for a layer's keys and by
// graph/build.cpp to build it; and the small helpers the layer files share.
// Adding a layer type: a new file defining its LayerKind, and its line in
// layer.hpp's PLINTH_LAYER_TYPES.
#include <charconv>
#include <sstream>

#include "graph/layers/layer.hpp"

namespace plinth::graph {

namespace {

#define PLINTH_LIST_LAYER(id, file) &id,
constexpr const LayerKind* kKinds[] = {PLINTH_LAYER_TYPES(PLINTH_LIST_LAYER)};
#undef PLINTH_LIST_LAYER

}  // namespace

std::span<const LayerKind* const> layer_kinds() { return kKinds; }

const LayerKind* find_layer_kind(std::string_view type) {
  for (const LayerKind* k : kKinds)
    if (k->type == type) return k;
  return nullptr;
}

std::string num(double v) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}
std::string num(int64_t v) { return std::to_string(v); }

std::string positive(const LayerSpec& l, std::string_view key) {
  const int64_t v = l.integer(key);
  return v > 0 ? "" : std::string(key) + " must be > 0, got " + num(v);
}

std::string shape_str(const std::vector<int64_t>& s) {
  std::ostringstream o;
  o << "(";
  for (size_t i = 0; i < s.size(); ++i) o << (i ? ", " : "") << s[i];
  o << (s.size() == 1 ? ",)" : ")");
  return o.str();
}

plinth_unary_params unary(plinth_unary_fn fn, float alpha, float beta) {
  return {sizeof(plinth_unary_params), fn, alpha, beta};
}

Status Context::err(const LayerSpec& l, const std::string& what) const {
  const auto& b = l.where.begin;
  return error(errc::config, p.source.string() + ":" + std::to_string(b.line) + ":" +
                                 std::to_string(b.column) + ": layer '" + l.name + "' (" + l.type +
                                 "): " + what);
}

int Context::param(const std::string& name, std::vector<int64_t> shape, ParamInit init, bool decay) {
  int v = g.add_value(name, PLINTH_DTYPE_F32, std::move(shape), Role::param);
  g.params.push_back({v, init, decay});
  return v;
}

int Context::buffer(const std::string& name, std::vector<int64_t> shape, double value) {
  int v = g.add_value(name, PLINTH_DTYPE_F32, std::move(shape), Role::param);
  Parameter prm{v, {ParamInit::constant, value}, false};
  prm.trainable = false;
  prm.buffer = true;
  g.params.push_back(prm);
  return v;
}

}  // namespace plinth::graph
