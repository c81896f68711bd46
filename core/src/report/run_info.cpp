// run_info.cpp — reading a run folder back: metrics.jsonl lines into series,
// summary.json (status, time breakdown, target, energy), pipeline.toml and
// plugins.json; the CSV form of metrics.jsonl. Tolerates a run still being
// written (a half line at the end is skipped). Not here: rendering.
#include "report/run_info.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "run/run_folder.hpp"
#include "run/run_lock.hpp"

namespace plinth::report {
namespace {

using json = nlohmann::ordered_json;

std::optional<std::string> read_text(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

double num(const json& j, const char* key, double dflt) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : dflt;
}

}  // namespace

std::vector<std::filesystem::path> find_runs(const std::filesystem::path& folder) {
  std::vector<std::filesystem::path> runs;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(folder, ec)) {
    std::error_code ec2;
    if (!e.is_directory(ec2)) continue;
    if (std::filesystem::exists(e.path() / "metrics.jsonl", ec2) ||
        std::filesystem::exists(e.path() / "summary.json", ec2))
      runs.push_back(e.path());
  }
  std::sort(runs.begin(), runs.end());
  return runs;
}

Result<RunInfo> load_run(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return error(errc::io, dir.string() + ": not a run folder");
  RunInfo r;
  r.dir = dir;
  r.name = std::filesystem::path(dir).lexically_normal().filename().string();
  if (r.name.empty())
    r.name = std::filesystem::path(dir).lexically_normal().parent_path().filename().string();
  const run::Folder folder{dir};
  auto metrics = run::read_metrics(folder.metrics());
  auto summary = run::read_summary(folder);
  if (!metrics && !summary && summary.status().code() == errc::not_found)
    return error(errc::io, dir.string() + ": not a run folder (no metrics.jsonl and no summary.json)");

  // metrics.jsonl: step lines carry "loss", evaluation lines "eval_loss".
  json last_step_line;
  if (metrics) {
    for (const auto& l : *metrics) {
      if (!l.object) {
        if (!l.last)  // the last line of a running run may be half written
          r.warnings.push_back(folder.metrics().string() + ":" + std::to_string(l.number) +
                               ": not a JSON object");
        continue;
      }
      const json& j = l.value;
      const bool is_eval = run::is_eval_line(j);
      auto& into = is_eval ? r.eval : r.train;
      const double step = num(j, "step", NAN), time = num(j, "time_s", NAN);
      for (const auto& [k, v] : j.items()) {
        if (k == "step" || k == "epoch" || k == "time_s") continue;
        if (!v.is_number() && !v.is_null()) continue;
        auto& pts = into[k];
        pts.step.push_back(step);
        pts.time.push_back(time);
        pts.value.push_back(v.is_number() ? v.get<double>() : NAN);
      }
      if (!is_eval) {
        last_step_line = j;
        r.steps = std::max<int64_t>(r.steps, static_cast<int64_t>(step));
        r.train_seconds = time;
      } else if (j.value("target_reached", false) && !r.time_to_target) {
        r.time_to_target = time;
      }
    }
  }

  if (!summary && summary.status().code() != errc::not_found)
    r.warnings.push_back(folder.summary().string() + ": not a JSON object");
  r.has_summary = summary.ok();
  if (r.has_summary) {
    const run::Summary& s = *summary;
    r.steps = s.steps.value_or(r.steps);
    r.train_seconds = s.train_seconds.value_or(r.train_seconds);
    if (s.target) {
      r.target_metric = s.target->metric;
      r.target_value = s.target->value;
      r.time_to_target = s.time_to_target_s;
    }
    if (s.energy) {
      if (s.energy->measured && s.energy->joules) {
        r.energy_j = *s.energy->joules;
        r.energy_note = s.energy->sources;
        if (!s.energy->note.empty()) r.energy_note += "; " + s.energy->note;
      } else {
        r.energy_note = s.energy->why;
      }
    } else {
      r.energy_note = "summary.json has no energy record (written by an older plinth)";
    }
  }
  // Breakdown: the summary's, else the last step line's running totals.
  if (r.has_summary && summary->time_breakdown) {
    for (const auto& [k, v] : summary->time_breakdown->items()) r.breakdown.emplace_back(k, v);
    r.breakdown.emplace_back("other", summary->other_seconds);
  } else if (last_step_line.is_object() && last_step_line.contains("data_wait_s")) {
    double sum = 0;
    for (const char* k : run::kPhaseKeys) {
      const double v = num(last_step_line, (std::string(k) + "_s").c_str(), 0);
      r.breakdown.emplace_back(k, v);
      sum += v;
    }
    r.breakdown.emplace_back("other", std::max(0.0, num(last_step_line, "time_s", sum) - sum));
  }
  if (!r.has_summary) {
    if (last_step_line.is_object() && last_step_line["energy_j"].is_number())
      r.energy_j = last_step_line["energy_j"].get<double>();
    else
      r.energy_note = "no summary.json yet, and no energy in metrics.jsonl";
  }

  // Best metric: evaluation accuracy, else evaluation loss, else training loss.
  auto best = [&](const std::map<std::string, Points>& m, const char* key, const char* name, bool max) {
    auto it = m.find(key);
    if (r.best_value || it == m.end()) return;
    for (double v : it->second.value)
      if (std::isfinite(v) && (!r.best_value || (max ? v > *r.best_value : v < *r.best_value))) {
        r.best_value = v;
        r.best_name = name;
      }
  };
  best(r.eval, "eval_accuracy", "eval.accuracy", true);
  best(r.eval, "eval_loss", "eval.loss", false);
  best(r.train, "loss", "loss", false);

  // Status.
  if (run::run_is_locked(dir)) {
    r.status = "running";
  } else if (!r.has_summary) {
    r.status = "failed";
    r.detail = "the process ended without writing summary.json";
  } else if (summary->status.value_or("ok") != "ok") {
    r.status = "failed";
    r.detail = *summary->status;
  } else if (summary->interrupted) {
    r.status = "interrupted";
  } else {
    r.status = "finished";
    if (summary->early_stopped) r.detail = "stopped early";
  }

  if (auto p = read_text(folder.pipeline())) r.pipeline_toml = *p;
  for (const auto& p : run::read_plugins(folder))
    r.plugins.push_back({p.name, p.kind, p.version, p.abi, p.path, p.sha256});
  return r;
}

