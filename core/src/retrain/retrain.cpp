// retrain.cpp — the retraining loop of retrain.hpp: the retrain file, the
// state folder (state.json, retrain.jsonl, models.json, the composed
// pipelines and the candidates' runs), and one arrival's evaluate → drift →
// fine-tune → evaluate → promote or reject.
#include "retrain/retrain.hpp"

#include <chrono>
#include <ctime>
#include <fstream>
#include <sstream>

#include <toml++/toml.h>
#include <nlohmann/json.hpp>

#include "config/pipeline.hpp"
#include "plinth/log.hpp"
#include "run/run_folder.hpp"
#include "run/run_lock.hpp"
#include "util/files.hpp"

namespace plinth::retrain {
namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

namespace {

constexpr std::string_view kKeys[] = {
    "name",        "out_dir",         "pipeline",        "model",           "watch",
    "metric",      "drift_threshold", "min_improvement", "replay_fraction", "steps",
    "poll_seconds"};

Status key_error(const fs::path& file, const toml::node* n, std::string_view key, const std::string& what) {
  std::string at = file.string();
  if (n && n->source().begin.line > 0)
    at += ":" + std::to_string(n->source().begin.line) + ":" + std::to_string(n->source().begin.column);
  return error(errc::config, at + ": retrain." + std::string(key) + ": " + what);
}

fs::path absolute_from(const fs::path& base, const fs::path& p) {
  std::error_code ec;
  return fs::weakly_canonical(p.is_absolute() ? p : base / p, ec);
}

// Paths in a pipeline's data tables are read from the pipeline's folder; a
// composed pipeline lives elsewhere, so every string naming something that
// exists there (or a glob in an existing folder) is made absolute.
void absolutize(toml::table& t, const fs::path& base) {
  auto fix = [&](toml::node& v) {
    auto* s = v.as_string();
    if (!s) return;
    const fs::path p = s->get();
    if (p.empty() || p.is_absolute()) return;
    std::error_code ec;
    const bool glob = s->get().find_first_of("*?[") != std::string::npos;
    if (fs::exists(base / p, ec) || (glob && fs::is_directory((base / p).parent_path(), ec)))
      *s = (glob ? fs::absolute(base / p, ec) : absolute_from(base, p)).string();
  };
  for (auto&& [k, v] : t) {
    if (auto* a = v.as_array())
      for (auto& e : *a) fix(e);
    else
      fix(v);
  }
}

std::string now_iso() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

Result<json> read_json_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return error(errc::io, p.string() + ": cannot read");
  std::ostringstream ss;
  ss << in.rdbuf();
  auto j = json::parse(ss.str(), nullptr, false);
  if (j.is_discarded()) return error(errc::bad_data, p.string() + ": not JSON (damaged?)");
  return j;
}

struct Loop {
  const Config& c;
  const Runner& run;
  fs::path dir;  // <out_dir>/<name>
  json state;    // current, reference, processed, candidates
  toml::table base;
  fs::path base_dir;

  bool better(double a, double b) const {  // a better than b by more than min_improvement
    return c.metric == "eval.accuracy" ? a > b + c.min_improvement : a < b - c.min_improvement;
  }
  double drift(double now) const {  // how much worse than the reference, >= 0 when worse
    const double ref = state["reference"].get<double>();
    return c.metric == "eval.accuracy" ? ref - now : now - ref;
  }
  Status event(const std::string& arrival, const std::string& what, json details) {
    json line = {{"time", now_iso()}, {"arrival", arrival}, {"event", what}};
    for (auto& [k, v] : details.items()) line[k] = v;
    logger().info("retrain: {}{}{}", arrival, arrival.empty() ? "" : ": ", line.dump());
    return append_line(dir / "retrain.jsonl", line.dump());
  }
  Status save_state() { return write_file_atomic(dir / "state.json", state.dump(2) + "\n"); }
  Status add_model(json m) {
    json models = json::array();
    if (fs::exists(dir / "models.json")) {
      auto j = read_json_file(dir / "models.json");
      if (!j) return j.status();
      models = std::move(*j);
    }
    models.push_back(std::move(m));
    return write_file_atomic(dir / "models.json", models.dump(2) + "\n");
  }

