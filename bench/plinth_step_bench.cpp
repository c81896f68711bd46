// plinth_step_bench.cpp — time training steps of any pipeline file (forward,
// loss, backward, optimizer) on one resident batch, through the same core
// and plugins `plinth train` uses. bench/char_gpt.sh runs it against PyTorch.
// Prints one JSON line: {"peer": "plinth", "ms_per_step": ...}.
#include <cstdio>
#include <fstream>
#include <string>

#include <CLI/CLI.hpp>

#include "plinth/pipeline.hpp"
#include "plinth/registry.hpp"
#include "plinth/train.hpp"

namespace {
unsigned long long ull(uint64_t v) { return static_cast<unsigned long long>(v); }
// VmHWM of /proc/self/status: the process's resident peak (code, libraries,
// loader, everything), for comparison with the backend's own count.
uint64_t peak_rss_bytes() {
  std::ifstream f("/proc/self/status");
  for (std::string line; std::getline(f, line);)
    if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  return 0;
}
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Time Plinth training steps of a pipeline"};
  std::string file, precision;
  std::vector<std::string> manifests{PLINTH_MANIFEST_DIR};
  int64_t steps = 30, warmup = 5, loader_epochs = 0;
  int threads = 0;
  app.add_option("pipeline", file)->required();
  app.add_option("--steps", steps);
  app.add_option("--warmup", warmup);
  app.add_option("--threads", threads, "override [backend] threads");
  app.add_option("--precision", precision, "override [train] precision");
  app.add_option("--manifests", manifests, "a plugin manifest folder (repeatable; replaces the build's)")
      ->allow_extra_args(false);
  app.add_option("--loader-epochs", loader_epochs,
                 "instead of steps: read this many epochs of [data.train] and print samples/s");
  CLI11_PARSE(app, argc, argv);

  auto pipeline = plinth::Pipeline::load(file);
  if (!pipeline) return std::fprintf(stderr, "%s\n", pipeline.status().message().c_str()), 2;
  if (threads > 0) pipeline->set_backend_threads(threads);
  if (!precision.empty())
    if (plinth::Status s = pipeline->set_precision(precision); !s)
      return std::fprintf(stderr, "%s\n", s.message().c_str()), 2;
  plinth::DiscoveryOptions d;
  d.pipeline_manifests.assign(manifests.begin(), manifests.end());
  d.use_environment = d.use_system = d.use_install = false;
  auto registry = plinth::Registry::open(d);
  if (!registry) return std::fprintf(stderr, "%s\n", registry.status().message().c_str()), 2;
  auto trainer = plinth::Trainer::prepare(std::move(*pipeline), *registry);
  if (!trainer) return std::fprintf(stderr, "%s\n", trainer.status().message().c_str()), 2;
  if (loader_epochs > 0) {
    auto r = trainer->loader_samples_per_second(loader_epochs);
    if (!r) return std::fprintf(stderr, "%s\n", r.status().message().c_str()), 1;
    std::printf("{\"peer\": \"plinth\", \"pipeline\": \"%s\", \"loader_samples_per_s\": %.1f}\n",
                file.c_str(), *r);
    return 0;
  }
  auto t = trainer->time_steps(warmup, steps);
  if (!t) return std::fprintf(stderr, "%s\n", t.status().message().c_str()), 1;
  const auto m = trainer->memory_use();
  std::printf(
      "{\"peer\": \"plinth\", \"pipeline\": \"%s\", \"precision\": \"%s\", \"ms_per_step\": %.4f, "
      "\"optimizer_ms_per_step\": %.4f, \"cpu_ms_per_step\": %.4f, \"memory_bytes\": {\"parameters\": %llu, "
      "\"gradients\": %llu, "
      "\"optimizer_state\": %llu, \"other_persistent\": %llu, \"activation_arenas\": %llu, "
      "\"activation_need\": %llu, \"need\": %llu, \"backend_peak\": %llu, \"process_peak_rss\": %llu}}\n",
      file.c_str(), precision.empty() ? "as in the file" : precision.c_str(), t->seconds_per_step * 1e3,
      t->optimizer_seconds_per_step * 1e3, t->cpu_seconds_per_step * 1e3, ull(m.parameters), ull(m.gradients),
      ull(m.optimizer_state), ull(m.other_persistent), ull(m.arenas), ull(m.activation_need), ull(m.need()),
      ull(m.backend_peak), ull(peak_rss_bytes()));
  return 0;
}
