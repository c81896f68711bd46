// runs.cpp — plinth/runs.hpp over the run-folder readers (report/), the
// HTML report and the weights export (train/finetune.hpp, safetensors).
// Not here: parsing run folders or rendering (core/src/report/).
#include "plinth/runs.hpp"

#include <map>
#include <utility>

#include "config/pipeline.hpp"
#include "report/html_report.hpp"
#include "report/run_info.hpp"
#include "run/run_lock.hpp"
#include "train/finetune.hpp"
#include "train/safetensors.hpp"
#include "util/files.hpp"

namespace plinth {
namespace {

RunRecord record_of(const report::RunInfo& r) {
  RunRecord o;
  o.dir = r.dir;
  o.name = r.name;
  o.status = r.status;
  o.detail = r.detail;
  o.steps = r.steps;
  o.train_seconds = r.train_seconds;
  o.target_metric = r.target_metric;
  o.target_value = r.target_value;
  o.time_to_target = r.time_to_target;
  o.best_name = r.best_name;
  o.best_value = r.best_value;
  o.energy_joules = r.energy_j;
  o.warnings = r.warnings;
  return o;
}

}  // namespace

Result<RunRecord> read_run(const std::filesystem::path& dir) {
  auto r = report::load_run(dir);
  if (!r) return r.status();
  return record_of(*r);
}

std::vector<std::filesystem::path> find_runs(const std::filesystem::path& folder) {
  return report::find_runs(folder);
}

Result<std::string> report_html(const std::vector<std::filesystem::path>& run_dirs, const std::string& title,
                                std::vector<std::string>* warnings) {
  std::vector<report::RunInfo> runs;
  for (const auto& d : run_dirs) {
    auto r = report::load_run(d);
    if (!r) return r.status();
    if (warnings) warnings->insert(warnings->end(), r->warnings.begin(), r->warnings.end());
    runs.push_back(std::move(*r));
  }
  return report::render_html(runs, title);
}

Result<std::string> metrics_csv(const std::filesystem::path& metrics_jsonl) {
  return report::metrics_csv(metrics_jsonl);
}

Result<ExportedWeights> export_weights(const std::filesystem::path& run_dir,
                                       const std::filesystem::path& out) {
  auto w = train::read_run_weights(run_dir);
  if (!w) return w.status();
  auto p = config::load_pipeline(run_dir / "pipeline.toml");
  if (!p) return p.status();
  ExportedWeights e;
  if (p->model.lora.enabled) {
    auto m =
        train::merge_lora(w->tensors, p->model.lora.alpha / static_cast<double>(p->model.lora.rank), w->from);
    if (!m) return m.status();
    e.merged_layers = *m;
  }
  // Into a run folder (its own, or another's): only while no process writes it.
  auto lock = run::lock_enclosing_run(out);
  if (!lock) return lock.status();
  const std::map<std::string, std::string> metadata{{"format", "pt"}, {"source", w->from}};
  PLINTH_TRY(write_safetensors(out, w->tensors, metadata));
  e.tensors = w->tensors.size();
  e.from = w->from;
  return e;
}

std::string format_seconds(double seconds) { return report::format_seconds(seconds); }

}  // namespace plinth
