// runner.cpp — the sweep driver: starts each trial's job as a `plinth train`
// child process (util/child_process, output to runs/<sweep>/<trial>.log), reads the
// metric from the trial's summary.json / metrics.jsonl when it ends, asks
// the Asha rule what runs next, and writes runs/<sweep>/sweep.json after
// every event so an interrupted sweep resumes. At the end: summary.md/.json.
// Not here: the sweep file (spec.cpp) or the promotion rule (asha.cpp).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "config/overrides.hpp"
#include "config/pipeline.hpp"
#include "plinth/child_process.hpp"
#include "plinth/log.hpp"
#include "run/run_folder.hpp"
#include "run/run_lock.hpp"
#include "sweep/sweep.hpp"
#include "util/files.hpp"
#include "util/rng.hpp"

namespace plinth::sweep {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;
using clock = std::chrono::steady_clock;

std::atomic<int> g_signal{0};
extern "C" void on_stop_signal(int sig) { g_signal.store(sig); }

json to_json(const Value& v) {
  return std::visit([](const auto& x) { return json(x); }, v);
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct TrialState {
  std::string id;
  std::vector<Value> values;
  std::string state = "new";  // new | running | paused | stopped | done | failed
  int rung = -1;              // the highest rung completed
  int target = -1;            // the rung its job trains to, while one runs or was interrupted
  json results = json::array();
  std::vector<int> promoted;  // rungs it was promoted from
  double wall_s = 0;
  std::string error;
  std::optional<double> value;  // the metric at `rung`
  int64_t steps = 0;
  bool final = false;  // ended on its own before its rung (early stop, target reached)
};

struct Sweep {
  const SweepSpec& spec;
  fs::path dir;
  std::vector<int64_t> rungs;
  std::vector<TrialState> trials;
  int next_new = 0;
  int n_trials = 0;  // after max_trials
  std::string fingerprint;
  double elapsed_before = 0;  // wall seconds of earlier sessions
  clock::time_point t0 = clock::now();
  bool finished = false;
  bool budget_reached = false;

  double elapsed() const { return elapsed_before + std::chrono::duration<double>(clock::now() - t0).count(); }

  json to_json_state() const {
    json j{{"version", 1},
           {"sweep_file", fs::absolute(spec.source).lexically_normal().string()},
           {"base", spec.base.string()},
           {"fingerprint", fingerprint},
           {"name", spec.name},
           {"method", spec.method},
           {"metric", spec.metric},
           {"mode", spec.mode},
           {"asha", spec.asha.enabled},
           {"rungs", rungs},
           {"elapsed_s", elapsed()},
           {"next_new", next_new},
           {"finished", finished},
           {"budget_reached", budget_reached}};
    json params = json::array();
    for (const auto& p : spec.params) params.push_back(p.key);
    j["params"] = params;
    json ts = json::array();
    for (const auto& t : trials) {
      json vals = json::object();
      for (size_t i = 0; i < spec.params.size(); ++i) vals[spec.params[i].key] = to_json(t.values[i]);
      ts.push_back({{"id", t.id},
                    {"params", vals},
                    {"state", t.state},
                    {"rung", t.rung},
                    {"target", t.target},
                    {"steps", t.steps},
                    {"value", t.value ? json(*t.value) : json()},
                    {"final", t.final},
                    {"results", t.results},
                    {"promoted", t.promoted},
                    {"wall_s", t.wall_s},
                    {"error", t.error}});
    }
    j["trials"] = ts;
    return j;
  }

  Status save() const { return write_file_atomic(dir / "sweep.json", to_json_state().dump(2) + "\n"); }
};

// The metric of a finished job: from summary.json, or for time_to_target
// the training time of the first evaluation that reached the target
// (metrics.jsonl; summed over resumed segments, unlike summary.json's,
// which counts from the last process start).
std::optional<double> read_metric(const fs::path& run, const std::string& metric,
                                  const run::Summary& summary) {
  if (metric == "eval_loss") return summary.eval_loss;
  if (metric == "eval_accuracy") return summary.eval_accuracy;
  auto lines = run::read_metrics(run::Folder{run}.metrics());
  if (!lines) return std::nullopt;
  for (const auto& l : *lines) {
    if (!l.object) continue;
    const json& j = l.value;
    if (j.value("target_reached", false) && j.contains("time_s") && j["time_s"].is_number())
      return j["time_s"].get<double>();
  }
  return std::nullopt;
}

std::string fmt_value(const std::optional<double>& v) {
  if (!v) return "-";
  char b[32];
  std::snprintf(b, sizeof b, "%.4f", *v);
  return b;
}

// The trials ranked: furthest rung first, then by the metric (best first), then by id.
std::vector<const TrialState*> ranked(const Sweep& s) {
  std::vector<const TrialState*> v;
  for (const auto& t : s.trials)
    if (t.state != "new") v.push_back(&t);
  const bool max = s.spec.mode == "max";
  std::stable_sort(v.begin(), v.end(), [&](const TrialState* a, const TrialState* b) {
    if (a->rung != b->rung) return a->rung > b->rung;
    if (a->value.has_value() != b->value.has_value()) return a->value.has_value();
    if (a->value && *a->value != *b->value) return max ? *a->value > *b->value : *a->value < *b->value;
    return a->id < b->id;
  });
  return v;
}

std::string summary_table(const Sweep& s) {
  std::ostringstream os;
  os << "| rank | trial |";
  for (const auto& p : s.spec.params) os << " " << p.key << " |";
  os << " rung (steps) | " << s.spec.metric << " | wall s | state |\n|---|---|";
  for (size_t i = 0; i < s.spec.params.size(); ++i) os << "---|";
  os << "---|---|---|---|\n";
  int rank = 0;
  for (const TrialState* t : ranked(s)) {
    os << "| " << ++rank << " | " << t->id << " |";
    for (const auto& v : t->values) os << " " << value_text(v) << " |";
    char wall[32];
    std::snprintf(wall, sizeof wall, "%.1f", t->wall_s);
    os << " " << (t->rung >= 0 ? std::to_string(t->rung) + " (" + std::to_string(t->steps) + ")" : "-")
       << " | " << fmt_value(t->value) << " | " << wall << " | " << t->state << " |\n";
  }
  return os.str();
}

Status write_summary(const Sweep& s, std::string* table) {
  *table = summary_table(s);
  std::ostringstream md;
  char head[256];
  std::snprintf(head, sizeof head, "# Sweep %s\n\n%s, %s %s, %zu trials, %.1f s wall clock%s.\n\n",
                s.spec.name.c_str(), s.spec.asha.enabled ? "ASHA" : s.spec.method.c_str(),
                s.spec.metric.c_str(), s.spec.mode.c_str(), s.trials.size(), s.elapsed(),
                s.finished ? "" : " (not finished)");
  md << head << *table;
  PLINTH_TRY(write_file_atomic(s.dir / "summary.md", md.str()));
  json rows = json::array();
  int rank = 0;
  for (const TrialState* t : ranked(s)) {
    json vals = json::object();
    for (size_t i = 0; i < s.spec.params.size(); ++i) vals[s.spec.params[i].key] = to_json(t->values[i]);
    rows.push_back({{"rank", ++rank},
                    {"trial", t->id},
                    {"run", (s.dir / t->id).string()},
                    {"params", vals},
                    {"rung", t->rung},
                    {"steps", t->steps},
                    {"value", t->value ? json(*t->value) : json()},
                    {"wall_s", t->wall_s},
                    {"state", t->state}});
  }
  json j{{"name", s.spec.name},         {"metric", s.spec.metric}, {"mode", s.spec.mode},
         {"asha", s.spec.asha.enabled}, {"rungs", s.rungs},        {"wall_s", s.elapsed()},
         {"finished", s.finished},      {"trials", rows}};
  return write_file_atomic(s.dir / "summary.json", j.dump(2) + "\n");
}

struct Child {
  pid_t pid;
  int trial;
  int rung;
  clock::time_point start;
  int64_t slots;  // of `parallel`: more than 1 when it took the threads of idle slots
};

}  // namespace

Result<SweepOutcome> run_sweep(const SweepSpec& spec, const RunOptions& options) {
  // Everything is checked before runs/<sweep>/ is touched.
  // A key both overridden and varied would be set twice: refused.
  for (const std::string& o : options.overrides)
    for (const Param& p : spec.params)
      if (config::override_key(o) == p.key)
        return error(errc::config, "--set " + o + ": " + p.key + ": the sweep varies this key (" +
                                       spec.source.string() + ":" + std::to_string(p.line) +
                                       "); set it in [sweep.params] or leave it out there");
  auto base = config::load_pipeline(spec.base, options.overrides);
  if (!base)
    return error(base.status().code(), spec.source.string() + ": sweep.base: " + base.status().message());
  SweepSpec sp = spec;
  PLINTH_TRY(check_params(sp, base->document));
  auto all = make_trials(sp);
  if (!all) return all.status();
  const unsigned cores = options.cores ? options.cores : std::max(1u, std::thread::hardware_concurrency());
  const int64_t threads = sp.threads > 0 ? sp.threads : std::max<int64_t>(1, cores / sp.parallel);
  if (sp.parallel * threads > static_cast<int64_t>(cores))
    logger().warn(
        "sweep: parallel ({}) x threads ({}) = {} is more than the {} cores; trials will slow each other",
        sp.parallel, threads, sp.parallel * threads, cores);

  std::error_code ec;
  Sweep s{sp, fs::absolute(sp.out_dir / sp.name, ec).lexically_normal(), {}, {}, 0, 0, {}, 0, clock::now()};
  s.rungs = sp.asha.enabled ? rung_steps(sp.asha.min_steps, sp.asha.max_steps, sp.asha.reduction_factor)
                            : std::vector<int64_t>{0};
  s.fingerprint = sha256_file(sp.source) + sha256_file(sp.base);
  for (const std::string& o : options.overrides)
    s.fingerprint += "\n--set " + o;  // another --set: another sweep
  s.n_trials = static_cast<int>(all->size());
  if (sp.max_trials > 0) s.n_trials = std::min<int>(s.n_trials, static_cast<int>(sp.max_trials));
  for (auto& t : *all) {
    TrialState ts;
    ts.id = t.id;
    ts.values = t.values;
    s.trials.push_back(std::move(ts));
  }

  // The order trials start in. ASHA's promotions assume configurations
  // arrive in random order: a grid in its own order (e.g. learning rates
  // rising) would make each new trial the best so far and promote most of
  // them, so with ASHA a grid starts in an order shuffled with `seed`.
  std::vector<int> order(s.trials.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
  if (sp.asha.enabled && sp.method == "grid") {
    const auto sh = shuffled_indices(order.size(), derive_seed(sp.seed, 0x4f52444552ull));
    for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(sh[i]);
  }

  TrialSettings settings;
  settings.out_dir = s.dir;
  settings.threads = threads;
  settings.max_steps = sp.asha.enabled ? sp.asha.max_steps : 0;
  auto pipeline_of = [&](const TrialState& t) {
    TrialSettings st = settings;
    st.run_name = t.id;
    return trial_pipeline(sp, base->document, t.values, st);
  };
  if (options.validate && !s.trials.empty()) {
    auto text = pipeline_of(s.trials[0]);
    if (!text) return text.status();
    const fs::path file = s.dir / (s.trials[0].id + ".toml");
    if (Status v = options.validate(*text, file); !v.ok()) {
      // An error about one of the sweep's keys names that key's line in the sweep file.
      std::string msg = v.message();
      if (msg.rfind(file.string() + ":", 0) == 0)
        if (size_t c = msg.find(": ", file.string().size() + 1); c != std::string::npos)
          msg = msg.substr(c + 2);
      for (const Param& p : sp.params)
        if (msg.rfind(p.key + ":", 0) == 0 || msg.find(" " + p.key + ":") != std::string::npos)
          return error(v.code(), sp.source.string() + ":" + std::to_string(p.line) + ":" +
                                     std::to_string(p.column) + ": sweep.params.\"" + p.key +
                                     "\": the base pipeline with this key does not validate: " + msg);
      return error(v.code(), sp.source.string() + ": the first trial's pipeline (base " + sp.base.string() +
                                 " with the sweep's parameters) is not valid: " + v.message());
    }
  }

  // Resume from sweep.json, or start.
  const fs::path state_file = s.dir / "sweep.json";
  std::deque<Asha::Job> queued;  // jobs interrupted last time, run first
  Asha asha(static_cast<int>(s.rungs.size()), sp.asha.reduction_factor, sp.mode == "max");
  if (fs::exists(state_file, ec)) {
    json j = json::parse(read_text(state_file), nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("trials"))
      return error(errc::bad_data,
                   state_file.string() + ": not a sweep state file (move it aside to start over)");
    if (j.value("fingerprint", "") != s.fingerprint)
      return error(errc::config,
                   sp.source.string() + ": cannot resume " + s.dir.string() + ": " +
                       state_file.filename().string() +
                       " was written for another version of the sweep file, its base pipeline or its --set "
                       "(give the sweep another name, or move the folder aside)");
    s.elapsed_before = j.value("elapsed_s", 0.0);
    s.next_new = j.value("next_new", 0);
    s.budget_reached = j.value("budget_reached", false);
    const json& ts = j["trials"];
    for (size_t i = 0; i < ts.size() && i < s.trials.size(); ++i) {
      TrialState& t = s.trials[i];
      const json& x = ts[i];
      t.state = x.value("state", "new");
      t.rung = x.value("rung", -1);
      t.target = x.value("target", -1);
      t.steps = x.value("steps", int64_t{0});
      t.final = x.value("final", false);
      t.results = x.value("results", json::array());
      t.promoted = x.value("promoted", std::vector<int>{});
      t.wall_s = x.value("wall_s", 0.0);
      t.error = x.value("error", "");
      if (x.contains("value") && x["value"].is_number()) t.value = x["value"].get<double>();
      for (const json& r : t.results) {
        std::optional<double> v;
        if (r.contains("value") && r["value"].is_number()) v = r["value"].get<double>();
        asha.record(static_cast<int>(i), r.value("rung", 0), v, r.value("final", false));
      }
      for (int k : t.promoted) asha.mark_promoted(static_cast<int>(i), k);
      if (t.state == "running") queued.push_back({static_cast<int>(i), t.target});
    }
    logger().info("sweep {}: resuming ({} job(s) to restart)", s.dir.string(), queued.size());
  } else if (options.resume) {
    return error(errc::config, sp.source.string() + ": --resume: " + state_file.string() + " does not exist");
  }
  PLINTH_TRY(create_output_folder(s.dir, "the sweep folder"));
  // One sweep process per folder: a second would restart the same trials.
  auto lock = run::RunLock::take(s.dir);
  if (!lock) return lock.status();
  lock->write_pid();
  PLINTH_TRY(write_file_atomic(s.dir / "sweep.toml", read_text(sp.source)));
  PLINTH_TRY(s.save());

  SweepOutcome out;
  out.dir = s.dir;
  g_signal = 0;
  struct sigaction sa {
  }, old_int{}, old_term{}, old_hup{};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, &old_int);
  ::sigaction(SIGTERM, &sa, &old_term);
  // A lost session stops the sweep as SIGTERM does, unless SIGHUP was ignored (nohup).
  ::sigaction(SIGHUP, &sa, &old_hup);
  if (old_hup.sa_handler == SIG_IGN) ::sigaction(SIGHUP, &old_hup, nullptr);
  struct Restore {
    struct sigaction i, t, h;
    ~Restore() {
      ::sigaction(SIGINT, &i, nullptr);
      ::sigaction(SIGTERM, &t, nullptr);
      ::sigaction(SIGHUP, &h, nullptr);
    }
  } restore{old_int, old_term, old_hup};

  std::vector<Child> running;
  Status failure;
  auto budget_over = [&] { return sp.max_minutes > 0 && s.elapsed() >= sp.max_minutes * 60.0; };
  auto used_slots = [&] {
    int64_t n = 0;
    for (const Child& c : running) n += c.slots;
    return n;
  };
  auto start_job = [&](Asha::Job job, int64_t slots) -> Status {
    TrialState& t = s.trials[job.trial];
    const fs::path toml_file = s.dir / (t.id + ".toml");
    if (!fs::exists(toml_file, ec)) {
      auto text = pipeline_of(t);
      if (!text) return text.status();
      PLINTH_TRY(write_file_atomic(toml_file, *text));
    }
    std::vector<std::string> args = options.plinth_argv;
    args.insert(args.end(), {"train", "--no-progress", "--resume"});
    const bool last = job.rung + 1 == static_cast<int>(s.rungs.size());
    if (!last) args.insert(args.end(), {"--stop-at-step", std::to_string(s.rungs[job.rung])});
    if (slots > 1) args.insert(args.end(), {"--threads", std::to_string(threads * slots)});
    args.push_back(toml_file.string());
    auto child = start_child({args.front(), args, s.dir / (t.id + ".log")});
    if (!child) return child.status();
    running.push_back({child->pid, job.trial, job.rung, clock::now(), slots});
    t.state = "running";
    t.target = job.rung;
    std::fprintf(stderr, "%s: start rung %d (%s steps)%s\n", t.id.c_str(), job.rung,
                 s.rungs[job.rung] > 0 ? std::to_string(s.rungs[job.rung]).c_str() : "all",
                 slots > 1 ? (" with " + std::to_string(threads * slots) + " threads").c_str() : "");
    return s.save();
  };

  auto finish_job = [&](const Child& c, int status) -> Status {
    TrialState& t = s.trials[c.trial];
    const double wall = std::chrono::duration<double>(clock::now() - c.start).count();
    t.wall_s += wall;
    const fs::path run = s.dir / t.id;
    auto summary = run::read_summary(run::Folder{run});
    const bool ended_ok = exited_ok(status);
    const bool interrupted = (summary.ok() && summary->interrupted) || WIFSIGNALED(status) ||
                             (WIFEXITED(status) && WEXITSTATUS(status) == 130);
    if (interrupted) {
      // Stopped by a signal: the job runs again (from its checkpoint) when
      // the sweep goes on; the state stays "running" for the next session.
      if (g_signal.load()) return s.save();
      queued.push_back({c.trial, c.rung});
      return s.save();
    }
    if (!ended_ok || !summary.ok() || summary->status.value_or("") != "ok") {
      t.state = "failed";
      t.target = -1;
      t.error = last_error_line(s.dir / (t.id + ".log"));
      std::fprintf(stderr, "%s: FAILED (%s; see %s)\n", t.id.c_str(), t.error.c_str(),
                   (s.dir / (t.id + ".log")).c_str());
      ++out.failed;
      return s.save();
    }
    const int64_t steps = summary->steps.value_or(0);
    const bool paused = summary->paused;
    const bool last = c.rung + 1 == static_cast<int>(s.rungs.size());
    const bool final = !last && !paused;  // ended before the rung on its own (early stop, target)
    const auto v = read_metric(run, sp.metric, *summary);
    asha.record(c.trial, c.rung, v, final);
    t.rung = c.rung;
    t.target = -1;
    t.steps = steps;
    t.value = v;
    t.final = final;
    t.state = last || final ? "done" : "paused";
    t.results.push_back({{"rung", c.rung},
                         {"step", steps},
                         {"value", v ? json(*v) : json()},
                         {"final", final},
                         {"wall_s", wall}});
    std::fprintf(stderr, "%s: rung %d at step %lld: %s %s in %.1f s%s\n", t.id.c_str(), c.rung,
                 static_cast<long long>(steps), sp.metric.c_str(), fmt_value(v).c_str(), wall,
                 final ? " (ended on its own)" : "");
    return s.save();
  };

  while (true) {
    if (g_signal.load()) break;
    // Fill the free slots.
    while (failure.ok() && used_slots() < sp.parallel && !g_signal.load()) {
      std::optional<Asha::Job> job;
      if (!queued.empty()) {
        job = queued.front();
        queued.pop_front();
      } else if (budget_over()) {
        if (!s.budget_reached) std::fprintf(stderr, "sweep: max_minutes reached: no new jobs start\n");
        s.budget_reached = true;
      } else {
        job = asha.next_job(s.next_new, s.n_trials);
        if (job) {
          if (job->rung == 0) {  // a new trial (promotions go to rung 1 and up)
            job->trial = order[s.next_new];
            ++s.next_new;
          } else {
            asha.mark_promoted(job->trial, job->rung - 1);
            s.trials[job->trial].promoted.push_back(job->rung - 1);
            std::fprintf(stderr, "%s: promoted to rung %d\n", s.trials[job->trial].id.c_str(), job->rung);
          }
        }
      }
      if (!job) break;
      // The last job that can start for now takes the threads of the slots
      // that would stay idle (the end of an ASHA sweep: the best trial
      // trains on alone). Its slots stay taken until it ends, so the cores
      // are never oversubscribed: a job that becomes ready meanwhile waits.
      int64_t slots = 1;
      if (queued.empty() && !budget_over() && !asha.next_job(s.next_new, s.n_trials))
        slots = sp.parallel - used_slots();
      failure = start_job(*job, slots);
    }
    if (running.empty()) break;
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid <= 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    auto it = std::find_if(running.begin(), running.end(), [&](const Child& c) { return c.pid == pid; });
    if (it == running.end()) continue;
    const Child c = *it;
    running.erase(it);
    if (Status st = finish_job(c, status); !st.ok() && failure.ok()) failure = st;
  }

  if (g_signal.load() || !failure.ok()) {
    // Stop the running trials: each checkpoints on SIGTERM and ends.
    for (const Child& c : running) ::kill(c.pid, SIGTERM);
    for (const Child& c : running) {
      wait_child(c.pid);
      s.trials[c.trial].wall_s += std::chrono::duration<double>(clock::now() - c.start).count();
    }
    running.clear();
    out.interrupted = g_signal.load() != 0;
    out.stop_signal = g_signal.load();
  } else {
    // Done: what waits at a rung without promotion was stopped by ASHA.
    s.finished = true;
    for (auto& t : s.trials)
      if (t.state == "paused") t.state = "stopped";
  }
  out.budget_reached = s.budget_reached;
  for (const auto& t : s.trials) out.trials_started += t.state != "new";
  PLINTH_TRY(s.save());
  PLINTH_TRY(write_summary(s, &out.table));
  out.wall_seconds = s.elapsed();
  if (!failure.ok()) return failure;
  return out;
}

}  // namespace plinth::sweep
