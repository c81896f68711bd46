// pipeline.cpp — pipeline.toml → a typed, validated Pipeline, and back to
// TOML with every default filled in (resolved_toml). Every error is one
// Status(errc::config) reading "<file>:<line>:<col>: <dotted.key>: <what>".
// Plugin-owned keys are kept as TOML tables and checked later by the core
// against the plugin's declared keys; nothing here loads plugins or data.
#include "config/pipeline.hpp"
#include "util/toml_names.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <limits>
#include <map>
#include <sstream>
#include <system_error>
#include <vector>

#include "config/did_you_mean.hpp"
#include "graph/layers/layer.hpp"

namespace plinth::config {
namespace {

namespace fs = std::filesystem;
using names = std::initializer_list<std::string_view>;

// --- the names the core owns --------------------------------------------------

constexpr std::string_view kSections[] = {"run",       "backend",  "data",       "model",      "loss",
                                          "optimizer", "schedule", "train",      "checkpoint", "early_stop",
                                          "plugins",   "init",     "distributed"};
constexpr std::string_view kRunKeys[] = {"name", "seed", "out_dir"};
constexpr std::string_view kBackendCore[] = {"name", "device", "threads", "allow_fallback"};
constexpr std::string_view kDataCore[] = {"source",   "shuffle",     "drop_last",   "workers",
                                          "prefetch", "input_field", "target_field"};
constexpr std::string_view kModelKeys[] = {"layer", "block", "init", "lora"};
constexpr std::string_view kLoraKeys[] = {"rank", "alpha", "targets"};
constexpr std::string_view kInitKeys[] = {"from", "include", "rename"};
constexpr std::string_view kBlockKeys[] = {"name", "residual", "layers"};
constexpr std::string_view kInits[] = {"torch", "gpt2"};
constexpr std::string_view kLossKeys[] = {"type"};
constexpr std::string_view kLossTypes[] = {"cross_entropy", "mse"};
constexpr std::string_view kScheduleKeys[] = {"type",   "warmup_steps", "min_lr",   "step_size", "gamma",
                                              "max_lr", "pct_start",    "patience", "threshold"};
constexpr std::string_view kScheduleTypes[] = {"constant", "step",      "linear",
                                               "cosine",   "one_cycle", "plateau"};
constexpr std::string_view kTrainKeys[] = {"epochs",
                                           "max_steps",
                                           "batch_size",
                                           "eval_every",
                                           "log_every",
                                           "target_metric",
                                           "target_value",
                                           "stop_at_target",
                                           "grad_accum",
                                           "clip_grad_norm",
                                           "precision",
                                           "on_nonfinite",
                                           "max_nonfinite",
                                           "loss_scaling",
                                           "loss_scale_init",
                                           "loss_scale_growth_interval",
                                           "loss_scale_growth",
                                           "loss_scale_backoff",
                                           "freeze"};
constexpr std::string_view kNonfinite[] = {"stop", "skip"};
constexpr std::string_view kCheckpointOnError[] = {"continue", "stop"};
constexpr std::string_view kCheckpointKeys[] = {"every_steps", "every_minutes", "keep_last", "keep_best",
                                                "best_metric", "best_mode",     "at_end",    "on_error"};
constexpr std::string_view kEarlyStopKeys[] = {"metric", "mode", "patience", "min_delta"};
constexpr std::string_view kDistributedKeys[] = {"communicator", "bucket_mb",     "timeout",
                                                 "compression",  "powersgd_rank", "powersgd_warmup_steps"};
constexpr std::string_view kCompressions[] = {"none", "bf16", "fp16", "powersgd"};
constexpr std::string_view kEvalMetrics[] = {"eval.loss", "eval.accuracy"};
constexpr std::string_view kModes[] = {"min", "max"};
constexpr std::string_view kTargetMetrics[] = {"", "eval.accuracy", "eval.loss"};
constexpr std::string_view kPrecisions[] = {"fp32", "bf16", "fp16"};
constexpr std::string_view kPluginsKeys[] = {"manifests", "allow_insecure_plugins", "require_signature"};

bool contains(std::span<const std::string_view> set, std::string_view s) {
  for (auto v : set)
    if (v == s) return true;
  return false;
}

std::string join_quoted(std::span<const std::string_view> set) {
  std::string out;
  for (auto v : set) {
    if (!out.empty()) out.append(", ");
    out.append(1, '\'').append(v).append(1, '\'');
  }
  return out;
}

std::string join_key(std::string_view path, std::string_view key) {
  if (path.empty()) return std::string(key);
  return std::string(path) + "." + std::string(key);
}

// --- the reader: one per parse, knows the file name for messages -------------

class Reader {
 public:
  explicit Reader(fs::path file) : file_(std::move(file)) {}

  std::string at(const toml::source_region& r) const {
    if (r.begin.line == 0) return file_.string();  // a node built in memory has no position
    return file_.string() + ":" + std::to_string(r.begin.line) + ":" + std::to_string(r.begin.column);
  }
  Status fail(const toml::source_region& r, std::string_view key, std::string_view what) const {
    return error(errc::config, at(r) + ": " + std::string(key) + ": " + std::string(what));
  }
  // Where a key's value is, or the table's header when the key is absent.
  static const toml::source_region& where(const toml::table& t, std::string_view key) {
    const toml::node* n = t.get(key);
    return n ? n->source() : t.source();
  }

  // Every key of `t` must be in `allowed` (keys in `plugin_keys` are skipped).
  Status check_keys(const toml::table& t, std::string_view path, std::span<const std::string_view> allowed,
                    std::string_view what = "unknown key") const {
    for (auto&& [k, v] : t) {
      if (contains(allowed, k.str())) continue;
      std::string msg = std::string(what);
      std::string hint = did_you_mean(k.str(), allowed);
      if (!hint.empty())
        msg += " (did you mean '" + hint + "'?)";
      else
        msg += "; expected one of " + join_quoted(allowed);
      return fail(k.source(), join_key(path, k.str()), msg);
    }
    return {};
  }

  Status type_error(const toml::node& n, std::string_view key, std::string_view expected) const {
    return fail(n.source(), key,
                "expected " + std::string(expected) + ", got " + std::string(toml_type_name(n.type())));
  }

  // The value of `key` if present; `out` keeps its default when absent.
  Status get(const toml::table& t, std::string_view path, std::string_view key, int64_t& out) const {
    const toml::node* n = t.get(key);
    if (!n) return {};
    if (!n->is_integer()) return type_error(*n, join_key(path, key), "an integer");
    out = n->as_integer()->get();
    return {};
  }
  Status get(const toml::table& t, std::string_view path, std::string_view key, int& out) const {
    int64_t v = out;
    PLINTH_TRY(get(t, path, key, v));
    if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max())
      return fail(where(t, key), join_key(path, key), "value " + std::to_string(v) + " is out of range");
    out = static_cast<int>(v);
    return {};
  }
  Status get(const toml::table& t, std::string_view path, std::string_view key, double& out) const {
    const toml::node* n = t.get(key);
    if (!n) return {};
    if (n->is_integer())
      out = static_cast<double>(n->as_integer()->get());
    else if (n->is_floating_point())
      out = n->as_floating_point()->get();
    else
      return type_error(*n, join_key(path, key), "a number");
    if (!std::isfinite(out)) return fail(n->source(), join_key(path, key), "must be a finite number");
    return {};
  }
  Status get(const toml::table& t, std::string_view path, std::string_view key, bool& out) const {
    const toml::node* n = t.get(key);
    if (!n) return {};
    if (!n->is_boolean()) return type_error(*n, join_key(path, key), "a boolean");
    out = n->as_boolean()->get();
    return {};
  }
  Status get(const toml::table& t, std::string_view path, std::string_view key, std::string& out) const {
    const toml::node* n = t.get(key);
    if (!n) return {};
    if (!n->is_string()) return type_error(*n, join_key(path, key), "a string");
    out = n->as_string()->get();
    return {};
  }

