// overrides.cpp — `--set key=value` (overrides.hpp): the dotted key walked
// through the pipeline schema and the parsed file at once (sections, their
// sub-tables, [[model.layer]] and [[model.block]] entries by index, each
// layer's keys by its type), the value typed by what the key takes, and the
// node written with the argument as its source. A section or sub-table the
// file lacks is created, as writing it would; an array entry never is.
// Not here: the checks of the values' rules (the pipeline reader makes them).
#include "config/overrides.hpp"

#include <charconv>
#include <optional>
#include <sstream>
#include <system_error>

#include "config/did_you_mean.hpp"
#include "config/pipeline_schema.hpp"
#include "config/schema.hpp"
#include "graph/layers/layer.hpp"
#include "util/toml_names.hpp"

namespace plinth::config {
namespace {

// What a value must be. `any`: a plugin's key (or a key of a layer whose
// type is not known yet): typed by the value it replaces, else read as TOML
// and, failing that, as a string.
enum class Want { integer, number, boolean, string, strings, array, table, any };

const char* want_name(Want w) {
  switch (w) {
    case Want::integer:
      return "an integer";
    case Want::number:
      return "a number";
    case Want::boolean:
      return "true or false";
    case Want::string:
      return "a string";
    case Want::strings:
      return "an array of strings, e.g. [\"a\", \"b\"]";
    case Want::array:
      return "an array, e.g. [32, 32]";
    case Want::table:
      return "an inline table, e.g. { a = \"b\" }";
    case Want::any:
      break;
  }
  return "a value";
}

Want want_of(KeyType t) {
  switch (t) {
    case KeyType::integer:
      return Want::integer;
    case KeyType::number:
      return Want::number;
    case KeyType::boolean:
      return Want::boolean;
    case KeyType::string:
      return Want::string;
    case KeyType::array:
      return Want::strings;
    case KeyType::table:
      return Want::table;
  }
  return Want::any;
}

std::string trim(std::string_view s) {
  const size_t b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  const size_t e = s.find_last_not_of(" \t");
  return std::string(s.substr(b, e - b + 1));
}

// One --set argument.
struct Arg {
  std::string src;                 // "--set optimizer.lr=3e-4": the error prefix and the nodes' source path
  std::string key;                 // "optimizer.lr"
  std::string value;               // "3e-4"
  std::vector<std::string> parts;  // "optimizer", "lr"

