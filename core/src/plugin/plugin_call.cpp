// plugin_call.cpp — the record of the plugin whose code is running
// (plinth/plugin_call.hpp): a fixed buffer written before the plugin is
// entered and a flag a signal handler reads, so reading needs no allocation
// and no lock.
#include "plinth/plugin_call.hpp"

#include <atomic>
#include <cstdio>

namespace plinth {
namespace {

char g_text[1024];
std::atomic<bool> g_active{false};

void fill(std::string_view name, std::string_view path, std::string_view stage) {
  g_active.store(false);
  std::snprintf(g_text, sizeof g_text, "plugin '%.*s' (%.*s) during %.*s", static_cast<int>(name.size()),
                name.data(), static_cast<int>(path.size()), path.data(), static_cast<int>(stage.size()),
                stage.data());
  g_active.store(true);
}

}  // namespace

const char* plugin_call_in_progress() { return g_active.load() ? g_text : nullptr; }

PluginCallScope::PluginCallScope(std::string_view name, std::string_view path, std::string_view stage)
    : name_(name), path_(path) {
  fill(name_, path_, stage);
}

void PluginCallScope::stage(std::string_view stage) { fill(name_, path_, stage); }

PluginCallScope::~PluginCallScope() { g_active.store(false); }

}  // namespace plinth