  // An array of non-empty strings.
  Status get(const toml::table& t, std::string_view path, std::string_view key,
             std::vector<std::string>& out) const {
    const toml::node* n = t.get(key);
    if (!n) return {};
    const toml::array* a = n->as_array();
    if (!a) return type_error(*n, join_key(path, key), "an array of strings");
    out.clear();
    for (const toml::node& e : *a) {
      if (!e.is_string()) return type_error(e, join_key(path, key), "an array of strings");
      if (e.as_string()->get().empty()) return fail(e.source(), join_key(path, key), "an empty pattern");
      out.push_back(e.as_string()->get());
    }
    return {};
  }

  // A sub-table of `t` (nullptr when absent); an error when `key` is not a table.
  Status table(const toml::table& t, std::string_view path, std::string_view key,
               const toml::table*& out) const {
    out = nullptr;
    const toml::node* n = t.get(key);
    if (!n) return {};
    if (!n->is_table()) return type_error(*n, join_key(path, key), "a table");
    out = n->as_table();
    return {};
  }

  // `ok` or an error at the key's value (or the table header) saying `what`.
  Status require(bool ok, const toml::table& t, std::string_view path, std::string_view key,
                 std::string_view what) const {
    return ok ? Status{} : fail(where(t, key), join_key(path, key), what);
  }
  Status one_of(const toml::table& t, std::string_view path, std::string_view key, std::string_view value,
                std::span<const std::string_view> set, std::string_view what) const {
    if (contains(set, value)) return {};
    return fail(where(t, key), join_key(path, key),
                "unknown " + std::string(what) + " '" + std::string(value) + "'" +
                    (did_you_mean(value, set).empty() ? "; expected one of " + join_quoted(set)
                                                      : did_you_mean_suffix(value, set)));
  }

  const fs::path& file() const { return file_; }

 private:
  fs::path file_;
};

template <class T>
std::string num(T v) {
  if constexpr (std::is_floating_point_v<T>) {
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, r.ptr);
  } else {
    return std::to_string(v);
  }
}

// --- sections ----------------------------------------------------------------

Status read_run(const Reader& r, const toml::table& t, RunSection& run) {
  PLINTH_TRY(r.check_keys(t, "run", kRunKeys));
  PLINTH_TRY(r.get(t, "run", "name", run.name));
  PLINTH_TRY(r.require(!run.name.empty(), t, "run", "name", "must not be empty"));
  int64_t seed = 0;
  PLINTH_TRY(r.get(t, "run", "seed", seed));
  PLINTH_TRY(r.require(seed >= 0, t, "run", "seed", "seed must be >= 0, got " + num(seed)));
  run.seed = static_cast<uint64_t>(seed);
  std::string out_dir = run.out_dir.string();
  PLINTH_TRY(r.get(t, "run", "out_dir", out_dir));
  PLINTH_TRY(r.require(!out_dir.empty(), t, "run", "out_dir", "must not be empty"));
  run.out_dir = out_dir;
  return {};
}

Status read_backend(const Reader& r, const toml::table& t, BackendSection& b) {
  // Keys beyond the core's belong to the backend plugin (checked against its manifest later).
  PLINTH_TRY(r.get(t, "backend", "name", b.name));
  PLINTH_TRY(r.require(!b.name.empty(), t, "backend", "name", "must not be empty"));
  PLINTH_TRY(r.get(t, "backend", "device", b.device));
  PLINTH_TRY(r.require(b.device >= 0, t, "backend", "device", "device must be >= 0, got " + num(b.device)));
  PLINTH_TRY(r.get(t, "backend", "threads", b.threads));
  PLINTH_TRY(
      r.require(b.threads >= 0, t, "backend", "threads", "threads must be >= 0, got " + num(b.threads)));
  PLINTH_TRY(r.get(t, "backend", "allow_fallback", b.allow_fallback));
  return {};
}

Status read_data(const Reader& r, const toml::table& t, std::string_view path, DataSection& d) {
  // Other keys belong to the data-source plugin, but one within two edits of a
  // core key is almost surely a typo of it ("shufle"), so it is caught here.
  for (auto&& [k, v] : t) {
    if (contains(kDataCore, k.str())) continue;
    for (auto c : kDataCore) {
      const std::size_t dist = edit_distance(k.str(), c);
      if (dist <= 2 && dist < k.str().size())
        return r.fail(k.source(), join_key(path, k.str()),
                      "unknown key (did you mean '" + std::string(c) + "'?)");
    }
  }
  PLINTH_TRY(r.get(t, path, "source", d.source));
  if (!t.contains("source"))
    return r.fail(t.source(), join_key(path, "source"),
                  "missing required key (the data-source component, e.g. \"idx\", \"csv\")");
  PLINTH_TRY(r.require(!d.source.empty(), t, path, "source", "must not be empty"));
  PLINTH_TRY(r.get(t, path, "shuffle", d.shuffle));
  PLINTH_TRY(r.get(t, path, "drop_last", d.drop_last));
  PLINTH_TRY(r.get(t, path, "workers", d.workers));
  PLINTH_TRY(r.require(d.workers >= 0, t, path, "workers", "workers must be >= 0, got " + num(d.workers)));
  PLINTH_TRY(r.get(t, path, "prefetch", d.prefetch));
  PLINTH_TRY(
      r.require(d.prefetch >= 1, t, path, "prefetch", "prefetch must be >= 1, got " + num(d.prefetch)));
  PLINTH_TRY(r.get(t, path, "input_field", d.input_field));
  PLINTH_TRY(r.get(t, path, "target_field", d.target_field));
  return {};
}

// The names of the layer types (graph/layers/registry.cpp).
std::vector<std::string_view> layer_type_names() {
  std::vector<std::string_view> out;
  for (const graph::LayerKind* k : graph::layer_kinds()) out.push_back(k->type);
  return out;
}

