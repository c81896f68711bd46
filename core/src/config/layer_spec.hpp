// layer_spec.hpp — one layer of a pipeline's [model] as read from TOML: its
// type, name, named inputs and the values of its type's keys, and the key
// tables (name, type, default, check, doc line) each layer type declares in
// graph/layers/<type>.cpp. config/pipeline.cpp reads and writes the keys
// through those tables. Not here: what a layer builds (graph/layers/).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <toml++/toml.h>

#include "config/schema.hpp"  // KeyType: one set of key types for sections and layers

namespace plinth::config {

struct LayerSpec;

using KeyValue = std::variant<int64_t, double, bool, std::string>;

// One key a layer type accepts. A `required` key must be written; an
// `optional` one without a default stays absent (and is not written back);
// any other takes `def` when absent. `check` (may be null) returns "" or the
// error about this key's value, given the whole layer (read in table order).
struct LayerKey {
  enum Presence { defaulted, required, optional };
  std::string_view name;
  KeyType type;
  Presence presence;
  KeyValue def;                  // defaulted: the value when absent
  std::string_view doc_type;     // docs/pipeline.md's "type" column ("integer > 0")
  std::string_view doc_default;  // docs' "default" column; required: the missing-key hint
  std::string_view doc;          // docs' "meaning" column
  std::string (*check)(const LayerSpec&) = nullptr;
};

struct LayerSpec {                  // one [[model.layer]], or one entry of a block's `layers`
  std::string type;                 // a registered layer type (graph/layers/registry.cpp)
  std::string name;                 // default "<type><index>" e.g. "linear0"
  std::vector<std::string> inputs;  // names of earlier layers; empty: the previous layer's output
  // The values of the type's keys, in its key table's order; an optional key
  // without a value is absent.
  std::vector<std::pair<std::string, KeyValue>> keys;
  toml::source_region where;  // for errors naming the layer's line

  const KeyValue* find(std::string_view key) const {
    for (const auto& [k, v] : keys)
      if (k == key) return &v;
    return nullptr;
  }
  bool has(std::string_view key) const { return find(key) != nullptr; }
  // A key's value; 0 / false / "" when absent or of another type.
  int64_t integer(std::string_view key) const { return get<int64_t>(key, 0); }
  double number(std::string_view key) const { return get<double>(key, 0.0); }
  bool boolean(std::string_view key) const { return get<bool>(key, false); }
  std::string string(std::string_view key) const { return get<std::string>(key, {}); }
  void set(std::string_view key, KeyValue v) {
    for (auto& [k, old] : keys)
      if (k == key) {
        old = std::move(v);
        return;
      }
    keys.emplace_back(std::string(key), std::move(v));
  }

 private:
  template <class T>
  T get(std::string_view key, T fallback) const {
    const KeyValue* v = find(key);
    return v && std::holds_alternative<T>(*v) ? std::get<T>(*v) : fallback;
  }
};

}  // namespace plinth::config
