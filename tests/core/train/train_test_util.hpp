// train_test_util.hpp — the setup the trainer tests share: the build tree's
// plugin registry, a fresh scratch folder, the common sections of their
// pipelines, training a pipeline given as text, and reading a run's
// metrics.jsonl. Not here: fixture tensors from PyTorch
// (torch_fixture.hpp) or any check of what a run produced.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/pipeline.hpp"
#include "plinth/registry.hpp"
#include "train/trainer.hpp"

namespace plinth::train_test {

// The plugins built into this build tree, and nothing else.
inline std::shared_ptr<Registry> build_tree_registry() {
  DiscoveryOptions o;
  o.pipeline_manifests = {std::filesystem::path(PLINTH_BINARY_DIR) / "share/plinth/plugins.d"};
  o.use_environment = o.use_system = o.use_install = false;
  auto r = Registry::open(o);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? *r : nullptr;
}

// An empty folder "plinth_<name>" under the test's temporary folder (not created).
inline std::filesystem::path fresh_dir(const std::string& name) {
  std::filesystem::path d = std::filesystem::path(testing::TempDir()) / ("plinth_" + name);
  std::filesystem::remove_all(d);
  return d;
}

// The sections every test pipeline opens with: [run] (name, the seed unless
// negative, out_dir) and [backend] on one thread.
inline std::string run_sections(const std::string& name, const std::filesystem::path& out, int seed = -1) {
  std::string s = "\n[run]\nname = \"" + name + "\"\n";
  if (seed >= 0) s += "seed = " + std::to_string(seed) + "\n";
  return s + "out_dir = \"" + out.string() + "\"\n[backend]\nthreads = 1\n";
}

// [data.<which>]: `samples` synthetic samples of `shape` (TOML, "[8]") in `classes` classes.
inline std::string synthetic_data(const std::string& which, int samples, const std::string& shape,
                                  int classes, int seed) {
  return "[data." + which + "]\nsource = \"synthetic\"\nsamples = " + std::to_string(samples) +
         "\nshape = " + shape + "\nnum_classes = " + std::to_string(classes) +
         "\nseed = " + std::to_string(seed) + "\n";
}

// Writes `rows` (two features and a class, 0 or 1, per line) to <out>/d.csv
// and returns the [data.train] table that reads them in order.
inline std::string csv_train_data(const std::filesystem::path& out, const std::string& rows) {
  std::filesystem::create_directories(out);
  std::ofstream(out / "d.csv") << rows;
  return "[data.train]\nsource = \"csv\"\npath = \"" + (out / "d.csv").string() +
         "\"\nlabel_column = 2\nheader = false\nnum_classes = 2\nshuffle = false\n";
}

// A trained run, or the status that stopped it (parse, prepare or run).
struct Run {
  Status status;
  train::TrainOutcome out;
  std::filesystem::path dir;  // out.run_dir when it ran
};

// Parse `text` (as file `file`), prepare it on the build tree's plugins and train.
// `o` as given (hooks, stop_at_step ...), without the progress line.
inline Run train_text(const std::string& text, const std::string& file, train::TrainOptions o) {
  Run r;
  auto p = config::parse_pipeline(text, file);
  if (!p.ok()) {
    r.status = p.status();
    return r;
  }
  o.progress = false;
  auto t = train::prepare(std::move(*p), build_tree_registry(), o);
  if (!t.ok()) {
    r.status = t.status();
    return r;
  }
  auto res = train::run(**t);
  if (!res.ok()) {
    r.status = res.status();
    return r;
  }
  r.out = *res;
  r.dir = res->run_dir;
  return r;
}

inline Run train_text(const std::string& text, const std::string& file = "t.toml", bool resume = false) {
  train::TrainOptions o;
  o.resume = resume;
  return train_text(text, file, std::move(o));
}

// Every line of a run's metrics.jsonl; with `train_only`, the lines with a loss.
inline std::vector<nlohmann::json> metric_lines(const std::filesystem::path& dir, bool train_only = false) {
  std::ifstream in(dir / "metrics.jsonl");
  std::vector<nlohmann::json> v;
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line);
    if (!train_only || j.contains("loss")) v.push_back(std::move(j));
  }
  return v;
}

}  // namespace plinth::train_test
