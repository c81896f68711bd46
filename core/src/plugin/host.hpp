// host.hpp — the plinth_host services table handed to every plugin: log
// routed into spdlog tagged [plugin-name], a thread-local error slot, and
// config lookups over plinth_config (plugin_config.hpp).
// Not here: loading plugins (registry.cpp).
#pragma once

#include <string>

#include "plinth/plugin.h"

namespace plinth {

// The process-wide host table (static storage: it outlives every plugin).
const plinth_host* plugin_host();

// Record `msg` as the calling thread's plugin error (what set_error does).
void set_plugin_error(std::string msg);

}  // namespace plinth