  Status fail(std::string_view dotted, std::string_view what) const {
    return error(errc::config, src + ": " + std::string(dotted) + ": " + std::string(what));
  }
  Status fail(std::string_view what) const { return error(errc::config, src + ": " + std::string(what)); }
};

// `text` read as the value of one TOML key, in a document "v = <text>" whose
// source path is the argument: the table holding it, or nullopt when `text`
// is not one TOML value.
std::optional<toml::table> parse_value(const std::string& text, const std::string& src) {
  if (text.empty() || text.find_first_of("\r\n") != std::string::npos) return std::nullopt;
  const std::string doc = "v = " + text + "\n";
#if TOML_EXCEPTIONS
  try {
    toml::table t = toml::parse(doc, src);
    if (t.size() == 1 && t.contains("v")) return t;
  } catch (const toml::parse_error&) {
  }
  return std::nullopt;
#else
  toml::parse_result r = toml::parse(doc, src);
  if (!r || r.table().size() != 1 || !r.table().contains("v")) return std::nullopt;
  return std::move(r).table();
#endif
}

// A TOML text that parses to the string `s`.
std::string toml_string(std::string_view s) {
  std::ostringstream os;
  write_string(os, s);
  return os.str();
}

// What the message says was given: "a float (3.5)" or "'abc'".
std::string shown(const std::string& text, const std::optional<toml::table>& parsed) {
  if (!parsed) return "'" + text + "'";
  return std::string(toml_type_name(parsed->get("v")->type())) + " (" + text + ")";
}

// The value of `a` as `want` takes it, in a table from parse_value; or the
// error naming the type expected. `existing` (may be null) types a plugin key.
Result<toml::table> typed_value(const Arg& a, const std::string& dotted, Want want,
                                const toml::node* existing) {
  const std::string& text = a.value;
  if (want == Want::any && existing) {
    if (existing->is_integer())
      want = Want::integer;
    else if (existing->is_floating_point())
      want = Want::number;
    else if (existing->is_boolean())
      want = Want::boolean;
    else if (existing->is_string())
      want = Want::string;
    else if (const toml::array* arr = existing->as_array())
      want = !arr->empty() && arr->is_homogeneous(toml::node_type::string) ? Want::strings : Want::array;
    else if (existing->is_table())
      want = Want::table;
  }
  std::optional<toml::table> parsed = parse_value(text, a.src);
  const toml::node* v = parsed ? parsed->get("v") : nullptr;
  auto expected = [&](const char* what) -> Result<toml::table> {
    return a.fail(dotted, std::string("expected ") + what + ", got " + shown(text, parsed));
  };
  // A value made here as TOML text (it always parses).
  auto made = [&](const std::string& toml_text) -> Result<toml::table> {
    if (auto p = parse_value(toml_text, a.src)) return std::move(*p);
    return error(errc::internal, a.src + ": cannot write the value as TOML");
  };
  switch (want) {
    case Want::integer:
      if (!v || !v->is_integer()) return expected("an integer");
      return std::move(*parsed);
    case Want::number:
      if (v && v->is_integer()) {  // a float key keeps a float: 3 -> 3.0
        std::ostringstream os;
        write_float(os, static_cast<double>(v->as_integer()->get()));
        return made(os.str());
      }
      if (!v || !v->is_floating_point()) return expected("a number");
      return std::move(*parsed);
    case Want::boolean:
      if (!v || !v->is_boolean()) return expected("true or false");
      return std::move(*parsed);
    case Want::string:
      // Taken as given; a TOML string in quotes is read as one (for escapes).
      if (!text.empty() && (text.front() == '"' || text.front() == '\'') && v && v->is_string())
        return std::move(*parsed);
      return made(toml_string(text));
    case Want::strings: {
      if (v && v->is_array()) return std::move(*parsed);
      // [a, b] with bare words: each item a string.
      if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
        std::string list = "[";
        std::string_view rest = std::string_view(text).substr(1, text.size() - 2);
        while (!trim(rest).empty()) {
          const size_t c = rest.find(',');
          std::string item = trim(rest.substr(0, c));
          if (item.empty()) return expected(want_name(want));
          list += (list.size() > 1 ? ", " : "") + toml_string(item);
          if (c == std::string_view::npos) break;
          rest = rest.substr(c + 1);
        }
        list += "]";
        return made(list);
      }
      return expected(want_name(want));
    }
    case Want::array:
      if (!v || !v->is_array()) return expected(want_name(want));
      return std::move(*parsed);
    case Want::table:
      if (!v || !v->is_table()) return expected(want_name(want));
      return std::move(*parsed);
    case Want::any:
      if (v && (v->is_number() || v->is_boolean() || v->is_string() || v->is_array() || v->is_table()))
        return std::move(*parsed);
      return made(toml_string(text));  // a path, a name: a string
  }
  return expected(want_name(want));
}

// Writes the value of `snippet` (from parse_value) as `key` of `t`, replacing
// any value there; the key's source is the argument too.
void put(toml::table& t, const std::string& key, toml::table& snippet) {
  toml::source_region where;
  for (auto&& [k, v] : snippet) where = k.source();
  t.erase(key);
  snippet.get("v")->visit([&](auto& x) { t.insert(toml::key(key, where), std::move(x)); });
}

// The table `name` of `parent`, created (with the argument as its source)
// when absent.
Result<toml::table*> sub_table(const Arg& a, toml::table& parent, const std::string& name,
                               const std::string& dotted) {
  if (toml::node* n = parent.get(name)) {
    if (toml::table* t = n->as_table()) return t;
    return a.fail(dotted, std::string("is ") + toml_type_name(n->type()) +
                              " in the pipeline, not a table: its keys cannot be set");
  }
  auto snippet = parse_value("{}", a.src);
  toml::source_region where = snippet->get("v")->source();
  toml::table fresh = std::move(*snippet->get("v")->as_table());
  fresh.is_inline(false);
  auto inserted = parent.insert(toml::key(name, where), std::move(fresh));
  return inserted.first->second.as_table();
}

// Where one argument's value goes: a table, the key in it, its dotted name
// and what the value must be.
struct Slot {
  toml::table* table = nullptr;
  std::string key;
  std::string dotted;
  Want want = Want::any;
};

const SectionDoc* section_doc(std::string_view path) {
  static const std::vector<SectionDoc> docs = pipeline_schema_docs();
  if (path.rfind("data.", 0) == 0) path = "data.train";  // one table for every split
  for (const SectionDoc& d : docs)
    if (d.path == path) return &d;
  return nullptr;
}

std::string index_text(const Arg& a, size_t i) { return i < a.parts.size() ? a.parts[i] : std::string(); }

Status unknown(const Arg& a, const std::string& dotted, const std::string& word,
               std::span<const std::string_view> allowed, const std::string& what) {
  std::string msg = what;
  if (const std::string hint = did_you_mean(word, allowed); !hint.empty())
    msg += " (did you mean '" + hint + "'?)";
  else
    msg += "; expected one of " + join_quoted(allowed);
  return a.fail(dotted, msg);
}

// The entry of an array of tables (`arr`, named `dotted`) that part `i` indexes.
Result<toml::table*> entry(const Arg& a, toml::array& arr, size_t i, const std::string& dotted) {
  const std::string p = index_text(a, i);
  if (p.empty())
    return a.fail(dotted, "is an array of tables: add an index and a key (" + dotted + ".0.<key>=value)");
  size_t idx = 0;
  auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), idx);
  if (ec != std::errc() || ptr != p.data() + p.size())
    return a.fail(dotted,
                  "is an array of tables: the next part must be an index (0, 1, ...), got '" + p + "'");
  if (idx >= arr.size())
    return a.fail(dotted + "." + p, "index " + p + " is past the end (the pipeline has " +
                                        std::to_string(arr.size()) + ", counted from 0); --set changes " +
                                        "entries, it does not add them");
  toml::table* t = arr.get(idx)->as_table();
  if (!t) return a.fail(dotted + "." + p, "is not a table in the pipeline");
  return t;
}