  // The base pipeline with the arrival's data (absolute paths), a model to
  // start from, and what the caller sets.
  Result<fs::path> compose(const std::string& file, const fs::path& arrival, const toml::table& data,
                           const fs::path& from, bool with_replay) {
    toml::table doc = base;
    toml::table& d = *doc["data"].as_table();
    const toml::table* base_train = base["data"]["train"].as_table();
    d.erase("replay");
    for (const char* split : {"train", "eval"}) {
      toml::table t = *data["data"][split].as_table();
      absolutize(t, arrival);
      d.insert_or_assign(split, std::move(t));
    }
    if (with_replay && c.replay_fraction > 0 && base_train) {
      toml::table r = *base_train;
      absolutize(r, base_dir);
      r.insert_or_assign("fraction", c.replay_fraction);
      d.insert_or_assign("replay", std::move(r));
    }
    if (auto* pl = doc["plugins"].as_table())
      if (auto* m = (*pl)["manifests"].as_array())
        for (auto& e : *m)
          if (auto* s = e.as_string(); s && !fs::path(s->get()).is_absolute())
            *s = absolute_from(base_dir, s->get()).string();
    doc.insert_or_assign("init", toml::table{{"from", from.string()}});
    doc.erase("early_stop");
    const fs::path out = dir / "work" / file;
    std::ostringstream os;
    os << "# composed by plinth retrain from " << c.pipeline.string() << " and " << arrival.string() << "\n"
       << doc << "\n";
    PLINTH_TRY(write_file_atomic(out, os.str()));
    return out;
  }

  Result<double> evaluate(const fs::path& pipeline) {
    auto out = run({"eval", pipeline.string()});
    if (!out) return out.status();
    std::istringstream lines(*out);
    std::string line, last;
    while (std::getline(lines, line))
      if (!line.empty() && line[0] == '{') last = line;
    auto j = json::parse(last, nullptr, false);
    const char* key = c.metric == "eval.accuracy" ? "eval_accuracy" : "eval_loss";
    if (j.is_discarded() || !j.contains(key) || !j[key].is_number())
      return error(errc::internal, "plinth eval " + pipeline.string() + " printed no " + key);
    return j[key].get<double>();
  }

  Status handle(const fs::path& arrival, const std::function<bool()>& stop) {
    const std::string name = arrival.filename().string();
    auto dt = config::load_toml(arrival / "data.toml");
    if (!dt) return event(name, "rejected_data", {{"error", dt.status().message()}});
    for (const char* split : {"train", "eval"})
      if (!(*dt)["data"][split].as_table())
        return event(name, "rejected_data",
                     {{"error", (arrival / "data.toml").string() + ": missing [data." + split + "]"}});
    const fs::path current = state["current"].get<std::string>();
    auto ep = compose("eval-" + name + "-current.toml", arrival, *dt, current, false);
    if (!ep) return ep.status();
    auto m_cur = evaluate(*ep);
    if (!m_cur) return event(name, "evaluation_failed", {{"error", m_cur.status().message()}});
    const double dr = drift(*m_cur);
    PLINTH_TRY(event(name, "evaluated",
                     {{"model", current.string()},
                      {c.metric, *m_cur},
                      {"reference", state["reference"]},
                      {"drift", dr},
                      {"threshold", c.drift_threshold}}));
    if (dr <= c.drift_threshold) return event(name, "no_drift", json::object());
    if (stop()) return error(errc::cancelled, "stopped");

    const int64_t n = state.value("candidates", int64_t{0}) + 1;
    const std::string id = "candidate-" + std::to_string(n);
    auto tp = compose("train-" + id + ".toml", arrival, *dt, current, true);
    if (!tp) return tp.status();
    {  // the candidate's run: its name, folder and length
      auto doc = config::load_toml(*tp);
      if (!doc) return doc.status();
      doc->insert_or_assign("run", toml::table{{"name", id},
                                               {"seed", (*doc)["run"]["seed"].value_or(int64_t{0})},
                                               {"out_dir", (dir / "candidates").string()}});
      toml::table tr = (*doc)["train"].as_table() ? *(*doc)["train"].as_table() : toml::table{};
      tr.insert_or_assign("max_steps", c.steps);
      tr.insert_or_assign("eval_every", c.steps);
      tr.erase("target_metric");
      tr.erase("stop_at_target");
      doc->insert_or_assign("train", std::move(tr));
      std::ostringstream os;
      os << *doc << "\n";
      PLINTH_TRY(write_file_atomic(*tp, os.str()));
    }
    state["candidates"] = n;
    PLINTH_TRY(save_state());
    PLINTH_TRY(event(name, "fine_tuning",
                     {{"candidate", id},
                      {"from", current.string()},
                      {"steps", c.steps},
                      {"replay_fraction", c.replay_fraction}}));
    const fs::path cand_dir = dir / "candidates" / id;
    std::error_code ec;
    fs::remove_all(cand_dir, ec);  // a half-trained candidate of a stopped earlier attempt
    auto trained = run({"train", "--no-progress", tp->string()});
    if (!trained) {
      PLINTH_TRY(add_model({{"id", id},
                            {"run", cand_dir.string()},
                            {"parent", current.string()},
                            {"arrival", name},
                            {"promoted", false},
                            {"error", trained.status().message()}}));
      return event(name, "candidate_failed", {{"candidate", id}, {"error", trained.status().message()}});
    }
    if (stop()) return error(errc::cancelled, "stopped");
    auto cp = compose("eval-" + name + "-" + id + ".toml", arrival, *dt, cand_dir, false);
    if (!cp) return cp.status();
    auto m_new = evaluate(*cp);
    if (!m_new)
      return event(name, "evaluation_failed", {{"candidate", id}, {"error", m_new.status().message()}});
    const bool promote = better(*m_new, *m_cur);
    PLINTH_TRY(add_model({{"id", id},
                          {"run", cand_dir.string()},
                          {"parent", current.string()},
                          {"arrival", name},
                          {"metric", c.metric},
                          {"held_out", *m_new},
                          {"parent_held_out", *m_cur},
                          {"promoted", promote},
                          {"time", now_iso()}}));
    if (!promote)
      return event(name, "rejected",
                   {{"candidate", id},
                    {c.metric, *m_new},
                    {"current", *m_cur},
                    {"min_improvement", c.min_improvement}});
    state["current"] = cand_dir.string();
    state["reference"] = *m_new;
    PLINTH_TRY(save_state());
    return event(name, "promoted",
                 {{"candidate", id}, {c.metric, *m_new}, {"previous", *m_cur}, {"model", cand_dir.string()}});
  }
};

}  // namespace

