// predict.hpp — batch inference with a trained run (`plinth predict`): the
// run's model and its final weights (or a checkpoint's) applied to every
// sample of a file or folder that the run's own data source reads (the
// settings of its [data.eval], else [data.train], with the file key replaced),
// in order, once each, written as JSONL or CSV.
// Not here: training, evaluation during training (plinth/train.hpp), text
// generation from language models (plinth/sample.hpp).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include "plinth/registry.hpp"
#include "plinth/status.hpp"

namespace plinth {

enum class PredictFormat { jsonl, csv };
// What each row holds besides the index, the class and the label:
// classes: nothing more; probabilities: the softmax of the logits;
// logits: the model's outputs. Regression models always write their outputs.
enum class PredictWhat { classes, probabilities, logits };

struct PredictOptions {
  // A file or folder for the run's data source: idx `images`, csv `path`,
  // images `root` (a folder) or `list` (a file).
  std::filesystem::path input;
  // idx only: the labels file. Empty: the file beside `input` whose name has
  // "labels-idx1" where the input's has "images-idx3", when there is one.
  std::filesystem::path labels;
  // Where the rows go (replaced whole at the end, never half-written).
  // Empty: the `out` stream given to predict(), batch by batch.
  std::filesystem::path output;
  PredictFormat format = PredictFormat::jsonl;
  PredictWhat what = PredictWhat::classes;
  int64_t batch = 0;  // rows per forward pass; 0: the run's [train] batch_size
  int threads = 0;    // > 0: instead of the run's [backend] threads
  // A checkpoints/step-N folder; empty: the final weights, else the newest checkpoint.
  std::filesystem::path checkpoint;
  // Called after each batch with the samples done and the total (optional).
  std::function<void(int64_t done, int64_t total)> on_progress;
  // Polled between batches; true: stop with errc::cancelled, writing no output file.
  std::function<bool()> stop_requested;
};

struct PredictResult {
  int64_t samples = 0;
  bool labeled = false;  // the input had labels (or regression targets)
  int64_t correct = 0;   // classification with labels: predicted class == label
  double accuracy = -1;  // correct / samples; -1: no labels or not a classification
  double mse = -1;       // regression with targets: mean squared error; else -1
  std::string weights;   // the file the weights came from
  std::string source;    // the data source component and the section its settings came from
  std::string labels;    // idx: the labels file read; else empty
  double seconds = 0;    // wall time of the forward passes and writing
};

// Predict every sample of options.input with the run in `run_dir`. Nothing
// in the run folder is written. Errors name the file: bad input (exit 2) for
// a missing run, weights or input, an input whose samples do not have the
// shape the model reads, a token model (use `plinth sample`), a source whose
// input cannot be replaced; errc::cancelled when stop_requested said so.
Result<PredictResult> predict(const std::filesystem::path& run_dir, std::shared_ptr<Registry> registry,
                              const PredictOptions& options, std::ostream* out = nullptr);

}  // namespace plinth
