// cmd_report.cpp — looking at runs after (or while) they train:
// `plinth report` (one self-contained HTML page), `plinth runs` (a table of
// the runs in a folder) and `plinth export` (metrics.jsonl as CSV, or the
// weights as safetensors with LoRA adapters merged, or the model as ONNX).
// Not here: reading run folders or rendering (plinth/runs.hpp).
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>

#include "commands.hpp"
#include "plinth/onnx_export.hpp"
#include "plinth/runs.hpp"

namespace plinth::cli {
namespace {

int fail(const Status& s) {
  std::fprintf(stderr, "plinth: error: %s\n", s.message().c_str());
  return s.exit_code();
}

// Colour only on a terminal, and never with NO_COLOR set (https://no-color.org).
bool use_colour(FILE* f) {
  const char* nc = std::getenv("NO_COLOR");
  return ::isatty(::fileno(f)) && !(nc && *nc);
}

struct ReportArgs {
  std::vector<std::string> runs;
  std::string output;
  std::string title;
  std::string folder = "runs";
  bool csv = true;
  std::string weights;  // export: write the weights here instead of the CSV
  std::string onnx;     // export: write the model as ONNX here
  OnnxExportOptions onnx_options;
};

// plinth export RUN --weights FILE: the run's weights as one safetensors
// file that a pipeline without [model.lora] loads with [init] from.
int write_weights(const std::filesystem::path& run, const std::filesystem::path& out) {
  if (out == "-") {
    std::fprintf(stderr,
                 "plinth: error: --weights -: the weights are not written to standard output; name a file\n");
    return kExitBadInput;
  }
  auto w = export_weights(run, out);
  if (!w) return fail(w.status());
  std::fprintf(stderr, "exported: %s (%zu tensors from %s", out.c_str(), w->tensors, w->from.c_str());
  if (w->merged_layers > 0) std::fprintf(stderr, "; LoRA adapters merged into %d layer(s)", w->merged_layers);
  std::fprintf(stderr, ")\n");
  return kExitOk;
}

// plinth export RUN --onnx FILE [--test-data DIR --samples N]: the model as
// ONNX, and inputs with Plinth's outputs for them to check a runtime against.
int write_onnx(const Context& ctx, const std::filesystem::path& run, const ReportArgs& a) {
  if (a.onnx == "-") {
    std::fprintf(stderr,
                 "plinth: error: --onnx -: the model is not written to standard output; name a file\n");
    return kExitBadInput;
  }
  std::shared_ptr<Registry> registry;
  if (!a.onnx_options.test_data.empty()) {  // Plinth's forward runs on a backend plugin
    int code = kExitOk;
    registry = ctx.open_registry(&code);
    if (!registry) return code;
  }
  auto e = export_onnx(run, a.onnx, registry, a.onnx_options);
  if (!e) return fail(e.status());
  std::fprintf(stderr, "exported: %s (ONNX opset 17, %zu nodes, %zu initializers from %s", a.onnx.c_str(),
               e->nodes, e->initializers, e->from.c_str());
  if (e->merged_layers > 0) std::fprintf(stderr, "; LoRA adapters merged into %d layer(s)", e->merged_layers);
  std::fprintf(stderr, ")\n  %s\n  %s\n", e->input.c_str(), e->output.c_str());
  if (!a.onnx_options.test_data.empty())
    std::fprintf(stderr, "test data: %s/inputs.safetensors, outputs.safetensors (%lld samples)\n",
                 a.onnx_options.test_data.c_str(), static_cast<long long>(a.onnx_options.samples));
  return kExitOk;
}

std::string pad(std::string s, size_t n) {
  if (s.size() < n) s.append(n - s.size(), ' ');
  return s;
}

}  // namespace

void add_report_commands(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<ReportArgs>();

  auto* report = app.add_subcommand(
      "report", "Write one self-contained HTML page with the charts, time breakdown and energy of runs");
  report
      ->add_option("runs", args->runs,
                   "Run folders (runs/<name>), or a sweep folder (its trials); several are overlaid")
      ->required();
  report
      ->add_option("-o,--output", args->output,
                   "The HTML file to write (default: report.html; - for stdout; a symlink is written "
                   "through, a device or FIFO refused)")
      ->option_text("FILE");
  report->add_option("--title", args->title, "The page's title (default: Plinth runs)");
  report->callback([&ctx, args] {
    ctx.run = [args] {
      // A sweep's folder (runs/<sweep>/, with sweep.json) stands for its trials, overlaid.
      std::vector<std::filesystem::path> dirs;
      for (const auto& d : args->runs) {
        std::error_code ec;
        const std::filesystem::path p(d);
        if (std::filesystem::exists(p / "sweep.json", ec) &&
            !std::filesystem::exists(p / "metrics.jsonl", ec)) {
          for (auto& t : find_runs(p)) dirs.push_back(t);
        } else {
          dirs.push_back(p);
        }
      }
      std::vector<std::string> warnings;
      auto html = report_html(dirs, args->title.empty() ? "Plinth runs" : args->title, &warnings);
      for (const auto& w : warnings) std::fprintf(stderr, "plinth: warning: %s\n", w.c_str());
      if (!html) return fail(html.status());
      const std::string out = args->output.empty() ? "report.html" : args->output;
      if (out == "-") {
        std::cout << *html;
        return kExitOk;
      }
      if (Status s = write_file_atomic(out, *html); !s.ok()) return fail(s);
      std::fprintf(stderr, "report: %s (%zu run%s)\n", out.c_str(), dirs.size(), dirs.size() == 1 ? "" : "s");
      return kExitOk;
    };
  });

  auto* runs = app.add_subcommand("runs", "List the runs in a folder: status, best metric, time to target");
  runs->add_option("folder", args->folder, "The folder holding run folders (default: runs)");
  runs->callback([&ctx, args] {
    ctx.run = [args] {
      std::error_code ec;
      if (!std::filesystem::is_directory(args->folder, ec)) {
        std::fprintf(stderr, "plinth: error: %s: no such folder\n", args->folder.c_str());
        return kExitBadInput;
      }
      const auto dirs = find_runs(args->folder);
      if (dirs.empty()) {
        std::fprintf(stderr, "no runs in %s\n", args->folder.c_str());
        return kExitOk;
      }
      struct Row {
        std::string name, status, steps, time, best, ttt, detail;
      };
      std::vector<Row> rows{{"RUN", "STATUS", "STEPS", "TIME", "BEST", "TIME TO TARGET", ""}};
      for (const auto& d : dirs) {
        auto r = read_run(d);
        if (!r) continue;
        Row row{r->name, r->status, std::to_string(r->steps), format_seconds(r->train_seconds), "-",
                "-",     r->detail};
        if (r->best_value) {
          char buf[64];
          if (r->best_name == "eval.accuracy")
            std::snprintf(buf, sizeof buf, "%.2f%%", *r->best_value * 100);
          else
            std::snprintf(buf, sizeof buf, "%.4g", *r->best_value);
          row.best = r->best_name + " " + buf;
        }
        if (!r->target_metric.empty())
          row.ttt = r->time_to_target ? format_seconds(*r->time_to_target) : "not reached";
        rows.push_back(std::move(row));
      }
      size_t w[6] = {};
      for (const auto& r : rows) {
        const std::string* f[] = {&r.name, &r.status, &r.steps, &r.time, &r.best, &r.ttt};
        for (int i = 0; i < 6; ++i) w[i] = std::max(w[i], f[i]->size());
      }
      const bool colour = use_colour(stdout);
      for (size_t i = 0; i < rows.size(); ++i) {
        const auto& r = rows[i];
        std::string status = pad(r.status, w[1]);
        if (colour && i > 0) {
          const char* c = r.status == "finished"      ? "\033[32m"
                          : r.status == "running"     ? "\033[36m"
                          : r.status == "interrupted" ? "\033[33m"
                                                      : "\033[31m";
          status = c + status + "\033[0m";
        }
        std::string line = pad(r.name, w[0]) + "  " + status + "  " + pad(r.steps, w[2]) + "  " +
                           pad(r.time, w[3]) + "  " + pad(r.best, w[4]) + "  " + pad(r.ttt, w[5]);
        if (!r.detail.empty()) line += "  (" + r.detail + ")";
        while (!line.empty() && line.back() == ' ') line.pop_back();
        std::printf("%s\n", line.c_str());
      }
      return kExitOk;
    };
  });

  auto* exp = app.add_subcommand("export",
                                 "Export a run's metrics.jsonl as CSV, its weights (LoRA adapters merged) as "
                                 "safetensors, or its model as ONNX");
  exp->add_option("--weights", args->weights,
                  "Write the run's final weights (else its newest checkpoint's) to FILE, with any "
                  "[model.lora] adapters merged into the weights they adapt (a symlink is written "
                  "through, a device or FIFO refused)")
      ->option_text("FILE");
  exp->add_option("--onnx", args->onnx,
                  "Write the model's forward graph (evaluation mode, LoRA merged) to FILE as ONNX (opset 17, "
                  "the weights as initializers, a symbolic batch dim); see docs/export.md")
      ->option_text("FILE");
  auto* td = exp->add_option("--test-data", args->onnx_options.test_data,
                             "With --onnx: write DIR/inputs.safetensors (synthetic inputs) and "
                             "DIR/outputs.safetensors (Plinth's outputs for them)")
                 ->option_text("DIR");
  exp->add_option("--samples", args->onnx_options.samples, "With --test-data: rows of test data (1..4096)")
      ->capture_default_str()
      ->needs(td);
  exp->add_option("--seed", args->onnx_options.seed, "With --test-data: seed of the synthetic inputs")
      ->capture_default_str()
      ->needs(td);
  exp->add_option("run", args->folder, "The run folder (runs/<name>)")->required();
  exp->add_flag("--csv", args->csv, "CSV, one row per metrics line (the default and only format)");
  exp->add_option("-o,--output", args->output,
                  "The file to write (default: <run>/metrics.csv; - for stdout; a symlink is written "
                  "through, a device or FIFO refused)")
      ->option_text("FILE");
  exp->callback([&ctx, args] {
    ctx.run = [&ctx, args] {
      const std::filesystem::path run = args->folder;
      std::error_code ec;
      if (!std::filesystem::is_directory(run, ec)) {
        std::fprintf(stderr, "plinth: error: %s: not a run folder\n", run.c_str());
        return kExitBadInput;
      }
      if (!args->weights.empty() && !args->onnx.empty()) {
        std::fprintf(stderr, "plinth: error: --weights and --onnx: one export at a time\n");
        return kExitBadInput;
      }
      if (!args->onnx.empty()) return write_onnx(ctx, run, *args);
      if (!args->onnx_options.test_data.empty()) {
        std::fprintf(stderr, "plinth: error: --test-data needs --onnx FILE\n");
        return kExitBadInput;
      }
      if (!args->weights.empty()) return write_weights(run, args->weights);
      auto csv = metrics_csv(run / "metrics.jsonl");
      if (!csv) return fail(csv.status());
      if (args->output == "-") {
        std::cout << *csv;
        return kExitOk;
      }
      const std::filesystem::path out =
          args->output.empty() ? run / "metrics.csv" : std::filesystem::path(args->output);
      if (Status s = write_file_atomic(out, *csv); !s.ok()) return fail(s);
      std::fprintf(stderr, "exported: %s\n", out.c_str());
      return kExitOk;
    };
  });
}

}  // namespace plinth::cli
