// toml_names.hpp — how the core names TOML value types in error messages
// ("expected an integer, got a string"), shared by the manifest reader, the
// pipeline parser and the host's config lookups.
#pragma once

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

}  // namespace plinth
