// plinth_mlp_bench.cpp — Plinth side of bench/run.sh: time training steps of
// an MLP (forward, cross-entropy, backward, AdamW) on one resident batch of
// synthetic data, through the same core and plugins `plinth train` uses.
// Prints one JSON line, the same fields as bench/torch_mlp.py.
#include <cstdio>
#include <sstream>
#include <string>

#include <CLI/CLI.hpp>

#include "plinth/pipeline.hpp"
#include "plinth/registry.hpp"
#include "plinth/train.hpp"

int main(int argc, char** argv) {
  CLI::App app{"Time Plinth MLP training steps"};
  int64_t batch = 128, inputs = 784, classes = 10, steps = 300, warmup = 30;
  int threads = 2;
  std::string hidden = "512,256", manifests = PLINTH_MANIFEST_DIR, precision = "fp32";
  app.add_option("--batch", batch);
  app.add_option("--hidden", hidden, "comma-separated hidden sizes");
  app.add_option("--inputs", inputs);
  app.add_option("--classes", classes);
  app.add_option("--steps", steps);
  app.add_option("--warmup", warmup);
  app.add_option("--threads", threads);
  app.add_option("--manifests", manifests, "plugin manifest folder");
  app.add_option("--precision", precision, "[train] precision: fp32, bf16 or fp16");
  CLI11_PARSE(app, argc, argv);

  std::ostringstream toml;
  toml << "[backend]\nname = \"cpu\"\nthreads = " << threads << "\n"
       << "[data.train]\nsource = \"synthetic\"\nworkers = 0\nsamples = " << batch << "\nshape = [" << inputs
       << "]\nnum_classes = " << classes << "\nseed = 1\n";
  std::stringstream hs(hidden);
  for (std::string h; std::getline(hs, h, ',');)
    if (!h.empty())
      toml << "[[model.layer]]\ntype = \"linear\"\nout = " << h << "\n[[model.layer]]\ntype = \"relu\"\n";
  toml << "[[model.layer]]\ntype = \"linear\"\nout = " << classes << "\n"
       << "[optimizer]\nname = \"adamw\"\nlr = 1e-3\nweight_decay = 0.01\n"
       << "[train]\nbatch_size = " << batch << "\nepochs = 1\nprecision = \"" << precision << "\"\n";
  auto pipeline = plinth::Pipeline::parse(toml.str(), "bench-mlp.toml");
  if (!pipeline) return std::fprintf(stderr, "%s\n", pipeline.status().message().c_str()), 2;

  plinth::DiscoveryOptions d;
  d.pipeline_manifests = {manifests};
  d.use_environment = d.use_system = d.use_install = false;
  auto registry = plinth::Registry::open(d);
  if (!registry) return std::fprintf(stderr, "%s\n", registry.status().message().c_str()), 2;
  auto trainer = plinth::Trainer::prepare(std::move(*pipeline), *registry);
  if (!trainer) return std::fprintf(stderr, "%s\n", trainer.status().message().c_str()), 2;
  auto t = trainer->time_steps(warmup, steps);
  if (!t) return std::fprintf(stderr, "%s\n", t.status().message().c_str()), 1;
  std::printf(
      "{\"peer\": \"plinth\", \"batch\": %lld, \"hidden\": \"%s\", \"precision\": \"%s\", \"ms_per_step\": "
      "%.4f, \"cpu_ms_per_step\": %.4f, \"samples_per_s\": %.1f}\n",
      static_cast<long long>(batch), hidden.c_str(), precision.c_str(), t->seconds_per_step * 1e3,
      t->cpu_seconds_per_step * 1e3, static_cast<double>(batch) / t->seconds_per_step);
  return 0;
}
