// sweep.cpp — plinth::Sweep (plinth/sweep.hpp) over the sweep file reader
// and driver of core/src/sweep/. Not here: sampling, ASHA or the trials.
#include "plinth/sweep.hpp"

#include <utility>

#include "sweep/sweep.hpp"

namespace plinth {

struct Sweep::Impl {
  sweep::SweepSpec spec;
};

Sweep::Sweep(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Sweep::Sweep(Sweep&&) noexcept = default;
Sweep& Sweep::operator=(Sweep&&) noexcept = default;
Sweep::~Sweep() = default;

Result<Sweep> Sweep::load(const std::filesystem::path& file) {
  auto s = sweep::load_sweep(file);
  if (!s) return s.status();
  return Sweep(std::make_unique<Impl>(Impl{std::move(*s)}));
}

const std::string& Sweep::name() const { return impl_->spec.name; }

Result<SweepResult> Sweep::run(const SweepOptions& options) const {
  sweep::RunOptions o;
  o.plinth_argv = options.plinth_argv;
  o.validate = options.validate;
  o.resume = options.resume;
  o.cores = options.cores;
  o.overrides = options.overrides;
  auto out = sweep::run_sweep(impl_->spec, o);
  if (!out) return out.status();
  SweepResult r;
  r.dir = out->dir;
  r.interrupted = out->interrupted;
  r.stop_signal = out->stop_signal;
  r.budget_reached = out->budget_reached;
  r.trials_started = out->trials_started;
  r.failed = out->failed;
  r.table = std::move(out->table);
  r.wall_seconds = out->wall_seconds;
  return r;
}

}  // namespace plinth
