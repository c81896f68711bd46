// registry.cpp — reads every manifest at open and loads a plugin library
// only when a component of it is needed (find, names; load_all for all):
// manifest checks first (declared kind and ABI, without running plugin
// code), then sha256, ELF check, Boost.DLL open, the entry symbol, table
// validation, the manifest's declared components, init().
// Each failure is one warn line naming plugin, path and reason (+ hint).
// With a probe timeout (plugins doctor, list), the library's load and init
// run first in a child process: a plugin that crashes, exits or hangs there
// is failed with how it died, and never opened in this process.
// Resolves duplicate plugin and component names by priority, then precedence.
// Trust (plugin/trust.hpp): a manifest or library with loose permissions is
// refused unless allowed; with require_signature each library needs a good
// minisign signature by a trusted key.
// Not here: manifest syntax (manifest.cpp), discovery order (discovery.cpp).
#include "plinth/registry.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "plinth/backend.h"
#include "plinth/child_process.hpp"
#include "plinth/comm.h"
#include "plinth/data.h"
#include "plinth/log.hpp"
#include "plinth/optimizer.h"
#include "plinth/plugin_call.hpp"
#include "plugin/discovery.hpp"
#include "plugin/host.hpp"
#include "plugin/library.hpp"
#include "plugin/manifest.hpp"
#include "plugin/openmp_waits.hpp"
#include "plugin/trust.hpp"

namespace plinth {

namespace {

// OpenMP threads that wait for the next parallel region spin before they
// sleep (libgomp's default: 300,000 polls, about a millisecond). On a quiet
// machine that is what makes the step fast; when other processes want the
// cores, spinning threads steal their time and the step is up to 2.4x slower
// than with OMP_WAIT_POLICY=passive (docs/PERFORMANCE.md, "On a busy
// machine"). Unless the user chose (OMP_WAIT_POLICY, GOMP_SPINCOUNT), look
// at the machine as the run starts: when other processes are running on at
// least a quarter of its cores (procs_running in /proc/stat, the median of 5
// samples over ~10 ms, less this process and the other ranks a launcher
// started here), threads sleep at once. libgomp reads the variable once, when
// the first plugin that needs it is loaded: so this runs before any plugin is
// opened (or probed in a child, which inherits it).
}  // namespace

std::string& openmp_wait_note() {
  static std::string note;
  return note;
}

namespace {

int procs_running() {
  std::ifstream f("/proc/stat");
  std::string key;
  long long v = 0;
  while (f >> key) {
    if (key == "procs_running" && f >> v) return static_cast<int>(v);
    f.ignore(1 << 20, '\n');
  }
  return -1;
}

int local_ranks() {
  for (const char* name : {"OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS", "PMIX_LOCAL_SIZE"})
    if (const char* v = std::getenv(name)) {
      const int n = std::atoi(v);
      if (n > 0) return n;
    }
  return 1;
}

void tune_openmp_waiting() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (std::getenv("OMP_WAIT_POLICY") || std::getenv("GOMP_SPINCOUNT")) return;
    int samples[5];
    for (int i = 0; i < 5; ++i) {
      samples[i] = procs_running();
      if (samples[i] < 0) return;  // no /proc/stat: libgomp's default
      if (i < 4) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    std::sort(samples, samples + 5);
    const int cores = std::max(1u, std::thread::hardware_concurrency());
    const int others = samples[2] - 1 - (local_ranks() - 1);
    if (others >= std::max(1, cores / 4)) {
      ::setenv("OMP_WAIT_POLICY", "passive", 0);
      openmp_wait_note() = fmt::format(
          "OpenMP threads sleep while they wait (OMP_WAIT_POLICY=passive): {} other process{} running on {} "
          "cores as this one started; set OMP_WAIT_POLICY=active to keep them spinning",
          others, others == 1 ? " was" : "es were", cores);
      logger().debug("{}", openmp_wait_note());
    } else {
      logger().debug("OpenMP waits: libgomp's default (the machine looked quiet: {} other running)", others);
    }
  });
}

// Minimum struct sizes the core accepts: frozen at their ABI 1.0 values.
// (A later minor appends fields; these stay as they are.)
constexpr size_t kPluginMinSize = PLINTH_PLUGIN_STRUCT_SIZE;
constexpr size_t kComponentMinSize = PLINTH_COMPONENT_STRUCT_SIZE;
constexpr size_t kMaxComponents = 4096;  // a sanity bound against garbage counts

std::string one_line(std::string s) {
  for (char& c : s) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return s;
}

std::string at_line(const ManifestEntry& e) { return e.manifest.string() + ":" + std::to_string(e.line); }