// The key of a layer (`t`, at `dotted`) that part `i` names.
Result<Slot> layer_key(const Arg& a, toml::table& t, size_t i, const std::string& dotted) {
  if (i >= a.parts.size())
    return a.fail(dotted, "is a layer: name one of its keys (" + dotted + ".<key>=value)");
  const std::string& k = a.parts[i];
  const std::string key_dotted = dotted + "." + k;
  if (i + 1 < a.parts.size()) return a.fail(key_dotted, "a layer's keys hold values, not tables");
  if (k == "type" || k == "name") return Slot{&t, k, key_dotted, Want::string};
  if (k == "inputs") return Slot{&t, k, key_dotted, Want::strings};
  const toml::node* type = t.get("type");
  const graph::LayerKind* kind =
      type && type->is_string() ? graph::find_layer_kind(type->as_string()->get()) : nullptr;
  if (!kind) return Slot{&t, k, key_dotted, Want::any};  // the file's own error comes first
  std::vector<std::string_view> allowed{"type", "name"};
  for (const LayerKey& lk : kind->keys) {
    if (lk.name == k) return Slot{&t, k, key_dotted, want_of(lk.type)};
    allowed.push_back(lk.name);
  }
  allowed.push_back("inputs");
  return unknown(a, key_dotted, k, allowed, "not a key of a '" + std::string(kind->type) + "' layer");
}

