// fake_host.hpp — a plinth_host for plugin tests: config lookups read a
// toml::table parsed from a string, paths resolve against a given folder,
// set_error keeps the last message. It is not the core's host (no logging
// sinks, no file:line in type errors beyond the key).
#pragma once

#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include <toml++/toml.h>

#include "plinth/plugin.h"

// The opaque config handle of plugin.h, as this fake host defines it.
struct plinth_config {
  toml::table table;
  std::filesystem::path base_dir;
  mutable std::deque<std::string> strings;  // storage for resolved paths
};

namespace plinth::test {

class fake_host {
 public:
  fake_host();
  fake_host(const fake_host&) = delete;
  fake_host& operator=(const fake_host&) = delete;

  const plinth_host* host() const { return &host_; }
  // Parse `toml_text` into a config owned by this host; paths resolve
  // against `base_dir`. Throws on a TOML syntax error (a test bug).
  const plinth_config* config(std::string_view toml_text, const std::filesystem::path& base_dir = {});

  std::string last_error() const;
  plinth_status last_code() const;
  void clear_error();

 private:
  plinth_host host_{};
  std::deque<std::unique_ptr<plinth_config>> configs_;
  mutable std::mutex mu_;
  std::string error_;
  plinth_status code_ = PLINTH_OK;
  friend struct fake_host_access;
};

}  // namespace plinth::test
