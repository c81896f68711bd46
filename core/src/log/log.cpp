// log.cpp — the "plinth" spdlog logger: stderr sink (coloured on a terminal
// unless NO_COLOR is set), level parsing from the command line or
// $PLINTH_LOG_LEVEL, extra sinks (files, test captures).
// Not here: routing plugin messages (plugin/host.cpp calls logger()).
#include "plinth/log.hpp"

#include <cstdlib>
#include <mutex>
#include <string>

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

namespace plinth {

namespace {

std::mutex& sinks_mutex() {
  static std::mutex m;
  return m;
}

std::shared_ptr<spdlog::logger> make_logger() {
  // spdlog colours only a terminal; NO_COLOR (https://no-color.org), when set
  // and not empty, turns colour off there too.
  const char* no_color = std::getenv("NO_COLOR");
  auto err = std::make_shared<spdlog::sinks::stderr_color_sink_mt>(
      no_color && *no_color ? spdlog::color_mode::never : spdlog::color_mode::automatic);
  auto l = std::make_shared<spdlog::logger>("plinth", err);
  l->set_pattern("[%H:%M:%S.%e] [%^%l%$] %v");
  l->set_level(spdlog::level::info);
  l->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(l);
  return l;
}

}  // namespace

spdlog::logger& logger() {
  static std::shared_ptr<spdlog::logger> l = make_logger();
  return *l;
}

Result<spdlog::level::level_enum> parse_log_level(std::string_view name) {
  using spdlog::level::level_enum;
  if (name == "trace") return level_enum::trace;
  if (name == "debug") return level_enum::debug;
  if (name == "info") return level_enum::info;
  if (name == "warn" || name == "warning") return level_enum::warn;
  if (name == "error") return level_enum::err;
  if (name == "critical") return level_enum::critical;
  if (name == "off") return level_enum::off;
  return error(errc::invalid_argument, "unknown log level '" + std::string(name) +
                                           "' (expected trace, debug, info, warn, error or off)");
}

Status set_log_level(std::string_view name) {
  if (name.empty()) return {};
  auto lvl = parse_log_level(name);
  if (!lvl) return lvl.status();
  logger().set_level(*lvl);
  return {};
}

void init_logging_from_env() {
  const char* env = std::getenv("PLINTH_LOG_LEVEL");
  if (!env || !*env) return;
  Status s = set_log_level(env);
  if (!s)
    logger().warn("PLINTH_LOG_LEVEL: {}; keeping '{}'", s.message(),
                  spdlog::level::to_string_view(logger().level()));
}

Result<spdlog::sink_ptr> add_log_file(const std::filesystem::path& path) {
  try {
    auto sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(path.string(), false);
    sink->set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%l] %v");
    add_log_sink(sink);
    return spdlog::sink_ptr(sink);
  } catch (const spdlog::spdlog_ex& e) {
    return error(errc::io, "cannot open log file " + path.string() + ": " + e.what());
  }
}

void add_log_sink(spdlog::sink_ptr sink) {
  std::lock_guard<std::mutex> lock(sinks_mutex());
  // spdlog's sink list is not synchronised with logging; attaching happens at
  // setup time (before worker threads log), which is the documented use.
  logger().sinks().push_back(std::move(sink));
}

void remove_log_sink(const spdlog::sink_ptr& sink) {
  std::lock_guard<std::mutex> lock(sinks_mutex());
  auto& v = logger().sinks();
  for (auto it = v.begin(); it != v.end(); ++it) {
    if (*it == sink) {
      v.erase(it);
      break;
    }
  }
}

}  // namespace plinth
