// sample.hpp — text from a trained language model (`plinth sample`): the
// run's model rebuilt from its folder, its final weights (or a
// checkpoint's), tokens drawn with a temperature and top-k and decoded with
// the run's vocabulary. Not here: training, or other tokenisers.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "plinth/registry.hpp"
#include "plinth/status.hpp"

namespace plinth {

struct SampleOptions {
  std::string prompt;        // encoded with the run's vocabulary; empty: start from token 0
  int64_t tokens = 200;      // how many to generate
  double temperature = 0.8;  // 0 takes the most likely token
  int64_t top_k = 40;        // draw from the k most likely (0: all)
  uint64_t seed = 1;         // same seed, same text
  std::filesystem::path
      checkpoint;  // a checkpoints/step-N folder; empty: final weights, else newest checkpoint
};

// Generate from the run in `run_dir`, passing each piece of text to `emit`
// (optional) as it is drawn. Returns the generated text without the prompt.
Result<std::string> sample(const std::filesystem::path& run_dir, std::shared_ptr<Registry> registry,
                           const SampleOptions& options,
                           const std::function<void(std::string_view)>& emit = {});

}  // namespace plinth
