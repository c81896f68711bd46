// spec.cpp — the sweep file: [sweep], [sweep.params] and [sweep.asha] read
// and checked (every error names file:line:col and the key), the trials it
// makes, and each trial's pipeline as TOML text built from the base
// pipeline's document. Not here: running trials (runner.cpp) or ASHA (asha.cpp).
#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>

#include "config/did_you_mean.hpp"
#include "config/pipeline.hpp"
#include "run/run_folder.hpp"
#include "sweep/sweep.hpp"
#include "util/rng.hpp"
#include "util/toml_names.hpp"

namespace plinth::sweep {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kSweepKeys[] = {"base",   "name",       "out_dir",     "method",   "seed",
                                           "trials", "max_trials", "max_minutes", "parallel", "threads",
                                           "metric", "mode",       "params",      "asha"};
constexpr std::string_view kAshaKeys[] = {"min_steps", "max_steps", "reduction_factor", "metric", "mode"};
constexpr std::string_view kMetrics[] = {"eval_loss", "eval_accuracy", "time_to_target"};
constexpr std::string_view kRangeKinds[] = {"choice", "uniform", "log_uniform"};

std::string at(const fs::path& file, const toml::source_region& r) {
  return file.string() + ":" + std::to_string(r.begin.line) + ":" + std::to_string(r.begin.column);
}

Status fail(const fs::path& file, const toml::source_region& r, std::string_view key, std::string_view what) {
  return error(errc::config, at(file, r) + ": " + std::string(key) + ": " + std::string(what));
}

Status check_keys(const fs::path& file, const toml::table& t, std::string_view section,
                  std::span<const std::string_view> known) {
  for (auto&& [k, v] : t) {
    bool ok = false;
    for (auto n : known) ok = ok || n == k.str();
    if (ok) continue;
    return fail(file, k.source(), std::string(section) + "." + std::string(k.str()),
                "unknown key" + config::did_you_mean_suffix(k.str(), known));
  }
  return {};
}

std::optional<Value> to_value(const toml::node& n) {
  if (auto i = n.as_integer()) return Value(i->get());
  if (auto d = n.as_floating_point()) return Value(d->get());
  if (auto b = n.as_boolean()) return Value(b->get());
  if (auto s = n.as_string()) return Value(s->get());
  return std::nullopt;
}

std::optional<double> number(const toml::node& n) {
  if (auto i = n.as_integer()) return static_cast<double>(i->get());
  if (auto d = n.as_floating_point()) return d->get();
  return std::nullopt;
}

// Walk a dotted key through a TOML document: tables by name, arrays of
// tables by index ("model.layer.1.out"). With `create`, missing tables on
// the way are added. Returns the table holding the last part, or an error text.
std::variant<toml::table*, std::string> parent_of(toml::table& doc, std::string_view key, bool create,
                                                  std::string* last) {
  std::vector<std::string> parts;
  for (size_t s = 0;;) {
    size_t e = key.find('.', s);
    parts.emplace_back(key.substr(s, e == std::string_view::npos ? std::string_view::npos : e - s));
    if (e == std::string_view::npos) break;
    s = e + 1;
  }
  for (const auto& p : parts)
    if (p.empty()) return std::string("an empty part in the dotted key");
  toml::node* cur = &doc;
  std::string walked;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    const std::string& p = parts[i];
    walked += (walked.empty() ? "" : ".") + p;
    if (auto* t = cur->as_table()) {
      toml::node* next = t->get(p);
      if (!next) {
        if (!create) return "the base pipeline has no '" + walked + "'";
        next = &t->insert_or_assign(p, toml::table{}).first->second;
      }
      cur = next;
    } else if (auto* a = cur->as_array()) {
      size_t idx = 0;
      auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), idx);
      if (ec != std::errc() || ptr != p.data() + p.size())
        return "'" + walked.substr(0, walked.size() - p.size() - 1) +
               "' is an array: the next part must be an index (0, 1, ...), got '" + p + "'";
      if (idx >= a->size())
        return "index " + p + " is past the end of '" + walked.substr(0, walked.size() - p.size() - 1) +
               "' (it has " + std::to_string(a->size()) + " entries, counted from 0)";
      cur = a->get(idx);
    } else {
      return "'" + walked.substr(0, walked.size() - p.size() - 1) + "' is " + toml_type_name(cur->type()) +
             ", not a table";
    }
  }
  if (auto* t = cur->as_table()) {
    *last = parts.back();
    return t;
  }
  if (cur->is_array())
    return "'" + walked + "' is an array: the next part must be an index (e.g. " + walked + ".0." +
           parts.back() + "), counted from 0";
  return "the key goes through " + std::string(toml_type_name(cur->type())) + ", not a table";
}

