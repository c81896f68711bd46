// cmd_train.cpp — `plinth train`, `plinth validate`, `plinth eval` and `plinth resolve`:
// load a pipeline (with its --set overrides), open the plugins it needs and
// hand it to the trainer.
// Not here: the training loop itself (plinth/train.hpp).
#include <chrono>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <memory>

#include "commands.hpp"
#include "plinth/pipeline.hpp"
#include "plinth/train.hpp"

namespace plinth::cli {
namespace {

int fail(const Status& s) {
  std::fprintf(stderr, "plinth: error: %s\n", s.message().c_str());
  return s.exit_code();
}

struct TrainArgs {
  std::string pipeline;
  bool no_progress = false;
  std::string out_dir;            // overrides [run] out_dir
  bool resume = false;            // continue runs/<name>/ from its newest good checkpoint
  int64_t stop_at_step = 0;       // > 0: pause after this step (checkpoint, resumable)
  int threads = 0;                // > 0: overrides [backend] threads
  std::vector<std::string> sets;  // --set key=value, in order
};

// --set on a command that reads a pipeline (repeatable, one key=value each).
void add_set_option(CLI::App* cmd, std::vector<std::string>& sets) {
  cmd->add_option("--set", sets,
                  "Override a pipeline key, e.g. --set optimizer.lr=3e-4 or --set model.layer.2.out=64 "
                  "(repeatable; typed by the key; the last of several on one key wins)")
      ->allow_extra_args(false)
      ->type_name("KEY=VALUE");
}

// Load the pipeline and everything it names; nothing is written. The
// manifests a pipeline names in [plugins] must load whole: a broken entry or
// a refused file there is the pipeline's error (exit 2), where one found
// elsewhere (--plugin-path, system folders) is only a warning.
Result<Trainer> prepare_pipeline(const Context& ctx, const std::string& file, bool progress,
                                 std::chrono::steady_clock::time_point started, int* exit_code,
                                 const std::vector<std::string>& sets, const std::string& out_dir = {},
                                 bool resume = false, int64_t stop_at_step = 0, int threads = 0,
                                 bool* has_target = nullptr) {
  auto p = Pipeline::load(file, sets);
  if (!p) return p.status();
  if (has_target) *has_target = p->has_target();
  if (!out_dir.empty()) p->set_out_dir(out_dir);
  if (threads > 0) p->set_backend_threads(threads);
  PLINTH_TRY(p->check_manifests_exist());
  auto registry = ctx.open_registry(exit_code, p->plugin_manifests(), p->trust_policy());
  if (!registry) return error(errc::internal, "the plugin registry could not be opened");
  PLINTH_TRY(p->check_named_manifests(*registry));
  TrainOptions o;
  o.started = started;
  o.progress = progress;
  o.resume = resume;
  o.stop_at_step = stop_at_step;
  return Trainer::prepare(std::move(*p), registry, std::move(o));
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
  add_set_option(train, args->sets);
  train->callback([&ctx, args] {
    ctx.run = [&ctx, args] {
      const auto started = std::chrono::steady_clock::now();
      int code = kExitOk;
      bool has_target = false;
      auto t = prepare_pipeline(ctx, args->pipeline, !args->no_progress, started, &code, args->sets,
                                args->out_dir, args->resume, args->stop_at_step, args->threads, &has_target);
      if (!t) return code != kExitOk ? code : fail(t.status());
      auto out = t->train();
      if (!out) return fail(out.status());
      // Data parallel: every rank holds the same outcome; rank 0 reports it.
      // SIGTERM (a scheduler's stop) and SIGHUP (the session went away) end
      // the run with its state saved: success. Ctrl-C: 130 (128 + SIGINT).
      const bool stopped = out->stop_signal == SIGTERM || out->stop_signal == SIGHUP;
      const int exit_code = out->interrupted && !stopped ? kExitInterrupted : kExitOk;
      if (out->rank != 0) return exit_code;
      if (out->resumed_from >= 0)
        std::fprintf(stderr, "resumed from step %lld; ", static_cast<long long>(out->resumed_from));
      std::fprintf(stderr, "done: %lld steps in %.2f s", static_cast<long long>(out->steps), out->seconds);
      if (out->final_eval_accuracy >= 0)
        std::fprintf(stderr, ", eval accuracy %.2f%%", out->final_eval_accuracy * 100);
      if (out->final_eval_loss >= 0) std::fprintf(stderr, ", eval loss %.4f", out->final_eval_loss);
      if (out->time_to_target >= 0)
        std::fprintf(stderr, ", time to target %.2f s", out->time_to_target);
      else if (has_target)  // no [train] target: nothing to report
        std::fprintf(stderr, ", target not reached");
      if (out->checkpoint_failures > 0)
        std::fprintf(stderr, "; %lld checkpoint write(s) FAILED (see the log)",
                     static_cast<long long>(out->checkpoint_failures));
      std::fprintf(stderr, "%s%s; run: %s\n",
                   out->stop_signal == SIGTERM  ? " (stopped by SIGTERM)"
                   : out->stop_signal == SIGHUP ? " (stopped by SIGHUP)"
                   : out->interrupted           ? " (interrupted)"
                                                : "",
                   out->early_stopped ? " (stopped early)"
                   : out->paused      ? " (paused at --stop-at-step)"
                                      : "",
                   out->run_dir.c_str());
      return exit_code;
    };
  });

  auto* validate =
      app.add_subcommand("validate", "Check a pipeline, its plugins, data and model without training");
  validate->add_option("pipeline", args->pipeline, "The pipeline TOML file")->required();
  add_set_option(validate, args->sets);
  validate->callback([&ctx, args] {
    ctx.run = [&ctx, args] {
      int code = kExitOk;
      auto t =
          prepare_pipeline(ctx, args->pipeline, false, std::chrono::steady_clock::now(), &code, args->sets);
      if (!t) return code != kExitOk ? code : fail(t.status());
      std::printf("%s: ok\n", args->pipeline.c_str());
      return kExitOk;
    };
  });

  auto* eval = app.add_subcommand(
      "eval", "Evaluate a pipeline's model as [init] from loads it (no training, nothing written)");
  eval->add_option("pipeline", args->pipeline, "The pipeline TOML file (with [data.eval])")->required();
  add_set_option(eval, args->sets);
  eval->callback([&ctx, args] {
    ctx.run = [&ctx, args] {
      int code = kExitOk;
      auto t =
          prepare_pipeline(ctx, args->pipeline, false, std::chrono::steady_clock::now(), &code, args->sets);
      if (!t) return code != kExitOk ? code : fail(t.status());
      auto r = t->evaluate();
      if (!r) return fail(r.status());
      // One JSON line on stdout, for scripts; the same in words on stderr.
      if (r->accuracy >= 0)
        std::printf("{\"eval_loss\": %.9g, \"eval_accuracy\": %.9g}\n", r->loss, r->accuracy);
      else
        std::printf("{\"eval_loss\": %.9g}\n", r->loss);
      std::fprintf(stderr, "eval loss %.6f", r->loss);
      if (r->accuracy >= 0) std::fprintf(stderr, ", accuracy %.2f%%", r->accuracy * 100);
      std::fprintf(stderr, "\n");
      return kExitOk;
    };
  });

  auto* resolve = app.add_subcommand("resolve", "Print a pipeline with every default filled in");
  resolve->add_option("pipeline", args->pipeline, "The pipeline TOML file")->required();
  add_set_option(resolve, args->sets);
  resolve->callback([args, &ctx] {
    ctx.run = [args] {
      auto p = Pipeline::load(args->pipeline, args->sets);
      if (!p) return fail(p.status());
      std::cout << p->resolved_toml();
      return kExitOk;
    };
  });
}

}  // namespace plinth::cli
