// schema.cpp — the key-table machinery of schema.hpp: the positioned reader
// and its rule checks, the TOML writer, defaults parsed from their literals,
// and the Markdown rendering of a table of keys. No section of any file is
// named here.
#include "config/schema.hpp"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>
#include <system_error>

#include "config/did_you_mean.hpp"
#include "util/toml_names.hpp"

namespace plinth::config {

namespace fs = std::filesystem;

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

// --- rules and their text ------------------------------------------------------------

std::string range_text(const Check& c, bool pretty) {
  if (c.has_lo && c.has_hi)
    return std::string("in ") + (c.lo_open ? "(" : "[") + num(c.lo) + ", " + num(c.hi) +
           (c.hi_open ? ")" : "]");
  if (c.has_lo) return std::string(c.lo_open ? "> " : (pretty ? "≥ " : ">= ")) + num(c.lo);
  if (c.has_hi) return std::string(c.hi_open ? "< " : (pretty ? "≤ " : "<= ")) + num(c.hi);
  return {};
}

std::string doc_type(const KeySpec& k) {
  if (!k.doc_type.empty()) return std::string(k.doc_type);
  std::string out;
  switch (k.type) {
    case KeyType::integer:
      out = "integer";
      break;
    case KeyType::number:
      out = "float";
      break;
    case KeyType::boolean:
      return "boolean";
    case KeyType::string:
      return "string";
    case KeyType::array:
      return "array of strings";
    case KeyType::table:
      return "table";
  }
  if (k.check.kind == Check::Kind::range) out += " " + range_text(k.check, true);
  return out;
}

std::string doc_default(const KeySpec& k) {
  if (!k.doc_default.empty()) return std::string(k.doc_default);
  if (!k.required.empty()) return "required";
  std::string out(1, '`');  // appended piecewise: GCC 12 warns (-Wrestrict) on "`" + std::string
  out.append(k.def).push_back('`');
  return out;
}

std::string markdown_table(const SectionDoc& s) {
  bool used_by = false;
  for (const KeySpec& k : s.keys) used_by = used_by || !k.used_by.empty();
  std::string out = used_by ? "| key | type | default | used by | meaning |\n|---|---|---|---|---|\n"
                            : "| key | type | default | meaning |\n|---|---|---|---|\n";
  for (const KeySpec& k : s.keys) {
    out += "| `" + std::string(k.name) + "` | " + doc_type(k) + " | " + doc_default(k) + " | ";
    if (used_by) out += std::string(k.used_by) + " | ";
    out += std::string(k.doc) + " |\n";
  }
  if (!s.other_keys.empty()) out += "| *other keys* | any | — | " + std::string(s.other_keys) + " |\n";
  return out;
}

// --- the reader ----------------------------------------------------------------------------

std::string Reader::at(const toml::source_region& r) const { return toml_where(file_.string(), r); }

Status Reader::fail(const toml::source_region& r, std::string_view key, std::string_view what) const {
  return error(errc::config, at(r) + ": " + std::string(key) + ": " + std::string(what));
}

const toml::source_region& Reader::where(const toml::table& t, std::string_view key) {
  const toml::node* n = t.get(key);
  return n ? n->source() : t.source();
}

Status Reader::check_keys(const toml::table& t, std::string_view path,
                          std::span<const std::string_view> allowed, std::string_view what) const {
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

Status Reader::check_near_keys(const toml::table& t, std::string_view path,
                               std::span<const std::string_view> core) const {
  for (auto&& [k, v] : t) {
    if (contains(core, k.str())) continue;
    for (auto c : core) {
      const std::size_t dist = edit_distance(k.str(), c);
      if (dist <= 2 && dist < k.str().size())
        return fail(k.source(), join_key(path, k.str()),
                    "unknown key (did you mean '" + std::string(c) + "'?)");
    }
  }
  return {};
}

Status Reader::type_error(const toml::node& n, std::string_view key, std::string_view expected) const {
  return fail(n.source(), key,
              "expected " + std::string(expected) + ", got " + std::string(toml_type_name(n.type())));
}

Status Reader::get(const toml::table& t, std::string_view path, std::string_view key, int64_t& out) const {
  const toml::node* n = t.get(key);
  if (!n) return {};
  if (!n->is_integer()) return type_error(*n, join_key(path, key), "an integer");
  out = n->as_integer()->get();
  return {};
}

Status Reader::get(const toml::table& t, std::string_view path, std::string_view key, int& out) const {
  int64_t v = out;
  PLINTH_TRY(get(t, path, key, v));
  if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max())
    return fail(where(t, key), join_key(path, key), "value " + std::to_string(v) + " is out of range");
  out = static_cast<int>(v);
  return {};
}

Status Reader::get(const toml::table& t, std::string_view path, std::string_view key, double& out) const {
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

Status Reader::get(const toml::table& t, std::string_view path, std::string_view key, bool& out) const {
  const toml::node* n = t.get(key);
  if (!n) return {};
  if (!n->is_boolean()) return type_error(*n, join_key(path, key), "a boolean");
  out = n->as_boolean()->get();
  return {};
}

Status Reader::get(const toml::table& t, std::string_view path, std::string_view key,
                   std::string& out) const {
  const toml::node* n = t.get(key);
  if (!n) return {};
  if (!n->is_string()) return type_error(*n, join_key(path, key), "a string");
  out = n->as_string()->get();
  return {};
}

Status Reader::get(const toml::table& t, std::string_view path, std::string_view key,
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

Status Reader::get(const toml::table& t, std::string_view path, std::string_view key,
                   std::vector<fs::path>& out) const {
  const toml::node* n = t.get(key);
  if (!n) return {};
  const toml::array* arr = n->as_array();
  if (!arr) return type_error(*n, join_key(path, key), "an array of strings");
  // Made absolute, so a resolved file written elsewhere (runs/<name>/) still finds them.
  std::error_code ec;  // never throw: fs::absolute("") does
  fs::path base = file_.parent_path();
  fs::path abs = base.empty() ? fs::current_path(ec) : fs::absolute(base, ec);
  if (!ec) base = abs;
  out.clear();
  for (std::size_t i = 0; i < arr->size(); ++i) {
    const toml::node& el = *arr->get(i);
    const std::string ikey = join_key(path, key) + "[" + std::to_string(i) + "]";
    if (!el.is_string()) return type_error(el, ikey, "a string");
    const std::string& s = el.as_string()->get();
    if (s.empty()) return fail(el.source(), ikey, "must not be empty");
    out.push_back((base / fs::path(s)).lexically_normal());
  }
  return {};
}

Status Reader::get(const toml::table& t, std::string_view path, std::string_view key,
                   std::vector<std::pair<std::string, std::string>>& out) const {
  const toml::node* n = t.get(key);
  if (!n) return {};
  const toml::table* rt = n->as_table();
  if (!rt) return type_error(*n, join_key(path, key), "a table of prefix = \"new prefix\"");
  out.clear();
  for (auto&& [k, v] : *rt) {
    if (!v.is_string()) return type_error(v, join_key(path, key) + "." + std::string(k.str()), "a string");
    out.emplace_back(std::string(k.str()), v.as_string()->get());
  }
  return {};
}

Status Reader::table(const toml::table& t, std::string_view path, std::string_view key,
                     const toml::table*& out) const {
  out = nullptr;
  const toml::node* n = t.get(key);
  if (!n) return {};
  if (!n->is_table()) return type_error(*n, join_key(path, key), "a table");
  out = n->as_table();
  return {};
}

Status Reader::require(bool ok, const toml::table& t, std::string_view path, std::string_view key,
                       std::string_view what) const {
  return ok ? Status{} : fail(where(t, key), join_key(path, key), what);
}

Status Reader::one_of(const toml::table& t, std::string_view path, std::string_view key,
                      std::string_view value, std::span<const std::string_view> set,
                      std::string_view what) const {
  if (contains(set, value)) return {};
  return fail(where(t, key), join_key(path, key),
              "unknown " + std::string(what) + " '" + std::string(value) + "'" +
                  (did_you_mean(value, set).empty() ? "; expected one of " + join_quoted(set)
                                                    : did_you_mean_suffix(value, set)));
}

Status Reader::check(const toml::table& t, std::string_view path, const KeySpec& k, double value,
                     std::string_view shown) const {
  const Check& c = k.check;
  if (c.kind != Check::Kind::range) return {};
  bool ok = true;
  if (c.has_lo) ok = ok && (c.lo_open ? value > c.lo : value >= c.lo);
  if (c.has_hi) ok = ok && (c.hi_open ? value < c.hi : value <= c.hi);
  if (ok) return {};
  std::string rule = range_text(c, false);
  if (!c.what.empty()) rule += " " + std::string(c.what);
  return fail(where(t, k.name), join_key(path, k.name),
              std::string(k.name) + " must be " + rule + ", got " + std::string(shown));
}

Status Reader::check(const toml::table& t, std::string_view path, const KeySpec& k,
                     std::string_view value) const {
  const Check& c = k.check;
  if (c.kind == Check::Kind::non_empty) return require(!value.empty(), t, path, k.name, c.what);
  if (c.kind == Check::Kind::one_of) return one_of(t, path, k.name, value, c.choices, c.what);
  return {};
}

// --- writing TOML back ------------------------------------------------------------------------

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

SectionWriter& SectionWriter::kv(std::string_view k, const std::string& v) {
  write_key(os_, k);
  os_ << " = ";
  write_string(os_, v);
  os_ << '\n';
  return *this;
}

SectionWriter& SectionWriter::kv(std::string_view k, int64_t v) {
  write_key(os_, k);
  os_ << " = " << v << '\n';
  return *this;
}

SectionWriter& SectionWriter::kv(std::string_view k, double v) {
  write_key(os_, k);
  os_ << " = ";
  write_float(os_, v);
  os_ << '\n';
  return *this;
}

SectionWriter& SectionWriter::kv(std::string_view k, bool v) {
  write_key(os_, k);
  os_ << " = " << (v ? "true" : "false") << '\n';
  return *this;
}

SectionWriter& SectionWriter::kv(std::string_view k, const std::vector<std::string>& v) {
  write_key(os_, k);
  os_ << " = [";
  for (size_t i = 0; i < v.size(); ++i) {
    os_ << (i ? ", " : "");
    write_string(os_, v[i]);
  }
  os_ << "]\n";
  return *this;
}

SectionWriter& SectionWriter::kv(std::string_view k, const std::vector<fs::path>& v) {
  std::vector<std::string> s;
  for (const fs::path& p : v) s.push_back(p.string());
  return kv(k, s);
}

SectionWriter& SectionWriter::kv(std::string_view k,
                                 const std::vector<std::pair<std::string, std::string>>& v) {
  write_key(os_, k);
  os_ << " = { ";
  for (size_t i = 0; i < v.size(); ++i) {
    os_ << (i ? ", " : "");
    write_key(os_, v[i].first);
    os_ << " = ";
    write_string(os_, v[i].second);
  }
  os_ << " }\n";
  return *this;
}

SectionWriter& SectionWriter::rest(const toml::table& t, std::span<const std::string_view> skip) {
  for (auto&& [k, v] : t) {
    if (contains(skip, k.str())) continue;
    write_key(os_, k.str());
    os_ << " = ";
    write_value(os_, v);
    os_ << '\n';
  }
  return *this;
}

// --- defaults from their literals ----------------------------------------------------------
// The literals are the schema's own (checked by its tests), so these read the
// few forms the tables use and do not report errors.

namespace detail {

void parse_default(std::string_view def, int64_t& out) {
  int64_t v = 0;
  if (std::from_chars(def.data(), def.data() + def.size(), v).ec == std::errc{}) out = v;
}

void parse_default(std::string_view def, double& out) {
  double v = 0.0;
  if (std::from_chars(def.data(), def.data() + def.size(), v).ec == std::errc{}) out = v;
}

void parse_default(std::string_view def, bool& out) { out = def == "true"; }

void parse_default(std::string_view def, std::string& out) {
  if (def.size() >= 2 && def.front() == '"' && def.back() == '"') def = def.substr(1, def.size() - 2);
  out = std::string(def);
}

void parse_default(std::string_view, std::vector<std::string>& out) { out.clear(); }  // "[]"
void parse_default(std::string_view, std::vector<fs::path>& out) { out.clear(); }     // "[]"
void parse_default(std::string_view, std::vector<std::pair<std::string, std::string>>& out) {
  out.clear();  // "{}"
}

}  // namespace detail

}  // namespace plinth::config
