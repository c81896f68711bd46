// toml_names.hpp — how the core names TOML value types in error messages
// ("expected an integer, got a string") and where a node is ("file:3:7", or
// the `--set` argument that gave it), shared by the manifest reader, the
// pipeline parser and the host's config lookups.
#pragma once

#include <string>
#include <string_view>

#include <toml++/toml.h>

namespace plinth {

inline const char* toml_type_name(toml::node_type t) {
  switch (t) {
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    default:
      return "nothing";
  }
}

// The source path of the nodes a `--set key=value` argument writes
// (config/overrides.cpp): "--set key=value" itself.
inline constexpr std::string_view kOverrideSourcePrefix = "--set ";

// Where a node of `file` is, as messages write it: "<file>:<line>:<col>",
// just "<file>" for a node built in memory, or "--set key=value" for one
// given on the command line.
inline std::string toml_where(const std::string& file, const toml::source_region& r) {
  if (r.path && r.path->rfind(kOverrideSourcePrefix, 0) == 0) return *r.path;
  if (r.begin.line == 0) return file;
  return file + ":" + std::to_string(r.begin.line) + ":" + std::to_string(r.begin.column);
}

}  // namespace plinth
