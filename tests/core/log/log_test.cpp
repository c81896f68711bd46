// Tests for core/src/log/log.cpp: level names, $PLINTH_LOG_LEVEL, and the
// extra file sink a run's log.txt uses.
#include "plinth/log.hpp"

#include <gtest/gtest.h>

#include <cstdlib>

#include "../plugin/test_util.hpp"

namespace plinth {
namespace {

TEST(log, parses_the_documented_level_names) {
  EXPECT_EQ(parse_log_level("trace").value(), spdlog::level::trace);
  EXPECT_EQ(parse_log_level("debug").value(), spdlog::level::debug);
  EXPECT_EQ(parse_log_level("info").value(), spdlog::level::info);
  EXPECT_EQ(parse_log_level("warn").value(), spdlog::level::warn);
  EXPECT_EQ(parse_log_level("error").value(), spdlog::level::err);
  EXPECT_EQ(parse_log_level("off").value(), spdlog::level::off);
  auto bad = parse_log_level("loud");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), errc::invalid_argument);
  EXPECT_NE(bad.status().message().find("'loud'"), std::string::npos);
  EXPECT_NE(bad.status().message().find("trace, debug, info, warn, error or off"), std::string::npos);
}

TEST(log, environment_sets_the_level_and_a_bad_value_is_ignored) {
  const auto old = logger().level();
  setenv("PLINTH_LOG_LEVEL", "error", 1);
  init_logging_from_env();
  EXPECT_EQ(logger().level(), spdlog::level::err);
  setenv("PLINTH_LOG_LEVEL", "shouty", 1);
  init_logging_from_env();
  EXPECT_EQ(logger().level(), spdlog::level::err);
  unsetenv("PLINTH_LOG_LEVEL");
  EXPECT_TRUE(set_log_level("").ok());
  EXPECT_EQ(logger().level(), spdlog::level::err);
  logger().set_level(old);
}

TEST(log, file_sink_receives_lines_at_or_above_the_level) {
  test::TempDir tmp;
  const auto old = logger().level();
  ASSERT_TRUE(set_log_level("info").ok());
  auto sink = add_log_file(tmp.path() / "log.txt");
  ASSERT_TRUE(sink.ok()) << sink.status().message();
  logger().info("step {} loss {}", 1, 2.5);
  logger().debug("not written");
  logger().flush();
  remove_log_sink(*sink);
  logger().info("after removal");
  std::string text = test::read_file(tmp.path() / "log.txt");
  EXPECT_NE(text.find("step 1 loss 2.5"), std::string::npos) << text;
  EXPECT_EQ(text.find("not written"), std::string::npos);
  EXPECT_EQ(text.find("after removal"), std::string::npos);
  // A folder that cannot exist: its parent is a regular file.
  test::write_file(tmp.path() / "file", "x");
  EXPECT_EQ(add_log_file(tmp.path() / "file" / "log.txt").status().code(), errc::io);
  logger().set_level(old);
}

}  // namespace
}  // namespace plinth