// One layer: its type, name and inputs, then its type's keys from the type's
// key table (graph/layers/<type>.cpp): type, presence, default and check.
Status read_layer(const Reader& r, const toml::table& t, const std::string& path, std::size_t index,
                  LayerSpec& l) {
  l.where = t.source();
  const std::vector<std::string_view> types = layer_type_names();
  if (!t.contains("type"))
    return r.fail(t.source(), path + ".type", "missing required key (one of " + join_quoted(types) + ")");
  PLINTH_TRY(r.get(t, path, "type", l.type));
  PLINTH_TRY(r.one_of(t, path, "type", l.type, types, "layer type"));
  const graph::LayerKind& kind = *graph::find_layer_kind(l.type);
  std::vector<std::string_view> allowed{"type", "name"};
  for (const LayerKey& k : kind.keys) allowed.push_back(k.name);
  allowed.push_back("inputs");
  PLINTH_TRY(r.check_keys(t, path, allowed, "not a key of a '" + l.type + "' layer"));
  PLINTH_TRY(r.get(t, path, "name", l.name));
  if (t.contains("name")) {
    PLINTH_TRY(r.require(!l.name.empty() && l.name.find('.') == std::string::npos, t, path, "name",
                         "must be non-empty and without '.'"));
    PLINTH_TRY(r.require(l.name != "input", t, path, "name",
                         "'input' is reserved: it names the model's (or a block's) input in `inputs`"));
  }
  PLINTH_TRY(r.get(t, path, "inputs", l.inputs));
  if (t.contains("inputs"))
    PLINTH_TRY(r.require(!l.inputs.empty(), t, path, "inputs", "at least one layer name (or leave it out)"));
  for (const LayerKey& k : kind.keys) {
    const toml::node* n = t.get(k.name);
    if (!n) {
      if (k.presence == LayerKey::required)
        return r.fail(t.source(), join_key(path, k.name),
                      "missing required key (" + std::string(k.doc_default) + ")");
      if (k.presence == LayerKey::defaulted) l.set(k.name, k.def);
      continue;
    }
    switch (k.type) {
      case KeyType::integer: {
        int64_t v = 0;
        PLINTH_TRY(r.get(t, path, k.name, v));
        l.set(k.name, v);
        break;
      }
      case KeyType::number: {
        double v = 0;
        PLINTH_TRY(r.get(t, path, k.name, v));
        l.set(k.name, v);
        break;
      }
      case KeyType::boolean: {
        bool v = false;
        PLINTH_TRY(r.get(t, path, k.name, v));
        l.set(k.name, v);
        break;
      }
      case KeyType::string: {
        std::string v;
        PLINTH_TRY(r.get(t, path, k.name, v));
        l.set(k.name, v);
        break;
      }
    }
    if (k.check) {
      const std::string what = k.check(l);
      if (!what.empty()) return r.fail(n->source(), join_key(path, k.name), what);
    }
  }
  if (kind.finish) {
    auto [key, what] = kind.finish(l);
    if (!what.empty()) return r.fail(Reader::where(t, key), join_key(path, key), what);
  }
  // Keys in the table's order, whatever order finish added them in.
  std::vector<std::pair<std::string, KeyValue>> ordered;
  for (const LayerKey& k : kind.keys)
    if (const KeyValue* v = l.find(k.name)) ordered.emplace_back(std::string(k.name), *v);
  l.keys = std::move(ordered);
  if (l.name.empty()) l.name = l.type + std::to_string(index);
  return {};
}

// Layers of [[model.layer]] or of a block's `layers`: names unique in the list.
Status read_layers(const Reader& r, const toml::node& n, const std::string& path,
                   std::vector<LayerSpec>& out) {
  const toml::array* arr = n.as_array();
  if (!arr) return r.type_error(n, path, "an array of tables");
  if (arr->empty()) return r.fail(n.source(), path, "needs at least one layer");
  std::map<std::string, std::size_t> seen;
  for (std::size_t i = 0; i < arr->size(); ++i) {
    const toml::node& el = *arr->get(i);
    const std::string lpath = path + "[" + std::to_string(i) + "]";
    if (!el.is_table()) return r.type_error(el, lpath, "a table");
    LayerSpec l;
    PLINTH_TRY(read_layer(r, *el.as_table(), lpath, i, l));
    auto [it, fresh] = seen.emplace(l.name, i);
    if (!fresh) {
      const auto& first = out[it->second].where;
      return r.fail(Reader::where(*el.as_table(), "name"), lpath + ".name",
                    "duplicate layer name '" + l.name + "' (also " + path + "[" + std::to_string(it->second) +
                        "] at line " + std::to_string(first.begin.line) + ")");
    }
    out.push_back(std::move(l));
  }
  return {};
}

Status read_model(const Reader& r, const toml::table& t, ModelSection& m) {
  PLINTH_TRY(r.check_keys(t, "model", kModelKeys));
  PLINTH_TRY(r.get(t, "model", "init", m.init));
  PLINTH_TRY(r.one_of(t, "model", "init", m.init, kInits, "init"));
  const toml::table* lt = nullptr;
  PLINTH_TRY(r.table(t, "model", "lora", lt));
  if (lt) {
    const std::string_view lp = "model.lora";
    PLINTH_TRY(r.check_keys(*lt, lp, kLoraKeys));
    m.lora.enabled = true;
    m.lora.where = lt->source();
    PLINTH_TRY(r.get(*lt, lp, "rank", m.lora.rank));
    PLINTH_TRY(r.require(m.lora.rank >= 1 && m.lora.rank <= 65536, *lt, lp, "rank",
                         "rank must be in [1, 65536], got " + num(m.lora.rank)));
    m.lora.alpha = static_cast<double>(m.lora.rank);
    PLINTH_TRY(r.get(*lt, lp, "alpha", m.lora.alpha));
    PLINTH_TRY(
        r.require(m.lora.alpha > 0.0, *lt, lp, "alpha", "alpha must be > 0, got " + num(m.lora.alpha)));
    if (!lt->contains("targets"))
      return r.fail(
          lt->source(), "model.lora.targets",
          "missing required key (glob patterns of the linear layers to adapt, e.g. [\"*.c_attn\"])");
    PLINTH_TRY(r.get(*lt, lp, "targets", m.lora.targets));
    PLINTH_TRY(r.require(!m.lora.targets.empty(), *lt, lp, "targets", "at least one pattern"));
    if (const toml::node* n = lt->get("targets")) m.lora.where = n->source();
  }
  if (const toml::node* bn = t.get("block")) {
    const toml::array* arr = bn->as_array();
    if (!arr) return r.type_error(*bn, "model.block", "an array of tables ([[model.block]])");
    for (std::size_t i = 0; i < arr->size(); ++i) {
      const std::string path = "model.block[" + std::to_string(i) + "]";
      const toml::node& el = *arr->get(i);
      if (!el.is_table()) return r.type_error(el, path, "a table");
      const toml::table& bt = *el.as_table();
      PLINTH_TRY(r.check_keys(bt, path, kBlockKeys, "not a key of a [[model.block]]"));
      BlockSpec b;
      b.where = bt.source();
      if (!bt.contains("name"))
        return r.fail(bt.source(), path + ".name", "missing required key (the block's name)");
      PLINTH_TRY(r.get(bt, path, "name", b.name));
      PLINTH_TRY(r.require(!b.name.empty(), bt, path, "name", "must not be empty"));
      if (m.block(b.name))
        return r.fail(Reader::where(bt, "name"), path + ".name", "duplicate block name '" + b.name + "'");
      PLINTH_TRY(r.get(bt, path, "residual", b.residual));
      const toml::node* ln = bt.get("layers");
      if (!ln) return r.fail(bt.source(), path + ".layers", "missing required key (the block's layers)");
      PLINTH_TRY(read_layers(r, *ln, path + ".layers", b.layers));
      m.blocks.push_back(std::move(b));
    }
  }
  const toml::node* n = t.get("layer");
  if (!n) return r.fail(t.source(), "model.layer", "missing: the model needs at least one [[model.layer]]");
  if (!n->as_array()) return r.type_error(*n, "model.layer", "an array of tables ([[model.layer]])");
  PLINTH_TRY(read_layers(r, *n, "model.layer", m.layers));
  // Every `use` names a block, and no block contains itself.
  std::function<Status(const std::vector<LayerSpec>&, std::vector<std::string>&)> check =
      [&](const std::vector<LayerSpec>& layers, std::vector<std::string>& stack) -> Status {
    for (const LayerSpec& l : layers) {
      if (l.type != "block") continue;
      const std::string use = l.string("use");
      const BlockSpec* b = m.block(use);
      if (!b) {
        std::vector<std::string_view> names;
        for (const auto& x : m.blocks) names.push_back(x.name);
        return r.fail(l.where, "use",
                      "no [[model.block]] named '" + use + "'" +
                          (names.empty() ? std::string(" (there are none)")
                                         : "; the blocks are " + join_quoted(names)));
      }
      if (std::find(stack.begin(), stack.end(), b->name) != stack.end())
        return r.fail(l.where, "use", "block '" + b->name + "' contains itself");
      stack.push_back(b->name);
      PLINTH_TRY(check(b->layers, stack));
      stack.pop_back();
    }
    return {};
  };
  std::vector<std::string> stack;
  return check(m.layers, stack);
}

