// retrain.hpp — keeping a model fresh as data arrives (`plinth retrain`):
// each new folder in the watched folder is evaluated on the production
// model; on drift a candidate is fine-tuned and promoted only if better.
// Not here: the training and evaluation themselves, which the caller runs
// (as child `plinth train` / `plinth eval` processes) through a Runner.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "plinth/status.hpp"

namespace plinth {

// Runs `plinth ARGS...` with the caller's global options; returns its
// standard output, or an error with its exit code and the end of its output.
using RetrainRunner = std::function<Result<std::string>(const std::vector<std::string>& args)>;

class Retrain {
 public:
  // Read a retrain file ([retrain] section); errors name the file, line and key.
  static Result<Retrain> load(const std::filesystem::path& file);

  Retrain(Retrain&&) noexcept;
  Retrain& operator=(Retrain&&) noexcept;
  ~Retrain();

  const std::string& name() const;
  std::filesystem::path state_dir() const;  // <out_dir>/<name>: retrain.jsonl, models.json, work/
  double poll_seconds() const;              // how often a watching caller looks again

  // Handle every arrival not handled yet, in name order; `stop` is polled
  // between steps. Returns how many were handled.
  Result<int> process_pending(const RetrainRunner& run, const std::function<bool()>& stop) const;

 private:
  struct Impl;
  explicit Retrain(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace plinth
