// html_report.cpp — the report page: inline CSS, inline SVG charts from
// svg_chart.cpp, every embedded string escaped. A chart whose metric no run
// logged is left out (loss scale exists only with mixed precision). Not
// here: chart geometry (svg_chart.cpp) or reading runs (run_info.cpp).
#include "report/html_report.hpp"

#include <cmath>
#include <cstdio>
#include <set>

#include "report/svg_chart.hpp"

namespace plinth::report {
namespace {

std::string h(std::string_view s) { return xml_escape(s); }

std::string num(double v, const char* f = "%.4g") {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

const char* kCss = R"(body{font-family:sans-serif;margin:24px;color:#222;max-width:1400px}
h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:13px}th,td{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f4f4f4}.swatch{display:inline-block;width:12px;height:12px;margin-right:6px;vertical-align:middle}
.charts{display:flex;flex-wrap:wrap;gap:16px}.charts svg{border:1px solid #eee}
pre{background:#f8f8f8;border:1px solid #ddd;padding:8px;font-size:12px;overflow:auto;max-height:480px}
.na{color:#a00}.muted{color:#666;font-size:12px}
)";

// The label of each run: its folder name, or the whole path when two runs share a name.
std::vector<std::string> labels(const std::vector<RunInfo>& runs) {
  std::vector<std::string> l;
  std::multiset<std::string> names;
  for (const auto& r : runs) names.insert(r.name);
  for (const auto& r : runs) l.push_back(names.count(r.name) > 1 ? r.dir.string() : r.name);
  return l;
}

const Points* find(const std::map<std::string, Points>& m, const std::string& key) {
  auto it = m.find(key);
  return it == m.end() ? nullptr : &it->second;
}

struct ChartSpec {
  std::string title, y_label;
  std::string train_key;  // from the step lines ("" for none)
  std::string eval_key;   // from the evaluation lines ("" for none)
};

// One chart of `spec` over every run, against step or training time.
std::string chart(const std::vector<RunInfo>& runs, const std::vector<std::string>& names,
                  const ChartSpec& spec, bool by_time) {
  LineChart c;
  c.title = spec.title + (by_time ? " vs training time" : " vs step");
  c.x_label = by_time ? "training time (s)" : "step";
  c.y_label = spec.y_label;
  for (size_t i = 0; i < runs.size(); ++i) {
    auto add = [&](const Points* p, const std::string& what, bool eval) {
      if (!p) return;
      Series s;
      s.name = names[i] + (what.empty() ? "" : " " + what);
      s.color = palette(i);
      s.x = by_time ? p->time : p->step;
      s.y = p->value;
      s.dashed = eval && !spec.train_key.empty();
      s.markers = eval;
      c.series.push_back(std::move(s));
    };
    const bool both = !spec.train_key.empty() && !spec.eval_key.empty();
    if (!spec.train_key.empty()) add(find(runs[i].train, spec.train_key), both ? "train" : "", false);
    if (!spec.eval_key.empty()) add(find(runs[i].eval, spec.eval_key), both ? "eval" : "", true);
  }
  return line_chart_svg(c);
}

bool any(const std::vector<RunInfo>& runs, const std::string& key, bool eval) {
  for (const auto& r : runs)
    if (find(eval ? r.eval : r.train, key)) return true;
  return false;
}

std::string energy_cell(const RunInfo& r) {
  if (r.energy_j)
    return h(format_joules(*r.energy_j)) + "<div class=\"muted\">" + h(r.energy_note) + "</div>";
  return "<span class=\"na\">not measured</span><div class=\"muted\">" + h(r.energy_note) + "</div>";
}

}  // namespace

std::string render_html(const std::vector<RunInfo>& runs, const std::string& title) {
  const auto names = labels(runs);
  std::string o = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + h(title) +
                  "</title><style>" + kCss + "</style></head><body>\n<h1>" + h(title) + "</h1>\n";

  // Summary table.
  o += "<h2>Runs</h2><table id=\"runs\"><tr><th>run</th><th>folder</th><th>status</th><th>steps</th>"
       "<th>training time</th><th>time to target</th><th>best</th><th>energy</th></tr>\n";
  for (size_t i = 0; i < runs.size(); ++i) {
    const auto& r = runs[i];
    o += "<tr><td><span class=\"swatch\" style=\"background:" + h(palette(i)) + "\"></span>" + h(names[i]) +
         "</td><td>" + h(r.dir.string()) + "</td><td>" + h(r.status) +
         (r.detail.empty() ? "" : "<div class=\"muted\">" + h(r.detail) + "</div>") + "</td><td>" +
         std::to_string(r.steps) + "</td><td>" + h(format_seconds(r.train_seconds)) + "</td><td>";
    if (r.target_metric.empty())
      o += "<span class=\"muted\">no target</span>";
    else
      o += (r.time_to_target ? h(format_seconds(*r.time_to_target)) : std::string("not reached")) +
           "<div class=\"muted\">" + h(r.target_metric) + " " + h(num(r.target_value)) + "</div>";
    o += "</td><td>";
    if (r.best_value)
      o += h(r.best_name) + " " +
           h(r.best_name == "eval.accuracy" ? num(*r.best_value * 100, "%.2f") + "%" : num(*r.best_value));
    o += "</td><td class=\"energy\">" + energy_cell(r) + "</td></tr>\n";
  }
  o += "</table>\n";
  for (const auto& r : runs)
    for (const auto& w : r.warnings) o += "<p class=\"na\">warning: " + h(w) + "</p>\n";

  // Line charts: each against step and against training time.
  std::vector<ChartSpec> specs = {{"Loss", "loss", "loss", "eval_loss"}};
  std::set<std::string> eval_keys;
  for (const auto& r : runs)
    for (const auto& [k, p] : r.eval)
      if (k != "eval_loss") eval_keys.insert(k);
  for (const auto& k : eval_keys) specs.push_back({"Evaluation " + k.substr(k.rfind('_') + 1), k, "", k});
  const std::pair<const char*, const char*> per_step[] = {{"lr", "Learning rate"},
                                                          {"grad_norm", "Gradient norm"},
                                                          {"loss_scale", "Loss scale"},
                                                          {"samples_per_s", "Throughput (samples/s)"},
                                                          {"energy_j", "Energy (J)"}};
  for (const auto& [key, name] : per_step)
    if (any(runs, key, false)) specs.push_back({name, key, key, ""});
  o += "<h2>Metrics</h2><div class=\"charts\">\n";
  for (const auto& s : specs) {
    o += chart(runs, names, s, false) + "\n";
    o += chart(runs, names, s, true) + "\n";
  }
  o += "</div>\n";
  std::string missing;
  for (const char* k : {"grad_norm", "loss_scale"})
    if (!any(runs, k, false)) missing += std::string(missing.empty() ? "" : ", ") + k;
  if (!missing.empty())
    o += "<p class=\"muted\">Not logged by these runs: " + h(missing) +
         " (grad_norm needs a backend with squared_norm; loss_scale exists with mixed precision).</p>\n";

  // Time to model.
  StackedBars bars;
  bars.title = "Where the training time went";
  bars.unit = "seconds";
  for (size_t i = 0; i < runs.size(); ++i) {
    if (runs[i].breakdown.empty()) continue;
    bars.bars.push_back(names[i]);
    std::vector<double> row;
    for (const auto& [k, v] : runs[i].breakdown) row.push_back(v);
    bars.values.push_back(row);
    if (bars.segments.empty())
      for (const auto& [k, v] : runs[i].breakdown) bars.segments.push_back(k);
  }
  static const char* const seg_colors[] = {"#56B4E9", "#0072B2", "#009E73", "#CC79A7",
                                           "#E69F00", "#D55E00", "#BBBBBB"};
  for (size_t i = 0; i < bars.segments.size(); ++i) bars.colors.push_back(seg_colors[i % 7]);
  o += "<h2>Time to model</h2>\n";
  if (bars.bars.empty()) {
    o += "<p class=\"na\">No run recorded a time breakdown.</p>\n";
  } else {
    ChartLayout l;
    l.width = 900;
    l.height = 90 + 40 * static_cast<int>(bars.bars.size());
    o += stacked_bars_svg(bars, l) + "\n<table id=\"breakdown\"><tr><th>run</th>";
    for (const auto& s : bars.segments) o += "<th>" + h(s) + " (s)</th>";
    o += "</tr>\n";
    for (size_t b = 0; b < bars.bars.size(); ++b) {
      o += "<tr><td>" + h(bars.bars[b]) + "</td>";
      for (double v : bars.values[b]) o += "<td>" + h(num(v, "%.3f")) + "</td>";
      o += "</tr>\n";
    }
    o += "</table>\n<p class=\"muted\">Cumulative over every process of a run (resumes included); "
         "communication is gradient all-reduce (0 without data-parallel training); other is logging, "
         "metrics and progress output.</p>\n";
  }

  // Energy.
  o += "<h2>Energy</h2><table id=\"energy\"><tr><th>run</th><th>energy</th></tr>\n";
  for (size_t i = 0; i < runs.size(); ++i)
    o += "<tr><td>" + h(names[i]) + "</td><td>" + energy_cell(runs[i]) + "</td></tr>\n";
  o += "</table><p class=\"muted\">Measured counters only (RAPL package energy through Linux powercap); "
       "nothing is estimated.</p>\n";

  // Each run's pipeline and plugins.
  for (size_t i = 0; i < runs.size(); ++i) {
    const auto& r = runs[i];
    o += "<h2>" + h(names[i]) + ": pipeline and plugins</h2>\n<pre class=\"pipeline\">" +
         h(r.pipeline_toml.empty() ? "(no pipeline.toml)" : r.pipeline_toml) + "</pre>\n";
    o += "<table class=\"plugins\"><tr><th>plugin</th><th>kind</th><th>version</th><th>ABI</th><th>path</th>"
         "<th>sha256</th></tr>\n";
    for (const auto& p : r.plugins)
      o += "<tr><td>" + h(p.name) + "</td><td>" + h(p.kind) + "</td><td>" + h(p.version) + "</td><td>" +
           h(p.abi) + "</td><td>" + h(p.path) + "</td><td><code>" + h(p.sha256.substr(0, 16)) +
           "</code></td></tr>\n";
    o += "</table>\n";
  }
  o += "</body></html>\n";
  return o;
}

}  // namespace plinth::report
