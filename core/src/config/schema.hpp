// schema.hpp — the key tables that config files are read, checked, written
// back and documented from: one KeySpec per key (name, type, default, rule,
// doc line), bound to a struct member by a Field, plus the positioned reader
// (errors "<file>:<line>:<col>: <dotted.key>: <what>") and the TOML writer.
// Knows no pipeline section: the tables themselves live in pipeline_schema.cpp.
#pragma once

#include <charconv>
#include <cstdint>
#include <filesystem>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <toml++/toml.h>

#include "plinth/status.hpp"

namespace plinth::config {

// --- small helpers shared by every reader ----------------------------------------

bool contains(std::span<const std::string_view> set, std::string_view s);
std::string join_quoted(std::span<const std::string_view> set);     // 'a', 'b'
std::string join_key(std::string_view path, std::string_view key);  // "train" + "epochs" -> "train.epochs"

// A number as messages and resolved files write it: integers in decimal,
// doubles as the shortest text that reads back to the same value ("0.0001").
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

// --- one key -----------------------------------------------------------------------

// The TOML value a key takes. `number` accepts an integer too; `array` is an
// array of strings; `table` a sub-table (or array of tables) read elsewhere,
// or a table of strings bound to a list of pairs.
enum class KeyType : uint8_t { integer, number, boolean, string, array, table };

// A rule a present value must satisfy; its failure message is
// "<key> must be >= 0, got -1", "unknown <what> 'x' (did you mean 'y'?)" or `what`.
struct Check {
  enum class Kind : uint8_t { none, range, one_of, non_empty };
  Kind kind = Kind::none;
  double lo = 0.0, hi = 0.0;
  bool has_lo = false, has_hi = false, lo_open = false, hi_open = false;
  std::span<const std::string_view> choices{};
  // one_of: what a value is called ("schedule type"); range: a unit after the
  // bound ("seconds"); non_empty: the whole message.
  std::string_view what{};
};
constexpr Check at_least(double lo) { return {.kind = Check::Kind::range, .lo = lo, .has_lo = true}; }
constexpr Check above(double lo, std::string_view unit = {}) {
  return {.kind = Check::Kind::range, .lo = lo, .has_lo = true, .lo_open = true, .what = unit};
}
// `brackets` is "[]", "[)", "(]" or "()": which ends are open.
constexpr Check within(double lo, double hi, std::string_view brackets) {
  return {.kind = Check::Kind::range,
          .lo = lo,
          .hi = hi,
          .has_lo = true,
          .has_hi = true,
          .lo_open = brackets.size() == 2 && brackets[0] == '(',
          .hi_open = brackets.size() == 2 && brackets[1] == ')'};
}
constexpr Check one_of(std::span<const std::string_view> choices, std::string_view what) {
  return {.kind = Check::Kind::one_of, .choices = choices, .what = what};
}
constexpr Check non_empty(std::string_view message = "must not be empty") {
  return {.kind = Check::Kind::non_empty, .what = message};
}

// ">= 0", "> 0", "in (0, 1]": the rule as messages write it (`pretty`: "≥ 0", as the docs do).
std::string range_text(const Check& c, bool pretty);

struct KeySpec {
  std::string_view name;
  KeyType type = KeyType::string;  // set from the bound member by Field
  // The default as a TOML literal ("0", "1e-4", "\"runs\"", "[]"), applied
  // when the key is absent; empty: none (required, or set by code: see doc_default).
  std::string_view def{};
  std::string_view doc{};          // the docs table's meaning cell (Markdown)
  std::string_view doc_default{};  // the docs' default cell, when not `def` in backticks
  std::string_view doc_type{};     // the docs' type cell, when not derived from type and check
  std::string_view used_by{};      // the docs' "used by" cell, for sections that have the column
  // Non-empty: the key is required; the text goes in "missing required key (<required>)".
  std::string_view required{};
  Check check{};
  bool omit_empty = false;  // an empty value is not written back (keeps older resolved files the same)
};

std::string doc_type(const KeySpec& k);     // "integer ≥ 0", "float in (0, 1)", "boolean", ...
std::string doc_default(const KeySpec& k);  // "`0`", "required", or doc_default

// --- the positioned reader -------------------------------------------------------------

class Reader {
 public:
  explicit Reader(std::filesystem::path file) : file_(std::move(file)) {}