Status read_schedule(const Reader& r, const toml::table& t, ScheduleSection& s) {
  const std::string_view p = "schedule";
  PLINTH_TRY(r.check_keys(t, p, kScheduleKeys));
  PLINTH_TRY(r.get(t, p, "type", s.type));
  PLINTH_TRY(r.one_of(t, p, "type", s.type, kScheduleTypes, "schedule type"));
  PLINTH_TRY(r.get(t, p, "warmup_steps", s.warmup_steps));
  PLINTH_TRY(r.require(s.warmup_steps >= 0, t, p, "warmup_steps",
                       "warmup_steps must be >= 0, got " + num(s.warmup_steps)));
  PLINTH_TRY(r.get(t, p, "min_lr", s.min_lr));
  PLINTH_TRY(r.require(s.min_lr >= 0.0, t, p, "min_lr", "min_lr must be >= 0, got " + num(s.min_lr)));
  PLINTH_TRY(r.get(t, p, "step_size", s.step_size));
  PLINTH_TRY(
      r.require(s.step_size >= 0, t, p, "step_size", "step_size must be >= 0, got " + num(s.step_size)));
  PLINTH_TRY(r.require(s.type != "step" || s.step_size > 0, t, p, "step_size",
                       "a 'step' schedule needs step_size > 0, got " + num(s.step_size)));
  PLINTH_TRY(r.get(t, p, "gamma", s.gamma));
  PLINTH_TRY(r.require(s.gamma > 0.0, t, p, "gamma", "gamma must be > 0, got " + num(s.gamma)));
  PLINTH_TRY(r.require(s.type != "plateau" || s.gamma < 1.0, t, p, "gamma",
                       "a 'plateau' schedule needs gamma < 1, got " + num(s.gamma)));
  PLINTH_TRY(r.get(t, p, "max_lr", s.max_lr));
  PLINTH_TRY(r.require(s.max_lr >= 0.0, t, p, "max_lr", "max_lr must be >= 0, got " + num(s.max_lr)));
  PLINTH_TRY(r.get(t, p, "pct_start", s.pct_start));
  PLINTH_TRY(r.require(s.pct_start > 0.0 && s.pct_start < 1.0, t, p, "pct_start",
                       "pct_start must be in (0, 1), got " + num(s.pct_start)));
  PLINTH_TRY(r.get(t, p, "patience", s.patience));
  PLINTH_TRY(r.require(s.patience >= 0, t, p, "patience", "patience must be >= 0, got " + num(s.patience)));
  PLINTH_TRY(r.get(t, p, "threshold", s.threshold));
  PLINTH_TRY(
      r.require(s.threshold >= 0.0, t, p, "threshold", "threshold must be >= 0, got " + num(s.threshold)));
  PLINTH_TRY(r.require(s.type != "one_cycle" || s.warmup_steps == 0, t, p, "warmup_steps",
                       "a 'one_cycle' schedule warms up by itself over pct_start; remove warmup_steps"));
  return {};
}

Status read_train(const Reader& r, const toml::table& t, TrainSection& tr) {
  const std::string_view p = "train";
  PLINTH_TRY(r.check_keys(t, p, kTrainKeys));
  PLINTH_TRY(r.get(t, p, "epochs", tr.epochs));
  PLINTH_TRY(r.get(t, p, "max_steps", tr.max_steps));
  PLINTH_TRY(
      r.require(tr.max_steps >= 0, t, p, "max_steps", "max_steps must be >= 0, got " + num(tr.max_steps)));
  PLINTH_TRY(r.require(tr.epochs >= 1 || tr.max_steps > 0, t, p, "epochs",
                       "epochs must be >= 1 (or set max_steps > 0), got " + num(tr.epochs)));
  PLINTH_TRY(r.require(tr.epochs >= 0, t, p, "epochs", "epochs must be >= 0, got " + num(tr.epochs)));
  PLINTH_TRY(r.get(t, p, "batch_size", tr.batch_size));
  PLINTH_TRY(
      r.require(tr.batch_size > 0, t, p, "batch_size", "batch_size must be > 0, got " + num(tr.batch_size)));
  PLINTH_TRY(r.get(t, p, "eval_every", tr.eval_every));
  PLINTH_TRY(r.require(tr.eval_every >= 0, t, p, "eval_every",
                       "eval_every must be >= 0, got " + num(tr.eval_every)));
  PLINTH_TRY(r.get(t, p, "log_every", tr.log_every));
  PLINTH_TRY(
      r.require(tr.log_every >= 1, t, p, "log_every", "log_every must be >= 1, got " + num(tr.log_every)));
  PLINTH_TRY(r.get(t, p, "target_metric", tr.target_metric));
  PLINTH_TRY(r.one_of(t, p, "target_metric", tr.target_metric, kTargetMetrics, "target metric"));
  PLINTH_TRY(r.get(t, p, "target_value", tr.target_value));
  PLINTH_TRY(r.get(t, p, "stop_at_target", tr.stop_at_target));
  PLINTH_TRY(r.require(!tr.stop_at_target || !tr.target_metric.empty(), t, p, "stop_at_target",
                       "stop_at_target needs train.target_metric"));
  PLINTH_TRY(r.get(t, p, "grad_accum", tr.grad_accum));
  PLINTH_TRY(r.require(tr.grad_accum >= 1, t, p, "grad_accum",
                       "grad_accum must be >= 1, got " + num(tr.grad_accum)));
  PLINTH_TRY(r.get(t, p, "clip_grad_norm", tr.clip_grad_norm));
  PLINTH_TRY(r.require(tr.clip_grad_norm >= 0.0, t, p, "clip_grad_norm",
                       "clip_grad_norm must be >= 0, got " + num(tr.clip_grad_norm)));
  PLINTH_TRY(r.get(t, p, "precision", tr.precision));
  PLINTH_TRY(r.one_of(t, p, "precision", tr.precision, kPrecisions, "precision"));
  PLINTH_TRY(r.get(t, p, "on_nonfinite", tr.on_nonfinite));
  PLINTH_TRY(r.one_of(t, p, "on_nonfinite", tr.on_nonfinite, kNonfinite, "non-finite policy"));
  PLINTH_TRY(r.get(t, p, "freeze", tr.freeze));
  if (const toml::node* n = t.get("freeze")) tr.freeze_where = n->source();
  PLINTH_TRY(r.get(t, p, "max_nonfinite", tr.max_nonfinite));
  PLINTH_TRY(r.require(tr.max_nonfinite >= 1, t, p, "max_nonfinite",
                       "max_nonfinite must be >= 1, got " + num(tr.max_nonfinite)));
  tr.loss_scaling = tr.precision == "fp16";  // bf16 keeps f32's exponent range: no scaling needed
  PLINTH_TRY(r.get(t, p, "loss_scaling", tr.loss_scaling));
  PLINTH_TRY(r.get(t, p, "loss_scale_init", tr.loss_scale_init));
  PLINTH_TRY(r.require(tr.loss_scale_init > 0.0, t, p, "loss_scale_init",
                       "loss_scale_init must be > 0, got " + num(tr.loss_scale_init)));
  PLINTH_TRY(r.get(t, p, "loss_scale_growth_interval", tr.loss_scale_growth_interval));
  PLINTH_TRY(r.require(tr.loss_scale_growth_interval >= 1, t, p, "loss_scale_growth_interval",
                       "loss_scale_growth_interval must be >= 1, got " + num(tr.loss_scale_growth_interval)));
  PLINTH_TRY(r.get(t, p, "loss_scale_growth", tr.loss_scale_growth));
  PLINTH_TRY(r.require(tr.loss_scale_growth > 1.0, t, p, "loss_scale_growth",
                       "loss_scale_growth must be > 1, got " + num(tr.loss_scale_growth)));
  PLINTH_TRY(r.get(t, p, "loss_scale_backoff", tr.loss_scale_backoff));
  PLINTH_TRY(r.require(tr.loss_scale_backoff > 0.0 && tr.loss_scale_backoff < 1.0, t, p, "loss_scale_backoff",
                       "loss_scale_backoff must be in (0, 1), got " + num(tr.loss_scale_backoff)));
  return {};
}

