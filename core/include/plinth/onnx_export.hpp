// onnx_export.hpp — a trained run's model as an ONNX file (`plinth export RUN
// --onnx FILE`): the forward graph in evaluation mode (batch norm with its
// running statistics, dropout the identity, LoRA merged), standard ONNX ops
// at opset 17, the run's weights as initializers, a symbolic batch dim (and
// sequence length for token models), and optionally test data: inputs and
// Plinth's own outputs for them, to check another runtime against. Not here:
// other export formats (plinth/runs.hpp writes safetensors).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "plinth/registry.hpp"
#include "plinth/status.hpp"

namespace plinth {

struct OnnxExportOptions {
  // Non-empty: write <test_data>/inputs.safetensors ("input", `samples`
  // synthetic rows of the model's input dtype and shape) and
  // outputs.safetensors ("logits", Plinth's forward outputs for them).
  std::filesystem::path test_data;
  int64_t samples = 4;  // rows of test data, 1..4096
  uint64_t seed = 1;    // of the synthetic inputs
};

struct OnnxExported {
  std::string from;       // the weights file or checkpoint folder
  int merged_layers = 0;  // LoRA adapters merged into their layers
  size_t nodes = 0;
  size_t initializers = 0;
  std::string input;   // "input: f32 (batch, 28, 28)"
  std::string output;  // "logits: f32 (batch, 10)"
};

// Export the run in `run_dir` to `out`. `registry` runs Plinth's forward
// for the test data (may be null without test data). Errors name the run,
// the file and the layer (a layer with no ONNX form is refused by name).
Result<OnnxExported> export_onnx(const std::filesystem::path& run_dir, const std::filesystem::path& out,
                                 std::shared_ptr<Registry> registry, const OnnxExportOptions& options = {});

}  // namespace plinth
