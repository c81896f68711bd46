// test_util.hpp — helpers shared by the plugin tests: a temporary folder,
// writing a file, capturing the core's log lines, the fixture folders.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <spdlog/sinks/ostream_sink.h>

#include "plinth/log.hpp"

namespace plinth::test {

inline std::filesystem::path fixtures_dir() {
  return std::filesystem::path(PLINTH_BINARY_DIR) / "tests" / "fixtures" / "plugins";
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "plinth-test-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline void write_file(const std::filesystem::path& p, const std::string& text) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Captures every line the core logs while alive.
class LogCapture {
 public:
  LogCapture() : sink_(std::make_shared<spdlog::sinks::ostream_sink_mt>(out_)) {
    sink_->set_pattern("[%l] %v");
    plinth::add_log_sink(sink_);
    old_ = plinth::logger().level();
    plinth::logger().set_level(spdlog::level::debug);
  }
  ~LogCapture() {
    plinth::remove_log_sink(sink_);
    plinth::logger().set_level(old_);
  }
  std::vector<std::string> lines() const {
    std::vector<std::string> v;
    std::istringstream in(out_.str());
    for (std::string l; std::getline(in, l);) v.push_back(l);
    return v;
  }
  // Lines containing every one of `parts`.
  std::vector<std::string> matching(const std::vector<std::string>& parts) const {
    std::vector<std::string> v;
    for (const auto& l : lines()) {
      bool all = true;
      for (const auto& p : parts) all = all && l.find(p) != std::string::npos;
      if (all) v.push_back(l);
    }
    return v;
  }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink_;
  spdlog::level::level_enum old_;
};

}  // namespace plinth::test
