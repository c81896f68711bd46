// sample.hpp — text generation from a trained run (`plinth sample`): rebuild
// the run's model from runs/<name>/pipeline.toml and model.json, load its
// final weights (or a checkpoint's), and draw tokens autoregressively with a
// temperature and top-k, decoding through the run's vocab.json.
// Not here: training, or tokenisers other than the vocabulary a data source saved.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "plinth/registry.hpp"
#include "plinth/status.hpp"

namespace plinth::train {

struct SampleOptions {
  std::string prompt;        // encoded with the run's vocabulary; empty: start from token 0
  int64_t tokens = 200;      // how many to generate
  double temperature = 0.8;  // logits / temperature; 0 takes the most likely token
  int64_t top_k = 40;        // keep the k most likely (0: all)
  uint64_t seed = 1;         // the draws' seed: same seed, same text
  std::filesystem::path
      checkpoint;  // a checkpoints/step-N folder; empty: the final weights, else the newest checkpoint
};

// Generate from the run in `run_dir`; each generated piece of text is passed
// to `emit` as it is drawn. Returns the whole generated text (without the prompt).
Result<std::string> sample(const std::filesystem::path& run_dir, std::shared_ptr<Registry> registry,
                           const SampleOptions& options, const std::function<void(std::string_view)>& emit);

// Draw one token id from `logits` (V floats) — exposed for tests.
int32_t draw_token(std::vector<float> logits, double temperature, int64_t top_k, double u);

}  // namespace plinth::train