// [[model.layer]] or a block's `layers`: index, then a layer's key.
Result<Slot> in_layers(const Arg& a, toml::table& parent, const std::string& name, size_t i,
                       const std::string& dotted) {
  toml::node* n = parent.get(name);
  if (!n) return a.fail(dotted, "the pipeline has none; --set changes layers, it does not add them");
  toml::array* arr = n->as_array();
  if (!arr)
    return a.fail(dotted, std::string("is ") + toml_type_name(n->type()) + " in the pipeline, not an array");
  auto t = entry(a, *arr, i, dotted);
  if (!t) return t.status();
  return layer_key(a, **t, i + 1, dotted + "." + a.parts[i]);
}

// Part `i` onwards, inside section table `t` at `path` (its schema `doc`).
Result<Slot> in_section(const Arg& a, toml::table& t, const std::string& path, const SectionDoc& doc,
                        size_t i) {
  if (i >= a.parts.size())
    return a.fail(path, "is a section: name one of its keys (" + path + ".<key>=value)");
  const std::string& k = a.parts[i];
  const std::string dotted = path + "." + k;
  const bool last = i + 1 == a.parts.size();
  const KeySpec* spec = nullptr;
  for (const KeySpec& s : doc.keys)
    if (s.name == k) spec = &s;
  if (path == "model" && (k == "layer" || k == "block")) {
    if (k == "layer") return in_layers(a, t, "layer", i + 1, dotted);
    toml::node* n = t.get("block");
    if (!n)
      return a.fail(dotted,
                    "the pipeline has no [[model.block]]; --set changes blocks, it does not add them");
    toml::array* arr = n->as_array();
    if (!arr)
      return a.fail(dotted,
                    std::string("is ") + toml_type_name(n->type()) + " in the pipeline, not an array");
    auto bt = entry(a, *arr, i + 1, dotted);
    if (!bt) return bt.status();
    const std::string bdotted = dotted + "." + a.parts[i + 1];
    if (i + 2 >= a.parts.size())
      return a.fail(bdotted, "is a block: name one of its keys (" + bdotted + ".<key>=value)");
    const std::string& bk = a.parts[i + 2];
    const std::string bk_dotted = bdotted + "." + bk;
    if (bk == "layers") return in_layers(a, **bt, "layers", i + 3, bk_dotted);
    if (i + 3 < a.parts.size()) return a.fail(bk_dotted, "holds a value, not a table");
    if (bk == "name") return Slot{*bt, bk, bk_dotted, Want::string};
    if (bk == "residual") return Slot{*bt, bk, bk_dotted, Want::boolean};
    return unknown(a, bk_dotted, bk, kBlockKeys, "not a key of a [[model.block]]");
  }
  if (spec && spec->type == KeyType::table) {
    if (const SectionDoc* sub = section_doc(dotted)) {  // [model.lora], [train.progressive]
      auto st = sub_table(a, t, k, dotted);
      if (!st) return st.status();
      return in_section(a, **st, dotted, *sub, i + 1);
    }
  }
  if (spec) {
    if (!last)
      return a.fail(dotted, "holds " + std::string(want_name(want_of(spec->type))) + ", not a table");
    return Slot{&t, k, dotted, want_of(spec->type)};
  }
  if (path == "data.replay" && k == "fraction") {
    if (!last) return a.fail(dotted, "holds a number, not a table");
    return Slot{&t, k, dotted, Want::number};
  }
  const std::vector<std::string_view> names = [&] {
    std::vector<std::string_view> out;
    for (const KeySpec& s : doc.keys) out.push_back(s.name);
    return out;
  }();
  if (doc.other_keys.empty()) return unknown(a, dotted, k, names, "unknown key");
  // Open to the plugin's keys, which are checked once the plugin is loaded.
  // A [data.*] key close to a core one is a typo of it, as in the file.
  if (path.rfind("data.", 0) == 0)
    for (std::string_view c : names) {
      const size_t dist = edit_distance(k, c);
      if (dist <= 2 && dist < k.size())
        return a.fail(dotted, "unknown key (did you mean '" + std::string(c) + "'?)");
    }
  if (last) return Slot{&t, k, dotted, Want::any};
  // A plugin's nested table (e.g. a source's sub-table): walked by name.
  auto st = sub_table(a, t, k, dotted);
  if (!st) return st.status();
  toml::table* cur = *st;
  std::string cur_dotted = dotted;
  for (size_t j = i + 1; j + 1 < a.parts.size(); ++j) {
    cur_dotted += "." + a.parts[j];
    auto next = sub_table(a, *cur, a.parts[j], cur_dotted);
    if (!next) return next.status();
    cur = *next;
  }
  return Slot{cur, a.parts.back(), a.key, Want::any};
}

