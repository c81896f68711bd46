// registry.hpp — the plugin registry: finds manifests, reads them before any
// library is opened, loads a library through Boost.DLL when a component of
// it is first needed (or all at once: load_all), validates its tables, and
// hands out components by (kind, name). A broken plugin is
// recorded with its reason and skipped; the rest still load. Plugins must
// not throw: an exception escaping init() is caught here (catch (...)) and
// reported as a failed plugin, which works for g++-built C++ plugins only.
// Not here: parsing the pipeline (config/), running ops (exec/).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "plinth/plugin.h"
#include "plinth/status.hpp"

namespace plinth {

// One [[plugin]] entry of a manifest, as written (path resolved).
struct ManifestEntry {
  std::string name;
  std::string kind;                // "backend" | "comm" | "optimizer" | "data"
  std::filesystem::path path;      // absolute, resolved against the manifest's folder
  bool path_relative = false;      // `path` was written relative (to the manifest's folder)
  std::filesystem::path manifest;  // the file it came from
  int line = 0;                    // line of the [[plugin]] header in that file
  int abi_line = 0;                // line of its `abi` key (0: none; the header's then)
  std::string abi;                 // the declared ABI range as written ("1", "1.0-1.3"); empty: any 1.x
  std::optional<std::string> sha256;
  int priority = 0;
  std::map<std::string, std::string> metadata;  // vendor, description, other free-form keys
  // `components = ["cpu"]`: the names the library provides, so a lookup of
  // another name leaves it closed. Empty: not declared; the library is opened
  // whenever a component of its kind is looked up.
  std::vector<std::string> components;
};

// unopened: its manifest was read, but nothing has needed its components yet,
// so its library was never opened (Registry::load_all opens it).
enum class PluginState { loaded, failed, shadowed, unopened };

struct ComponentInfo {
  plinth_kind kind = PLINTH_KIND_BACKEND;
  std::string name;
  std::string description;
  const plinth_component* component = nullptr;  // valid while the registry lives; NULL unless loaded
  // Non-empty when another loaded plugin provides a component of the same
  // kind and name and wins (higher priority, or earlier precedence on a tie):
  // "<plugin>". A shadowed component is not returned by find().
  std::string shadowed_by;
};

struct PluginInfo {
  ManifestEntry entry;
  PluginState state = PluginState::failed;
  std::string reason;  // why failed / shadowed; empty when loaded
  std::string hint;    // a likely fix, where the cause is common; may be empty
  std::string version;
  uint32_t abi_major = 0, abi_minor = 0;
  std::string sha256;  // of the library file, when it could be read
  std::vector<ComponentInfo> components;
  std::string
      origin;  // where its manifest was found: "pipeline", "PLINTH_PLUGIN_PATH", "user", "system", "install"
  std::optional<int32_t> score;  // plinth_plugin_score(), when the library exports it
  std::string signed_by;         // key ID (hex) of a verified signature; empty when not checked
};

// One manifest file found by discovery, and whether it was read.
struct ManifestStatus {
  std::filesystem::path file;
  std::string origin;   // as PluginInfo::origin
  size_t entries = 0;   // [[plugin]] entries kept
  std::string refused;  // non-empty: not read (untrusted permissions)
};

// What the loader trusts (docs/plugins.md, "Trust"). Environment variables
// add to it: PLINTH_ALLOW_INSECURE_PLUGINS=1, PLINTH_REQUIRE_SIGNATURE=1,
// PLINTH_TRUSTED_KEYS_DIR=<dir>.
struct TrustPolicy {
  // Load libraries and manifests that someone other than their owner or root
  // may write, or that belong to another user (refused by default, as ssh's
  // StrictModes refuses loose key files).
  bool allow_insecure = false;
  // Every library needs a detached minisign signature <library>.minisig by
  // one of the trusted keys.
  bool require_signature = false;
  // Folder of trusted minisign public keys (*.pub); empty:
  // $PLINTH_TRUSTED_KEYS_DIR, else /etc/plinth/trusted-keys.
  std::filesystem::path trusted_keys_dir;
};

const char* state_name(PluginState state);  // "loaded" | "failed" | "shadowed" | "unopened"

// Where to look for manifests, highest precedence first (see docs/plugins.md):
// the pipeline's [plugins] manifests, $PLINTH_PLUGIN_PATH, the user's config
// folder, /etc/plinth/plugins.d, the install's share/plinth/plugins.d.
struct DiscoveryOptions {
  std::vector<std::filesystem::path> pipeline_manifests;  // files or folders
  // The command line's --plugin-path (files or folders): searched first, and,
  // like a pipeline's, loaded at once; named "--plugin-path" as their origin.
  std::vector<std::filesystem::path> command_line_manifests;
  bool use_environment = true;  // $PLINTH_PLUGIN_PATH, and the user folder when use_user
  bool use_user = true;         // $XDG_CONFIG_HOME/plinth/plugins.d (or ~/.config/plinth/plugins.d)
  bool use_system = true;       // /etc/plinth/plugins.d
  bool use_install = true;      // <prefix>/share/plinth/plugins.d next to the binary
  TrustPolicy trust;
  // > 0: before a library is opened in this process, open it and run its
  // plinth_plugin_get and init in a child process first, killed after this
  // many seconds; a plugin that crashes, exits or hangs there is recorded as
  // failed (naming how it died) and never opened here. 0: no probe.
  double probe_timeout_s = 0;
};

class Registry {
 public:
  // Discover and read every manifest. Libraries of manifests named
  // explicitly (pipeline_manifests) are loaded at once, so a broken one is
  // the caller's error; the others when find() or names() first needs a
  // component of theirs. Fails only when nothing can be done at all; broken
  // manifests and plugins are recorded in plugins() and logged, one line
  // each, naming the plugin, the path and the reason.
  static Result<std::shared_ptr<Registry>> open(const DiscoveryOptions& options);