// min for a loss, max for an accuracy, unless `mode` says otherwise.
std::string default_mode(const std::string& metric) { return metric == "eval.accuracy" ? "max" : "min"; }

Status read_checkpoint(const Reader& r, const toml::table& t, CheckpointSection& c) {
  const std::string_view p = "checkpoint";
  PLINTH_TRY(r.check_keys(t, p, kCheckpointKeys));
  PLINTH_TRY(r.get(t, p, "every_steps", c.every_steps));
  PLINTH_TRY(r.require(c.every_steps >= 0, t, p, "every_steps",
                       "every_steps must be >= 0, got " + num(c.every_steps)));
  PLINTH_TRY(r.get(t, p, "every_minutes", c.every_minutes));
  PLINTH_TRY(r.require(c.every_minutes >= 0.0, t, p, "every_minutes",
                       "every_minutes must be >= 0, got " + num(c.every_minutes)));
  PLINTH_TRY(r.get(t, p, "keep_last", c.keep_last));
  PLINTH_TRY(
      r.require(c.keep_last >= 1, t, p, "keep_last", "keep_last must be >= 1, got " + num(c.keep_last)));
  PLINTH_TRY(r.get(t, p, "keep_best", c.keep_best));
  PLINTH_TRY(
      r.require(c.keep_best >= 0, t, p, "keep_best", "keep_best must be >= 0, got " + num(c.keep_best)));
  PLINTH_TRY(r.get(t, p, "best_metric", c.best_metric));
  PLINTH_TRY(r.one_of(t, p, "best_metric", c.best_metric, kEvalMetrics, "metric"));
  c.best_mode = default_mode(c.best_metric);
  PLINTH_TRY(r.get(t, p, "best_mode", c.best_mode));
  PLINTH_TRY(r.one_of(t, p, "best_mode", c.best_mode, kModes, "mode"));
  PLINTH_TRY(r.get(t, p, "at_end", c.at_end));
  PLINTH_TRY(r.get(t, p, "on_error", c.on_error));
  PLINTH_TRY(r.one_of(t, p, "on_error", c.on_error, kCheckpointOnError, "policy"));
  return {};
}

Status read_early_stop(const Reader& r, const toml::table& t, EarlyStopSection& e) {
  const std::string_view p = "early_stop";
  PLINTH_TRY(r.check_keys(t, p, kEarlyStopKeys));
  e.enabled = true;
  PLINTH_TRY(r.get(t, p, "metric", e.metric));
  PLINTH_TRY(r.one_of(t, p, "metric", e.metric, kEvalMetrics, "metric"));
  e.mode = default_mode(e.metric);
  PLINTH_TRY(r.get(t, p, "mode", e.mode));
  PLINTH_TRY(r.one_of(t, p, "mode", e.mode, kModes, "mode"));
  PLINTH_TRY(r.get(t, p, "patience", e.patience));
  PLINTH_TRY(r.require(e.patience >= 1, t, p, "patience", "patience must be >= 1, got " + num(e.patience)));
  PLINTH_TRY(r.get(t, p, "min_delta", e.min_delta));
  PLINTH_TRY(
      r.require(e.min_delta >= 0.0, t, p, "min_delta", "min_delta must be >= 0, got " + num(e.min_delta)));
  return {};
}

Status read_init(const Reader& r, const toml::table& t, InitSection& in) {
  const std::string_view p = "init";
  PLINTH_TRY(r.check_keys(t, p, kInitKeys));
  in.where = t.source();
  std::string from;
  if (!t.contains("from"))
    return r.fail(t.source(), "init.from", "missing required key (a run folder or a .safetensors file)");
  PLINTH_TRY(r.get(t, p, "from", from));
  PLINTH_TRY(r.require(!from.empty(), t, p, "from", "must not be empty"));
  in.from = from;
  PLINTH_TRY(r.get(t, p, "include", in.include));
  if (const toml::node* n = t.get("rename")) {
    const toml::table* rt = n->as_table();
    if (!rt) return r.type_error(*n, "init.rename", "a table of prefix = \"new prefix\"");
    for (auto&& [k, v] : *rt) {
      if (!v.is_string()) return r.type_error(v, "init.rename." + std::string(k.str()), "a string");
      in.rename.emplace_back(std::string(k.str()), v.as_string()->get());
    }
  }
  return {};
}

Status read_distributed(const Reader& r, const toml::table& t, DistributedSection& d) {
  const std::string_view p = "distributed";
  PLINTH_TRY(r.check_keys(t, p, kDistributedKeys));
  d.present = true;
  PLINTH_TRY(r.get(t, p, "communicator", d.communicator));
  PLINTH_TRY(r.require(!d.communicator.empty(), t, p, "communicator",
                       "communicator must be \"auto\", \"none\" or a communicator plugin's name"));
  PLINTH_TRY(r.get(t, p, "bucket_mb", d.bucket_mb));
  PLINTH_TRY(r.require(d.bucket_mb > 0 && d.bucket_mb <= 4096, t, p, "bucket_mb",
                       "bucket_mb must be in (0, 4096], got " + num(d.bucket_mb)));
  PLINTH_TRY(r.get(t, p, "timeout", d.timeout));
  PLINTH_TRY(r.require(d.timeout > 0, t, p, "timeout", "timeout must be > 0 seconds, got " + num(d.timeout)));
  PLINTH_TRY(r.get(t, p, "compression", d.compression));
  PLINTH_TRY(r.one_of(t, p, "compression", d.compression, kCompressions, "compression"));
  PLINTH_TRY(r.get(t, p, "powersgd_rank", d.powersgd_rank));
  PLINTH_TRY(r.require(d.powersgd_rank >= 1 && d.powersgd_rank <= 1024, t, p, "powersgd_rank",
                       "powersgd_rank must be in [1, 1024], got " + std::to_string(d.powersgd_rank)));
  PLINTH_TRY(r.get(t, p, "powersgd_warmup_steps", d.powersgd_warmup_steps));
  PLINTH_TRY(r.require(d.powersgd_warmup_steps >= 0, t, p, "powersgd_warmup_steps",
                       "powersgd_warmup_steps must be >= 0, got " + std::to_string(d.powersgd_warmup_steps)));
  return {};
}