Result<Slot> locate(toml::table& doc, const Arg& a) {
  const std::string& s = a.parts[0];
  if (!contains(kPipelineSections, s)) return unknown(a, s, s, kPipelineSections, "unknown section");
  auto t = sub_table(a, doc, s, s);
  if (!t) return t.status();
  if (s == "data") {
    static constexpr std::string_view splits[] = {"train", "eval", "replay"};
    if (a.parts.size() < 2) return a.fail("data", "name a split and a key (data.train.<key>=value)");
    const std::string& split = a.parts[1];
    if (!contains(splits, split)) return unknown(a, "data." + split, split, splits, "unknown data split");
    auto st = sub_table(a, **t, split, "data." + split);
    if (!st) return st.status();
    return in_section(a, **st, "data." + split, *section_doc("data.train"), 2);
  }
  const SectionDoc* sd = section_doc(s);
  if (!sd) return error(errc::internal, "no key table for section [" + s + "]");
  return in_section(a, **t, s, *sd, 1);
}

Status apply_one(toml::table& doc, const std::string& arg) {
  Arg a;
  a.src = std::string(kOverrideSourcePrefix) + arg;
  const size_t eq = arg.find('=');
  if (eq == std::string::npos)
    return a.fail("expected key=value (e.g. --set optimizer.lr=3e-4): there is no '='");
  a.key = trim(std::string_view(arg).substr(0, eq));
  a.value = trim(std::string_view(arg).substr(eq + 1));
  const std::string& key = a.key;
  if (key.empty()) return a.fail("expected key=value: the key before '=' is empty");
  for (size_t s = 0;;) {
    const size_t e = key.find('.', s);
    a.parts.push_back(key.substr(s, e == std::string::npos ? std::string::npos : e - s));
    if (e == std::string::npos) break;
    s = e + 1;
  }
  for (const std::string& p : a.parts)
    if (p.empty()) return a.fail(key, "an empty part in the dotted key");
  auto slot = locate(doc, a);
  if (!slot) return slot.status();
  auto value = typed_value(a, slot->dotted, slot->want, slot->table->get(slot->key));
  if (!value) return value.status();
  put(*slot->table, slot->key, *value);
  return {};
}

}  // namespace

Status apply_overrides(toml::table& doc, std::span<const std::string> sets) {
  for (const std::string& arg : sets) PLINTH_TRY(apply_one(doc, arg));
  return {};
}

std::string override_key(std::string_view arg) {
  const size_t eq = arg.find('=');
  if (eq == std::string_view::npos) return {};
  return trim(arg.substr(0, eq));
}

std::string with_override_comments(const std::string& resolved, std::span<const std::string> sets) {
  if (sets.empty()) return resolved;
  const size_t nl = resolved.find('\n');
  std::string head = nl == std::string::npos ? resolved + "\n" : resolved.substr(0, nl + 1);
  for (const std::string& s : sets) {
    std::string line = s;
    for (char& c : line)
      if (c == '\n' || c == '\r') c = ' ';  // one comment line each
    head += "# " + std::string(kOverrideSourcePrefix) + line + "\n";
  }
  return nl == std::string::npos ? head : head + resolved.substr(nl + 1);
}

std::vector<std::string> override_comments(const std::string& text) {
  std::vector<std::string> out;
  const std::string prefix = "# " + std::string(kOverrideSourcePrefix);
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] != '#') break;  // the comments lead the file
    if (line.rfind(prefix, 0) == 0) out.push_back(line.substr(prefix.size()));
  }
  return out;
}

}  // namespace plinth::config
