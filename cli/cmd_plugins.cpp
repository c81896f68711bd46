// cmd_plugins.cpp — `plinth plugins list | inspect NAME | doctor`: what the
// registry found, what each plugin declares, and why a broken one did not
// load. Not here: loading (core/src/plugin/registry.cpp).
#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <sstream>

#include "commands.hpp"
#include "plinth/backend.h"
#include "plinth/backend_instance.hpp"
#include "plinth/plugins.hpp"

namespace plinth::cli {

namespace {

std::string abi_of(const PluginInfo& p) {
  if (p.abi_major == 0 && p.abi_minor == 0) return p.entry.abi.empty() ? "-" : p.entry.abi + " (manifest)";
  return std::to_string(p.abi_major) + "." + std::to_string(p.abi_minor);
}

std::string or_dash(const std::string& s) { return s.empty() ? "-" : s; }

void print_table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> w;
  for (const auto& r : rows) {
    w.resize(std::max(w.size(), r.size()), 0);
    for (size_t i = 0; i < r.size(); ++i) w[i] = std::max(w[i], r[i].size());
  }
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(w[i] - r[i].size() + 2, ' ');
    }
    std::cout << line << '\n';
  }
}

int cmd_list(const Context& ctx) {
  int rc = kExitOk;
  auto reg = ctx.open_registry(&rc);
  if (!reg) return rc;
  reg->load_all();  // what is installed and whether it loads: every library, used or not
  if (reg->plugins().empty()) {
    std::cout << "no plugins found (see `plinth plugins doctor`)\n";
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows{{"NAME", "KIND", "VERSION", "ABI", "PATH", "STATE"}};
  for (const auto& p : reg->plugins()) {
    rows.push_back({p.entry.name, p.entry.kind, or_dash(p.version), abi_of(p), p.entry.path.string(),
                    state_name(p.state)});
  }
  print_table(rows);
  if (!reg->manifest_errors().empty())
    std::cout << reg->manifest_errors().size() << " manifest error(s): see `plinth plugins doctor`\n";
  return kExitOk;
}

// Call a backend's device functions and print what they report.
void print_devices(const plinth_component* c) {
  const auto* b = static_cast<const plinth_backend_v1*>(c->table);
  int32_t n = 0;
  plinth_status st = PLINTH_ERR_INTERNAL;
  try {
    st = b->device_count(&n);
  } catch (...) {
    set_plugin_error("device_count threw a C++ exception");
  }
  if (st != PLINTH_OK) {
    std::cout << "    devices: error: " << plugin_status(st, "device_count").message() << '\n';
    return;
  }
  std::cout << "    device_count: " << n << '\n';
  for (int32_t i = 0; i < n; ++i) {
    plinth_device_properties d{};
    d.struct_size = PLINTH_DEVICE_PROPERTIES_STRUCT_SIZE;
    try {
      st = b->device_properties(i, &d);
    } catch (...) {
      st = PLINTH_ERR_INTERNAL;
      set_plugin_error("device_properties threw a C++ exception");
    }
    if (st != PLINTH_OK) {
      std::cout << "    [" << i << "] error: " << plugin_status(st, "device_properties").message() << '\n';
      continue;
    }
    d.name[sizeof d.name - 1] = '\0';
    static const char* kinds[] = {"host", "cuda", "hip", "other"};
    const char* mk = (d.memory_kind >= 0 && d.memory_kind <= 3) ? kinds[d.memory_kind] : "?";
    std::cout << "    [" << i << "] " << d.name << '\n'
              << "        memory_kind: " << mk << ", total_memory: " << d.total_memory
              << " bytes, compute_units: " << d.compute_units << '\n'
              << "        bf16: " << d.has_bf16 << ", fp16: " << d.has_fp16
              << ", host_visible: " << d.host_visible << '\n';
  }
}

int cmd_inspect(const Context& ctx, const std::string& name) {
  int rc = kExitOk;
  auto reg = ctx.open_registry(&rc);
  if (!reg) return rc;
  reg->load_all();  // what is installed and whether it loads: every library, used or not
  const PluginInfo* pi = nullptr;
  for (const auto& p : reg->plugins()) {
    if (p.entry.name != name) continue;
    if (!pi || p.state == PluginState::loaded) pi = &p;
  }
  if (!pi) {
    std::string known;
    for (const auto& p : reg->plugins()) known += (known.empty() ? "" : ", ") + p.entry.name;
    std::fprintf(stderr, "plinth: no plugin named '%s'; known: %s\n", name.c_str(),
                 known.empty() ? "none" : known.c_str());
    return kExitBadInput;
  }
  const PluginInfo& p = *pi;
  auto row = [](const char* k, const std::string& v) {
    std::cout << k << std::string(14 - std::strlen(k), ' ') << v << '\n';
  };
  row("name:", p.entry.name);
  row("state:", state_name(p.state));
  if (!p.reason.empty()) row("reason:", p.reason);
  if (!p.hint.empty()) row("hint:", p.hint);
  row("kind:", p.entry.kind);
  row("version:", or_dash(p.version));
  row("abi:", abi_of(p) + (p.entry.abi.empty() ? "" : "  (manifest declares \"" + p.entry.abi + "\")"));
  row("path:", p.entry.path.string());
  row("manifest:", p.entry.manifest.string() + ":" + std::to_string(p.entry.line) + " (" + p.origin + ")");
  row("priority:", std::to_string(p.entry.priority));
  row("sha256:", or_dash(p.sha256) + (p.entry.sha256 ? "  (pinned)" : ""));
  row("score:", p.score ? std::to_string(*p.score) : "- (plinth_plugin_score not exported)");
  for (const auto& [k, v] : p.entry.metadata) row((k + ":").c_str(), v);
  if (p.components.empty()) return kExitOk;
  std::cout << "components:\n";
  for (const auto& c : p.components) {
    std::cout << "  " << kind_name(c.kind) << " '" << c.name << "'"
              << (c.description.empty() ? "" : ": " + c.description)
              << (c.shadowed_by.empty() ? "" : "  (shadowed by plugin '" + c.shadowed_by + "')") << '\n';
    if (c.component && c.component->config_keys) {
      std::string keys;
      for (const char* const* k = c.component->config_keys; *k; ++k)
        keys += (keys.empty() ? "" : ", ") + std::string(*k);
      std::cout << "    config keys: " << (keys.empty() ? "(none)" : keys) << '\n';
    }
    if (c.component && c.kind == PLINTH_KIND_BACKEND && p.state == PluginState::loaded)
      print_devices(c.component);
  }
  return kExitOk;
}

int cmd_doctor(const Context& ctx) {
  int rc = kExitOk;
  auto reg = ctx.open_registry(&rc);
  if (!reg) return rc;
  reg->load_all();  // what is installed and whether it loads: every library, used or not
  const TrustPolicy trust = effective_trust(ctx.discovery().trust);
  std::cout << "trust: " << (trust.allow_insecure ? "insecure files allowed" : "strict permissions")
            << ", signatures "
            << (trust.require_signature ? "required (keys: " + trust.trusted_keys_dir.string() + ")"
                                        : "not required")
            << '\n';
  for (const auto& m : reg->manifests()) {
    if (!m.refused.empty())
      std::cout << "REFUSED   manifest " << m.file.string() << " (" << m.origin
                << ")\n          reason: " << m.refused << '\n';
    else
      std::cout << "manifest  " << m.file.string() << " (" << m.origin << "): " << m.entries << " entr"
                << (m.entries == 1 ? "y" : "ies") << '\n';
  }
  for (const auto& t : reg->trust_problems()) std::cout << "KEY       " << t << '\n';
  size_t loaded = 0, failed = 0, shadowed = 0;
  for (const auto& p : reg->plugins()) {
    const std::string where =
        p.entry.path.string() + "  [" + p.entry.manifest.string() + ":" + std::to_string(p.entry.line) + "]";
    switch (p.state) {
      case PluginState::loaded:
        ++loaded;
        std::cout << "ok        " << p.entry.name << " " << or_dash(p.version) << " (" << p.entry.kind
                  << ")  " << where << (p.signed_by.empty() ? "" : "  signed by " + p.signed_by) << '\n';
        break;
      case PluginState::shadowed:
        ++shadowed;
        std::cout << "shadowed  " << p.entry.name << "  " << where << "\n          " << p.reason << '\n';
        break;
      case PluginState::failed:
        ++failed;
        std::cout << "FAILED    " << p.entry.name << "  " << where << "\n          reason: " << p.reason
                  << '\n';
        if (!p.hint.empty()) std::cout << "          hint: " << p.hint << '\n';
        break;
      case PluginState::unopened:  // not after load_all()
        break;
    }
    for (const auto& c : p.components) {
      if (!c.shadowed_by.empty())
        std::cout << "          " << kind_name(c.kind) << " '" << c.name << "' is shadowed by plugin '"
                  << c.shadowed_by << "'\n";
    }
  }
  // Backends that loaded but cannot run here (no GPU, no driver, score 0):
  // not broken, so the exit status stays, but `name = "auto"` skips them and
  // naming one in a pipeline fails; say why, in the plugin's words.
  for (const auto& p : reg->plugins()) {
    if (p.state != PluginState::loaded) continue;
    for (const auto& c : p.components) {
      if (c.kind != PLINTH_KIND_BACKEND || !c.component || !c.shadowed_by.empty()) continue;
      const auto probe = probe_devices(static_cast<const plinth_backend_v1*>(c.component->table));
      const bool zero_score = p.score && *p.score <= 0;
      if (probe.count > 0 && !zero_score) continue;
      if (probe.count <= 0)
        std::cout << "no device backend '" << c.name << "' (" << p.entry.name << "): " << probe.reason()
                  << '\n';
      else
        std::cout << "score 0   backend '" << c.name << "' (" << p.entry.name
                  << "): plinth_plugin_score() is " << *p.score << ", the plugin says it cannot run here ("
                  << probe.count << " device(s))\n";
    }
  }
  for (const auto& e : reg->manifest_errors()) std::cout << "MANIFEST  " << e << '\n';
  std::cout << loaded << " loaded, " << failed << " failed, " << shadowed << " shadowed, "
            << reg->manifest_errors().size() << " manifest error(s)\n";
  if (reg->plugins().empty() && reg->manifest_errors().empty())
    std::cout
        << "no plugin manifests found; searched --plugin-path, $PLINTH_PLUGIN_PATH, the user and system "
           "plugins.d folders and the install's share/plinth/plugins.d\n";
  return (failed || !reg->manifest_errors().empty()) ? kExitFailure : kExitOk;
}

}  // namespace