void set_value(toml::table& t, const std::string& k, const Value& v) {
  std::visit([&](const auto& x) { t.insert_or_assign(k, x); }, v);
}

// A value converted to the base pipeline's type for the key: an integer key
// takes a rounded number, a float key a float.
Value conform(const Value& v, const toml::node* base) {
  if (!base) return v;
  if (base->is_integer() && std::holds_alternative<double>(v))
    return Value(static_cast<int64_t>(std::llround(std::get<double>(v))));
  if (base->is_floating_point() && std::holds_alternative<int64_t>(v))
    return Value(static_cast<double>(std::get<int64_t>(v)));
  return v;
}

// Relative paths in [data.*] and [plugins] manifests, made absolute against
// the base pipeline's folder (the trial's pipeline lives elsewhere).
void absolutize(toml::table& doc, const fs::path& base_dir) {
  for (const char* split : {"train", "eval"}) {
    toml::table* d = doc["data"][split].as_table();
    if (!d) continue;
    for (auto&& [k, v] : *d) {
      auto* s = v.as_string();
      if (!s) continue;
      fs::path p(s->get());
      std::error_code ec;
      if (p.is_relative() && !p.empty() && fs::exists(base_dir / p, ec))
        *s = (base_dir / p).lexically_normal().string();
    }
  }
  if (toml::array* m = doc["plugins"]["manifests"].as_array())
    for (auto& v : *m)
      if (auto* s = v.as_string(); s && fs::path(s->get()).is_relative())
        *s = (base_dir / s->get()).lexically_normal().string();
}

fs::path abs_dir(const fs::path& file) {
  std::error_code ec;
  fs::path dir = file.parent_path();
  fs::path a = dir.empty() ? fs::current_path(ec) : fs::absolute(dir, ec);
  return a.lexically_normal();
}

Result<toml::table> parse_toml(std::string_view text, const fs::path& source) {
  try {
    return toml::parse(text, source.string());
  } catch (const toml::parse_error& e) {
    const auto& b = e.source().begin;
    return error(errc::config, source.string() + ":" + std::to_string(b.line) + ":" +
                                   std::to_string(b.column) + ": " + std::string(e.description()));
  }
}

template <class T>
Status get(const fs::path& file, const toml::table& t, std::string_view section, std::string_view key,
           T& out) {
  const toml::node* n = t.get(key);
  if (!n) return {};
  const std::string name = std::string(section) + "." + std::string(key);
  if constexpr (std::is_same_v<T, std::string>) {
    if (!n->is_string())
      return fail(file, n->source(), name,
                  "expected a string, got " + std::string(toml_type_name(n->type())));
    out = n->as_string()->get();
  } else if constexpr (std::is_same_v<T, double>) {
    auto d = number(*n);
    if (!d)
      return fail(file, n->source(), name,
                  "expected a number, got " + std::string(toml_type_name(n->type())));
    out = *d;
  } else {
    if (!n->is_integer())
      return fail(file, n->source(), name,
                  "expected an integer, got " + std::string(toml_type_name(n->type())));
    out = static_cast<T>(n->as_integer()->get());
  }
  return {};
}