  // "file:line:col" (just "file" without a position; "--set key=value" for a
  // value given on the command line: config/overrides.hpp).
  std::string at(const toml::source_region& r) const;
  Status fail(const toml::source_region& r, std::string_view key, std::string_view what) const;
  // Where a key's value is, or the table's header when the key is absent.
  static const toml::source_region& where(const toml::table& t, std::string_view key);

  // Every key of `t` must be in `allowed`; else "<what> (did you mean 'x'?)"
  // or "<what>; expected one of 'a', 'b'".
  Status check_keys(const toml::table& t, std::string_view path, std::span<const std::string_view> allowed,
                    std::string_view what = "unknown key") const;
  // For tables open to plugin keys: only a key within two edits of one in
  // `core` is an error (almost surely a typo of it: "shufle").
  Status check_near_keys(const toml::table& t, std::string_view path,
                         std::span<const std::string_view> core) const;
  Status type_error(const toml::node& n, std::string_view key, std::string_view expected) const;

  // The value of `key` if present; `out` keeps its value when absent.
  Status get(const toml::table& t, std::string_view path, std::string_view key, int64_t& out) const;
  Status get(const toml::table& t, std::string_view path, std::string_view key, int& out) const;
  Status get(const toml::table& t, std::string_view path, std::string_view key, double& out) const;
  Status get(const toml::table& t, std::string_view path, std::string_view key, bool& out) const;
  Status get(const toml::table& t, std::string_view path, std::string_view key, std::string& out) const;
  // An array of non-empty strings.
  Status get(const toml::table& t, std::string_view path, std::string_view key,
             std::vector<std::string>& out) const;
  // An array of non-empty paths, relative ones resolved against the file's folder and made absolute.
  Status get(const toml::table& t, std::string_view path, std::string_view key,
             std::vector<std::filesystem::path>& out) const;
  // A table of strings, `name = "value"`, in file order.
  Status get(const toml::table& t, std::string_view path, std::string_view key,
             std::vector<std::pair<std::string, std::string>>& out) const;
  // A sub-table of `t` (nullptr when absent); an error when `key` is not a table.
  Status table(const toml::table& t, std::string_view path, std::string_view key,
               const toml::table*& out) const;

  // `ok` or an error at the key's value (or the table header) saying `what`.
  Status require(bool ok, const toml::table& t, std::string_view path, std::string_view key,
                 std::string_view what) const;
  Status one_of(const toml::table& t, std::string_view path, std::string_view key, std::string_view value,
                std::span<const std::string_view> set, std::string_view what) const;
  // The rule of `k` on a value just read from `t`.
  // `shown` is the value as the message writes it.
  Status check(const toml::table& t, std::string_view path, const KeySpec& k, double value,
               std::string_view shown) const;
  Status check(const toml::table& t, std::string_view path, const KeySpec& k, std::string_view value) const;

  const std::filesystem::path& file() const { return file_; }