void add_plugins_commands(CLI::App& app, Context& ctx) {
  auto* plugins = app.add_subcommand("plugins", "List, inspect and diagnose plugins");
  plugins->require_subcommand(1);
  // These commands diagnose broken plugins, so a plugin's load and init run
  // first in a child process with a time limit: one that crashes, exits or
  // hangs is reported as failed instead of taking the command down.
  auto probe = std::make_shared<double>(10);
  auto probed = [probe](CLI::App* sub) {
    sub->add_option("--probe-timeout", *probe,
                    "Seconds a plugin's load and init may take in the probe process before it is killed and "
                    "reported as hung (default 10)")
        ->check(CLI::PositiveNumber);
  };
  auto* list =
      plugins->add_subcommand("list", "Table of every plugin found: name, kind, version, ABI, path, state");
  probed(list);
  list->callback([&ctx, probe] {
    ctx.probe_timeout_s = *probe;
    ctx.run = [&ctx] { return cmd_list(ctx); };
  });
  auto* inspect =
      plugins->add_subcommand("inspect", "Everything a plugin declares, and its devices for a backend");
  auto name = std::make_shared<std::string>();
  inspect->add_option("name", *name, "Plugin name (as in `plinth plugins list`)")->required();
  probed(inspect);
  inspect->callback([&ctx, name, probe] {
    ctx.probe_timeout_s = *probe;
    ctx.run = [&ctx, name] { return cmd_inspect(ctx, *name); };
  });
  auto* doctor = plugins->add_subcommand(
      "doctor",
      "Check every manifest and entry: loaded, or why not (exit 1 when anything is broken or refused)");
  doctor->add_flag("--allow-insecure-plugins", ctx.trust.allow_insecure,
                   "Do not refuse files others may write (as allow_insecure_plugins = true)");
  doctor->add_flag("--require-signature", ctx.trust.require_signature,
                   "Check every library's minisign signature (as require_signature = true)");
  doctor->add_option("--trusted-keys", ctx.trust.trusted_keys_dir,
                     "Folder of trusted minisign public keys (default $PLINTH_TRUSTED_KEYS_DIR or "
                     "/etc/plinth/trusted-keys)");
  probed(doctor);
  doctor->callback([&ctx, probe] {
    ctx.probe_timeout_s = *probe;
    ctx.run = [&ctx] { return cmd_doctor(ctx); };
  });
}

}  // namespace plinth::cli