Status read_param(const fs::path& file, std::string_view key, const toml::node& n, Param& p) {
  const std::string name = "sweep.params.\"" + std::string(key) + "\"";
  p.key = std::string(key);
  if (auto* a = n.as_array()) {
    p.kind = Param::Kind::grid;
    if (a->empty()) return fail(file, n.source(), name, "the list of values is empty");
    for (const auto& e : *a) {
      auto v = to_value(e);
      if (!v)
        return fail(
            file, e.source(), name,
            "a value must be a number, string or boolean, got " + std::string(toml_type_name(e.type())));
      p.values.push_back(*v);
    }
    return {};
  }
  auto* t = n.as_table();
  if (!t)
    return fail(file, n.source(), name,
                "expected a list of values or a table { choice = [...] }, { uniform = [lo, hi] } or "
                "{ log_uniform = [lo, hi] }, got " +
                    std::string(toml_type_name(n.type())));
  if (t->size() != 1)
    return fail(file, n.source(), name, "expected exactly one of 'choice', 'uniform', 'log_uniform'");
  const auto first = t->begin();
  const toml::key& k = first->first;
  const toml::node& v = first->second;
  bool known = false;
  for (auto r : kRangeKinds) known = known || r == k.str();
  if (!known)
    return fail(file, k.source(), name + "." + std::string(k.str()),
                "unknown kind" + config::did_you_mean_suffix(k.str(), kRangeKinds) +
                    "; expected 'choice', 'uniform' or 'log_uniform'");
  const auto* a = v.as_array();
  if (!a) return fail(file, v.source(), name, std::string(k.str()) + " must be a list");
  if (k.str() == "choice") {
    p.kind = Param::Kind::choice;
    if (a->empty()) return fail(file, v.source(), name, "the choice list is empty");
    for (const auto& e : *a) {
      auto x = to_value(e);
      if (!x) return fail(file, e.source(), name, "a choice must be a number, string or boolean");
      p.values.push_back(*x);
    }
    return {};
  }
  p.kind = k.str() == "uniform" ? Param::Kind::uniform : Param::Kind::log_uniform;
  std::optional<double> lo = a->size() == 2 ? number(*a->get(0)) : std::nullopt;
  std::optional<double> hi = a->size() == 2 ? number(*a->get(1)) : std::nullopt;
  if (!lo || !hi)
    return fail(file, v.source(), name, std::string(k.str()) + " must be [low, high], two numbers");
  if (!std::isfinite(*lo) || !std::isfinite(*hi) || !(*lo < *hi))
    return fail(file, v.source(), name,
                "the range must have low < high, got [" + value_text(*lo) + ", " + value_text(*hi) + "]");
  if (p.kind == Param::Kind::log_uniform && !(*lo > 0))
    return fail(file, v.source(), name, "log_uniform needs low > 0, got " + value_text(*lo));
  p.lo = *lo;
  p.hi = *hi;
  return {};
}

}  // namespace

std::string value_text(const Value& v) {
  std::ostringstream os;
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::string>) {
          os << toml::value<std::string>(x);
        } else if constexpr (std::is_same_v<T, double>) {
          // The shortest text that reads back to the same double (0.005, not 0.0050000000000000001).
          char b[64];
          auto r = std::to_chars(b, b + sizeof b, x);
          std::string t(b, r.ptr);
          if (std::isfinite(x) && t.find_first_of(".eE") == std::string::npos) t += ".0";
          os << t;
        } else
          os << toml::value<T>(x);
      },
      v);
  return os.str();
}

