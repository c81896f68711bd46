// plugins.hpp — what tools around plugins need besides the registry
// (plinth/registry.hpp): a plugin's own settings as the opaque plinth_config
// it reads through the host table, kind names, the trust policy in force,
// and the host's per-thread error slot. Not here: loading plugins.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "plinth/plugin.h"
#include "plinth/registry.hpp"
#include "plinth/status.hpp"

namespace plinth {

// A plugin's settings, as a TOML table (the text of the table, without its
// header: `lr = 0.1`), handed to a plugin's create() as plinth_config.
class PluginConfig {
 public:
  // `source` names the table in errors and anchors relative paths. Syntax
  // errors are errc::config: "<source>:<line>:<col>: syntax: <what>".
  static Result<PluginConfig> parse(std::string_view toml_text, const std::filesystem::path& source);

  PluginConfig(PluginConfig&&) noexcept;
  PluginConfig& operator=(PluginConfig&&) noexcept;
  ~PluginConfig();

  const plinth_config* get() const;  // valid while this object lives

 private:
  struct Impl;
  explicit PluginConfig(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

const char* kind_name(plinth_kind kind);    // "backend" | "comm" | "optimizer" | "data"
int kind_from_name(std::string_view name);  // PLINTH_KIND_*; 0 when unknown

// `policy` with the environment applied ($PLINTH_ALLOW_INSECURE_PLUGINS,
// $PLINTH_REQUIRE_SIGNATURE, $PLINTH_TRUSTED_KEYS_DIR), and the trusted keys
// folder filled in (default /etc/plinth/trusted-keys).
TrustPolicy effective_trust(const TrustPolicy& policy);

// Record `message` as the calling thread's plugin error, as a plugin's
// host->set_error does (read back with take_plugin_error()).
void set_plugin_error(std::string message);

}  // namespace plinth
