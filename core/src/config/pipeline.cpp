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
#include <set>
#include <sstream>
#include <system_error>
#include <vector>

#include "config/did_you_mean.hpp"
#include "config/overrides.hpp"
#include "config/pipeline_schema.hpp"
#include "config/schema.hpp"
#include "graph/layers/layer.hpp"
#include "run/run_folder.hpp"

namespace plinth::config {
namespace {

namespace fs = std::filesystem;
using names = std::initializer_list<std::string_view>;

// The largest pipeline (or other TOML input) file read: far above any real
// one, and docs/pipeline.md states it.
constexpr size_t kMaxPipelineBytes = size_t{1} << 20;
// How deep [[model.block]]s may nest (a block placing a block ...).
constexpr int kMaxBlockDepth = 64;

// --- sections ----------------------------------------------------------------

// A section whose keys are all the core's: an unknown key is an error, then
// every key is read by the section's table.
template <class S>
Status read_closed(const Reader& r, const toml::table& t, std::string_view path, const Section<S>& s,
                   S& out) {
  const std::vector<std::string_view> names = s.names();
  PLINTH_TRY(r.check_keys(t, path, names));
  return read_fields<S>(r, t, path, s.fields, out);
}

// Keys beyond the core's belong to the plugin: the backend's and optimizer's
// are checked against its manifest later; a [data.*] key within two edits of
// a core key is almost surely a typo of it ("shufle"), so it is caught here.
Status read_data(const Reader& r, const toml::table& t, std::string_view path, DataSection& d) {
  const std::vector<std::string_view> core = data_schema().names();
  PLINTH_TRY(r.check_near_keys(t, path, core));
  return read_fields<DataSection>(r, t, path, data_schema().fields, d);
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
      case KeyType::array:  // a layer's keys hold scalars; `inputs` is read above
      case KeyType::table:
        return error(errc::internal, "layer key '" + std::string(k.name) + "' has a non-scalar type");
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
  PLINTH_TRY(read_closed(r, t, "model", model_schema(), m));
  const toml::table* lt = nullptr;
  PLINTH_TRY(r.table(t, "model", "lora", lt));
  if (lt) {
    const std::string_view lp = "model.lora";
    m.lora.enabled = true;
    m.lora.where = lt->source();
    PLINTH_TRY(read_closed(r, *lt, lp, lora_schema(), m.lora));
    PLINTH_TRY(r.require(!m.lora.targets.empty(), *lt, lp, "targets", "at least one pattern"));
    if (const toml::node* n = lt->get("targets")) m.lora.where = n->source();
  }
  if (const toml::node* bn = t.get("block")) {
    const toml::array* arr = bn->as_array();
    if (!arr) return r.type_error(*bn, "model.block", "an array of tables ([[model.block]])");
    std::set<std::string> block_names;
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
      if (!block_names.insert(b.name).second)  // a set: thousands of blocks stay linear
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
  // Every `use` names a block, no block contains itself, and blocks nest at
  // most kMaxBlockDepth deep. Each block is walked once (its depth is kept),
  // so a block placed many times costs one walk, and the recursion is never
  // deeper than the limit (a long chain of blocks would overflow the stack).
  std::map<const BlockSpec*, int> depths;  // walked blocks -> their depth (1: no block inside)
  std::vector<const BlockSpec*> stack;     // the blocks being walked, outermost first
  std::function<Status(const std::vector<LayerSpec>&, int&)> walk = [&](const std::vector<LayerSpec>& layers,
                                                                        int& depth) -> Status {
    depth = 0;
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
      if (std::find(stack.begin(), stack.end(), b) != stack.end())
        return r.fail(l.where, "use", "block '" + b->name + "' contains itself");
      int inner = 0;
      if (auto it = depths.find(b); it != depths.end()) {
        inner = it->second;
      } else if (stack.size() < static_cast<size_t>(kMaxBlockDepth)) {
        stack.push_back(b);
        PLINTH_TRY(walk(b->layers, inner));
        stack.pop_back();
        depths[b] = ++inner;
      } else {
        inner = kMaxBlockDepth;  // deeper than the limit: reported just below
      }
      if (static_cast<int>(stack.size()) + inner > kMaxBlockDepth)
        return r.fail(l.where, "use",
                      "blocks nest more than " + std::to_string(kMaxBlockDepth) + " deep (placing '" +
                          b->name + "'" + (stack.empty() ? "" : " inside '" + stack.back()->name + "'") +
                          ")");
      depth = std::max(depth, inner);
    }
    return {};
  };
  int depth = 0;
  return walk(m.layers, depth);
}

// The checks below span several keys; each key's own rule is in its table.

Status read_schedule(const Reader& r, const toml::table& t, ScheduleSection& s) {
  const std::string_view p = "schedule";
  PLINTH_TRY(read_closed(r, t, p, schedule_schema(), s));
  PLINTH_TRY(r.require(s.type != "step" || s.step_size > 0, t, p, "step_size",
                       "a 'step' schedule needs step_size > 0, got " + num(s.step_size)));
  PLINTH_TRY(r.require(s.type != "plateau" || s.gamma < 1.0, t, p, "gamma",
                       "a 'plateau' schedule needs gamma < 1, got " + num(s.gamma)));
  PLINTH_TRY(r.require(s.type != "one_cycle" || s.warmup_steps == 0, t, p, "warmup_steps",
                       "a 'one_cycle' schedule warms up by itself over pct_start; remove warmup_steps"));
  return {};
}

Status read_train(const Reader& r, const toml::table& t, TrainSection& tr) {
  const std::string_view p = "train";
  PLINTH_TRY(read_closed(r, t, p, train_schema(), tr));
  PLINTH_TRY(r.require(tr.epochs >= 1 || tr.max_steps > 0, t, p, "epochs",
                       "epochs must be >= 1 (or set max_steps > 0), got " + num(tr.epochs)));
  PLINTH_TRY(r.require(tr.epochs >= 0, t, p, "epochs", "epochs must be >= 0, got " + num(tr.epochs)));
  PLINTH_TRY(r.require(!tr.stop_at_target || !tr.target_metric.empty(), t, p, "stop_at_target",
                       "stop_at_target needs train.target_metric"));
  if (const toml::node* n = t.get("freeze")) tr.freeze_where = n->source();
  const toml::table* pt = nullptr;
  PLINTH_TRY(r.table(t, p, "progressive", pt));
  if (pt) {
    const std::string_view pp = "train.progressive";
    auto& pr = tr.progressive;
    pr.enabled = true;
    pr.where = pt->source();
    PLINTH_TRY(read_closed(r, *pt, pp, progressive_schema(), pr));
    PLINTH_TRY(r.require(
        pr.end_ramp > pr.start_ramp, *pt, pp, "end_ramp",
        "end_ramp (" + num(pr.end_ramp) + ") must be above start_ramp (" + num(pr.start_ramp) + ")"));
    PLINTH_TRY(r.require(pr.max_res == 0 || pr.max_res >= pr.min_res, *pt, pp, "max_res",
                         "max_res (" + num(pr.max_res) + ") is below min_res (" + num(pr.min_res) + ")"));
  }
  return {};
}

Status read_init(const Reader& r, const toml::table& t, InitSection& in) {
  in.where = t.source();
  return read_closed(r, t, "init", init_schema(), in);
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

void write_data(std::ostream& os, std::string_view header, const DataSection& d) {
  SectionWriter w(os, header);
  write_fields<DataSection>(w, data_schema().fields, d);
  w.rest(d.table, data_schema().names());
}

// A section of core keys only, in its table's order.
template <class S>
void write_closed(std::ostream& os, std::string_view header, const Section<S>& s, const S& v) {
  SectionWriter w(os, header);
  write_fields<S>(w, s.fields, v);
}
}  // namespace

Result<Pipeline> parse_pipeline(std::string_view text, const fs::path& source,
                                std::span<const std::string> overrides) {
  const Reader r(source);
  Result<toml::table> parsed = parse_toml(text, source);
  if (!parsed) return parsed.status();
  toml::table& doc = parsed.value();
  PLINTH_TRY(apply_overrides(doc, overrides));
  Pipeline p;
  p.source = source;
  p.overrides.assign(overrides.begin(), overrides.end());

  // Top level: only the known sections, each a table.
  PLINTH_TRY(r.check_keys(doc, "", kPipelineSections, "unknown section"));
  for (auto&& [k, v] : doc)
    if (!v.is_table()) return r.type_error(v, k.str(), "a table");

  // A section that is always there reads an empty table when absent, so its
  // defaults come from its table too.
  const toml::table none;
  const toml::table* t = nullptr;
  p.run.name = source.stem().string();  // the one default no table knows
  PLINTH_TRY(r.table(doc, "", "run", t));
  PLINTH_TRY(read_closed(r, t ? *t : none, "run", run_schema(), p.run));
  // The name is a folder under out_dir, so it must not lead out of it.
  if (const std::string why = run::name_problem(p.run.name); !why.empty())
    return r.fail(Reader::where(t ? *t : none, "name"), "run.name",
                  t && t->contains("name") ? why : why + " (the default is the pipeline file's name)");

  PLINTH_TRY(r.table(doc, "", "backend", t));
  PLINTH_TRY(read_fields<BackendSection>(r, t ? *t : none, "backend", backend_schema().fields, p.backend));

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
  PLINTH_TRY(read_closed(r, t ? *t : none, "loss", loss_schema(), p.loss));

  PLINTH_TRY(r.table(doc, "", "optimizer", t));
  PLINTH_TRY(
      read_fields<OptimizerSection>(r, t ? *t : none, "optimizer", optimizer_schema().fields, p.optimizer));

  PLINTH_TRY(r.table(doc, "", "schedule", t));
  PLINTH_TRY(read_schedule(r, t ? *t : none, p.schedule));

  PLINTH_TRY(r.table(doc, "", "train", t));
  PLINTH_TRY(read_train(r, t ? *t : none, p.train));

  PLINTH_TRY(r.table(doc, "", "checkpoint", t));
  PLINTH_TRY(read_closed(r, t ? *t : none, "checkpoint", checkpoint_schema(), p.checkpoint));

  PLINTH_TRY(r.table(doc, "", "early_stop", t));
  if (t) {
    p.early_stop.enabled = true;
    PLINTH_TRY(read_closed(r, *t, "early_stop", early_stop_schema(), p.early_stop));
  } else {
    p.early_stop.mode = default_mode(p.early_stop.metric);
  }

  PLINTH_TRY(r.table(doc, "", "plugins", t));
  PLINTH_TRY(read_closed(r, t ? *t : none, "plugins", plugins_schema(), p.plugins));

  PLINTH_TRY(r.table(doc, "", "distributed", t));
  if (t) {
    p.distributed.present = true;
    PLINTH_TRY(read_closed(r, *t, "distributed", distributed_schema(), p.distributed));
    const auto& d = p.distributed;
    if (d.sync != "every_step") {
      // Local steps send parameters, not gradients; a late gradient cannot
      // go through PowerSGD's error feedback or dynamic loss scaling's
      // skip-and-back-off, which assume the gradient of this step.
      const bool local = d.sync == "local_sgd" || d.sync == "diloco";
      if (d.compression == "powersgd" || (local && d.compression != "none"))
        return r.fail(Reader::where(*t, "compression"), "distributed.compression",
                      "compression = \"" + d.compression + "\" does not combine with sync = \"" + d.sync +
                          "\"" + (local ? " (parameters are averaged in fp32)" : "") +
                          "; use sync = \"every_step\" or compression = \"none\"");
      if (p.train.loss_scaling)
        return r.fail(Reader::where(*t, "sync"), "distributed.sync",
                      "sync = \"" + d.sync +
                          "\" does not combine with [train] loss_scaling (fp16's dynamic loss scale); train "
                          "in bf16 or fp32, or use sync = \"every_step\"");
    }
  }

  // Everything is valid: hand the plugin-owned tables over, moved (not copied)
  // so their nodes keep file positions; the document, parsed a second time, is kept whole.
  Result<toml::table> again = parse_toml(text, source);  // cannot fail: it parsed above
  if (!again) return again.status();
  PLINTH_TRY(apply_overrides(again.value(), overrides));
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
  const std::vector<std::string_view> data_core = data_schema().names();
  p.train_data.table = take_table(doc, {"data", "train"});
  for (auto k : data_core) p.train_data.table.erase(k);
  if (p.eval_data) {
    p.eval_data->table = take_table(doc, {"data", "eval"});
    for (auto k : data_core) p.eval_data->table.erase(k);
  }
  if (p.replay_data) {
    p.replay_data->table = take_table(doc, {"data", "replay"});
    for (auto k : data_core) p.replay_data->table.erase(k);
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

namespace {

// A pipeline (or other TOML input) file's text. Only a regular file of at
// most kMaxPipelineBytes is read: a FIFO or device named by mistake would
// block or never end, and no pipeline needs more.
Result<std::string> read_input_file(const fs::path& file, const std::string& what) {
  std::error_code ec;
  const fs::file_status st = fs::status(file, ec);
  if (!ec && fs::exists(st) && !fs::is_regular_file(st))
    return error(errc::io, file.string() + ": cannot read " + what + " (" +
                               (fs::is_directory(st) ? "a folder" : "not a regular file") + ")");
  std::ifstream in(file, std::ios::binary);
  if (!in)
    return error(errc::io, file.string() + ": cannot read " + what + " (" +
                               (fs::exists(file, ec) ? "permission denied or not a file" : "no such file") +
                               ")");
  std::string text(kMaxPipelineBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > kMaxPipelineBytes)
    return error(errc::config, file.string() + ": " + what + " is larger than " +
                                   std::to_string(kMaxPipelineBytes) + " bytes (1 MiB), the limit");
  return text;
}

}  // namespace

Result<toml::table> load_toml(const fs::path& file) {
  auto text = read_input_file(file, "the file");
  if (!text) return text.status();
  return parse_toml(*text, file);
}

void set_backend_threads(Pipeline& p, int threads) {
  p.backend.threads = threads;
  p.backend.table.insert_or_assign("threads", static_cast<int64_t>(threads));
}

Result<Pipeline> load_pipeline(const fs::path& file, std::span<const std::string> overrides) {
  auto text = read_input_file(file, "the pipeline file");
  if (!text) return text.status();
  return parse_pipeline(*text, file, overrides);
}

std::string resolved_toml(const Pipeline& p) {
  std::ostringstream os;
  os << "# " << p.source.filename().string() << ", resolved: every default filled in.\n\n";
  write_closed(os, "[run]", run_schema(), p.run);
  {
    SectionWriter w(os, "[backend]");
    write_fields<BackendSection>(w, backend_schema().fields, p.backend);
    w.rest(p.backend.table, backend_schema().names());
  }
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
  write_closed(os, "[model]", model_schema(), p.model);
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
  if (p.model.lora.enabled) write_closed(os, "[model.lora]", lora_schema(), p.model.lora);
  if (!p.init.from.empty()) write_closed(os, "[init]", init_schema(), p.init);
  write_closed(os, "[loss]", loss_schema(), p.loss);
  {
    SectionWriter w(os, "[optimizer]");
    write_fields<OptimizerSection>(w, optimizer_schema().fields, p.optimizer);
    w.rest(p.optimizer.table, optimizer_schema().names());
  }
  write_closed(os, "[schedule]", schedule_schema(), p.schedule);
  write_closed(os, "[train]", train_schema(), p.train);
  if (p.train.progressive.enabled)
    write_closed(os, "[train.progressive]", progressive_schema(), p.train.progressive);
  write_closed(os, "[checkpoint]", checkpoint_schema(), p.checkpoint);
  if (p.early_stop.enabled) write_closed(os, "[early_stop]", early_stop_schema(), p.early_stop);
  // Written only when given, so other pipelines resolve as before.
  if (p.distributed.present) write_closed(os, "[distributed]", distributed_schema(), p.distributed);
  write_closed(os, "[plugins]", plugins_schema(), p.plugins);
  std::string out = os.str();
  while (out.size() >= 2 && out[out.size() - 1] == '\n' && out[out.size() - 2] == '\n') out.pop_back();
  return out;
}

}  // namespace plinth::config