  virtual ~Registry() = default;

  // Open every library not opened yet (`plinth plugins list`, doctor).
  virtual void load_all() = 0;

  // Every manifest entry found, in precedence order, with its state (an
  // entry changes from unopened when its library is opened).
  virtual const std::vector<PluginInfo>& plugins() const = 0;
  // Manifest files that could not be parsed: "file:line:col: message".
  virtual const std::vector<std::string>& manifest_errors() const = 0;
  // Every manifest file found, in precedence order, read or refused.
  virtual const std::vector<ManifestStatus>& manifests() const = 0;
  // Problems with the trusted keys (when signatures are required): one line each.
  virtual const std::vector<std::string>& trust_problems() const = 0;

  // A loaded component, or not_found with a message listing the installed
  // names of that kind. Opens the libraries that may provide it (their
  // manifest declares `name`, or declares no components, and their kind).
  virtual Result<const plinth_component*> find(plinth_kind kind, std::string_view name) const = 0;
  // The names of every loaded component of `kind`; opens every library of that kind.
  virtual std::vector<std::string> names(plinth_kind kind) const = 0;
  // The plugin (loaded) that provides a component.
  virtual const PluginInfo* owner(const plinth_component* component) const = 0;
  // A handle that keeps the component's library open while held.
  virtual std::shared_ptr<void> keep_alive(const plinth_component* component) const = 0;

  // The host services table given to plugins (log routed into spdlog).
  virtual const plinth_host* host() const = 0;
};

// The services table given to every plugin (process-wide, static storage).
const plinth_host* plugin_host();

// The last error message a plugin set with host->set_error on this thread,
// then cleared. Empty when none.
std::string take_plugin_error();

// Turn a plinth_status from a plugin call into a Status whose message is
// "<what>: <plugin's message>".
Status plugin_status(plinth_status s, std::string_view what);

}  // namespace plinth
