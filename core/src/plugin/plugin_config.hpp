// plugin_config.hpp — the opaque plinth_config a plugin reads its own TOML
// table through (host->config_get_*, implemented in plugin/host.cpp). The
// table is owned by the caller and must outlive the plinth_config.
#pragma once

#include <deque>
#include <filesystem>
#include <memory>
#include <string>

#include <toml++/toml.h>

#include "plinth/plugin.h"

struct plinth_config {
  const toml::table* table = nullptr;
  std::filesystem::path source;             // file the table came from
  mutable std::deque<std::string> strings;  // storage for strings handed out (paths)
};

namespace plinth {

using PluginConfigPtr = std::unique_ptr<plinth_config>;

// `source`: paths are resolved against its folder; type errors name
// source:line:column and the key.
inline PluginConfigPtr make_plugin_config(const toml::table& table, const std::filesystem::path& source) {
  auto c = std::make_unique<plinth_config>();
  c->table = &table;
  c->source = source;
  return c;
}

}  // namespace plinth
