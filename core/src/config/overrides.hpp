// overrides.hpp — `--set key=value` on the command line: each argument split
// into its dotted key and value, the key found in the pipeline schema (a
// section key's type from pipeline_schema.cpp, a layer key's from its layer
// type's table, a plugin key's from the value it replaces), the value typed
// by it and written into the parsed pipeline.toml table before the pipeline
// is read. Every node written carries "--set <arg>" as its source path, so a
// later error about it names the argument instead of a file position.
// Not here: checking the result (config/pipeline.cpp reads it as the file).
#pragma once

#include <span>
#include <string>
#include <vector>

#include <toml++/toml.h>

#include "plinth/status.hpp"

namespace plinth::config {

// Applies `sets` ("key=value" each, as given after --set) in order to `doc`,
// the parsed pipeline file: the last of several on one key wins. Errors
// (errc::config) read "--set <arg>: <dotted.key>: <what>", e.g.
// "--set train.epoch=3: train.epoch: unknown key (did you mean 'epochs'?)".
Status apply_overrides(toml::table& doc, std::span<const std::string> sets);

// The dotted key of one --set argument ("optimizer.lr" of "optimizer.lr=3e-4"),
// spaces around it removed; empty when the argument has no '='.
std::string override_key(std::string_view arg);

// `resolved` (resolved_toml's text) with one "# --set <arg>" comment line per
// override after its first line: what a run folder's pipeline.toml and
// `plinth resolve` show. Comments only: reading it back gives the same pipeline.
std::string with_override_comments(const std::string& resolved, std::span<const std::string> sets);
// The "--set" arguments such a text lists, in order.
std::vector<std::string> override_comments(const std::string& text);

}  // namespace plinth::config