Result<SweepSpec> parse_sweep(std::string_view text, const fs::path& source) {
  auto parsed = parse_toml(text, source);
  if (!parsed) return parsed.status();
  toml::table& doc = *parsed;
  SweepSpec s;
  s.source = source;
  s.name = source.stem().string();
  s.out_dir = "runs";
  static constexpr std::string_view top[] = {"sweep"};
  for (auto&& [k, v] : doc)
    if (k.str() != "sweep")
      return fail(source, k.source(), k.str(),
                  "unknown section" + config::did_you_mean_suffix(k.str(), top) +
                      "; a sweep file has one [sweep] section");
  const toml::table* t = doc["sweep"].as_table();
  if (!t) return error(errc::config, source.string() + ":1:1: sweep: missing the [sweep] section");
  PLINTH_TRY(check_keys(source, *t, "sweep", kSweepKeys));
  const toml::node* base = t->get("base");
  if (!base || !base->is_string())
    return fail(source, base ? base->source() : t->source(), "sweep.base",
                base ? "expected a string (the base pipeline file)" : "missing: name the base pipeline file");
  s.base = base->as_string()->get();
  if (s.base.is_relative()) s.base = abs_dir(source) / s.base;
  std::string out_dir = s.out_dir.string();
  PLINTH_TRY(get(source, *t, "sweep", "name", s.name));
  PLINTH_TRY(get(source, *t, "sweep", "out_dir", out_dir));
  s.out_dir = out_dir;
  PLINTH_TRY(get(source, *t, "sweep", "method", s.method));
  PLINTH_TRY(get(source, *t, "sweep", "seed", s.seed));
  PLINTH_TRY(get(source, *t, "sweep", "trials", s.trials));
  PLINTH_TRY(get(source, *t, "sweep", "max_trials", s.max_trials));
  PLINTH_TRY(get(source, *t, "sweep", "max_minutes", s.max_minutes));
  PLINTH_TRY(get(source, *t, "sweep", "parallel", s.parallel));
  PLINTH_TRY(get(source, *t, "sweep", "threads", s.threads));
  PLINTH_TRY(get(source, *t, "sweep", "metric", s.metric));
  PLINTH_TRY(get(source, *t, "sweep", "mode", s.mode));
  auto where = [&](std::string_view k) { return t->get(k) ? t->get(k)->source() : t->source(); };
  if (const std::string why = run::name_problem(s.name); !why.empty())
    return fail(source, where("name"), "sweep.name", why);
  if (s.method != "grid" && s.method != "random")
    return fail(source, where("method"), "sweep.method",
                "expected 'grid' or 'random', got '" + s.method + "'");
  if (s.trials < 0) return fail(source, where("trials"), "sweep.trials", "must be >= 1");
  if (s.method == "grid" && t->get("trials"))
    return fail(source, where("trials"), "sweep.trials",
                "only for method = \"random\" (a grid runs every combination; cap it with max_trials)");
  if (s.method == "random" && s.trials == 0) s.trials = 10;
  if (s.max_trials < 0)
    return fail(source, where("max_trials"), "sweep.max_trials", "must be >= 0 (0: no cap)");
  if (!(s.max_minutes >= 0))
    return fail(source, where("max_minutes"), "sweep.max_minutes", "must be >= 0 (0: no limit)");
  if (s.parallel < 1) return fail(source, where("parallel"), "sweep.parallel", "must be >= 1");
  if (s.threads < 0)
    return fail(source, where("threads"), "sweep.threads", "must be >= 0 (0: cores / parallel)");

  // [sweep.asha]
  if (const toml::node* an = t->get("asha")) {
    const toml::table* a = an->as_table();
    if (!a) return fail(source, an->source(), "sweep.asha", "expected a table [sweep.asha]");
    PLINTH_TRY(check_keys(source, *a, "sweep.asha", kAshaKeys));
    s.asha.enabled = true;
    PLINTH_TRY(get(source, *a, "sweep.asha", "min_steps", s.asha.min_steps));
    PLINTH_TRY(get(source, *a, "sweep.asha", "max_steps", s.asha.max_steps));
    PLINTH_TRY(get(source, *a, "sweep.asha", "reduction_factor", s.asha.reduction_factor));
    PLINTH_TRY(get(source, *a, "sweep.asha", "metric", s.metric));
    PLINTH_TRY(get(source, *a, "sweep.asha", "mode", s.mode));
    auto aw = [&](std::string_view k) { return a->get(k) ? a->get(k)->source() : a->source(); };
    if (s.asha.min_steps < 1) return fail(source, aw("min_steps"), "sweep.asha.min_steps", "required, >= 1");
    if (s.asha.max_steps < s.asha.min_steps)
      return fail(source, aw("max_steps"), "sweep.asha.max_steps",
                  "required, >= min_steps (" + std::to_string(s.asha.min_steps) + ")");
    if (s.asha.reduction_factor < 2)
      return fail(source, aw("reduction_factor"), "sweep.asha.reduction_factor", "must be >= 2");
  }
  bool metric_ok = false;
  for (auto m : kMetrics) metric_ok = metric_ok || m == s.metric;
  if (!metric_ok) {
    const toml::node* m = t->get("metric");
    if (!m && t->get("asha")) m = t->get("asha")->as_table()->get("metric");
    return fail(source, m ? m->source() : t->source(), "sweep.metric",
                "unknown metric '" + s.metric + "'" + config::did_you_mean_suffix(s.metric, kMetrics) +
                    "; expected eval_loss, eval_accuracy or time_to_target");
  }
  if (s.mode.empty()) s.mode = s.metric == "eval_accuracy" ? "max" : "min";
  if (s.mode != "min" && s.mode != "max")
    return fail(source, t->source(), "sweep.mode", "expected 'min' or 'max', got '" + s.mode + "'");

  // [sweep.params]
  const toml::node* pn = t->get("params");
  if (!pn)
    return fail(source, t->source(), "sweep.params", "missing: add [sweep.params] with the keys to vary");
  const toml::table* pt = pn->as_table();
  if (!pt) return fail(source, pn->source(), "sweep.params", "expected a table [sweep.params]");
  if (pt->empty()) return fail(source, pn->source(), "sweep.params", "no keys to vary");
  for (auto&& [k, v] : *pt) {
    Param p;
    p.line = static_cast<int>(k.source().begin.line);
    p.column = static_cast<int>(k.source().begin.column);
    PLINTH_TRY(read_param(source, k.str(), v, p));
    if (s.method == "grid" && p.kind != Param::Kind::grid)
      return fail(source, k.source(), "sweep.params.\"" + std::string(k.str()) + "\"",
                  "method = \"grid\" needs a list of values; ranges and choices are for method = \"random\"");
    s.params.push_back(std::move(p));
  }
  // TOML++ keeps a table's keys sorted; the file's order is the user's.
  std::stable_sort(s.params.begin(), s.params.end(), [](const Param& a, const Param& b) {
    return a.line != b.line ? a.line < b.line : a.column < b.column;
  });
  return s;
}

