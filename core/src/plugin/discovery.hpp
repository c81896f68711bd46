// discovery.hpp — where manifests are looked for, highest precedence first:
// the pipeline's [plugins] manifests, $PLINTH_PLUGIN_PATH, the user's config
// folder, /etc/plinth/plugins.d, the install's share/plinth/plugins.d.
// Not here: reading the manifests (manifest.hpp).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "plinth/registry.hpp"

namespace plinth {

struct FoundManifest {
  std::filesystem::path file;  // absolute
  std::string origin;  // "--plugin-path", "pipeline", "PLINTH_PLUGIN_PATH", "user", "system", "install"
};

// The manifest files to read, in precedence order, each file once. A folder
// contributes its *.toml files in sorted filename order; a file named
// explicitly is read whatever its extension. A pipeline manifest path that
// does not exist is an io error; other missing folders are skipped.
Result<std::vector<FoundManifest>> discover_manifests(const DiscoveryOptions& options);

// <dir of the running binary and of libplinth>/../share/plinth/plugins.d,
// those that exist, without duplicates.
std::vector<std::filesystem::path> install_manifest_dirs();

}  // namespace plinth
