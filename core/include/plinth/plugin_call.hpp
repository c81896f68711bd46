// plugin_call.hpp — which plugin's code this process is running while the
// registry loads it (the library's constructors, plinth_plugin_get, init,
// plinth_plugin_score), so that a crash or exit() handler can name it. The
// core only records; what to do with it (the CLI's handlers) is the
// program's choice. Not here: plugin calls made later through the tables.
#pragma once

#include <string_view>

namespace plinth {

// "plugin 'NAME' (PATH) during STAGE" while a plugin's load is in progress,
// else nullptr. Safe to call from a signal handler: it reads a fixed buffer.
const char* plugin_call_in_progress();

// Marks a plugin's code as running for the scope's lifetime (not nested:
// loads are serialized by the registry).
class PluginCallScope {
 public:
  PluginCallScope(std::string_view name, std::string_view path, std::string_view stage);
  void stage(std::string_view stage);  // the same plugin, a later step
  ~PluginCallScope();
  PluginCallScope(const PluginCallScope&) = delete;
  PluginCallScope& operator=(const PluginCallScope&) = delete;

 private:
  std::string_view name_, path_;
};

}  // namespace plinth