Status read_plugins(const Reader& r, const toml::table& t, PluginsSection& pl) {
  PLINTH_TRY(r.check_keys(t, "plugins", kPluginsKeys));
  PLINTH_TRY(r.get(t, "plugins", "allow_insecure_plugins", pl.allow_insecure_plugins));
  PLINTH_TRY(r.get(t, "plugins", "require_signature", pl.require_signature));
  const toml::node* n = t.get("manifests");
  if (!n) return {};
  const toml::array* arr = n->as_array();
  if (!arr) return r.type_error(*n, "plugins.manifests", "an array of strings");
  // Relative manifests are resolved against the pipeline file's folder, made absolute
  // so a resolved pipeline written elsewhere (runs/<name>/) still finds them.
  std::error_code ec;  // never throw: fs::absolute("") does
  fs::path base = r.file().parent_path();
  fs::path abs = base.empty() ? fs::current_path(ec) : fs::absolute(base, ec);
  if (!ec) base = abs;
  for (std::size_t i = 0; i < arr->size(); ++i) {
    const toml::node& el = *arr->get(i);
    const std::string key = "plugins.manifests[" + std::to_string(i) + "]";
    if (!el.is_string()) return r.type_error(el, key, "a string");
    const std::string& s = el.as_string()->get();
    if (s.empty()) return r.fail(el.source(), key, "must not be empty");
    pl.manifests.push_back((base / fs::path(s)).lexically_normal());
  }
  return {};
}

// A table moved out of `doc` (moving keeps each node's source position;
// copying a toml++ node drops it, and plugin config errors need it).
toml::table take_table(toml::table& doc, std::initializer_list<std::string_view> path) {
  toml::table* t = &doc;
  for (auto k : path) {
    toml::node* n = t->get(k);
    if (!n || !n->is_table()) return {};
    t = n->as_table();
  }
  return std::move(*t);
}

Result<toml::table> parse_toml(std::string_view text, const fs::path& source) {
#if TOML_EXCEPTIONS
  try {
    return toml::parse(text, source.string());
  } catch (const toml::parse_error& e) {
    return Reader(source).fail(e.source(), "syntax", std::string(e.description()));
  }
#else
  toml::parse_result res = toml::parse(text, source.string());
  if (!res)
    return Reader(source).fail(res.error().source(), "syntax", std::string(res.error().description()));
  return std::move(res).table();
#endif
}

// --- writing TOML back ----------------------------------------------------------

void write_string(std::ostream& os, std::string_view s) {
  os << '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        os << "\\\"";
        break;
      case '\\':
        os << "\\\\";
        break;
      case '\n':
        os << "\\n";
        break;
      case '\t':
        os << "\\t";
        break;
      case '\r':
        os << "\\r";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          os << buf;
        } else {
          os << static_cast<char>(c);
        }
    }
  }
  os << '"';
}

void write_key(std::ostream& os, std::string_view k) {
  bool bare = !k.empty();
  for (char c : k)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')) bare = false;
  if (bare)
    os << k;
  else
    write_string(os, k);
}

void write_float(std::ostream& os, double v) {
  if (std::isnan(v)) {
    os << "nan";
    return;
  }
  if (std::isinf(v)) {
    os << (v > 0 ? "inf" : "-inf");
    return;
  }
  std::string s = num(v);  // shortest text that reads back to the same double
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  os << s;
}

void write_value(std::ostream& os, const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::string:
      write_string(os, n.as_string()->get());
      break;
    case toml::node_type::integer:
      os << n.as_integer()->get();
      break;
    case toml::node_type::floating_point:
      write_float(os, n.as_floating_point()->get());
      break;
    case toml::node_type::boolean:
      os << (n.as_boolean()->get() ? "true" : "false");
      break;
    case toml::node_type::date:
      os << *n.as_date();
      break;
    case toml::node_type::time:
      os << *n.as_time();
      break;
    case toml::node_type::date_time:
      os << *n.as_date_time();
      break;
    case toml::node_type::array: {
      os << '[';
      bool first = true;
      for (const toml::node& el : *n.as_array()) {
        os << (first ? "" : ", ");
        write_value(os, el);
        first = false;
      }
      os << ']';
      break;
    }
    case toml::node_type::table: {
      os << '{';
      bool first = true;
      for (auto&& [k, v] : *n.as_table()) {
        os << (first ? " " : ", ");
        write_key(os, k.str());
        os << " = ";
        write_value(os, v);
        first = false;
      }
      os << (first ? "}" : " }");
      break;
    }
    default:
      break;
  }
}

// A layer's keys as the reader takes them, every default filled in, in its
// type's key table order: emit(key, value, first). `inputs` only when given,
// so the resolved text of older pipelines stays the same.
template <typename Emit>
void write_layer(const LayerSpec& l, Emit emit) {
  emit("type", l.type, true);
  emit("name", l.name, false);
  if (!l.inputs.empty()) emit("inputs", l.inputs, false);
  for (const auto& [k, v] : l.keys)
    std::visit([&, key = std::string_view(k)](const auto& x) { emit(key, x, false); }, v);
}

void write_scalar(std::ostream& os, const std::string& v) { write_string(os, v); }
void write_scalar(std::ostream& os, int64_t v) { os << v; }
void write_scalar(std::ostream& os, double v) { write_float(os, v); }
void write_scalar(std::ostream& os, bool v) { os << (v ? "true" : "false"); }
void write_scalar(std::ostream& os, const std::vector<std::string>& v) {
  os << '[';
  for (size_t i = 0; i < v.size(); ++i) {
    os << (i ? ", " : "");
    write_string(os, v[i]);
  }
  os << ']';
}

class SectionWriter {
 public:
  SectionWriter(std::ostream& os, std::string_view header) : os_(os) { os_ << header << '\n'; }
  SectionWriter& kv(std::string_view k, const std::string& v) {
    write_key(os_, k);
    os_ << " = ";
    write_string(os_, v);
    os_ << '\n';
    return *this;
  }
  SectionWriter& kv(std::string_view k, const char* v) { return kv(k, std::string(v)); }
  SectionWriter& kv(std::string_view k, int64_t v) {
    write_key(os_, k);
    os_ << " = " << v << '\n';
    return *this;
  }
  SectionWriter& kv(std::string_view k, int v) { return kv(k, static_cast<int64_t>(v)); }
  SectionWriter& kv(std::string_view k, const std::vector<std::string>& v) {
    write_key(os_, k);
    os_ << " = [";
    for (size_t i = 0; i < v.size(); ++i) {
      os_ << (i ? ", " : "");
      write_string(os_, v[i]);
    }
    os_ << "]\n";
    return *this;
  }
  SectionWriter& kv(std::string_view k, double v) {
    write_key(os_, k);
    os_ << " = ";
    write_float(os_, v);
    os_ << '\n';
    return *this;
  }
  SectionWriter& kv(std::string_view k, bool v) {
    write_key(os_, k);
    os_ << " = " << (v ? "true" : "false") << '\n';
    return *this;
  }
  // The keys of a plugin table, skipping those the core already wrote.
  SectionWriter& rest(const toml::table& t, std::span<const std::string_view> skip) {
    for (auto&& [k, v] : t) {
      if (contains(skip, k.str())) continue;
      write_key(os_, k.str());
      os_ << " = ";
      write_value(os_, v);
      os_ << '\n';
    }
    return *this;
  }
  ~SectionWriter() { os_ << '\n'; }

