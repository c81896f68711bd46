// plugins.cpp — plinth::PluginConfig and effective_trust
// (plinth/plugins.hpp): a TOML table parsed and viewed as the plugin's
// plinth_config (plugin/plugin_config.hpp), and the trust policy resolved by
// plugin/trust.cpp. kind_name and set_plugin_error are defined in plugin/.
#include "plinth/plugins.hpp"

#include <utility>

#include "plugin/plugin_config.hpp"
#include "plugin/trust.hpp"

namespace plinth {

struct PluginConfig::Impl {
  toml::table table;
  PluginConfigPtr config;  // points at `table`; the Impl never moves
};

PluginConfig::PluginConfig(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PluginConfig::PluginConfig(PluginConfig&&) noexcept = default;
PluginConfig& PluginConfig::operator=(PluginConfig&&) noexcept = default;
PluginConfig::~PluginConfig() = default;

Result<PluginConfig> PluginConfig::parse(std::string_view toml_text, const std::filesystem::path& source) {
  auto impl = std::make_unique<Impl>();
  auto fail = [&](const toml::source_region& at, std::string_view what) {
    return error(errc::config, source.string() + ":" + std::to_string(at.begin.line) + ":" +
                                   std::to_string(at.begin.column) + ": syntax: " + std::string(what));
  };
#if TOML_EXCEPTIONS
  try {
    impl->table = toml::parse(toml_text, source.string());
  } catch (const toml::parse_error& e) {
    return fail(e.source(), e.description());
  }
#else
  toml::parse_result res = toml::parse(toml_text, source.string());
  if (!res) return fail(res.error().source(), res.error().description());
  impl->table = std::move(res).table();
#endif
  impl->config = make_plugin_config(impl->table, source);
  return PluginConfig(std::move(impl));
}

const plinth_config* PluginConfig::get() const { return impl_->config.get(); }

TrustPolicy effective_trust(const TrustPolicy& policy) {
  const EffectiveTrust t = resolve_trust(policy);
  TrustPolicy r;
  r.allow_insecure = t.allow_insecure;
  r.require_signature = t.require_signature;
  r.trusted_keys_dir = t.trusted_keys_dir;
  return r;
}

}  // namespace plinth
