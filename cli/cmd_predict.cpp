// cmd_predict.cpp — `plinth predict runs/<name> --input FILE|FOLDER`: a trained
// run's predictions for new data, as JSONL or CSV, with a progress line and
// a summary (the accuracy when the input has labels) on stderr.
// Not here: the inference itself (plinth/predict.hpp).
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <memory>

#include <unistd.h>

#include "commands.hpp"
#include "plinth/predict.hpp"

namespace plinth::cli {
namespace {

std::atomic<bool> g_interrupted{false};
void on_sigint(int) { g_interrupted.store(true); }

}  // namespace

void add_predict_commands(CLI::App& app, Context& ctx) {
  struct Args {
    std::string run, input, labels, output, format, what = "class", checkpoint;
    int64_t batch = 0;
    int threads = 0;
    bool no_progress = false;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand(
      "predict", "Predict new data with a trained run (read by the run's own data source), as JSONL or CSV");
  cmd->add_option("run", args->run, "The run folder, e.g. runs/mnist-mlp")->required();
  cmd->add_option("--input", args->input,
                  "The data: an IDX images file, a CSV file, a folder of class folders or an images list")
      ->required();
  cmd->add_option("--labels", args->labels,
                  "idx: the labels file (default: the images file's name with labels-idx1, when it exists)");
  cmd->add_option("--output", args->output, "Write the predictions here (default: standard output)");
  cmd->add_option("--format", args->format, "jsonl or csv (default: from --output's extension, else jsonl)")
      ->check(CLI::IsMember({"jsonl", "csv"}));
  cmd->add_option("--what", args->what, "Besides the class: nothing (class), probabilities or logits")
      ->check(CLI::IsMember({"class", "probabilities", "logits"}))
      ->capture_default_str();
  cmd->add_option("--batch", args->batch, "Samples per forward pass (default: the run's [train] batch_size)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--threads", args->threads, "Backend threads instead of the run's [backend] threads")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--checkpoint", args->checkpoint,
                  "A checkpoints/step-N folder (default: the final weights, else the newest checkpoint)");
  cmd->add_flag("--no-progress", args->no_progress, "Plain log lines instead of a live progress line");
  cmd->callback([&ctx, args] {
    ctx.run = [&ctx, args] {
      int code = kExitOk;
      auto registry = ctx.open_registry(&code);
      if (!registry) return code;
      PredictOptions o;
      o.input = args->input;
      o.labels = args->labels;
      o.output = args->output;
      o.checkpoint = args->checkpoint;
      o.batch = args->batch;
      o.threads = args->threads;
      const std::string ext = std::filesystem::path(args->output).extension().string();
      const std::string format = !args->format.empty() ? args->format : ext == ".csv" ? "csv" : "jsonl";
      o.format = format == "csv" ? PredictFormat::csv : PredictFormat::jsonl;
      o.what = args->what == "probabilities" ? PredictWhat::probabilities
               : args->what == "logits"      ? PredictWhat::logits
                                             : PredictWhat::classes;
      // A live line on a terminal; plain lines (every 2 s at most) otherwise.
      const bool tty = !args->no_progress && ::isatty(STDERR_FILENO);
      const auto t0 = std::chrono::steady_clock::now();
      double last_print = -1e9;
      o.on_progress = [&](int64_t done, int64_t total) {
        const double now = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        const double rate = now > 0 ? static_cast<double>(done) / now : 0.0;
        const double eta = rate > 0 ? static_cast<double>(total - done) / rate : 0.0;
        const double pct = total > 0 ? 100.0 * static_cast<double>(done) / static_cast<double>(total) : 100.0;
        if (tty) {
          std::fprintf(stderr, "\r\033[Kpredict %lld/%lld (%.0f%%)  %.0f samples/s  ETA %.1fs",
                       static_cast<long long>(done), static_cast<long long>(total), pct, rate, eta);
        } else if (now - last_print >= 2.0 || done == total) {
          std::fprintf(stderr, "predict %lld/%lld (%.0f%%)  %.0f samples/s  ETA %.1fs\n",
                       static_cast<long long>(done), static_cast<long long>(total), pct, rate, eta);
          last_print = now;
        }
      };
      // Ctrl-C: stop between batches, no output file, exit 130 as `train`.
      g_interrupted.store(false);
      o.stop_requested = [] { return g_interrupted.load(); };
      auto previous = std::signal(SIGINT, on_sigint);
      auto r = predict(args->run, registry, o, &std::cout);
      std::signal(SIGINT, previous);
      if (tty) std::fprintf(stderr, "\r\033[K");
      if (!r) {
        if (r.status().code() == errc::cancelled) {
          std::fprintf(stderr, "plinth: predict interrupted; nothing written\n");
          return kExitInterrupted;
        }
        std::fprintf(stderr, "plinth: error: %s\n", r.status().message().c_str());
        return r.status().exit_code();
      }
      std::fprintf(stderr, "predict: %lld samples in %.2f s", static_cast<long long>(r->samples), r->seconds);
      if (r->accuracy >= 0)
        std::fprintf(stderr, ", accuracy %.2f%% (%lld/%lld)", r->accuracy * 100,
                     static_cast<long long>(r->correct), static_cast<long long>(r->samples));
      if (r->mse >= 0) std::fprintf(stderr, ", mse %.6g", r->mse);
      std::fprintf(stderr, "; weights: %s", r->weights.c_str());
      if (!r->labels.empty()) std::fprintf(stderr, "; labels: %s", r->labels.c_str());
      if (!args->output.empty()) std::fprintf(stderr, "; written to %s", args->output.c_str());
      std::fprintf(stderr, "\n");
      return kExitOk;
    };
  });
}

}  // namespace plinth::cli