Result<Config> load_config(const fs::path& file) {
  auto doc = config::load_toml(file);
  if (!doc) return doc.status();
  Config c;
  c.source = file;
  const toml::table* t = (*doc)["retrain"].as_table();
  if (!t) return error(errc::config, file.string() + ": missing section [retrain]");
  for (auto&& [k, v] : *doc)
    if (k.str() != "retrain")
      return error(errc::config, file.string() + ":" + std::to_string(k.source().begin.line) +
                                     ": unknown section [" + std::string(k.str()) +
                                     "] (a retrain file has only [retrain])");
  for (auto&& [k, v] : *t) {
    bool known = false;
    for (auto kk : kKeys) known = known || kk == k.str();
    if (!known)
      return error(errc::config, file.string() + ":" + std::to_string(k.source().begin.line) + ":" +
                                     std::to_string(k.source().begin.column) + ": retrain." +
                                     std::string(k.str()) + ": unknown key");
  }
  const fs::path here = file.parent_path();
  auto str = [&](std::string_view key, std::string& out, bool required) -> Status {
    const toml::node* n = t->get(key);
    if (!n) return required ? key_error(file, t, key, "missing required key") : Status{};
    if (!n->is_string() || n->as_string()->get().empty())
      return key_error(file, n, key, "expected a non-empty string");
    out = n->as_string()->get();
    return {};
  };
  auto number = [&](std::string_view key, double& out, double lo, double hi, const char* range) -> Status {
    const toml::node* n = t->get(key);
    if (!n) return {};
    if (!n->is_number()) return key_error(file, n, key, "expected a number");
    out = n->is_integer() ? static_cast<double>(n->as_integer()->get()) : n->as_floating_point()->get();
    if (!(out >= lo && out <= hi)) return key_error(file, n, key, std::string("must be in ") + range);
    return {};
  };
  std::string s;
  c.name = file.stem().string();
  PLINTH_TRY(str("name", c.name, false));
  if (const std::string why = run::name_problem(c.name); !why.empty())
    return key_error(file, t->get("name"), "name", why);
  s = "runs";
  PLINTH_TRY(str("out_dir", s, false));
  c.out_dir = s;
  PLINTH_TRY(str("pipeline", s, true));
  c.pipeline = absolute_from(here, s);
  PLINTH_TRY(str("model", s, true));
  c.model = fs::absolute(s);
  PLINTH_TRY(str("watch", s, true));
  c.watch = absolute_from(here, s);
  PLINTH_TRY(str("metric", c.metric, false));
  if (c.metric != "eval.accuracy" && c.metric != "eval.loss")
    return key_error(file, t->get("metric"), "metric",
                     "expected \"eval.accuracy\" or \"eval.loss\", got \"" + c.metric + "\"");
  PLINTH_TRY(number("drift_threshold", c.drift_threshold, 0, 1e30, "[0, inf)"));
  PLINTH_TRY(number("min_improvement", c.min_improvement, 0, 1e30, "[0, inf)"));
  PLINTH_TRY(number("replay_fraction", c.replay_fraction, 0, 0.99, "[0, 0.99]"));
  double steps = static_cast<double>(c.steps);
  PLINTH_TRY(number("steps", steps, 1, 1e12, "[1, 10^12]"));
  c.steps = static_cast<int64_t>(steps);
  PLINTH_TRY(number("poll_seconds", c.poll_seconds, 0.1, 86400, "[0.1, 86400]"));
  std::error_code ec;
  if (!fs::is_directory(c.model, ec))
    return key_error(file, t->get("model"), "model", "'" + c.model.string() + "' is not a run folder");
  return c;
}