 private:
  std::filesystem::path file_;
};

// --- writing TOML back ----------------------------------------------------------------------

void write_string(std::ostream& os, std::string_view s);  // a basic string, escaped
void write_key(std::ostream& os, std::string_view k);     // bare when it can be, else quoted
void write_float(std::ostream& os, double v);             // shortest round-trip text, always with . or e
void write_value(std::ostream& os, const toml::node& n);  // any parsed value, inline

// "key = value" lines under a header, closed by a blank line.
class SectionWriter {
 public:
  SectionWriter(std::ostream& os, std::string_view header) : os_(os) { os_ << header << '\n'; }
  SectionWriter(const SectionWriter&) = delete;
  SectionWriter& operator=(const SectionWriter&) = delete;
  ~SectionWriter() { os_ << '\n'; }
  SectionWriter& kv(std::string_view k, const std::string& v);
  SectionWriter& kv(std::string_view k, const char* v) { return kv(k, std::string(v)); }
  SectionWriter& kv(std::string_view k, const std::filesystem::path& v) { return kv(k, v.string()); }
  SectionWriter& kv(std::string_view k, int64_t v);
  SectionWriter& kv(std::string_view k, int v) { return kv(k, static_cast<int64_t>(v)); }
  SectionWriter& kv(std::string_view k, uint64_t v) { return kv(k, static_cast<int64_t>(v)); }
  SectionWriter& kv(std::string_view k, double v);
  SectionWriter& kv(std::string_view k, bool v);
  SectionWriter& kv(std::string_view k, const std::vector<std::string>& v);
  SectionWriter& kv(std::string_view k, const std::vector<std::filesystem::path>& v);
  SectionWriter& kv(std::string_view k, const std::vector<std::pair<std::string, std::string>>& v);
  // The keys of a plugin table, skipping those the core already wrote.
  SectionWriter& rest(const toml::table& t, std::span<const std::string_view> skip);

