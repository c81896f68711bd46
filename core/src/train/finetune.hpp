// finetune.hpp — starting from trained weights ([init] from), and LoRA
// adapters folded back into the weights they adapt (plinth export --weights).
// Not here: which parameters train (graph/build.cpp marks them), or the
// optimizer (frozen parameters simply have no state).
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "config/pipeline.hpp"
#include "plinth/status.hpp"
#include "train/safetensors.hpp"

namespace plinth::train {

// A run's weights: its final model.safetensors, else its newest good
// checkpoint's. `from` names the file or folder they came from.
struct RunWeights {
  std::vector<NamedTensor> tensors;
  std::string from;
};
Result<RunWeights> read_run_weights(const std::filesystem::path& run_dir);

// What [init] loads into which parameter.
struct InitPlan {
  RunWeights source;
  std::vector<std::pair<std::string, size_t>> loads;  // parameter name -> index into source.tensors
  std::vector<std::string> fresh;                     // parameters left with their fresh initialisation
};
// `params`: the model's parameters (name, shape), in declaration order.
// Errors name the pipeline's [init] keys, the source file and the tensor.
Result<InitPlan> plan_init(const config::Pipeline& p,
                           const std::vector<std::pair<std::string, std::vector<int64_t>>>& params);

// W += scale * B A for every "<layer>.lora_A.weight" / "<layer>.lora_B.weight"
// pair (scale = alpha / rank), which are then removed: the tensors a model
// without [model.lora] loads. Returns how many layers were merged.
Result<int> merge_lora(std::vector<NamedTensor>& tensors, double scale, const std::string& from);

}  // namespace plinth::train
