// log.hpp — the core's logging: one spdlog logger named "plinth" writing to
// stderr, its level taken from --log-level or $PLINTH_LOG_LEVEL, and extra
// sinks (a run's log.txt) added later. Plugins log through the host table,
// which routes here tagged with the plugin's name.
// Not here: metrics (train/metrics), the plugin host table (plugin/host.cpp).
#pragma once

#include <filesystem>
#include <memory>
#include <string_view>

#include <spdlog/spdlog.h>

#include "plinth/status.hpp"

namespace plinth {

// The core's logger (created on first use, also made spdlog's default).
spdlog::logger& logger();

// "trace" | "debug" | "info" | "warn" | "error" | "off" (also "warning",
// "critical"); invalid_argument naming the accepted values otherwise.
Result<spdlog::level::level_enum> parse_log_level(std::string_view name);

// Set the level. An empty name is a no-op.
Status set_log_level(std::string_view name);

// Apply $PLINTH_LOG_LEVEL when set. A bad value is reported (warn) and ignored.
void init_logging_from_env();

// Also write every line to `path` (appending; the folder must exist).
// Returns the sink so it can be removed again with remove_log_sink().
Result<spdlog::sink_ptr> add_log_file(const std::filesystem::path& path);

// Attach / detach any sink (tests capture log lines this way).
void add_log_sink(spdlog::sink_ptr sink);
void remove_log_sink(const spdlog::sink_ptr& sink);

}  // namespace plinth