Result<SweepSpec> load_sweep(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return error(errc::io, file.string() + ": cannot read the sweep file");
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_sweep(ss.str(), file);
}

Result<std::vector<Trial>> make_trials(const SweepSpec& spec) {
  std::vector<Trial> out;
  auto id = [](size_t i) {
    char b[32];
    std::snprintf(b, sizeof b, "trial-%03zu", i);
    return std::string(b);
  };
  if (spec.method == "grid") {
    size_t n = 1;
    for (const auto& p : spec.params) {
      n *= p.values.size();
      if (n > 100000)
        return error(errc::config,
                     spec.source.string() + ": sweep.params: the grid has more than 100000 combinations");
    }
    for (size_t i = 0; i < n; ++i) {
      Trial t{id(i), {}};
      t.values.resize(spec.params.size());
      size_t r = i;
      for (size_t j = spec.params.size(); j-- > 0;) {  // the last parameter varies fastest
        const auto& vs = spec.params[j].values;
        t.values[j] = vs[r % vs.size()];
        r /= vs.size();
      }
      out.push_back(std::move(t));
    }
    return out;
  }
  // Random: parameter j of trial i draws from its own stream, so adding a
  // parameter does not change the others' draws.
  for (int64_t i = 0; i < spec.trials; ++i) {
    Trial t{id(static_cast<size_t>(i)), {}};
    for (size_t j = 0; j < spec.params.size(); ++j) {
      const Param& p = spec.params[j];
      SplitMix64 rng(derive_seed(spec.seed, (static_cast<uint64_t>(i) << 16) ^ j));
      Value v;
      switch (p.kind) {
        case Param::Kind::grid:
        case Param::Kind::choice:
          v = p.values[rng.below(p.values.size())];
          break;
        case Param::Kind::uniform:
          v = p.lo + (p.hi - p.lo) * rng.uniform();
          break;
        case Param::Kind::log_uniform:
          v = std::exp(std::log(p.lo) + (std::log(p.hi) - std::log(p.lo)) * rng.uniform());
          break;
      }
      if (p.integer && std::holds_alternative<double>(v))
        v = static_cast<int64_t>(std::llround(std::get<double>(v)));
      t.values.push_back(v);
    }
    out.push_back(std::move(t));
  }
  return out;
}

