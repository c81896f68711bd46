// cmd_sweep.cpp — `plinth sweep sweep.toml`: load the sweep file, check the
// first trial's pipeline with its plugins (as `plinth validate` does), then
// hand over to the sweep driver (plinth/sweep.hpp), which runs every trial as
// a `plinth train` child of this same program. Not here: sampling, ASHA or
// the trial processes themselves.
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <memory>

#include "commands.hpp"
#include "plinth/pipeline.hpp"
#include "plinth/sweep.hpp"
#include "plinth/train.hpp"

namespace plinth::cli {
namespace {

struct SweepArgs {
  std::string file;
  bool resume = false;
  std::vector<std::string> sets;  // --set key=value on the base pipeline
};

// This program's path, so the trials run the same build.
std::string self_path() {
  char buf[4096];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "plinth";
  buf[n] = '\0';
  return buf;
}

}  // namespace

void add_sweep_commands(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<SweepArgs>();
  auto* sweep = app.add_subcommand(
      "sweep", "Run a hyperparameter sweep (grid or random, optional ASHA); trials go to runs/<sweep>/");
  sweep->add_option("sweep", args->file, "The sweep TOML file ([sweep] base, params, asha)")->required();
  sweep->add_flag("--resume", args->resume,
                  "Require runs/<sweep>/sweep.json and continue it (running the same file again does too)");
  sweep
      ->add_option("--set", args->sets,
                   "Override a key of the base pipeline in every trial, e.g. --set train.epochs=2 "
                   "(repeatable; not a key the sweep varies)")
      ->allow_extra_args(false)
      ->type_name("KEY=VALUE");
  sweep->callback([&ctx, args] {
    ctx.run = [&ctx, args] {
      auto spec = Sweep::load(args->file);
      if (!spec) {
        std::fprintf(stderr, "plinth: error: %s\n", spec.status().message().c_str());
        return spec.status().exit_code();
      }
      SweepOptions o;
      o.resume = args->resume;
      o.overrides = args->sets;
      o.plinth_argv.push_back(self_path());
      for (const auto& p : ctx.plugin_paths) o.plinth_argv.insert(o.plinth_argv.end(), {"--plugin-path", p});
      if (ctx.no_system_plugins) o.plinth_argv.push_back("--no-system-plugins");
      if (ctx.no_install_plugins) o.plinth_argv.push_back("--no-install-plugins");
      if (!ctx.log_level.empty()) o.plinth_argv.insert(o.plinth_argv.end(), {"--log-level", ctx.log_level});
      int registry_code = kExitOk;
      o.validate = [&](const std::string& text, const std::filesystem::path& file) -> Status {
        auto p = Pipeline::parse(text, file);
        if (!p) return p.status();
        auto registry = ctx.open_registry(&registry_code, p->plugin_manifests(), p->trust_policy());
        if (!registry) return error(errc::config, "the plugin registry could not be opened");
        TrainOptions to;
        to.progress = false;
        auto t = Trainer::prepare(std::move(*p), registry, std::move(to));
        return t ? Status{} : t.status();
      };
      auto out = spec->run(o);
      if (!out) {
        std::fprintf(stderr, "plinth: error: %s\n", out.status().message().c_str());
        return out.status().exit_code();
      }
      std::printf("%s", out->table.c_str());
      std::fprintf(stderr, "sweep %s: %lld trial(s) started, %lld failed, %.1f s%s; summary: %s\n",
                   spec->name().c_str(), static_cast<long long>(out->trials_started),
                   static_cast<long long>(out->failed), out->wall_seconds,
                   out->interrupted      ? " (interrupted: run the same command again to resume)"
                   : out->budget_reached ? " (max_minutes reached)"
                                         : "",
                   (out->dir / "summary.md").c_str());
      if (out->interrupted)
        return out->stop_signal == SIGTERM || out->stop_signal == SIGHUP ? kExitOk : kExitInterrupted;
      if (out->trials_started > 0 && out->failed == out->trials_started) return kExitFailure;
      return kExitOk;
    };
  });
}

}  // namespace plinth::cli