 private:
  std::ostream& os_;
};

// --- keys bound to a struct -----------------------------------------------------------------

// The member of S a key reads into (monostate: read and written by hand).
template <class S>
using Member = std::variant<std::monostate, int64_t S::*, int S::*, uint64_t S::*, double S::*, bool S::*,
                            std::string S::*, std::filesystem::path S::*, std::vector<std::string> S::*,
                            std::vector<std::filesystem::path> S::*,
                            std::vector<std::pair<std::string, std::string>> S::*>;

template <class S>
struct Field {
  using Derive = void (*)(S&);
  // `derive` computes the default of an absent key from keys read before it.
  Field(KeySpec k, Member<S> m, Derive d = nullptr) : key(k), member(m), derive(d) {
    std::visit(
        [&](auto p) {
          using P = decltype(p);
          if constexpr (std::is_same_v<P, std::monostate>) {
          } else {
            using M = std::remove_cvref_t<decltype(std::declval<S&>().*p)>;
            if constexpr (std::is_same_v<M, bool>)
              key.type = KeyType::boolean;
            else if constexpr (std::is_same_v<M, double>)
              key.type = KeyType::number;
            else if constexpr (std::is_integral_v<M>)
              key.type = KeyType::integer;
            else if constexpr (std::is_same_v<M, std::string> || std::is_same_v<M, std::filesystem::path>)
              key.type = KeyType::string;
            else if constexpr (std::is_same_v<M, std::vector<std::pair<std::string, std::string>>>)
              key.type = KeyType::table;
            else
              key.type = KeyType::array;
          }
        },
        member);
  }
  KeySpec key;
  Member<S> member;
  Derive derive = nullptr;
};

// One table of a config file: its dotted path, where the docs document it,
// and its keys in the order they are read, checked and written back.
template <class S>
struct Section {
  std::string_view path;     // "train", "data.train", "model.lora"
  std::string_view heading;  // the docs heading its table follows ("## [train]"); empty: no table
  std::vector<Field<S>> fields;
  std::string_view other_keys{};  // open to plugin keys: the docs' "*other keys*" row's meaning
  std::vector<std::string_view> names() const {
    std::vector<std::string_view> out;
    for (const auto& f : fields) out.push_back(f.key.name);
    return out;
  }
};

// A section's keys without their binding: what the docs tables are made from.
struct SectionDoc {
  std::string_view path, heading, other_keys;
  std::vector<KeySpec> keys;
};
template <class S>
SectionDoc doc_of(const Section<S>& s) {
  SectionDoc d{s.path, s.heading, s.other_keys, {}};
  for (const auto& f : s.fields) d.keys.push_back(f.key);
  return d;
}
// The Markdown reference table of a section, one line per row, as
// docs/pipeline.md has it after the section's heading.
std::string markdown_table(const SectionDoc& s);

namespace detail {
// Sets `out` from a default's TOML literal (as written in a KeySpec's `def`).
void parse_default(std::string_view def, int64_t& out);
void parse_default(std::string_view def, double& out);
void parse_default(std::string_view def, bool& out);
void parse_default(std::string_view def, std::string& out);
void parse_default(std::string_view def, std::vector<std::string>& out);
void parse_default(std::string_view def, std::vector<std::filesystem::path>& out);
void parse_default(std::string_view def, std::vector<std::pair<std::string, std::string>>& out);
template <class M>
void apply_default(std::string_view def, M& out) {
  if constexpr (std::is_same_v<M, int> || std::is_same_v<M, uint64_t>) {
    int64_t v = 0;
    parse_default(def, v);
    out = static_cast<M>(v);
  } else if constexpr (std::is_same_v<M, std::filesystem::path>) {
    std::string v;
    parse_default(def, v);
    out = v;
  } else {
    parse_default(def, out);
  }
}
}  // namespace detail

// Fills `s` from table `t` (at dotted `path`): each present key read, type-
// and rule-checked; each absent one derived, or set to its default, or an
// error when required (a key with neither keeps the value `s` has). Unknown
// keys are the caller's to check first (Reader::check_keys or check_near_keys).
template <class S>
Status read_fields(const Reader& r, const toml::table& t, std::string_view path,
                   std::span<const Field<S>> fields, S& s) {
  for (const Field<S>& f : fields) {
    const KeySpec& k = f.key;
    const bool present = t.contains(k.name);
    if (!present) {
      if (!k.required.empty())
        return r.fail(t.source(), join_key(path, k.name),
                      "missing required key (" + std::string(k.required) + ")");
      if (f.derive) {
        f.derive(s);
        continue;
      }
    }
    Status st = std::visit(
        [&](auto p) -> Status {
          using P = decltype(p);
          if constexpr (std::is_same_v<P, std::monostate>) {
            return {};
          } else {
            using M = std::remove_cvref_t<decltype(s.*p)>;
            if (!present) {
              if (!k.def.empty()) detail::apply_default(k.def, s.*p);
              return {};
            }
            if constexpr (std::is_same_v<M, uint64_t>) {
              int64_t v = 0;
              PLINTH_TRY(r.get(t, path, k.name, v));
              PLINTH_TRY(r.check(t, path, k, static_cast<double>(v), num(v)));
              s.*p = static_cast<uint64_t>(v);
            } else if constexpr (std::is_same_v<M, std::filesystem::path>) {
              std::string v;
              PLINTH_TRY(r.get(t, path, k.name, v));
              PLINTH_TRY(r.check(t, path, k, v));
              s.*p = v;
            } else {
              M v{};
              PLINTH_TRY(r.get(t, path, k.name, v));
              if constexpr (std::is_arithmetic_v<M> && !std::is_same_v<M, bool>)
                PLINTH_TRY(r.check(t, path, k, static_cast<double>(v), num(v)));
              else if constexpr (std::is_same_v<M, std::string>)
                PLINTH_TRY(r.check(t, path, k, v));
              s.*p = std::move(v);
            }
            return {};
          }
        },
        f.member);
    PLINTH_TRY(st);
  }
  return {};
}

// Writes the bound keys of `s` in table order ("key = value" lines).
template <class S>
void write_fields(SectionWriter& w, std::span<const Field<S>> fields, const S& s) {
  for (const Field<S>& f : fields) {
    std::visit(
        [&](auto p) {
          using P = decltype(p);
          if constexpr (!std::is_same_v<P, std::monostate>) {
            const auto& v = s.*p;
            if constexpr (requires { v.empty(); })
              if (f.key.omit_empty && v.empty()) return;
            w.kv(f.key.name, v);
          }
        },
        f.member);
  }
}

}  // namespace plinth::config
