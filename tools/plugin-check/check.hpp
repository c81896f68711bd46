// check.hpp — shared types of plinth-plugin-check: one result row, the
// tensor byte conversions and the two check sections (API contract, ops).
// Not here: plugin loading and output formatting (main.cpp).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <toml++/toml.h>

#include "plinth/backend_instance.hpp"
#include "plinth/plugins.hpp"

namespace plinth::plugin_check {

// One line of the report. status: "pass", "fail", "unsupported" (the plugin
// says no), "no-reference" (the plugin says yes, the reference cannot run it),
// "warn" (a lax answer that does not fail the run: struct_size not checked).
struct CaseResult {
  std::string section;  // "api", "ops", "comm" or "optim"
  std::string op;       // op name ("BINARY") or API area ("copy")
  std::string name;     // the case
  std::string status;
  double error = 0;      // normalised error (ops), 0 for API checks
  double threshold = 0;  // what the error was compared against
  std::string detail;    // why it failed, or the plugin's message
};

// The rows of a run, with the hooks that let each case run in a child
// process (isolate.cpp): in a child, every case's start and every row go to
// stdout as JSON lines as they happen, and the cases before `first` are
// skipped (an earlier child already ran them, or died in one). A section
// calls begin() at the top of each case and skips the case when it says no.
struct Rows : std::vector<CaseResult> {
  bool stream = false;  // a child: print begins and rows as they happen
  size_t first = 0;     // skip the cases with a smaller index
  // Named values a child hands its parent beside the rows (a communicator's
  // rank and world size).
  std::map<std::string, std::string> facts;
  void fact(const std::string& key, const std::string& value);
  // Case `index` of the section (stable from run to run) starts: `op` and
  // `name` say which, should it crash or hang. False: skip it.
  bool begin(size_t index, const std::string& op, const std::string& name);
  void push_back(CaseResult r);
  // A row the parent took from a child: kept, not streamed again.
  void keep(CaseResult r) { std::vector<CaseResult>::push_back(std::move(r)); }
};

// Runs `unit` (see main.cpp) in child processes of this program (`argv`:
// its own command line), appending their rows to `out` (as `section`
// rows); a case whose child crashed, exited or hung is a failed row, and a
// new child goes on from the next case (isolate.cpp) — unless `restart` is
// false (a communicator: a new process cannot re-join its world), when the
// cases after it are named as not run.
void run_isolated(const std::vector<std::string>& argv, const std::string& unit, const std::string& section,
                  double case_timeout_s, Rows& out, bool restart = true);
// A child's last line: its unit ran to the end.
void unit_done();

// A plugin's settings as the plinth_config it reads: `table` written out as
// TOML and parsed back by the core (which owns the view's storage).
Result<PluginConfig> plugin_config(const toml::table& table);

const char* op_kind_name(int kind);  // "FILL" .. "POOL2D_BACKWARD", "?" when unknown
size_t dtype_bytes(plinth_dtype d);
// Element i of `bytes` (of dtype d) as a double, and the reverse.
double load_value(const std::vector<uint8_t>& bytes, plinth_dtype d, size_t i);
void store_value(std::vector<uint8_t>& bytes, plinth_dtype d, size_t i, double v);

// API contract checks on `plugin`, without the error paths.
void run_contract(BackendInstance& plugin, uint64_t seed, Rows& out);
// Malformed launches; run last, since a broken plugin may crash on them.
void run_error_checks(BackendInstance& plugin, Rows& out);
// Every op case whose op is in `ops` (all when empty), on the plugin and the reference.
void run_ops(BackendInstance& plugin, BackendInstance& reference, uint64_t seed,
             const std::vector<std::string>& ops, Rows& out);

// Communicator checks (comm.cpp) on component `name`, at the world size the
// launcher gave. Rows have section "comm".
struct CommRun {
  int rank = 0, size = 1;
  int world_failures = -1;  // failures summed over every rank; -1 when unknown
  std::string error;        // non-empty: the communicator could not be created
};
CommRun run_comm(const Registry& reg, const std::string& name, double timeout_s, Rows& out);

// Optimizer checks (optim.cpp) on component `name`, launching ops on `exec`
// (the CPU backend); `rule` "sgd" | "adamw" picks the reference update,
// empty: none (the numeric cases are no-reference). Rows have section "optim".
// The reference backend at 1 and 3 threads (null, and `why`, when the
// reference could not be made so).
struct ThreadedRefs {
  BackendInstance* one = nullptr;
  BackendInstance* three = nullptr;
  std::string why;
};
void run_optimizer(const Registry& reg, const std::string& name, const std::string& rule,
                   BackendInstance& exec, uint64_t seed, Rows& out, const ThreadedRefs& threaded = {});

// The symbols `lib` exports besides plinth_plugin_get and
// plinth_plugin_score, from its ELF dynamic symbol table (exports.cpp).
Result<std::vector<std::string>> extra_exports(const std::filesystem::path& lib);

// Data-source checks (data.cpp) on component `name`, opened with `config`
// (the [data.*] table's keys, from --data-config). Rows have section "data".
void run_data(const Registry& reg, const std::string& name, const toml::table& config, uint64_t seed,
              Rows& out);

}  // namespace plinth::plugin_check