Result<int> process_pending(const Config& c, const Runner& run, const std::function<bool()>& stop) {
  Loop l{c, run, fs::absolute(c.out_dir / c.name), json::object(), {}, c.pipeline.parent_path()};
  auto base = config::load_pipeline(c.pipeline);
  if (!base) return base.status();
  if (!base->eval_data)
    return error(errc::config,
                 c.pipeline.string() + ": retrain needs [data.eval] (the model's reference metric)");
  l.base = base->document;
  std::error_code ec;
  PLINTH_TRY(create_output_folder(l.dir / "work", "the retrain folder"));
  // One retrain process per state folder: two would promote over each other.
  auto lock = run::RunLock::take(l.dir);
  if (!lock) return lock.status();
  lock->write_pid();
  if (fs::exists(l.dir / "state.json")) {
    auto s = read_json_file(l.dir / "state.json");
    if (!s) return s.status();
    l.state = std::move(*s);
  } else {  // the model in production: its metric on the base pipeline's held-out data
    toml::table doc = l.base;
    for (const char* split : {"train", "eval"})
      if (auto* t = doc["data"][split].as_table()) absolutize(*t, l.base_dir);
    doc.erase("early_stop");
    doc.insert_or_assign("init", toml::table{{"from", c.model.string()}});
    std::ostringstream os;
    os << doc << "\n";
    PLINTH_TRY(write_file_atomic(l.dir / "work" / "eval-initial.toml", os.str()));
    l.state = {
        {"current", c.model.string()}, {"reference", 0.0}, {"processed", json::array()}, {"candidates", 0}};
    auto ref = l.evaluate(l.dir / "work" / "eval-initial.toml");
    if (!ref) return ref.status();
    l.state["reference"] = *ref;
    PLINTH_TRY(l.add_model({{"id", "initial"},
                            {"run", c.model.string()},
                            {"parent", nullptr},
                            {"metric", c.metric},
                            {"held_out", *ref},
                            {"promoted", true},
                            {"time", now_iso()}}));
    PLINTH_TRY(l.save_state());
    PLINTH_TRY(l.event("", "started", {{"model", c.model.string()}, {c.metric, *ref}}));
  }
  std::vector<fs::path> pending;
  for (fs::directory_iterator it(c.watch, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string n = it->path().filename().string();
    if (!it->is_directory() || n.empty() || n[0] == '.' || !fs::exists(it->path() / "data.toml")) continue;
    bool done = false;
    for (const auto& p : l.state["processed"]) done = done || p == n;
    if (!done) pending.push_back(it->path());
  }
  if (ec) return error(errc::io, c.watch.string() + ": cannot read the watched folder: " + ec.message());
  std::sort(pending.begin(), pending.end());
  int handled = 0;
  for (const auto& a : pending) {
    if (stop()) break;
    Status s = l.handle(a, stop);
    if (s.code() == errc::cancelled) break;
    PLINTH_TRY(s);
    l.state["processed"].push_back(a.filename().string());
    PLINTH_TRY(l.save_state());
    ++handled;
  }
  return handled;
}

}  // namespace plinth::retrain
