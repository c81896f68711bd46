// manifest.hpp — reading plugin manifests (TOML, `[[plugin]]` entries) and
// checking a declared ABI range against this core's, before any library is
// opened. Not here: finding manifest files (discovery.hpp) or loading the
// libraries they name (registry.cpp).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "plinth/registry.hpp"

namespace plinth {

// What one manifest file holds: its valid entries, and one
// "file:line:col: message" per problem (a syntax error, or an entry with a
// missing or mistyped key; such an entry is dropped, the others are kept).
struct ManifestFile {
  std::filesystem::path file;
  std::vector<ManifestEntry> entries;
  std::vector<std::string> errors;
};

ManifestFile read_manifest(const std::filesystem::path& file);
// Parse `text` as if read from `file` (paths resolve against its folder).
ManifestFile parse_manifest(std::string_view text, const std::filesystem::path& file);

// A declared ABI range: "1" (any 1.x), "1.2" (1.x with minor >= 2),
// "1.0-1.3" (1.x with 0 <= minor <= 3). Empty means "1" for this core.
struct AbiRange {
  uint32_t major = 0;
  uint32_t min_minor = 0;
  uint32_t max_minor = UINT32_MAX;
};
Result<AbiRange> parse_abi_range(std::string_view text);

// Empty when a plugin declaring `range` can run on a core of ABI
// major.minor; otherwise why not ("declares ABI 2, this core provides 1.0").
std::string abi_range_mismatch(const AbiRange& range, uint32_t major, uint32_t minor);

const char* kind_name(plinth_kind kind);
// "backend" -> PLINTH_KIND_BACKEND; 0 when unknown.
int kind_from_name(std::string_view name);

}  // namespace plinth