struct Failure {
  std::string reason;
  std::string hint;
};

// Names of required function pointers left NULL in a kind's table (the
// table's struct_size has already been checked against the kind's minimum).
std::vector<std::string> missing_functions(plinth_kind kind, const void* table) {
  std::vector<std::string> m;
#define PLINTH_REQ(T, f) \
  if (!static_cast<const T*>(table)->f) m.push_back(#f)
  switch (kind) {
    case PLINTH_KIND_BACKEND:
      PLINTH_REQ(plinth_backend_v1, device_count);
      PLINTH_REQ(plinth_backend_v1, device_properties);
      PLINTH_REQ(plinth_backend_v1, create);
      PLINTH_REQ(plinth_backend_v1, destroy);
      PLINTH_REQ(plinth_backend_v1, buffer_alloc);
      PLINTH_REQ(plinth_backend_v1, buffer_free);
      PLINTH_REQ(plinth_backend_v1, copy_h2d);
      PLINTH_REQ(plinth_backend_v1, copy_d2h);
      PLINTH_REQ(plinth_backend_v1, copy_d2d);
      PLINTH_REQ(plinth_backend_v1, stream_create);
      PLINTH_REQ(plinth_backend_v1, stream_destroy);
      PLINTH_REQ(plinth_backend_v1, stream_synchronize);
      PLINTH_REQ(plinth_backend_v1, event_create);
      PLINTH_REQ(plinth_backend_v1, event_destroy);
      PLINTH_REQ(plinth_backend_v1, event_record);
      PLINTH_REQ(plinth_backend_v1, stream_wait_event);
      PLINTH_REQ(plinth_backend_v1, event_synchronize);
      PLINTH_REQ(plinth_backend_v1, supports);
      PLINTH_REQ(plinth_backend_v1, launch);
      break;
    case PLINTH_KIND_COMM:
      PLINTH_REQ(plinth_comm_v1, create);
      PLINTH_REQ(plinth_comm_v1, destroy);
      PLINTH_REQ(plinth_comm_v1, info);
      PLINTH_REQ(plinth_comm_v1, supports_memory);
      PLINTH_REQ(plinth_comm_v1, all_reduce);
      PLINTH_REQ(plinth_comm_v1, broadcast);
      PLINTH_REQ(plinth_comm_v1, all_gather);
      PLINTH_REQ(plinth_comm_v1, reduce_scatter);
      PLINTH_REQ(plinth_comm_v1, barrier);
      break;
    case PLINTH_KIND_OPTIMIZER:
      PLINTH_REQ(plinth_optimizer_v1, create);
      PLINTH_REQ(plinth_optimizer_v1, destroy);
      PLINTH_REQ(plinth_optimizer_v1, base_lr);
      PLINTH_REQ(plinth_optimizer_v1, num_state_slots);
      PLINTH_REQ(plinth_optimizer_v1, state_slot_name);
      PLINTH_REQ(plinth_optimizer_v1, num_scratch_slots);
      PLINTH_REQ(plinth_optimizer_v1, step);
      break;
    case PLINTH_KIND_DATA: {
      PLINTH_REQ(plinth_data_v1, open);
      PLINTH_REQ(plinth_data_v1, close);
      PLINTH_REQ(plinth_data_v1, info);
      PLINTH_REQ(plinth_data_v1, field);
      // read is required unless the source streams; a streaming source has next.
      auto* d = static_cast<const plinth_data_v1*>(table);
      if (!d->read && !(PLINTH_HAS_FIELD(d, plinth_data_v1, next) && d->next)) m.push_back("read (or next)");
      break;
    }
  }
#undef PLINTH_REQ
  return m;
}

size_t table_min_size(plinth_kind kind) {
  switch (kind) {
    case PLINTH_KIND_BACKEND:
      return PLINTH_BACKEND_V1_MIN_STRUCT_SIZE;
    case PLINTH_KIND_COMM:
      return PLINTH_COMM_V1_MIN_STRUCT_SIZE;
    case PLINTH_KIND_OPTIMIZER:
      return PLINTH_OPTIMIZER_V1_MIN_STRUCT_SIZE;
    case PLINTH_KIND_DATA:
      return PLINTH_DATA_V1_MIN_STRUCT_SIZE;
  }
  return 0;
}

const char* table_type(plinth_kind kind) {
  switch (kind) {
    case PLINTH_KIND_BACKEND:
      return "plinth_backend_v1";
    case PLINTH_KIND_COMM:
      return "plinth_comm_v1";
    case PLINTH_KIND_OPTIMIZER:
      return "plinth_optimizer_v1";
    case PLINTH_KIND_DATA:
      return "plinth_data_v1";
  }
  return "?";
}

// Component i of a plugin's array. The array's stride is the plugin's
// sizeof(plinth_component), which grows when a later minor appends fields,
// so it is derived from the first element's struct_size, not from ours.
const plinth_component* component_at(const plinth_plugin* p, size_t stride, size_t i) {
  return reinterpret_cast<const plinth_component*>(reinterpret_cast<const char*>(p->components) + i * stride);
}

size_t component_stride(const plinth_plugin* p) {
  const size_t a = alignof(plinth_component);
  return (p->components[0].struct_size + a - 1) / a * a;
}

// Check a plugin descriptor against its manifest entry. Reads a field only
// after checking that struct_size covers it.
std::optional<Failure> validate(const plinth_plugin* p, const ManifestEntry& e, PluginInfo& info) {
  const std::string core = std::to_string(PLINTH_ABI_MAJOR) + "." + std::to_string(PLINTH_ABI_MINOR);
  if (!p) return Failure{"plinth_plugin_get() returned NULL", ""};
  if (p->struct_size < PLINTH_STRUCT_SIZE(plinth_plugin, abi_minor))
    return Failure{"plinth_plugin.struct_size is " + std::to_string(p->struct_size) +
                       ", too small to hold the ABI version",
                   "set struct_size = PLINTH_PLUGIN_STRUCT_SIZE"};
  info.abi_major = p->abi_major;
  info.abi_minor = p->abi_minor;
  if (p->abi_major != PLINTH_ABI_MAJOR)
    return Failure{"built for ABI " + std::to_string(p->abi_major) + "." + std::to_string(p->abi_minor) +
                       ", this core provides ABI " + core,
                   "rebuild against Plinth SDK " + std::to_string(PLINTH_ABI_MAJOR)};
  if (p->struct_size < kPluginMinSize)
    return Failure{"plinth_plugin.struct_size is " + std::to_string(p->struct_size) +
                       ", the minimum for ABI " + std::to_string(PLINTH_ABI_MAJOR) + " is " +
                       std::to_string(kPluginMinSize),
                   "set struct_size = PLINTH_PLUGIN_STRUCT_SIZE"};
  if (!p->name || e.name != p->name)
    return Failure{std::string("the library calls itself '") + (p->name ? p->name : "(NULL)") +
                       "', the manifest says '" + e.name + "'",
                   "fix `name` in " + at_line(e)};
  info.version = p->version ? p->version : "";
  if (p->vendor && !info.entry.metadata.count("vendor")) info.entry.metadata["vendor"] = p->vendor;
  if (p->num_components == 0 || !p->components) return Failure{"it provides no components", ""};
  if (p->num_components > kMaxComponents)
    return Failure{"num_components is " + std::to_string(p->num_components) + ", which is not plausible", ""};
  if (p->components[0].struct_size < kComponentMinSize)
    return Failure{"plinth_component.struct_size is " + std::to_string(p->components[0].struct_size) +
                       ", the minimum is " + std::to_string(kComponentMinSize),
                   "set struct_size = PLINTH_COMPONENT_STRUCT_SIZE"};
  const size_t stride = component_stride(p);
  const int declared = kind_from_name(e.kind);
  std::set<std::string> seen;
  for (size_t i = 0; i < p->num_components; ++i) {
    const plinth_component* c = component_at(p, stride, i);
    const std::string idx = "component " + std::to_string(i);
    if (c->struct_size != p->components[0].struct_size)
      return Failure{idx + ": struct_size is " + std::to_string(c->struct_size) + ", component 0's is " +
                         std::to_string(p->components[0].struct_size) + " (all must be equal)",
                     "set struct_size = PLINTH_COMPONENT_STRUCT_SIZE"};
    if (!c->name || !*c->name) return Failure{idx + " has no name", ""};
    const std::string cname = std::string("component '") + c->name + "'";
    if (static_cast<int>(c->kind) != declared) {
      // "a backend", "an optimizer", or "of unknown kind".
      std::string what = "of unknown kind";
      if (kind_from_name(kind_name(c->kind))) {
        what = kind_name(c->kind);
        what.insert(0, what.find_first_of("aeiou") == 0 ? "an " : "a ");
      }
      return Failure{cname + " is " + what + ", the manifest declares kind '" + e.kind + "'",
                     "fix `kind` in " + at_line(e)};
    }
    if (!seen.insert(c->name).second) return Failure{cname + " is listed twice", ""};
    if (!c->table) return Failure{cname + " has a NULL table", ""};
    const size_t tsize = *static_cast<const size_t*>(c->table);
    if (tsize < table_min_size(c->kind))
      return Failure{cname + ": " + table_type(c->kind) + ".struct_size is " + std::to_string(tsize) +
                         ", the minimum for ABI " + std::to_string(PLINTH_ABI_MAJOR) + " is " +
                         std::to_string(table_min_size(c->kind)),
                     "set struct_size to the header's PLINTH_*_V1_STRUCT_SIZE"};
    auto missing = missing_functions(c->kind, c->table);
    if (!missing.empty()) {
      std::string list;
      for (const auto& m : missing) {
        if (!list.empty()) list += ", ";
        list += m;
      }
      return Failure{cname + ": required function" + (missing.size() > 1 ? "s " : " ") + list + " left NULL",
                     "every function the header does not mark (optional) must be set"};
    }
    ComponentInfo ci;
    ci.kind = c->kind;
    ci.name = c->name;
    ci.description = c->description ? c->description : "";
    ci.component = c;
    info.components.push_back(std::move(ci));
  }
  return std::nullopt;
}

// A manifest that declares its components must declare exactly what the
// library provides: a lookup trusts the declaration to leave others closed.
std::optional<Failure> check_declared(const ManifestEntry& e, const PluginInfo& info) {
  if (e.components.empty()) return std::nullopt;
  std::set<std::string> declared(e.components.begin(), e.components.end()), provided;
  for (const auto& c : info.components) provided.insert(c.name);
  if (declared == provided) return std::nullopt;
  auto list = [](const std::set<std::string>& v) {
    std::string s;
    for (const auto& n : v) s += (s.empty() ? "" : ", ") + n;
    return "[" + s + "]";
  };
  return Failure{
      "the manifest declares components " + list(declared) + ", the library provides " + list(provided),
      "fix `components` in " + at_line(e) + " (or remove it)"};
}

class RegistryImpl final : public Registry {
 public:
  RegistryImpl(const TrustPolicy& trust, double probe_timeout_s)
      : trust_(resolve_trust(trust)), probe_timeout_s_(probe_timeout_s) {}
  ~RegistryImpl() override {
    by_name_.clear();
    lib_of_.clear();
    // Close in reverse load order; a library someone still holds through
    // keep_alive() stays open until that handle goes.
    while (!libs_.empty()) libs_.pop_back();
  }

  void load(const std::vector<FoundManifest>& files);

  void load_all() override {
    std::lock_guard<std::mutex> hold(mutex_);
    open_groups([](const PluginInfo&) { return true; });
  }

  const std::vector<PluginInfo>& plugins() const override { return plugins_; }
  const std::vector<std::string>& manifest_errors() const override { return manifest_errors_; }
  const std::vector<ManifestStatus>& manifests() const override { return manifests_; }
  const std::vector<std::string>& trust_problems() const override { return trust_problems_; }

  Result<const plinth_component*> find(plinth_kind kind, std::string_view name) const override {
    std::lock_guard<std::mutex> hold(mutex_);
    open_groups([&](const PluginInfo& p) { return may_provide(p, kind, &name); });
    auto it = by_name_.find({static_cast<int>(kind), std::string(name)});
    if (it != by_name_.end()) return it->second;
    std::string installed;
    for (const auto& n : names_locked(kind)) installed += (installed.empty() ? "" : ", ") + n;
    return error(errc::not_found, std::string("no ") + kind_name(kind) + " named '" + std::string(name) +
                                      "'; installed: " + (installed.empty() ? "none" : installed) +
                                      " (`plinth plugins doctor` lists plugins that failed to load)");
  }

  std::vector<std::string> names(plinth_kind kind) const override {
    std::lock_guard<std::mutex> hold(mutex_);
    return names_locked(kind);
  }

  const PluginInfo* owner(const plinth_component* component) const override {
    std::lock_guard<std::mutex> hold(mutex_);
    auto it = owner_.find(component);
    return it == owner_.end() ? nullptr : &plugins_[it->second];
  }

  std::shared_ptr<void> keep_alive(const plinth_component* component) const override {
    std::lock_guard<std::mutex> hold(mutex_);
    auto it = lib_of_.find(component);
    return it == lib_of_.end() ? nullptr : std::shared_ptr<void>(it->second);
  }

  const plinth_host* host() const override { return plugin_host(); }

 private:
  // Entries that share a plugin name: the best loadable one wins (priority,
  // then precedence), the rest are shadowed. Opened together, once.
  struct Group {
    std::vector<size_t> members;  // indices into plugins_, best first
    bool opened = false;
  };

  // Whether an entry may provide component `name` (any name: nullptr) of `kind`.
  static bool may_provide(const PluginInfo& p, plinth_kind kind, const std::string_view* name) {
    if (kind_from_name(p.entry.kind) != static_cast<int>(kind)) return false;
    if (!name || p.entry.components.empty()) return true;
    return std::find(p.entry.components.begin(), p.entry.components.end(), *name) != p.entry.components.end();
  }

  std::vector<std::string> names_locked(plinth_kind kind) const {
    open_groups([&](const PluginInfo& p) { return may_provide(p, kind, nullptr); });
    std::vector<std::string> v;
    for (const auto& [k, c] : by_name_) {
      if (k.first == static_cast<int>(kind)) v.push_back(k.second);
    }
    return v;
  }

  // Open every group not opened yet with a member `wanted` accepts. Const
  // because lookups are: opening a library changes what is cached, not what
  // the registry holds (the manifests). Callers hold mutex_.
  template <class Pred>
  void open_groups(Pred wanted) const {
    auto* self = const_cast<RegistryImpl*>(this);
    bool any = false;
    for (auto& g : self->groups_) {
      if (g.opened) continue;
      if (std::none_of(g.members.begin(), g.members.end(), [&](size_t i) { return wanted(plugins_[i]); }))
        continue;
      self->open_group(g);
      any = true;
    }
    if (any) self->resolve_components();
  }
  void open_group(Group& g);

  bool load_one(PluginInfo& info);
  void fail(PluginInfo& info, std::string reason, std::string hint) {
    info.state = PluginState::failed;
    info.reason = one_line(std::move(reason));
    info.hint = one_line(std::move(hint));
    info.components.clear();
    logger().warn("plugin '{}' ({}): {}{}", info.entry.name, info.entry.path.string(), info.reason,
                  info.hint.empty() ? "" : "; hint: " + info.hint);
  }
  void resolve_components();

  std::optional<Failure> check_signature(const ManifestEntry& e, PluginInfo& info);
  std::optional<Failure> probe(const PluginInfo& info) const;

  mutable std::mutex mutex_;  // lookups may open libraries: one at a time
  EffectiveTrust trust_;
  double probe_timeout_s_ = 0;
  bool keys_loaded_ = false;
  std::vector<MinisignKey> keys_;
  std::vector<std::string> trust_problems_;
  std::vector<ManifestStatus> manifests_;
  std::vector<PluginInfo> plugins_;  // fixed at open: owner() hands out pointers into it
  std::vector<Group> groups_;
  std::vector<std::string> manifest_errors_;
  std::vector<std::shared_ptr<Library>> libs_;  // load order
  std::map<std::pair<int, std::string>, const plinth_component*> by_name_;
  std::map<const plinth_component*, size_t> owner_;
  std::map<const plinth_component*, std::shared_ptr<Library>> lib_of_;
  std::map<size_t, std::shared_ptr<Library>> lib_by_plugin_;
};

bool RegistryImpl::load_one(PluginInfo& info) {
  const ManifestEntry& e = info.entry;
  std::error_code ec;
  if (!std::filesystem::exists(e.path, ec)) {
    // A manifest copied away from its tree keeps a path relative to where
    // it was: say where the copy looked, and which pair travels together.
    fail(info, "library not found",
         e.path_relative ? "check the path in " + at_line(e) + ": it is relative to the manifest's folder (" +
                               e.manifest.parent_path().string() +
                               "); copy the library into that folder together with the manifest that sits "
                               "beside it (" +
                               e.path.filename().string() + " and " + e.name +
                               ".toml from the plugin folder), or write an absolute path"
                         : "check the path in " + at_line(e));
    return false;
  }
  if (!std::filesystem::is_regular_file(e.path, ec)) {
    fail(info, "not a regular file", "check the path in " + at_line(e));
    return false;
  }
  if (!trust_.allow_insecure) {
    if (std::string why = insecure_reason(e.path); !why.empty()) {
      fail(info, "refused: " + why,
           "only root or the file's owner may be able to write a plugin; or set allow_insecure_plugins = "
           "true in [plugins] (or PLINTH_ALLOW_INSECURE_PLUGINS=1)");
      return false;
    }
  }
  auto sha = file_sha256(e.path);
  if (!sha) {
    fail(info, sha.status().message(), "check the file's permissions");
    return false;
  }
  info.sha256 = *sha;
  if (e.sha256 && *e.sha256 != info.sha256) {
    fail(info, "sha256 mismatch: the manifest pins " + *e.sha256 + ", the file has " + info.sha256,
         "the library changed since it was pinned; reinstall it or update `sha256` in " + at_line(e));
    return false;
  }
  if (trust_.require_signature) {
    if (auto f = check_signature(e, info)) {
      fail(info, f->reason, f->hint);
      return false;
    }
  }
  if (!has_elf_magic(e.path)) {
    fail(info, "not a shared library (no ELF header)",
         "`path` in " + at_line(e) + " must name the plugin's .so built with plinth_add_plugin");
    return false;
  }
  tune_openmp_waiting();
  if (probe_timeout_s_ > 0) {
    if (auto f = probe(info)) {
      fail(info, f->reason, f->hint);
      return false;
    }
  }
  PluginCallScope running(e.name, e.path.native(), "dlopen (its constructors)");
  auto lib = Library::open(e.path);
  if (!lib) {
    fail(info, lib.status().message(),
         "is it built for this platform, and are the libraries it needs installed? (try: ldd " +
             e.path.string() + ")");
    return false;
  }
  auto get = (*lib)->get<const plinth_plugin*()>(PLINTH_PLUGIN_GET_SYMBOL);
  if (!get) {
    fail(info, "no exported symbol plinth_plugin_get",
         "was it built with plinth_add_plugin / is plinth_plugin_get exported with PLINTH_EXPORT?");
    return false;
  }
  const plinth_plugin* p = nullptr;
  running.stage("plinth_plugin_get");
  try {
    p = get();
  } catch (...) {
    fail(info, "plinth_plugin_get() threw a C++ exception", "plugins must not throw across the ABI");
    return false;
  }
  if (auto f = validate(p, e, info)) {
    fail(info, f->reason, f->hint);
    return false;
  }
  if (auto f = check_declared(e, info)) {
    fail(info, f->reason, f->hint);
    return false;
  }
  running.stage("init");
  if (p->init) {
    take_plugin_error();
    plinth_status st = PLINTH_OK;
    std::string thrown;
    try {
      st = p->init(plugin_host());
    } catch (const std::exception& ex) {
      thrown = std::string("init() threw a C++ exception: ") + ex.what();
    } catch (...) {
      thrown = "init() threw a non-standard C++ exception";
    }
    if (!thrown.empty()) {
      take_plugin_error();
      fail(info, thrown,
           "plugins must not throw across the ABI; wrap every entry point in plinth::sdk::guard()");
      return false;
    }
    if (st != PLINTH_OK) {
      Status s = plugin_status(st, "init() failed");
      fail(info, s.message(), "");
      return false;
    }
  }
  (*lib)->set_shutdown(p->shutdown);
  running.stage("plinth_plugin_score");
  if (auto score = (*lib)->get<int32_t()>(PLINTH_PLUGIN_SCORE_SYMBOL)) {
    try {
      info.score = score();
    } catch (...) {
      logger().warn("plugin '{}' ({}): plinth_plugin_score() threw; score ignored", e.name, e.path.string());
    }
  }
  info.state = PluginState::loaded;
  libs_.push_back(*lib);
  lib_by_plugin_[static_cast<size_t>(&info - plugins_.data())] = *lib;
  logger().debug("plugin '{}' {} loaded from {}", e.name, info.version, e.path.string());
  return true;
}

// Open the library, read its descriptor and run init in a child process:
// whatever the plugin's code does there (crash, abort, exit, hang) ends only
// the child. A load that merely fails is reported by the real load after.
std::optional<Failure> RegistryImpl::probe(const PluginInfo& info) const {
  const ManifestEntry& e = info.entry;
  auto outcome = probe_in_child(
      [&](const std::function<void(const std::string&)>& note) -> std::string {
        note("dlopen (its constructors)");
        auto lib = Library::open(e.path);
        if (!lib) return {};
        // Kept open: unloading would run the plugin's destructors, which
        // are not what is probed (the child ends right after).
        static std::shared_ptr<Library> keep;
        keep = *lib;
        auto get = keep->get<const plinth_plugin*()>(PLINTH_PLUGIN_GET_SYMBOL);
        if (!get) return {};
        try {
          note("plinth_plugin_get");
          const plinth_plugin* p = get();
          PluginInfo scratch = info;
          if (validate(p, e, scratch) || check_declared(e, scratch)) return {};
          note("init");
          if (p->init && p->init(plugin_host()) != PLINTH_OK) return {};
          note("plinth_plugin_score");
          if (auto score = keep->get<int32_t()>(PLINTH_PLUGIN_SCORE_SYMBOL)) score();
        } catch (...) {
          // The real load reports the exception.
        }
        return {};
      },
      probe_timeout_s_);
  if (!outcome) return Failure{"cannot probe the plugin: " + outcome.status().message(), ""};
  if (outcome->completed) return std::nullopt;
  return Failure{outcome->death + " during " + outcome->last_note + " (in a probe process; not loaded)",
                 "the plugin's own code failed: run it under a debugger, or report it to its vendor"};
}

std::optional<Failure> RegistryImpl::check_signature(const ManifestEntry& e, PluginInfo& info) {
  if (!keys_loaded_) {
    keys_ = load_trusted_keys(trust_.trusted_keys_dir, trust_.allow_insecure, &trust_problems_);
    for (const auto& p : trust_problems_) logger().warn("trusted keys: {}", p);
    keys_loaded_ = true;
  }
  const std::string hint = "sign it with `minisign -S -m " + e.path.string() +
                           "` and put the public key in " + trust_.trusted_keys_dir.string() +
                           " (require_signature = true)";
  std::filesystem::path sig_file = e.path;
  sig_file += ".minisig";
  std::ifstream sin(sig_file, std::ios::binary);
  if (!sin) return Failure{"refused: no signature file " + sig_file.string(), hint};
  std::ostringstream ss;
  ss << sin.rdbuf();
  if (!trust_.allow_insecure) {
    if (std::string why = insecure_reason(sig_file); !why.empty()) return Failure{"refused: " + why, hint};
  }
  auto sig = parse_minisign_signature(ss.str(), sig_file);
  if (!sig) return Failure{"refused: " + sig.status().message(), hint};
  std::ifstream lin(e.path, std::ios::binary);
  std::ostringstream lib;
  lib << lin.rdbuf();
  if (!lin && !lin.eof()) return Failure{"cannot read " + e.path.string(), ""};
  if (std::string why = verify_minisign(lib.str(), *sig, keys_, trust_.trusted_keys_dir); !why.empty())
    return Failure{"refused: " + why, hint};
  info.signed_by = key_id_hex(sig->key_id);
  return std::nullopt;
}

void RegistryImpl::load(const std::vector<FoundManifest>& files) {
  for (const auto& f : files) {
    ManifestStatus ms{f.file, f.origin, 0, {}};
    if (!trust_.allow_insecure) {
      if (std::string why = insecure_reason(f.file); !why.empty()) {
        ms.refused = why;
        const std::string err = f.file.string() + ": manifest refused: " + why +
                                " (or set allow_insecure_plugins = true in [plugins], or "
                                "PLINTH_ALLOW_INSECURE_PLUGINS=1)";
        logger().warn("plugin manifest {}", err);
        manifest_errors_.push_back(err);
        manifests_.push_back(std::move(ms));
        continue;
      }
    }
    ManifestFile mf = read_manifest(f.file);
    ms.entries = mf.entries.size();
    manifests_.push_back(std::move(ms));
    for (const auto& err : mf.errors) {
      logger().warn("plugin manifest {}", err);
      manifest_errors_.push_back(err);
    }
    for (auto& e : mf.entries) {
      PluginInfo info;
      info.entry = std::move(e);
      info.origin = f.origin;
      plugins_.push_back(std::move(info));
    }
  }
  // Manifest checks, before any library is opened.
  std::vector<bool> prefailed(plugins_.size(), false);
  for (size_t i = 0; i < plugins_.size(); ++i) {
    auto range = parse_abi_range(plugins_[i].entry.abi.empty() ? std::to_string(PLINTH_ABI_MAJOR)
                                                               : plugins_[i].entry.abi);
    std::string why =
        range ? abi_range_mismatch(*range, PLINTH_ABI_MAJOR, PLINTH_ABI_MINOR) : range.status().message();
    if (!why.empty()) {
      prefailed[i] = true;
      // Most often a typo in `abi`; a library really built for another
      // major ABI needs a rebuild, and its own plinth_plugin says so once loaded.
      const ManifestEntry& e = plugins_[i].entry;
      const std::string major = std::to_string(PLINTH_ABI_MAJOR);
      fail(plugins_[i], "manifest " + why,
           "set `abi` in " + e.manifest.string() + ":" +
               std::to_string(e.abi_line > 0 ? e.abi_line : e.line) +
               " to the ABI the library was built for (this core loads \"" + major + "\" and \"" + major +
               ".0\" to \"" + major + "." + std::to_string(PLINTH_ABI_MINOR) +
               "\"); a library built for another major ABI needs a rebuild against Plinth SDK " + major);
    }
  }
  // Same name: best (priority, then precedence) loadable entry wins.
  std::set<std::string> done;
  for (size_t i = 0; i < plugins_.size(); ++i) {
    const std::string& name = plugins_[i].entry.name;
    if (!done.insert(name).second) continue;
    Group g;
    for (size_t j = i; j < plugins_.size(); ++j) {
      if (plugins_[j].entry.name != name || prefailed[j]) continue;
      g.members.push_back(j);
      plugins_[j].state = PluginState::unopened;
    }
    std::stable_sort(g.members.begin(), g.members.end(), [&](size_t a, size_t b) {
      return plugins_[a].entry.priority > plugins_[b].entry.priority;
    });
    if (!g.members.empty()) groups_.push_back(std::move(g));
  }
  // A manifest named explicitly is loaded whole: a broken entry there is the
  // caller's error, reported now (`[plugins] manifests`, --plugin-path).
  std::lock_guard<std::mutex> hold(mutex_);
  open_groups([](const PluginInfo& p) { return p.origin == "pipeline" || p.origin == "--plugin-path"; });
}

void RegistryImpl::open_group(Group& g) {
  g.opened = true;
  std::optional<size_t> winner;
  for (size_t j : g.members) {
    PluginInfo& info = plugins_[j];
    if (winner) {
      const PluginInfo& w = plugins_[*winner];
      info.state = PluginState::shadowed;
      info.reason = "shadowed by '" + w.entry.name + "' from " + at_line(w.entry) + " (priority " +
                    std::to_string(w.entry.priority) + " vs " + std::to_string(info.entry.priority) +
                    (w.entry.priority == info.entry.priority ? ", earlier in precedence)" : ")");
      logger().info("plugin '{}' ({}, {}) is shadowed by {} ({}, {}), priority {} vs {}", info.entry.name,
                    info.entry.path.string(), at_line(info.entry), w.entry.name, w.entry.path.string(),
                    at_line(w.entry), w.entry.priority, info.entry.priority);
      continue;
    }
    if (load_one(info)) winner = j;
  }
}

void RegistryImpl::resolve_components() {
  struct Cand {
    size_t plugin, comp;
  };
  std::map<std::pair<int, std::string>, std::vector<Cand>> cands;
  for (size_t i = 0; i < plugins_.size(); ++i) {
    if (plugins_[i].state != PluginState::loaded) continue;
    for (size_t c = 0; c < plugins_[i].components.size(); ++c) {
      const auto& ci = plugins_[i].components[c];
      cands[{static_cast<int>(ci.kind), ci.name}].push_back({i, c});
    }
  }
  by_name_.clear();
  owner_.clear();
  lib_of_.clear();
  for (auto& [key, list] : cands) {
    for (const Cand& c : list) plugins_[c.plugin].components[c.comp].shadowed_by.clear();
    std::stable_sort(list.begin(), list.end(), [&](const Cand& a, const Cand& b) {
      return plugins_[a.plugin].entry.priority > plugins_[b.plugin].entry.priority;
    });
    const Cand& w = list.front();
    const plinth_component* comp = plugins_[w.plugin].components[w.comp].component;
    by_name_[key] = comp;
    for (size_t k = 1; k < list.size(); ++k) {
      auto& ci = plugins_[list[k].plugin].components[list[k].comp];
      ci.shadowed_by = plugins_[w.plugin].entry.name;
      logger().info("{} '{}' of plugin '{}' is shadowed by the one of plugin '{}' (priority {} vs {})",
                    kind_name(ci.kind), ci.name, plugins_[list[k].plugin].entry.name, ci.shadowed_by,
                    plugins_[w.plugin].entry.priority, plugins_[list[k].plugin].entry.priority);
    }
  }
  for (size_t i = 0; i < plugins_.size(); ++i) {
    if (plugins_[i].state != PluginState::loaded) continue;
    for (const auto& ci : plugins_[i].components) {
      owner_[ci.component] = i;
      lib_of_[ci.component] = lib_by_plugin_[i];
    }
  }
}

}  // namespace

const char* state_name(PluginState state) {
  switch (state) {
    case PluginState::loaded:
      return "loaded";
    case PluginState::failed:
      return "failed";
    case PluginState::shadowed:
      return "shadowed";
    case PluginState::unopened:
      return "unopened";
  }
  return "?";
}

Result<std::shared_ptr<Registry>> Registry::open(const DiscoveryOptions& options) {
  auto files = discover_manifests(options);
  if (!files) return files.status();
  auto reg = std::make_shared<RegistryImpl>(options.trust, options.probe_timeout_s);
  reg->load(*files);
  return std::shared_ptr<Registry>(std::move(reg));
}

}  // namespace plinth
