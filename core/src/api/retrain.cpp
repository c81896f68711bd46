// retrain.cpp — plinth::Retrain (plinth/retrain.hpp) over
// core/src/retrain/. Not here: drift, fine-tuning or promotion rules.
#include "plinth/retrain.hpp"

#include <utility>

#include "retrain/retrain.hpp"

namespace plinth {

struct Retrain::Impl {
  retrain::Config config;
};

Retrain::Retrain(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Retrain::Retrain(Retrain&&) noexcept = default;
Retrain& Retrain::operator=(Retrain&&) noexcept = default;
Retrain::~Retrain() = default;

Result<Retrain> Retrain::load(const std::filesystem::path& file) {
  auto c = retrain::load_config(file);
  if (!c) return c.status();
  return Retrain(std::make_unique<Impl>(Impl{std::move(*c)}));
}

const std::string& Retrain::name() const { return impl_->config.name; }
std::filesystem::path Retrain::state_dir() const { return impl_->config.out_dir / impl_->config.name; }
double Retrain::poll_seconds() const { return impl_->config.poll_seconds; }

Result<int> Retrain::process_pending(const RetrainRunner& run, const std::function<bool()>& stop) const {
  return retrain::process_pending(impl_->config, run, stop);
}

}  // namespace plinth
