// manifest_fuzz.cpp — fuzz target: any bytes as a plugin manifest through
// parse_manifest, then every declared ABI range through parse_abi_range.
// Not here: opening the libraries a manifest names.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "plugin/manifest.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  plinth::ManifestFile m = plinth::parse_manifest(text, "/fuzz/plugins.d/fuzz.toml");
  for (const auto& e : m.errors)
    if (e.empty()) std::abort();  // every problem is reported with a message
  for (const auto& e : m.entries) {
    if (e.name.empty() || !e.path.is_absolute()) std::abort();  // kept entries are complete
    auto r = plinth::parse_abi_range(e.abi);
    if (r.ok()) (void)plinth::abi_range_mismatch(r.value(), 1, 0);
  }
  // The range parser also takes free text directly.
  auto r = plinth::parse_abi_range(text);
  if (r.ok()) (void)plinth::abi_range_mismatch(r.value(), 1, 0);
  return 0;
}