Result<std::string> metrics_csv(const std::filesystem::path& metrics_jsonl) {
  auto lines = run::read_metrics(metrics_jsonl);
  if (!lines) return lines.status();
  std::vector<json> rows;
  std::vector<std::string> cols = {"step", "epoch", "time_s"};
  for (auto& l : *lines) {
    if (!l.object) {
      if (l.last) break;  // a half-written last line
      return error(errc::bad_data,
                   metrics_jsonl.string() + ":" + std::to_string(l.number) + ": not a JSON object");
    }
    for (const auto& [k, v] : l.value.items())
      if (std::find(cols.begin(), cols.end(), k) == cols.end()) cols.push_back(k);
    rows.push_back(std::move(l.value));
  }
  auto cell = [](const std::string& s) {
    if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
    std::string q = "\"";
    for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
  };
  std::string out;
  for (size_t i = 0; i < cols.size(); ++i) out += (i ? "," : "") + cell(cols[i]);
  out += "\r\n";
  for (const auto& j : rows) {
    for (size_t i = 0; i < cols.size(); ++i) {
      if (i) out += ",";
      auto it = j.find(cols[i]);
      if (it == j.end() || it->is_null()) continue;
      out += cell(it->is_string() ? it->get<std::string>() : it->dump());
    }
    out += "\r\n";
  }
  return out;
}

std::string format_seconds(double s) {
  char buf[64];
  if (!std::isfinite(s)) return "-";
  if (s < 60)
    std::snprintf(buf, sizeof buf, "%.1f s", s);
  else if (s < 3600)
    std::snprintf(buf, sizeof buf, "%d min %02d s", static_cast<int>(s / 60), static_cast<int>(s) % 60);
  else
    std::snprintf(buf, sizeof buf, "%d h %02d min", static_cast<int>(s / 3600),
                  static_cast<int>(s / 60) % 60);
  return buf;
}

std::string format_joules(double j) {
  char buf[64];
  if (j >= 1e6)
    std::snprintf(buf, sizeof buf, "%.2f MJ", j / 1e6);
  else if (j >= 1e3)
    std::snprintf(buf, sizeof buf, "%.2f kJ", j / 1e3);
  else
    std::snprintf(buf, sizeof buf, "%.1f J", j);
  return buf;
}

}  // namespace plinth::report
