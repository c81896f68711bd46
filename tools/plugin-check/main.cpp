// main.cpp — plinth-plugin-check: the conformance kit a vendor runs on a
// backend, communicator or optimizer plugin. Loads the plugin from its
// manifest (or writes a manifest for a bare library), picks what to check
// by the kind of its components, loads the CPU backend (the reference for
// backends, the op executor for optimizers) through the same discovery
// `plinth` uses, and prints a table or JSON. Exit 0: everything claimed
// passes; 1: a failure; 2: bad input (missing file, plugin that does not
// load). Not here: the checks themselves (contract.cpp, ops.cpp, comm.cpp,
// optim.cpp).
#include <dlfcn.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>

#include "check.hpp"
#include "plinth/child_process.hpp"
#include "plinth/log.hpp"

namespace fs = std::filesystem;
using namespace plinth;
using namespace plinth::plugin_check;

namespace {

constexpr int kExitFail = 1, kExitBadInput = 2;

std::string upper(std::string s) {
  for (auto& ch : s) ch = char(std::toupper(static_cast<unsigned char>(ch)));
  return s;
}

// Print why plugins in `reg` failed to load, with the loader's hint; true
// when any did.
bool print_load_failures(const Registry& reg) {
  bool any = !reg.manifest_errors().empty();
  for (const auto& e : reg.manifest_errors())
    std::fprintf(stderr, "plinth-plugin-check: manifest error: %s\n", e.c_str());
  for (const auto& p : reg.plugins()) {
    if (p.state != PluginState::failed) continue;
    any = true;
    std::fprintf(stderr, "plinth-plugin-check: plugin '%s' (%s) failed to load: %s\n", p.entry.name.c_str(),
                 p.entry.path.c_str(), p.reason.c_str());
    if (!p.hint.empty()) std::fprintf(stderr, "  hint: %s\n", p.hint.c_str());
  }
  return any;
}

// For a library given without a manifest: read its descriptor (name, first
// component's kind) and write a one-entry manifest into `dir`. The library
// is opened in a child process: its constructors are the plugin's code, and
// a crash there must not end the tool (the registry probes init the same way).
Result<fs::path> manifest_for_library(const fs::path& lib, const std::string& kind_override,
                                      const fs::path& dir, double probe_timeout_s) {
  std::error_code ec;
  if (!fs::is_regular_file(lib, ec)) return error(errc::not_found, "no such library: " + lib.string());
  const fs::path abs = fs::absolute(lib);
  // The child's answer: "name\nkind", or "!" and the error.
  auto probe = probe_in_child(
      [&](const std::function<void(const std::string&)>& note) -> std::string {
        note("dlopen (its constructors)");
        void* h = dlopen(abs.c_str(), RTLD_NOW | RTLD_LOCAL);
        if (!h) return std::string("!") + abs.string() + ": cannot be opened: " + dlerror();
        using get_fn = const plinth_plugin* (*)();
        auto get = reinterpret_cast<get_fn>(dlsym(h, "plinth_plugin_get"));
        if (!get)
          return "!" + abs.string() +
                 ": exports no plinth_plugin_get (is it a Plinth plugin? see docs/plugins.md)";
        note("plinth_plugin_get");
        const plinth_plugin* d = get();
        if (!d || !d->name) return "!" + abs.string() + ": plinth_plugin_get returned no descriptor";
        std::string kind = "backend";
        if (d->num_components > 0 && d->components && d->components[0].kind == PLINTH_KIND_OPTIMIZER)
          kind = "optimizer";
        if (d->num_components > 0 && d->components && d->components[0].kind == PLINTH_KIND_COMM)
          kind = "comm";
        if (d->num_components > 0 && d->components && d->components[0].kind == PLINTH_KIND_DATA)
          kind = "data";
        return std::string(d->name) + "\n" + kind;
      },
      probe_timeout_s);
  if (!probe) return probe.status();
  if (!probe->completed)
    return error(errc::invalid_argument, abs.string() + ": " + probe->death + " during " + probe->last_note +
                                             " (in a probe process)");
  if (!probe->result.empty() && probe->result[0] == '!')
    return error(errc::invalid_argument, probe->result.substr(1));
  const size_t nl = probe->result.find('\n');
  const std::string name = probe->result.substr(0, nl);
  const std::string kind = kind_override.empty() ? probe->result.substr(nl + 1) : kind_override;
  fs::create_directories(dir, ec);
  const fs::path m = dir / "plugin.toml";
  std::ofstream f(m);
  f << "[[plugin]]\nname = " << nlohmann::json(name).dump() << "\nkind = " << nlohmann::json(kind).dump()
    << "\npath = " << nlohmann::json(abs.string()).dump() << "\n";
  if (!f) return error(errc::io, "cannot write " + m.string());
  return m;
}

void print_table(const std::vector<CaseResult>& rs, const std::string& kind, const std::string& component,
                 const std::string& device, const std::string& reference) {
  std::printf("plinth-plugin-check: %s '%s'%s, %s\n\n", kind.c_str(), component.c_str(),
              device.empty() ? "" : (" on " + device).c_str(), reference.c_str());
  std::printf("%-24s %-56s %-12s %s\n", "OP / AREA", "CASE", "STATUS", "ERROR");
  std::map<std::string, int> count;
  for (const auto& r : rs) {
    ++count[r.status];
    char err[32] = "";
    if ((r.section == "ops" || r.section == "optim") && (r.status == "pass" || r.status == "fail") &&
        r.threshold > 0)
      std::snprintf(err, sizeof err, "%.3g", r.error);
    const std::string area = r.section == "api" ? "api/" + r.op : r.op;
    std::printf("%-24s %-56s %-12s %s\n", area.c_str(), r.name.c_str(), r.status.c_str(), err);
    if ((r.status == "fail" || r.status == "warn") && !r.detail.empty())
      std::printf("    %s\n", r.detail.c_str());
  }
  std::printf("\n%zu checks: %d pass, %d fail, %d warn, %d unsupported, %d no-reference\n", rs.size(),
              count["pass"], count["fail"], count["warn"], count["unsupported"], count["no-reference"]);
}

// Print the rows as a table or one JSON object; the exit status.
int report(const std::vector<CaseResult>& rs, bool json, const std::string& kind,
           const std::string& component, const std::string& device, const std::string& reference,
           uint64_t seed, const nlohmann::json& extra = nlohmann::json::object()) {
  int failed = 0, supported = 0, warned = 0;
  for (const auto& r : rs) {
    failed += r.status == "fail";
    warned += r.status == "warn";
    supported += r.section != "api" && r.status != "unsupported";
  }
  if (json) {
    nlohmann::json j;
    j["kind"] = kind;
    j["component"] = component;
    if (!device.empty()) j["device"] = device;
    j["reference"] = reference;
    j["seed"] = seed;
    for (const auto& [k, v] : extra.items()) j[k] = v;
    if (extra.contains("world_failures") && extra["world_failures"].is_number() &&
        extra["world_failures"].get<int>() > failed)
      failed = extra["world_failures"].get<int>();
    j["passed"] = failed == 0;
    j["failures"] = failed;
    j["warnings"] = warned;
    j["supported_cases"] = supported;
    auto& arr = j["results"] = nlohmann::json::array();
    for (const auto& r : rs) {
      nlohmann::json o{{"section", r.section}, {"op", r.op}, {"case", r.name}, {"status", r.status}};
      if ((r.section == "ops" || r.section == "optim") && (r.status == "pass" || r.status == "fail") &&
          r.threshold > 0) {
        o["error"] = std::isfinite(r.error) ? nlohmann::json(r.error) : nlohmann::json("inf");
        o["threshold"] = r.threshold;
      }
      if (!r.detail.empty()) o["detail"] = r.detail;
      arr.push_back(std::move(o));
    }
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    print_table(rs, kind, component, device, reference);
    if (extra.contains("world_failures")) {
      const auto& wf = extra["world_failures"];
      if (wf.is_number() && wf.get<int>() > failed) failed = wf.get<int>();
      std::printf("%s\n",
                  wf.is_number()
                      ? ("failures over all " + extra["world_size"].dump() + " ranks: " + wf.dump()).c_str()
                      : "failures on the other ranks: unknown (see their stderr)");
    }
  }
  return failed ? kExitFail : 0;
}

// A row for the library of each component checked: it exports the entry
// points only (a warning otherwise, naming what else it exports).
void export_rows(const Registry& reg, plinth_kind kind, const std::vector<std::string>& names,
                 std::vector<CaseResult>& out) {
  std::set<std::string> seen;
  for (const auto& p : reg.plugins()) {
    if (p.state != PluginState::loaded || seen.count(p.entry.path.string())) continue;
    bool mine = false;
    for (const auto& c : p.components)
      mine |= c.kind == kind && std::find(names.begin(), names.end(), c.name) != names.end();
    if (!mine) continue;
    seen.insert(p.entry.path.string());
    CaseResult r{"lib", "exports", "exports only plinth_plugin_get (and plinth_plugin_score)", "pass", 0,
                 0,     ""};
    auto extra = extra_exports(p.entry.path);
    if (!extra) {
      r.status = "warn";
      r.detail = extra.status().message();
    } else if (!extra->empty()) {
      r.status = "warn";
      r.detail = p.entry.path.filename().string() + " also exports " + std::to_string(extra->size()) +
                 " symbol(s): ";
      for (size_t i = 0; i < extra->size() && i < 6; ++i) r.detail += (i ? ", " : "") + (*extra)[i];
      if (extra->size() > 6) r.detail += ", ...";
      r.detail +=
          "; they can bind to another library's copy at load time. hint: build with plinth_add_plugin(), or "
          "link with -fvisibility=hidden and a version script exporting only the entry points "
          "(sdk/README.md, section 4)";
    }
    out.push_back(std::move(r));
  }
}

// How a communicator's checks run: in this process, in a child of it
// (isolated), or as that child (`unit`).
struct CommMode {
  std::vector<std::string> self;
  std::string unit;
  bool in_process = false;
  double case_timeout = 120;
};

// Communicator components: every rank runs the cases; rank 0 reports,
// the others print only their failures (to stderr, "rank N: ..."). Each
// rank's cases run in a child process of it (under a launcher the child
// inherits the rank's environment and joins the world in its place), so a
// communicator that crashes or hangs is a failed case named by how it
// ended; the child is not replaced (a new process cannot re-join the world).
int check_comms(const Registry& reg, const std::vector<std::string>& names, double timeout, bool json,
                const CommMode& mode) {
  int rc = 0;
  for (const auto& name : names) {
    if (!mode.unit.empty()) {  // the child: run and hand the rank over
      if (mode.unit != "comm:" + name) continue;
      Rows rows;
      rows.stream = true;
      const CommRun r = run_comm(reg, name, timeout, rows);
      rows.fact("rank", std::to_string(r.rank));
      rows.fact("size", std::to_string(r.size));
      rows.fact("world_failures", std::to_string(r.world_failures));
      rows.fact("error", r.error);
      unit_done();
      return 0;
    }
    Rows results;
    export_rows(reg, PLINTH_KIND_COMM, {name}, results);
    CommRun run;
    if (mode.in_process) {
      run = run_comm(reg, name, timeout, results);
    } else {
      run_isolated(mode.self, "comm:" + name, "comm", mode.case_timeout, results, false);
      // A child that ended early handed nothing over: the launcher's rank.
      const char* env_rank = std::getenv("OMPI_COMM_WORLD_RANK");
      const char* env_size = std::getenv("OMPI_COMM_WORLD_SIZE");
      auto fact = [&](const char* k, int dflt) {
        auto it = results.facts.find(k);
        return it == results.facts.end() || it->second.empty() ? dflt : std::atoi(it->second.c_str());
      };
      run.rank = fact("rank", env_rank ? std::atoi(env_rank) : 0);
      run.size = fact("size", env_size ? std::atoi(env_size) : 1);
      run.world_failures = fact("world_failures", -1);
      if (auto it = results.facts.find("error"); it != results.facts.end()) run.error = it->second;
    }
    if (!run.error.empty()) {
      std::fprintf(stderr, "plinth-plugin-check: %s\n", run.error.c_str());
      return kExitBadInput;
    }
    const std::vector<CaseResult>& rows = results;  // (Rows::begin names a case)
    int mine = 0;
    for (const auto& r : rows) mine += r.status == "fail";
    if (run.rank != 0) {
      for (const auto& r : rows)
        if (r.status == "fail")
          std::fprintf(stderr, "plinth-plugin-check: rank %d: %s %s: fail: %s\n", run.rank, r.op.c_str(),
                       r.name.c_str(), r.detail.c_str());
      rc = std::max(rc, mine ? kExitFail : 0);
      continue;
    }
    nlohmann::json extra{
        {"rank", run.rank},
        {"world_size", run.size},
        {"world_failures", run.world_failures >= 0 ? nlohmann::json(run.world_failures) : nlohmann::json()}};
    rc = std::max(rc, report(results, json, "comm", name,
                             "rank " + std::to_string(run.rank) + " of " + std::to_string(run.size),
                             "expected values computed in the tool", 0, extra));
  }
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "plinth-plugin-check: conformance checks for a Plinth backend, communicator or optimizer plugin",
      "plinth-plugin-check"};
  std::vector<std::string> manifests, ref_manifests;
  std::string component, kind, ops_list, library, reference = "cpu";
  bool json = false;
  uint64_t seed = 1;
  int device = 0;
  // One path per flag (repeatable), so a library named after it stays the positional argument.
  app.add_option("--manifest", manifests, "manifest file or folder of the plugin under test (repeatable)")
      ->allow_extra_args(false);
  app.add_option("--component", component,
                 "component to check (needed when the manifests hold several backends or several kinds)");
  app.add_option("--kind", kind,
                 "kind written into the manifest made for a bare library (default: from the library)");
  app.add_option("--ops", ops_list, "comma-separated op names to run (e.g. BINARY,MATMUL); default all");
  app.add_option("--seed", seed, "seed of the random inputs");
  app.add_option("--device", device, "device index of the plugin under test");
  app.add_option("--reference-manifest", ref_manifests,
                 "extra manifest file or folder for the reference backend (repeatable)")
      ->allow_extra_args(false);
  app.add_option("--reference", reference, "reference backend component");
  app.add_flag("--json", json, "print one JSON object instead of the table");
  std::string optimizer_rule;
  double comm_timeout = 60;
  app.add_option("--optimizer-rule", optimizer_rule,
                 "reference update rule for an optimizer component not named sgd, adamw or lion")
      ->check(CLI::IsMember({"sgd", "adamw", "lion"}));
  app.add_option("--comm-timeout", comm_timeout, "timeout_s given to a communicator (seconds)")
      ->check(CLI::PositiveNumber);
  std::string data_config;
  app.add_option("--data-config", data_config,
                 "TOML file of the settings a data source is opened with (the keys of its [data.*] table)");
  bool in_process = false;
  double case_timeout = 120;
  std::string unit;
  size_t unit_first = 0;
  app.add_flag("--in-process", in_process,
               "run every case in this process: faster, but a plugin that crashes or hangs ends the run");
  app.add_option("--case-timeout", case_timeout,
                 "seconds a case may run without finishing before it counts as hung (default 120)")
      ->check(CLI::PositiveNumber);
  // Internal: the part of the checks a child process runs (isolate.cpp).
  app.add_option("--unit", unit)->group("");
  app.add_option("--unit-first", unit_first)->group("");
  const std::vector<std::string> self(argv, argv + argc);
  double probe_timeout = 10;
  app.add_option("--probe-timeout", probe_timeout,
                 "seconds the plugin's load and init may take in the probe process, which runs them first "
                 "so that a plugin that crashes, exits or hangs is reported instead of ending the tool")
      ->check(CLI::PositiveNumber);
  app.add_option("library", library, "plugin library (.so) to check without a manifest");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : kExitBadInput;
  }
  logger().set_level(spdlog::level::warn);

  std::vector<std::string> ops;
  for (size_t pos = 0; pos < ops_list.size();) {
    size_t comma = ops_list.find(',', pos);
    if (comma == std::string::npos) comma = ops_list.size();
    std::string name = upper(ops_list.substr(pos, comma - pos));
    if (!name.empty()) {
      bool known = false;
      for (int k = 0; k < PLINTH_OP_COUNT_V1_2; ++k) known |= name == op_kind_name(k);
      if (!known) {
        std::fprintf(stderr, "plinth-plugin-check: unknown op '%s' in --ops\n", name.c_str());
        return kExitBadInput;
      }
      ops.push_back(name);
    }
    pos = comma + 1;
  }

  std::vector<fs::path> under_test;
  for (const auto& m : manifests) {
    std::error_code ec;
    if (!fs::exists(m, ec)) {
      std::fprintf(stderr, "plinth-plugin-check: no such manifest file or folder: %s\n", m.c_str());
      return kExitBadInput;
    }
    under_test.emplace_back(m);
  }
  for (const auto& m : ref_manifests) {
    std::error_code ec;
    if (!fs::exists(m, ec)) {
      std::fprintf(stderr, "plinth-plugin-check: no such reference manifest: %s\n", m.c_str());
      return kExitBadInput;
    }
  }
  fs::path tmp;
  struct Cleanup {
    fs::path& p;
    ~Cleanup() {
      std::error_code ec;
      if (!p.empty()) fs::remove_all(p, ec);
    }
  } cleanup{tmp};
  if (!library.empty()) {
    tmp = fs::temp_directory_path() / ("plinth-plugin-check-" + std::to_string(::getpid()));
    auto m = manifest_for_library(library, kind, tmp, probe_timeout);
    if (!m) {
      std::fprintf(stderr, "plinth-plugin-check: %s\n", m.status().message().c_str());
      return kExitBadInput;
    }
    under_test.push_back(*m);
  }
  if (under_test.empty()) {
    std::fprintf(stderr, "plinth-plugin-check: give a plugin library or --manifest (see --help)\n");
    return kExitBadInput;
  }

  // The plugin under test: only the manifests given.
  DiscoveryOptions opt;
  opt.pipeline_manifests = under_test;
  opt.use_environment = opt.use_user = opt.use_system = opt.use_install = false;
  opt.probe_timeout_s = probe_timeout;
  auto reg = Registry::open(opt);
  if (!reg) {
    std::fprintf(stderr, "plinth-plugin-check: %s\n", reg.status().message().c_str());
    return kExitBadInput;
  }
  // Every plugin of the manifests given is loaded (or failed) by now: one
  // that failed, crashed or hung is named even when another is checked, and
  // makes the exit status 2.
  const bool load_failed = print_load_failures(**reg);
  auto finish = [load_failed](int rc) { return load_failed ? std::max(rc, kExitBadInput) : rc; };
  const std::vector<std::string> backends = (*reg)->names(PLINTH_KIND_BACKEND),
                                 comms = (*reg)->names(PLINTH_KIND_COMM),
                                 optims = (*reg)->names(PLINTH_KIND_OPTIMIZER),
                                 datas = (*reg)->names(PLINTH_KIND_DATA);
  auto listed = [](const std::vector<std::string>& v, const std::string& n) {
    return std::find(v.begin(), v.end(), n) != v.end();
  };
  // What to check: the --component, else the one kind the manifests hold
  // (every communicator or optimizer component; exactly one backend).
  std::string what;
  std::vector<std::string> targets;
  if (!component.empty()) {
    what = listed(backends, component) ? "backend"
           : listed(comms, component)  ? "comm"
           : listed(optims, component) ? "optimizer"
           : listed(datas, component)  ? "data"
                                       : "";
    if (what.empty()) {
      std::string list;
      for (const auto* v : {&backends, &comms, &optims, &datas})
        for (const auto& b : *v) list += (list.empty() ? "" : ", ") + b;
      std::fprintf(stderr,
                   "plinth-plugin-check: no component '%s' loaded from the manifests given (loaded: %s)\n",
                   component.c_str(), list.empty() ? "none" : list.c_str());
      return kExitBadInput;
    }
    targets = {component};
  } else {
    const int kinds =
        int(!backends.empty()) + int(!comms.empty()) + int(!optims.empty()) + int(!datas.empty());
    std::string list;
    for (const auto* v : {&backends, &comms, &optims, &datas})
      for (const auto& b : *v) list += (list.empty() ? "" : ", ") + b;
    if (kinds == 0 || (kinds == 1 && backends.size() > 1) || kinds > 1) {
      std::fprintf(
          stderr, "plinth-plugin-check: %s\n",
          kinds == 0 ? "no backend, communicator, optimizer or data component loaded from the manifests given"
                     : ("several components loaded (" + list + "): choose one with --component").c_str());
      return kExitBadInput;
    }
    what = !backends.empty() ? "backend" : !comms.empty() ? "comm" : !optims.empty() ? "optimizer" : "data";
    targets = !backends.empty() ? backends : !comms.empty() ? comms : !optims.empty() ? optims : datas;
  }
  if (what == "comm")
    return finish(
        check_comms(**reg, targets, comm_timeout, json, CommMode{self, unit, in_process, case_timeout}));
  if (what == "data") {
    toml::table config;
    if (!data_config.empty()) {
      std::ifstream in(data_config, std::ios::binary);
      if (!in) {
        std::fprintf(stderr, "plinth-plugin-check: --data-config %s: cannot read\n", data_config.c_str());
        return kExitBadInput;
      }
      std::ostringstream text;
      text << in.rdbuf();
      auto bad = [&](const toml::parse_error& e) {
        std::fprintf(stderr, "plinth-plugin-check: %s:%u:%u: %s\n", data_config.c_str(),
                     unsigned(e.source().begin.line), unsigned(e.source().begin.column),
                     std::string(e.description()).c_str());
        return kExitBadInput;
      };
#if TOML_EXCEPTIONS
      try {
        config = toml::parse(text.str(), data_config);
      } catch (const toml::parse_error& e) {
        return bad(e);
      }
#else
      toml::parse_result r = toml::parse(text.str(), data_config);
      if (!r) return bad(r.error());
      config = std::move(r).table();
#endif
    }
    Rows results;
    if (!unit.empty()) {  // a child: one data source's cases, from unit_first on
      results.stream = true;
      results.first = unit_first;
      for (const auto& name : targets)
        if (unit == "data:" + name) run_data(**reg, name, config, seed, results);
      unit_done();
      return 0;
    }
    export_rows(**reg, PLINTH_KIND_DATA, targets, results);
    for (const auto& name : targets) {
      if (in_process)
        run_data(**reg, name, config, seed, results);
      else
        run_isolated(self, "data:" + name, "data", case_timeout, results);
    }
    std::string names;
    for (const auto& n : targets) names += (names.empty() ? "" : ", ") + n;
    return finish(report(results, json, "data", names, "",
                         "expected values: the source's own first reads" +
                             (data_config.empty() ? std::string() : ", settings from " + data_config),
                         seed));
  }

  // Backends and optimizers need the reference backend: the discovery
  // `plinth` uses, plus --reference-manifest.
  DiscoveryOptions ropt;
  for (const auto& m : ref_manifests) ropt.pipeline_manifests.emplace_back(m);
  auto rreg = Registry::open(ropt);
  if (!rreg) {
    std::fprintf(stderr, "plinth-plugin-check: reference: %s\n", rreg.status().message().c_str());
    return kExitBadInput;
  }
  auto ref = BackendInstance::create(**rreg, reference, nullptr, 0);
  if (!ref) {
    std::fprintf(
        stderr,
        "plinth-plugin-check: reference backend: %s\n  hint: point --reference-manifest at the folder "
        "holding the CPU backend's manifest (share/plinth/plugins.d)\n",
        ref.status().message().c_str());
    return kExitBadInput;
  }

  Rows results;
  const bool child = !unit.empty();
  if (child) {
    results.stream = true;
    results.first = unit_first;
  } else {
    export_rows(**reg, what == "optimizer" ? PLINTH_KIND_OPTIMIZER : PLINTH_KIND_BACKEND, targets, results);
  }
  if (what == "optimizer") {
    // The reference again at 1 and 3 threads: an optimizer's steps must not
    // depend on how the backend splits its ops.
    ThreadedRefs threaded;
    auto at_threads = [&](int64_t n) -> Result<BackendInstance> {
      toml::table t;
      t.insert("threads", n);
      auto cfg = plugin_config(t);
      if (!cfg) return cfg.status();
      return BackendInstance::create(**rreg, reference, cfg->get(), 0);
    };
    // Only where the optimizer's cases run (a child, or --in-process): the
    // parent of isolated children never uses them.
    std::optional<Result<BackendInstance>> one, three;
    if (child || in_process) {
      one.emplace(at_threads(1));
      three.emplace(at_threads(3));
      if (*one && *three) {
        threaded.one = &**one;
        threaded.three = &**three;
      } else {
        threaded.why = (*one ? *three : *one).status().message();
      }
    }
    for (const auto& name : targets) {
      const std::string r = !optimizer_rule.empty()                                ? optimizer_rule
                            : (name == "sgd" || name == "adamw" || name == "lion") ? name
                                                                                   : "";
      if (child && unit == "optim:" + name)
        run_optimizer(**reg, name, r, *ref, seed, results, threaded);
      else if (!child && in_process)
        run_optimizer(**reg, name, r, *ref, seed, results, threaded);
      else if (!child)
        run_isolated(self, "optim:" + name, "optim", case_timeout, results);
    }
    if (child) {
      unit_done();
      return 0;
    }
    std::string names;
    for (const auto& n : targets) names += (names.empty() ? "" : ", ") + n;
    return finish(report(results, json, "optimizer", names, "",
                         "reference: torch.optim rules in double, ops on '" + reference + "'", seed));
  }

  component = targets[0];
  auto plugin = BackendInstance::create(**reg, component, nullptr, device);
  if (!plugin) {
    std::fprintf(stderr, "plinth-plugin-check: %s\n", plugin.status().message().c_str());
    return kExitBadInput;
  }
  // Three units, each in child processes unless --in-process: the table's
  // contract, the op cases, the malformed launches (run last, since a broken
  // plugin may crash on them).
  const std::pair<const char*, const char*> units[] = {
      {"contract", "api"}, {"ops", "ops"}, {"errors", "api"}};
  for (const auto& [name, section] : units) {
    if (child && unit != name) continue;
    if (!child && !in_process) {
      run_isolated(self, name, section, case_timeout, results);
      continue;
    }
    if (std::string_view(name) == "contract") run_contract(*plugin, seed, results);
    if (std::string_view(name) == "ops") run_ops(*plugin, *ref, seed, ops, results);
    if (std::string_view(name) == "errors") run_error_checks(*plugin, results);
  }
  if (child) {
    unit_done();
    return 0;
  }
  return finish(report(results, json, "backend", component, plugin->properties().name,
                       "reference '" + reference + "'", seed));
}
