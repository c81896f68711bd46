// pipeline.cpp — plinth::Pipeline (plinth/pipeline.hpp) over the typed
// pipeline of config/pipeline.cpp, and the checks of the plugin manifests a
// pipeline names. Not here: parsing or validating (config/pipeline.cpp).
#include "plinth/pipeline.hpp"

#include <system_error>
#include <utility>

#include "api/pipeline_impl.hpp"
#include "config/overrides.hpp"
#include "util/toml_names.hpp"

namespace plinth {
namespace {

// True when `file` is `named` or lies in the folder `named`.
bool named_by(const std::filesystem::path& file, const std::filesystem::path& named) {
  if (file == named) return true;
  return file.parent_path() == named || file.parent_path() == named / "";
}

}  // namespace

Pipeline::Pipeline(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Pipeline::Pipeline(const Pipeline& other) : impl_(std::make_unique<Impl>(*other.impl_)) {}
Pipeline& Pipeline::operator=(const Pipeline& other) {
  if (this != &other) impl_ = std::make_unique<Impl>(*other.impl_);
  return *this;
}
Pipeline::Pipeline(Pipeline&&) noexcept = default;
Pipeline& Pipeline::operator=(Pipeline&&) noexcept = default;
Pipeline::~Pipeline() = default;

Result<Pipeline> Pipeline::load(const std::filesystem::path& file,
                                const std::vector<std::string>& overrides) {
  auto p = config::load_pipeline(file, overrides);
  if (!p) return p.status();
  return Pipeline(std::make_unique<Impl>(Impl{std::move(*p)}));
}

Result<Pipeline> Pipeline::parse(std::string_view text, const std::filesystem::path& source,
                                 const std::vector<std::string>& overrides) {
  auto p = config::parse_pipeline(text, source, overrides);
  if (!p) return p.status();
  return Pipeline(std::make_unique<Impl>(Impl{std::move(*p)}));
}

const std::filesystem::path& Pipeline::source() const { return impl_->p.source; }
const std::string& Pipeline::name() const { return impl_->p.run.name; }
void Pipeline::set_name(std::string name) { impl_->p.run.name = std::move(name); }
const std::filesystem::path& Pipeline::out_dir() const { return impl_->p.run.out_dir; }
void Pipeline::set_out_dir(std::filesystem::path dir) { impl_->p.run.out_dir = std::move(dir); }
std::filesystem::path Pipeline::run_dir() const { return impl_->p.run.out_dir / impl_->p.run.name; }
const std::string& Pipeline::backend() const { return impl_->p.backend.name; }
void Pipeline::set_backend_threads(int threads) { config::set_backend_threads(impl_->p, threads); }
int64_t Pipeline::max_steps() const { return impl_->p.train.max_steps; }
void Pipeline::set_max_steps(int64_t steps) { impl_->p.train.max_steps = steps; }
bool Pipeline::has_target() const { return !impl_->p.train.target_metric.empty(); }
const std::string& Pipeline::precision() const { return impl_->p.train.precision; }
Status Pipeline::set_precision(std::string precision) {
  if (precision != "fp32" && precision != "bf16" && precision != "fp16")
    return error(errc::invalid_argument, "precision '" + precision + "': expected fp32, bf16 or fp16");
  impl_->p.train.precision = std::move(precision);
  return {};
}
const std::vector<std::string>& Pipeline::overrides() const { return impl_->p.overrides; }
std::string Pipeline::resolved_toml() const {
  return config::with_override_comments(config::resolved_toml(impl_->p), impl_->p.overrides);
}

std::vector<std::filesystem::path> Pipeline::plugin_manifests() const { return impl_->p.plugins.manifests; }

TrustPolicy Pipeline::trust_policy() const {
  TrustPolicy t;
  t.allow_insecure = impl_->p.plugins.allow_insecure_plugins;
  t.require_signature = impl_->p.plugins.require_signature;
  return t;
}

DiscoveryOptions Pipeline::discovery(DiscoveryOptions base) const {
  for (const auto& m : impl_->p.plugins.manifests) base.pipeline_manifests.push_back(m);
  base.trust.allow_insecure = base.trust.allow_insecure || impl_->p.plugins.allow_insecure_plugins;
  base.trust.require_signature = base.trust.require_signature || impl_->p.plugins.require_signature;
  return base;
}

// "file:line:col: plugins.manifests[i]: no such manifest file or folder: ...".
Status Pipeline::check_manifests_exist() const {
  const config::Pipeline& p = impl_->p;
  const toml::array* arr = p.document["plugins"]["manifests"].as_array();
  for (size_t i = 0; i < p.plugins.manifests.size(); ++i) {
    std::error_code ec;
    if (std::filesystem::exists(p.plugins.manifests[i], ec)) continue;
    std::string at = p.source.string();
    if (arr && i < arr->size()) at = toml_where(at, arr->get(i)->source());
    return error(errc::config, at + ": plugins.manifests[" + std::to_string(i) +
                                   "]: no such manifest file or folder: " + p.plugins.manifests[i].string());
  }
  return {};
}

// A broken entry or an unreadable file among the manifests the pipeline
// names is the pipeline's error, where one found elsewhere (--plugin-path,
// system folders) is only a warning.
Status Pipeline::check_named_manifests(const Registry& reg) const {
  const config::Pipeline& p = impl_->p;
  if (p.plugins.manifests.empty()) return {};
  const std::string at = p.source.string() + ": [plugins] manifests: ";
  for (const auto& named : p.plugins.manifests) {
    for (const auto& e : reg.manifest_errors())
      if (e.rfind(named.string(), 0) == 0) return error(errc::config, at + e);
    for (const auto& pi : reg.plugins()) {
      if (pi.state != PluginState::failed || !named_by(pi.entry.manifest, named)) continue;
      return error(errc::config, at + pi.entry.manifest.string() + ":" + std::to_string(pi.entry.line) +
                                     ": plugin '" + pi.entry.name + "' (" + pi.entry.path.string() +
                                     "): " + pi.reason + (pi.hint.empty() ? "" : "; hint: " + pi.hint));
    }
  }
  return {};
}

Result<std::shared_ptr<Registry>> open_registry(const Pipeline& pipeline, const DiscoveryOptions& base) {
  PLINTH_TRY(pipeline.check_manifests_exist());
  auto reg = Registry::open(pipeline.discovery(base));
  if (!reg) return reg.status();
  PLINTH_TRY(pipeline.check_named_manifests(**reg));
  return *reg;
}

}  // namespace plinth
