// sample.cpp — plinth::sample (plinth/sample.hpp) over sample/sample.cpp.
// Not here: the generation itself.
#include "plinth/sample.hpp"

#include <utility>

#include "sample/sample.hpp"

namespace plinth {

Result<std::string> sample(const std::filesystem::path& run_dir, std::shared_ptr<Registry> registry,
                           const SampleOptions& options, const std::function<void(std::string_view)>& emit) {
  train::SampleOptions o;
  o.prompt = options.prompt;
  o.tokens = options.tokens;
  o.temperature = options.temperature;
  o.top_k = options.top_k;
  o.seed = options.seed;
  o.checkpoint = options.checkpoint;
  const std::function<void(std::string_view)> ignore = [](std::string_view) {};
  return train::sample(run_dir, std::move(registry), o, emit ? emit : ignore);
}

}  // namespace plinth