 private:
  std::ostream& os_;
};

void write_data(std::ostream& os, std::string_view header, const DataSection& d) {
  SectionWriter(os, header)
      .kv("source", d.source)
      .kv("shuffle", d.shuffle)
      .kv("drop_last", d.drop_last)
      .kv("workers", d.workers)
      .kv("prefetch", d.prefetch)
      .kv("input_field", d.input_field)
      .kv("target_field", d.target_field)
      .rest(d.table, kDataCore);
}

}  // namespace

Result<Pipeline> parse_pipeline(std::string_view text, const fs::path& source) {
  const Reader r(source);
  Result<toml::table> parsed = parse_toml(text, source);
  if (!parsed) return parsed.status();
  toml::table& doc = parsed.value();
  Pipeline p;
  p.source = source;

  // Top level: only the known sections, each a table.
  PLINTH_TRY(r.check_keys(doc, "", kSections, "unknown section"));
  for (auto&& [k, v] : doc)
    if (!v.is_table()) return r.type_error(v, k.str(), "a table");

  const toml::table* t = nullptr;
  p.run.name = source.stem().string();
  p.run.out_dir = "runs";
  PLINTH_TRY(r.table(doc, "", "run", t));
  if (t) PLINTH_TRY(read_run(r, *t, p.run));

  PLINTH_TRY(r.table(doc, "", "backend", t));
  if (t) PLINTH_TRY(read_backend(r, *t, p.backend));

  PLINTH_TRY(r.table(doc, "", "data", t));
  if (!t) return r.fail(doc.source(), "data.train", "missing required section [data.train]");
  static constexpr std::string_view data_keys[] = {"train", "eval", "replay"};
  PLINTH_TRY(r.check_keys(*t, "data", data_keys, "unknown data split"));
  const toml::table* data = t;
  PLINTH_TRY(r.table(*data, "data", "train", t));
  if (!t) return r.fail(data->source(), "data.train", "missing required section [data.train]");
  PLINTH_TRY(read_data(r, *t, "data.train", p.train_data));
  PLINTH_TRY(r.table(*data, "data", "eval", t));
  if (t) {
    DataSection eval;
    eval.shuffle = false;
    PLINTH_TRY(read_data(r, *t, "data.eval", eval));
    p.eval_data = std::move(eval);
  }
  PLINTH_TRY(r.table(*data, "data", "replay", t));
  if (t) {
    DataSection replay;
    PLINTH_TRY(read_data(r, *t, "data.replay", replay));
    if (!t->contains("fraction"))
      return r.fail(
          t->source(), "data.replay.fraction",
          "missing required key (the share of each epoch's samples drawn from this data, in (0, 1))");
    PLINTH_TRY(r.get(*t, "data.replay", "fraction", p.replay_fraction));
    PLINTH_TRY(r.require(p.replay_fraction > 0.0 && p.replay_fraction < 1.0, *t, "data.replay", "fraction",
                         "fraction must be in (0, 1), got " + num(p.replay_fraction)));
    p.replay_data = std::move(replay);
  }

  PLINTH_TRY(r.table(doc, "", "model", t));
  if (!t)
    return r.fail(doc.source(), "model", "missing required section [model] (with [[model.layer]] entries)");
  PLINTH_TRY(read_model(r, *t, p.model));

  PLINTH_TRY(r.table(doc, "", "init", t));
  if (t) PLINTH_TRY(read_init(r, *t, p.init));

  PLINTH_TRY(r.table(doc, "", "loss", t));
  if (t) {
    PLINTH_TRY(r.check_keys(*t, "loss", kLossKeys));
    PLINTH_TRY(r.get(*t, "loss", "type", p.loss.type));
    PLINTH_TRY(r.one_of(*t, "loss", "type", p.loss.type, kLossTypes, "loss type"));
  }

  PLINTH_TRY(r.table(doc, "", "optimizer", t));
  if (t) {
    PLINTH_TRY(r.get(*t, "optimizer", "name", p.optimizer.name));
    PLINTH_TRY(r.require(!p.optimizer.name.empty(), *t, "optimizer", "name", "must not be empty"));
  }

  PLINTH_TRY(r.table(doc, "", "schedule", t));
  if (t) PLINTH_TRY(read_schedule(r, *t, p.schedule));

  PLINTH_TRY(r.table(doc, "", "train", t));
  if (t) PLINTH_TRY(read_train(r, *t, p.train));

  p.checkpoint.best_mode = default_mode(p.checkpoint.best_metric);
  PLINTH_TRY(r.table(doc, "", "checkpoint", t));
  if (t) PLINTH_TRY(read_checkpoint(r, *t, p.checkpoint));

  p.early_stop.mode = default_mode(p.early_stop.metric);
  PLINTH_TRY(r.table(doc, "", "early_stop", t));
  if (t) PLINTH_TRY(read_early_stop(r, *t, p.early_stop));

  PLINTH_TRY(r.table(doc, "", "plugins", t));
  if (t) PLINTH_TRY(read_plugins(r, *t, p.plugins));

  PLINTH_TRY(r.table(doc, "", "distributed", t));
  if (t) PLINTH_TRY(read_distributed(r, *t, p.distributed));

  // Everything is valid: hand the plugin-owned tables over, moved (not copied)
  // so their nodes keep file positions; the document, parsed a second time, is kept whole.
  Result<toml::table> again = parse_toml(text, source);  // cannot fail: it parsed above
  if (!again) return again.status();
  p.document = std::move(again.value());
  p.backend.table = take_table(doc, {"backend"});
  p.optimizer.table = take_table(doc, {"optimizer"});
  // The plugin sees the core keys too, defaults filled in (so a pipeline without
  // [backend] and one that spells the defaults out give equal tables).
  p.backend.table.emplace("name", p.backend.name);
  p.backend.table.emplace("device", static_cast<int64_t>(p.backend.device));
  p.backend.table.emplace("threads", static_cast<int64_t>(p.backend.threads));
  p.backend.table.emplace("allow_fallback", p.backend.allow_fallback);
  p.optimizer.table.emplace("name", p.optimizer.name);
  p.train_data.table = take_table(doc, {"data", "train"});
  for (auto k : kDataCore) p.train_data.table.erase(k);
  if (p.eval_data) {
    p.eval_data->table = take_table(doc, {"data", "eval"});
    for (auto k : kDataCore) p.eval_data->table.erase(k);
  }
  if (p.replay_data) {
    p.replay_data->table = take_table(doc, {"data", "replay"});
    for (auto k : kDataCore) p.replay_data->table.erase(k);
    p.replay_data->table.erase("fraction");
  }
  return p;
}

Status check_plugin_keys(const toml::table& table, std::string_view section,
                         std::span<const std::string> declared, std::span<const std::string_view> core_keys,
                         const fs::path& source) {
  const Reader r(source);
  for (auto&& [k, v] : table) {
    if (contains(core_keys, k.str())) continue;
    bool ok = false;
    for (const auto& d : declared) ok = ok || d == k.str();
    if (ok) continue;
    std::vector<std::string_view> all(core_keys.begin(), core_keys.end());
    for (const auto& d : declared) all.push_back(d);
    std::string msg = "unknown key";
    std::string hint = did_you_mean(k.str(), all);
    if (!hint.empty())
      msg += " (did you mean '" + hint + "'?)";
    else if (!all.empty())
      msg += "; expected one of " + join_quoted(all);
    return r.fail(k.source(), join_key(section, k.str()), msg);
  }
  return {};
}