Result<std::string> trial_pipeline(const SweepSpec& spec, const toml::table& base_doc,
                                   const std::vector<Value>& values, const TrialSettings& settings) {
  toml::table doc = base_doc;
  absolutize(doc, abs_dir(spec.base));
  auto set = [&](std::string_view key, const Value& v, bool only_if_absent) -> Status {
    std::string last;
    auto r = parent_of(doc, key, true, &last);
    if (auto* e = std::get_if<std::string>(&r))
      return error(errc::config, spec.source.string() + ": " + std::string(key) + ": " + *e);
    toml::table* t = std::get<toml::table*>(r);
    if (only_if_absent && t->contains(last)) return {};
    set_value(*t, last, conform(v, t->get(last)));
    return {};
  };
  PLINTH_TRY(set("run.name", Value(settings.run_name), false));
  PLINTH_TRY(set("run.out_dir", Value(settings.out_dir.string()), false));
  if (settings.threads > 0) PLINTH_TRY(set("backend.threads", Value(settings.threads), false));
  if (settings.max_steps > 0) PLINTH_TRY(set("train.max_steps", Value(settings.max_steps), false));
  // One checkpoint per trial is enough to resume it (unless the base asks for more).
  PLINTH_TRY(set("checkpoint.keep_last", Value(int64_t{1}), true));
  for (size_t i = 0; i < spec.params.size() && i < values.size(); ++i)
    PLINTH_TRY(set(spec.params[i].key, values[i], false));
  std::ostringstream os;
  os << "# " << settings.run_name << " of sweep '" << spec.name << "' (" << spec.source.filename().string()
     << "), from " << spec.base.string() << "\n\n"
     << doc << "\n";
  return os.str();
}

Status check_params(SweepSpec& spec, const toml::table& base_doc) {
  for (Param& p : spec.params) {
    const std::string where = spec.source.string() + ":" + std::to_string(p.line) + ":" +
                              std::to_string(p.column) + ": sweep.params.\"" + p.key + "\": ";
    toml::table probe = base_doc;
    std::string last;
    auto r = parent_of(probe, p.key, false, &last);
    if (auto* e = std::get_if<std::string>(&r)) {
      // A missing section or key inside a core section may still be valid
      // (e.g. train.max_steps the base leaves at its default): the
      // pipeline parser below decides. A bad path through arrays does not.
      if (e->rfind("the base pipeline has no", 0) != 0) return error(errc::config, where + *e);
    } else if (const toml::node* n = std::get<toml::table*>(r)->get(last)) {
      p.integer = n->is_integer();
    }
    std::vector<Value> probes = p.values;
    if (p.kind == Param::Kind::uniform || p.kind == Param::Kind::log_uniform) probes = {p.lo, p.hi};
    for (const Value& v : probes) {
      toml::table doc = base_doc;
      std::string k;
      auto r2 = parent_of(doc, p.key, true, &k);
      if (auto* e = std::get_if<std::string>(&r2)) return error(errc::config, where + *e);
      toml::table* t = std::get<toml::table*>(r2);
      set_value(*t, k, conform(v, t->get(k)));
      std::ostringstream os;
      os << doc;
      auto parsed = config::parse_pipeline(os.str(), spec.base);
      if (!parsed) {
        // The parser names a line of the probe text; what matters is the key and its message.
        std::string msg = parsed.status().message();
        const auto base_name = spec.base.string() + ":";
        if (msg.rfind(base_name, 0) == 0) {
          size_t c = msg.find(": ", base_name.size());
          if (c != std::string::npos) msg = msg.substr(c + 2);
        }
        return error(errc::config, where + value_text(v) + " is not accepted by the base pipeline " +
                                       spec.base.filename().string() + ": " + msg);
      }
    }
  }
  return {};
}

}  // namespace plinth::sweep
