// cmd_train.cpp — `plinth train`, `plinth validate`, `plinth eval` and `plinth resolve`:
// load a pipeline, open the plugins it needs and hand it to the trainer.
// Not here: the training loop itself (core/src/train/trainer.cpp).
#include <chrono>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <memory>

#include "commands.hpp"
#include "config/pipeline.hpp"
#include "train/trainer.hpp"

namespace plinth::cli {
namespace {

int fail(const Status& s) {
  std::fprintf(stderr, "plinth: error: %s\n", s.message().c_str());
  return s.exit_code();
}

struct TrainArgs {
  std::string pipeline;
  bool no_progress = false;
  std::string out_dir;       // overrides [run] out_dir
  bool resume = false;       // continue runs/<name>/ from its newest good checkpoint
  int64_t stop_at_step = 0;  // > 0: pause after this step (checkpoint, resumable)
  int threads = 0;           // > 0: overrides [backend] threads
};

// True when `file` is `named` or lies in the folder `named`.
bool named_by(const std::filesystem::path& file, const std::filesystem::path& named) {
  if (file == named) return true;
  return file.parent_path() == named || file.parent_path() == named / "";
}

// The manifests a pipeline names in [plugins] must load whole: a broken
// entry or a refused file there is the pipeline's error (exit 2), where one
// found elsewhere (--plugin-path, system folders) is only a warning.
// Each manifest the pipeline names must exist: "file:line:col: plugins.manifests[i]: ...".
Status check_manifests_exist(const config::Pipeline& p) {
  const toml::array* arr = p.document["plugins"]["manifests"].as_array();
  for (size_t i = 0; i < p.plugins.manifests.size(); ++i) {
    std::error_code ec;
    if (std::filesystem::exists(p.plugins.manifests[i], ec)) continue;
    std::string at = p.source.string();
    if (arr && i < arr->size()) {
      const auto& b = arr->get(i)->source().begin;
      at += ":" + std::to_string(b.line) + ":" + std::to_string(b.column);
    }
    return error(errc::config, at + ": plugins.manifests[" + std::to_string(i) +
                                   "]: no such manifest file or folder: " + p.plugins.manifests[i].string());
  }
  return {};
}

Status check_named_manifests(const config::Pipeline& p, const Registry& reg) {
  if (p.plugins.manifests.empty()) return {};
  const std::string at = p.source.string() + ": [plugins] manifests: ";
  for (const auto& named : p.plugins.manifests) {
    for (const auto& e : reg.manifest_errors())
      if (e.rfind(named.string(), 0) == 0) return error(errc::config, at + e);
    for (const auto& pi : reg.plugins()) {
      if (pi.state != PluginState::failed || !named_by(pi.entry.manifest, named)) continue;
      return error(errc::config, at + pi.entry.manifest.string() + ":" + std::to_string(pi.entry.line) +
                                     ": plugin '" + pi.entry.name + "' (" + pi.entry.path.string() +
                                     "): " + pi.reason + (pi.hint.empty() ? "" : "; hint: " + pi.hint));
    }
  }
  return {};
}

// Load the pipeline and everything it names; nothing is written.
Result<train::TrainerPtr> prepare_pipeline(const Context& ctx, const std::string& file, bool progress,
                                           std::chrono::steady_clock::time_point started, int* exit_code,
                                           const std::string& out_dir = {}, bool resume = false,
                                           int64_t stop_at_step = 0, int threads = 0) {
  auto p = config::load_pipeline(file);
  if (!p) return p.status();
  if (!out_dir.empty()) p->run.out_dir = out_dir;
  if (threads > 0) config::set_backend_threads(*p, threads);
  PLINTH_TRY(check_manifests_exist(*p));
  TrustPolicy trust;
  trust.allow_insecure = p->plugins.allow_insecure_plugins;
  trust.require_signature = p->plugins.require_signature;
  auto registry = ctx.open_registry(exit_code, p->plugins.manifests, trust);
  if (!registry) return error(errc::internal, "the plugin registry could not be opened");
  PLINTH_TRY(check_named_manifests(*p, *registry));
  train::TrainOptions o;
  o.started = started;
  o.progress = progress;
  o.resume = resume;
  o.stop_at_step = stop_at_step;
  return train::prepare(std::move(*p), registry, o);
}

}  // namespace

void add_train_commands(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<TrainArgs>();

  auto* train = app.add_subcommand("train", "Train a pipeline; the run is written to runs/<name>/");
  train->add_option("pipeline", args->pipeline, "The pipeline TOML file")->required();
  train->add_flag("--no-progress", args->no_progress, "Plain log lines instead of a live progress line");
  train->add_option("--out-dir", args->out_dir, "Write the run under this folder instead of [run] out_dir");
  train->add_flag(
      "--resume", args->resume,
      "Continue runs/<name>/ from its newest good checkpoint (starts over in it when it has none)");
  train
      ->add_option("--stop-at-step", args->stop_at_step,
                   "Pause after this optimizer step (evaluate, checkpoint; --resume continues exactly)")
      ->check(CLI::PositiveNumber);
  train
      ->add_option("--threads", args->threads,
                   "Backend threads instead of [backend] threads (a resumed run may change it)")
      ->check(CLI::PositiveNumber);
  train->callback([&ctx, args] {
    ctx.run = [&ctx, args] {
      const auto started = std::chrono::steady_clock::now();
      int code = kExitOk;
      auto t = prepare_pipeline(ctx, args->pipeline, !args->no_progress, started, &code, args->out_dir,
                                args->resume, args->stop_at_step, args->threads);
      if (!t) return code != kExitOk ? code : fail(t.status());
      auto out = train::run(**t);
      if (!out) return fail(out.status());
      // Data parallel: every rank holds the same outcome; rank 0 reports it.
      if (out->rank != 0) return out->interrupted && out->stop_signal != SIGTERM ? kExitInterrupted : kExitOk;
      if (out->resumed_from >= 0)
        std::fprintf(stderr, "resumed from step %lld; ", static_cast<long long>(out->resumed_from));
      std::fprintf(stderr, "done: %lld steps in %.2f s", static_cast<long long>(out->steps), out->seconds);
      if (out->final_eval_accuracy >= 0)
        std::fprintf(stderr, ", eval accuracy %.2f%%", out->final_eval_accuracy * 100);
      if (out->final_eval_loss >= 0) std::fprintf(stderr, ", eval loss %.4f", out->final_eval_loss);
      if (out->time_to_target >= 0)
        std::fprintf(stderr, ", time to target %.2f s", out->time_to_target);
      else
        std::fprintf(stderr, ", target not reached");
      if (out->checkpoint_failures > 0)
        std::fprintf(stderr, "; %lld checkpoint write(s) FAILED (see the log)",
                     static_cast<long long>(out->checkpoint_failures));
      std::fprintf(stderr, "%s%s; run: %s\n",
                   out->stop_signal == SIGTERM ? " (stopped by SIGTERM)"
                   : out->interrupted          ? " (interrupted)"
                                               : "",
                   out->early_stopped ? " (stopped early)"
                   : out->paused      ? " (paused at --stop-at-step)"
                                      : "",
                   out->run_dir.c_str());
      // Ctrl-C: 130 (128 + SIGINT, as shells report it). SIGTERM is how
      // schedulers stop a job; the run saved its state, so that is success.
      return out->interrupted && out->stop_signal != SIGTERM ? kExitInterrupted : kExitOk;
    };
  });

  auto* validate =
      app.add_subcommand("validate", "Check a pipeline, its plugins, data and model without training");
  validate->add_option("pipeline", args->pipeline, "The pipeline TOML file")->required();
  validate->callback([&ctx, args] {
    ctx.run = [&ctx, args] {
      int code = kExitOk;
      auto t = prepare_pipeline(ctx, args->pipeline, false, std::chrono::steady_clock::now(), &code);
      if (!t) return code != kExitOk ? code : fail(t.status());
      std::printf("%s: ok\n", args->pipeline.c_str());
      return kExitOk;
    };
  });

  auto* eval = app.add_subcommand(
      "eval", "Evaluate a pipeline's model as [init] from loads it (no training, nothing written)");
  eval->add_option("pipeline", args->pipeline, "The pipeline TOML file (with [data.eval])")->required();
  eval->callback([&ctx, args] {
    ctx.run = [&ctx, args] {
      int code = kExitOk;
      auto t = prepare_pipeline(ctx, args->pipeline, false, std::chrono::steady_clock::now(), &code);
      if (!t) return code != kExitOk ? code : fail(t.status());
      auto r = train::evaluate(**t);
      if (!r) return fail(r.status());
      // One JSON line on stdout, for scripts; the same in words on stderr.
      if (r->second >= 0)
        std::printf("{\"eval_loss\": %.9g, \"eval_accuracy\": %.9g}\n", r->first, r->second);
      else
        std::printf("{\"eval_loss\": %.9g}\n", r->first);
      std::fprintf(stderr, "eval loss %.6f", r->first);
      if (r->second >= 0) std::fprintf(stderr, ", accuracy %.2f%%", r->second * 100);
      std::fprintf(stderr, "\n");
      return kExitOk;
    };
  });

  auto* resolve = app.add_subcommand("resolve", "Print a pipeline with every default filled in");
  resolve->add_option("pipeline", args->pipeline, "The pipeline TOML file")->required();
  resolve->callback([args, &ctx] {
    ctx.run = [args] {
      auto p = config::load_pipeline(args->pipeline);
      if (!p) return fail(p.status());
      std::cout << config::resolved_toml(*p);
      return kExitOk;
    };
  });
}

}  // namespace plinth::cli