Result<toml::table> load_toml(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    std::error_code ec;
    return error(errc::io, file.string() + ": cannot read (" +
                               (fs::exists(file, ec) ? "permission denied or not a file" : "no such file") +
                               ")");
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_toml(ss.str(), file);
}

void set_backend_threads(Pipeline& p, int threads) {
  p.backend.threads = threads;
  p.backend.table.insert_or_assign("threads", static_cast<int64_t>(threads));
}

Result<Pipeline> load_pipeline(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    std::error_code ec;
    const bool exists = fs::exists(file, ec);
    return error(errc::io, file.string() + ": cannot read the pipeline file (" +
                               (exists ? "permission denied or not a file" : "no such file") + ")");
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_pipeline(ss.str(), file);
}

std::string resolved_toml(const Pipeline& p) {
  std::ostringstream os;
  os << "# " << p.source.filename().string() << ", resolved: every default filled in.\n\n";
  SectionWriter(os, "[run]")
      .kv("name", p.run.name)
      .kv("seed", static_cast<int64_t>(p.run.seed))
      .kv("out_dir", p.run.out_dir.string());
  SectionWriter(os, "[backend]")
      .kv("name", p.backend.name)
      .kv("device", p.backend.device)
      .kv("threads", p.backend.threads)
      .kv("allow_fallback", p.backend.allow_fallback)
      .rest(p.backend.table, kBackendCore);
  write_data(os, "[data.train]", p.train_data);
  if (p.eval_data) write_data(os, "[data.eval]", *p.eval_data);
  if (p.replay_data) {
    write_data(os, "[data.replay]", *p.replay_data);
    // write_data ended the section with a blank line: the key goes before it.
    os.seekp(-1, std::ios_base::cur);
    os << "fraction = ";
    write_float(os, p.replay_fraction);
    os << "\n\n";
  }
  SectionWriter(os, "[model]").kv("init", p.model.init);
  for (const BlockSpec& b : p.model.blocks) {
    SectionWriter w(os, "[[model.block]]");
    w.kv("name", b.name).kv("residual", b.residual);
    os << "layers = [\n";
    for (const LayerSpec& l : b.layers) {
      os << "  { ";
      write_layer(l, [&](std::string_view k, auto v, bool first) {
        if (!first) os << ", ";
        write_key(os, k);
        os << " = ";
        write_scalar(os, v);
      });
      os << " },\n";
    }
    os << "]\n";
  }
  for (const LayerSpec& l : p.model.layers) {
    SectionWriter w(os, "[[model.layer]]");
    write_layer(l, [&](std::string_view k, auto v, bool) { w.kv(k, v); });
  }
  // Sections and keys a pipeline did not use are left out, so the resolved
  // text of older runs (compared on --resume) stays the same.
  if (p.model.lora.enabled)
    SectionWriter(os, "[model.lora]")
        .kv("rank", p.model.lora.rank)
        .kv("alpha", p.model.lora.alpha)
        .kv("targets", p.model.lora.targets);
  if (!p.init.from.empty()) {
    SectionWriter w(os, "[init]");
    w.kv("from", p.init.from.string()).kv("include", p.init.include);
    os << "rename = { ";
    for (size_t i = 0; i < p.init.rename.size(); ++i) {
      os << (i ? ", " : "");
      write_key(os, p.init.rename[i].first);
      os << " = ";
      write_string(os, p.init.rename[i].second);
    }
    os << " }\n";
  }
  SectionWriter(os, "[loss]").kv("type", p.loss.type);
  static constexpr std::string_view optimizer_core[] = {"name"};
  SectionWriter(os, "[optimizer]").kv("name", p.optimizer.name).rest(p.optimizer.table, optimizer_core);
  const ScheduleSection& s = p.schedule;
  SectionWriter(os, "[schedule]")
      .kv("type", s.type)
      .kv("warmup_steps", s.warmup_steps)
      .kv("min_lr", s.min_lr)
      .kv("step_size", s.step_size)
      .kv("gamma", s.gamma)
      .kv("max_lr", s.max_lr)
      .kv("pct_start", s.pct_start)
      .kv("patience", s.patience)
      .kv("threshold", s.threshold);
  const TrainSection& t = p.train;
  {
    SectionWriter tw(os, "[train]");
    tw.kv("epochs", t.epochs)
        .kv("max_steps", t.max_steps)
        .kv("batch_size", t.batch_size)
        .kv("eval_every", t.eval_every)
        .kv("log_every", t.log_every)
        .kv("target_metric", t.target_metric)
        .kv("target_value", t.target_value)
        .kv("stop_at_target", t.stop_at_target)
        .kv("grad_accum", t.grad_accum)
        .kv("clip_grad_norm", t.clip_grad_norm)
        .kv("precision", t.precision)
        .kv("on_nonfinite", t.on_nonfinite)
        .kv("max_nonfinite", t.max_nonfinite)
        .kv("loss_scaling", t.loss_scaling)
        .kv("loss_scale_init", t.loss_scale_init)
        .kv("loss_scale_growth_interval", t.loss_scale_growth_interval)
        .kv("loss_scale_growth", t.loss_scale_growth)
        .kv("loss_scale_backoff", t.loss_scale_backoff);
    if (!t.freeze.empty()) tw.kv("freeze", t.freeze);
  }
  const CheckpointSection& c = p.checkpoint;
  SectionWriter(os, "[checkpoint]")
      .kv("every_steps", c.every_steps)
      .kv("every_minutes", c.every_minutes)
      .kv("keep_last", c.keep_last)
      .kv("keep_best", c.keep_best)
      .kv("best_metric", c.best_metric)
      .kv("best_mode", c.best_mode)
      .kv("at_end", c.at_end)
      .kv("on_error", c.on_error);
  if (p.early_stop.enabled)
    SectionWriter(os, "[early_stop]")
        .kv("metric", p.early_stop.metric)
        .kv("mode", p.early_stop.mode)
        .kv("patience", p.early_stop.patience)
        .kv("min_delta", p.early_stop.min_delta);
  if (p.distributed.present)  // written only when given, so other pipelines resolve as before
    SectionWriter(os, "[distributed]")
        .kv("communicator", p.distributed.communicator)
        .kv("bucket_mb", p.distributed.bucket_mb)
        .kv("timeout", p.distributed.timeout)
        .kv("compression", p.distributed.compression)
        .kv("powersgd_rank", p.distributed.powersgd_rank)
        .kv("powersgd_warmup_steps", p.distributed.powersgd_warmup_steps);
  {
    SectionWriter w(os, "[plugins]");
    os << "manifests = [";
    for (std::size_t i = 0; i < p.plugins.manifests.size(); ++i) {
      os << (i ? ", " : "");
      write_string(os, p.plugins.manifests[i].string());
    }
    os << "]\n";
    w.kv("allow_insecure_plugins", p.plugins.allow_insecure_plugins);
    w.kv("require_signature", p.plugins.require_signature);
  }
  std::string out = os.str();
  while (out.size() >= 2 && out[out.size() - 1] == '\n' && out[out.size() - 2] == '\n') out.pop_back();
  return out;
}

}  // namespace plinth::config
