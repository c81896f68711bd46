// trainer.cpp — train::run(), the training loop of a prepared run, read top
// to bottom: open the run folder (and the checkpoint to resume from), then
// optimizer steps (step.cpp) with metrics lines, evaluation, early stopping,
// checkpoints and the embedding application's hooks, then the final weights
// and summary.json; data parallel when a launcher started several processes
// (rank 0 writes). Not here: preparing the run (prepare.cpp), the step
// (step.cpp), the files' schema (run/run_folder.hpp, train/loop_state.hpp),
// checkpoint files (checkpoint.cpp), gradient buckets (data_parallel.cpp).
#include "train/trainer.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <optional>
#include <sstream>

#include <nlohmann/json.hpp>

#include "config/overrides.hpp"
#include "plinth/log.hpp"
#include "plugin/openmp_waits.hpp"
#include "run/run_folder.hpp"
#include "run/run_lock.hpp"
#include "train/checkpoint.hpp"
#include "train/energy.hpp"
#include "train/loop_state.hpp"
#include "train/safetensors.hpp"
#include "train/step.hpp"
#include "train/trainer_impl.hpp"
#include "util/files.hpp"

namespace plinth::train {
namespace {

std::atomic<bool> g_stop{false};
std::atomic<int> g_stop_signal{0};

using clock = std::chrono::steady_clock;
using json = nlohmann::ordered_json;
double seconds_since(clock::time_point t) { return std::chrono::duration<double>(clock::now() - t).count(); }

// Ctrl-C, SIGTERM (a scheduler's stop) and SIGHUP (the terminal or ssh
// session went away; left ignored when it was, as under nohup) end the run
// after the current step, with a final checkpoint. The handlers stay until
// run() returns: a signal that comes while the final checkpoint, weights and
// summary are written (the run is ending anyway) must not kill the process
// mid-way.
struct StopHandlers {
  void (*old_int)(int) = std::signal(SIGINT, [](int sig) { request_stop(sig); });
  void (*old_term)(int) = std::signal(SIGTERM, [](int sig) { request_stop(sig); });
  void (*old_hup)(int) = std::signal(SIGHUP, [](int sig) { request_stop(sig); });
  StopHandlers() {
    if (old_hup == SIG_IGN) std::signal(SIGHUP, SIG_IGN);
  }
  ~StopHandlers() {
    std::signal(SIGINT, old_int);
    std::signal(SIGTERM, old_term);
    std::signal(SIGHUP, old_hup);
  }
};

// Removes the run's log file sink from the logger when the run ends.
struct SinkGuard {
  spdlog::sink_ptr sink;
  ~SinkGuard() {
    if (sink) remove_log_sink(sink);
  }
};

// The newest checkpoint of `dir`, which must verify (its files and every
// key of its state.json): falling back to an older one would silently drop
// the steps after it, so a damaged one is refused and the operator decides
// (moving it aside resumes from the one before). nullopt: there is none.
Result<std::optional<Checkpoint>> newest_checkpoint(const std::filesystem::path& dir) {
  const auto all = list_checkpoints(dir);
  if (all.empty()) return std::optional<Checkpoint>();
  auto c = read_checkpoint(all.back().second);
  if (c) {
    if (Status s = LoopState::check_json(c->state, (c->dir / "state.json").string()); !s.ok()) c = s;
  }
  if (!c) {
    const std::string older = all.size() > 1
                                  ? "the one before it, " + all[all.size() - 2].second.filename().string()
                                  : "the beginning";
    return error(errc::bad_data, "cannot resume: the newest checkpoint is damaged: " + c.status().message() +
                                     " (move " + all.back().second.string() + " aside to resume from " +
                                     older + ")");
  }
  return std::optional<Checkpoint>(std::move(*c));
}

// "; the run was started with --set a=1" when a refused resume's --set
// arguments differ from those the run folder's pipeline.toml lists (the
// usual cause: a run started with --set resumes with the same --set).
std::string overrides_hint(const std::filesystem::path& run_dir, const std::vector<std::string>& now) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(run_dir / "pipeline.toml", ec)) return {};
  std::ifstream in(run_dir / "pipeline.toml");
  std::ostringstream text;
  text << in.rdbuf();
  const std::vector<std::string> was = config::override_comments(text.str());
  if (was == now) return {};
  auto list = [](const std::vector<std::string>& v) {
    std::string out;
    for (const auto& o : v) out += (out.empty() ? "--set " : " --set ") + o;
    return out.empty() ? std::string("no --set") : out;
  };
  return "; the run was started with " + list(was) + ", this command gives " + list(now);
}

// A checkpoint this run can resume from: written by the same pipeline (the
// thread count may differ: it sets the speed, not the model or the data
// order), holding every tensor the run restores with its shape. Checked
// before anything is written into the run folder.
Status check_resumable(const Trainer& t, const Checkpoint& c, const LoopState& saved,
                       const std::string& resolved) {
  const auto& p = t.p;
  std::string same_threads = resolved;
  if (saved.origin.threads && *saved.origin.threads != p.backend.threads) {
    config::Pipeline q = p;
    config::set_backend_threads(q, *saved.origin.threads);
    same_threads = config::resolved_toml(q);
  }
  if (!saved.origin.pipeline ||
      (*saved.origin.pipeline != resolved && *saved.origin.pipeline != same_threads))
    return error(errc::config, p.source.string() + ": cannot resume from " + c.dir.string() +
                                   ": it was written by a different pipeline (compare its state.json "
                                   "'pipeline' with `plinth resolve`)" +
                                   overrides_hint(c.dir.parent_path().parent_path(), p.overrides));
  auto check = [&](const std::vector<NamedTensor>& ts, const char* file, const std::string& name) -> Status {
    const auto& slot = t.store->slot(name);
    for (const auto& nt : ts)
      if (nt.name == name) {
        if (nt.shape == slot.shape && nt.data.size() == slot.bytes) return {};
        return error(errc::bad_data,
                     (c.dir / file).string() + ": tensor '" + name + "' has another shape than the model's");
      }
    std::string held;
    for (const auto& nt : ts) held += (held.empty() ? "" : ", ") + nt.name;
    return error(errc::bad_data, (c.dir / file).string() + ": no tensor '" + name +
                                     "' (it holds: " + (held.empty() ? "none" : held) + ")");
  };
  for (size_t i = 0; i < t.param_names.size(); ++i) {
    const std::string& name = t.param_names[i];
    PLINTH_TRY(check(c.model, "model.safetensors", name));
    if (!t.params[i].trainable) continue;
    for (const auto& sl : t.slot_names)
      PLINTH_TRY(check(c.optimizer, "optimizer.safetensors", name + "." + sl));
  }
  return {};
}

// PowerSGD's state from a checkpoint (see DataParallel::PowerSgdState). One
// written without it (compression was off, or an older version) starts
// PowerSGD afresh with its warm-up, as a new run would.
Status restore_powersgd(Trainer& t, const Checkpoint& c, const LoopState& saved) {
  auto want = t.dp->powersgd_state(false);
  if (!want) return want.status();
  if (want->empty()) return {};
  if (!saved.origin.powersgd_steps) {
    logger().warn("{}: no PowerSGD state in this checkpoint: PowerSGD starts afresh (with its warm-up)",
                  c.dir.string());
    return {};
  }
  auto find = [&](const std::string& name, const std::vector<int64_t>& shape,
                  std::vector<float>& into) -> Status {
    for (const auto& nt : c.optimizer)
      if (nt.name == name) {
        if (nt.shape != shape || nt.dtype != PLINTH_DTYPE_F32)
          return error(errc::bad_data, c.dir.string() + ": tensor '" + name +
                                           "' has another shape than this run's PowerSGD state (was "
                                           "[distributed] powersgd_rank changed?)");
        into.resize(nt.data.size() / 4);
        std::memcpy(into.data(), nt.data.data(), into.size() * 4);
        return {};
      }
    return error(errc::bad_data, c.dir.string() + ": no tensor '" + name + "' (PowerSGD state)");
  };
  for (auto& s : *want) {
    PLINTH_TRY(find(t.param_names[t.grad_params[s.param]] + ".powersgd_q", s.q_shape, s.q));
    PLINTH_TRY(find(t.param_names[t.grad_params[s.param]] + ".powersgd_error", s.e_shape, s.e));
  }
  return t.dp->restore_powersgd(*want, *saved.origin.powersgd_steps);
}

// The loop of one run() call: its folder, state, clocks and outcome.
class RunLoop {
 public:
  explicit RunLoop(Trainer& t) : t(t), p(t.p), rank0(t.writer()) {}

  Status open();                  // the run folder, and the state to resume from
  void train();                   // optimizer steps until the end, a stop or a failure
  Result<TrainOutcome> finish();  // final checkpoint, weights and summary

 private:
  Status open_folder();
  Status check_run_folder(const std::filesystem::path& dir) const;
  Status check_same_pipeline(const std::filesystem::path& dir) const;
  Status write_run_files();
  Status restore(const Checkpoint& c);
  Status one_step();
  Status log_step(const StepUpdate& u);
  void print_progress(double loss, double lr, double rate, double now);
  Status evaluate();
  Status checkpoint();
  Status checkpoint_status();
  Status agree_across_ranks(bool due_steps, bool due_time);
  Status write_summary(double first_step);
  bool stop_requested() const { return t.dp ? dp_stop : g_stop.load(); }
  double elapsed() const { return ls.seconds + seconds_since(t0); }
  bool energy_measured() const { return energy.measured() && energy_before_note.empty(); }
  std::string energy_note() const;

  Trainer& t;
  const config::Pipeline& p;
  const bool rank0;  // data parallel: rank 0 writes the run folder
  TrainOutcome out;
  run::Folder folder;
  std::optional<run::RunLock> run_lock;  // rank 0: this process is the folder's one writer
  std::string resolved;                  // the resolved pipeline
  json plugins;                          // plugins.json
  std::optional<Checkpoint> resume_from;
  SinkGuard sink_guard;  // the run's log: everything the core and plugins log while it trains

  LoopState ls;
  std::optional<CheckpointWriter> writer;
  int64_t last_ckpt_step = -1;
  run::Phases ph;
  // Energy: measured counters only (RAPL; a GPU backend's counter would be
  // added here with energy.add()); earlier processes' joules come from the
  // checkpoint, and one unmeasured process makes the whole run unmeasured.
  EnergyMeter energy = EnergyMeter::with_rapl();
  double energy_before = 0;
  std::string energy_before_note;

  bool tty = false;
  clock::time_point t0, last_ckpt_time;
  double last_log_t = 0, last_print_t = -1, stall_at_log = 0;
  double first_step_s = -1;  // from the command's start to this process's first update
  bool epoch_started = false;
  bool dp_stop = false;       // data parallel: a stop request seen by any rank, agreed at the step's end
  uint64_t bytes_at_log = 0;  // data parallel: bytes sent and step at the last metrics line
  int64_t step_at_log = 0;
  Status failure;

  // [distributed] sync = local_sgd / diloco: step `step` was taken alone
  // and ended without a meeting (the last step of the run always meets).
  bool apart(int64_t step) const {
    return t.dp && t.dp->local_step(step) && !t.dp->sync_step(step) && step != t.total_steps;
  }
  bool meets(int64_t step) const {
    return t.dp && t.dp->local_step(step) && (t.dp->sync_step(step) || step == t.total_steps);
  }
  // local_sgd / diloco: this rank's own parameters and optimizer state,
  // (trained parameters and buffers, then each trained parameter's slots).
  std::vector<std::pair<std::string, exec::Store::Group>> own_tensors() const;
  Status restore_sync_state(const Checkpoint& c);
};

std::string RunLoop::energy_note() const {
  std::string n = energy_before_note;
  if (!energy.note().empty()) n += (n.empty() ? "" : "; ") + energy.note();
  return n;
}

// The run folder: runs/<name>, or runs/<name>-2 ... when taken (reused when
// resuming), created and locked; the checkpoint to resume from, checked.
// Nothing is written here but the folder and its lock file: a resume that is
// refused leaves the folder as it was.
Status RunLoop::open_folder() {
  // The name may also come from the API (Pipeline::set_name), past the file's check.
  if (const std::string why = run::name_problem(p.run.name); !why.empty())
    return error(errc::config, p.source.string() + ": run.name " + why);
  out.rank = t.dp ? t.dp->rank() : 0;
  resolved = config::resolved_toml(p);
  std::filesystem::path dir = run::folder_path(p.run.out_dir, p.run.name, 0);
  std::error_code ec;
  const bool existing = t.opt.resume && std::filesystem::exists(dir, ec);
  if (existing) PLINTH_TRY(check_run_folder(dir));
  int suffix = 0;
  if (rank0 && !t.opt.resume) {
    auto claimed = run::claim_new_folder(p.run.out_dir, p.run.name);
    if (!claimed) return claimed.status();
    suffix = claimed->suffix;
    run_lock.emplace(std::move(claimed->lock));
  } else if (rank0) {
    // Resuming: the run's own folder (created when there is none yet).
    if (!existing) PLINTH_TRY(create_output_folder(dir, "the run folder"));
    auto lock = run::RunLock::take(dir);
    if (!lock) return lock.status();
    run_lock.emplace(std::move(*lock));
  }
  // Data parallel: rank 0 writes the run folder; the others only read its
  // checkpoints when resuming. Rank 0's choice of folder is the run's.
  if (t.dp && !t.opt.resume) {
    double chosen = rank0 ? suffix : -1;
    PLINTH_TRY(t.dp->all_reduce(&chosen, 1, PLINTH_REDUCE_OP_MAX));
    suffix = static_cast<int>(chosen);
  }
  dir = run::folder_path(p.run.out_dir, p.run.name, suffix);
  out.run_dir = dir;
  folder = run::Folder{dir};
  if (!t.opt.resume) return {};
  auto newest = newest_checkpoint(folder.checkpoints());
  if (!newest) return newest.status();
  resume_from = std::move(*newest);
  // A folder without pipeline.toml here is one stopped before it wrote anything.
  std::error_code ec2;
  if (!resume_from && existing && std::filesystem::exists(dir / "pipeline.toml", ec2))
    return check_same_pipeline(dir);
  if (!resume_from) return {};
  return check_resumable(t, *resume_from, LoopState::from_json(resume_from->state, LoopState{}), resolved);
}

// A folder `--resume` may write into: a Plinth run (it has the pipeline.toml
// every run writes first), or one that was stopped before it wrote anything
// (empty, its lock file, and the temporary of a first write killed before
// its rename: pipeline.toml.tmp), not a folder of other files that happens
// to have the run's name.
Status RunLoop::check_run_folder(const std::filesystem::path& dir) const {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec))
    return error(errc::config, p.source.string() + ": cannot resume into " + dir.string() + ": not a folder");
  auto only_lock = [&] {
    std::error_code it_ec;
    for (const auto& e : std::filesystem::directory_iterator(dir, it_ec))
      if (e.path().filename() != "lock" && e.path().filename() != "pipeline.toml.tmp") return false;
    return !it_ec;
  };
  if (!std::filesystem::is_regular_file(dir / "pipeline.toml", ec) && !only_lock())
    return error(errc::config, p.source.string() + ": cannot resume into " + dir.string() +
                                   ": it is not a Plinth run (no pipeline.toml); give the run another name "
                                   "or move the folder aside");
  return {};
}

// A run folder without checkpoints: its pipeline.toml must be this
// pipeline's (the thread count aside), or the resume would start another
// model's run over this one's files.
Status RunLoop::check_same_pipeline(const std::filesystem::path& dir) const {
  auto was = config::load_pipeline(dir / "pipeline.toml");
  if (was) {
    was->source = p.source;  // named in the resolved text's first line
    config::set_backend_threads(*was, p.backend.threads);
    if (config::resolved_toml(*was) == resolved) return {};
  }
  return error(errc::config, p.source.string() + ": cannot resume into " + dir.string() +
                                 ": it is a run of a different pipeline (compare its pipeline.toml with "
                                 "`plinth resolve`)" +
                                 overrides_hint(dir, p.overrides));
}

// What the run is (pipeline.toml, plugins.json, model.json, vocab.json,
// classes.json), the
// metrics of a resumed run cut back to its checkpoint, and the run's log.
Status RunLoop::write_run_files() {
  if (run_lock) run_lock->write_pid();
  if (rank0)
    PLINTH_TRY(write_file_atomic(folder.pipeline(), config::with_override_comments(resolved, p.overrides)));
  std::vector<run::PluginRow> rows;
  for (const auto& info : t.registry->plugins()) {
    if (info.state != PluginState::loaded) continue;
    rows.push_back({info.entry.name, info.entry.kind, info.version,
                    std::to_string(info.abi_major) + "." + std::to_string(info.abi_minor),
                    info.entry.path.string(), info.sha256});
  }
  plugins = run::plugins_json(rows);
  if (rank0) PLINTH_TRY(write_file_atomic(folder.plugins(), plugins.dump(2) + "\n"));
  // What the model reads and predicts, so `plinth sample` can rebuild it without the data.
  const run::ModelIO model_io{{exec::dtype_name(t.shape.input_dtype), t.shape.input_shape},
                              {exec::dtype_name(t.shape.target_dtype), t.shape.target_shape},
                              t.shape.num_classes,
                              t.num_outputs};
  if (rank0) PLINTH_TRY(write_file_atomic(folder.model_io(), model_io.to_json().dump(2) + "\n"));
  // The token vocabulary, when the train source has one (e.g. `text`), to decode samples later.
  auto vocab = t.train_src->metadata("vocab");
  if (!vocab) return vocab.status();
  if (*vocab && rank0) PLINTH_TRY(write_file_atomic(folder.vocab(), **vocab + "\n"));
  // The class names in label order, when the train source has them (e.g. `images`).
  auto classes = t.train_src->metadata("classes");
  if (!classes) return classes.status();
  if (*classes && rank0) PLINTH_TRY(write_file_atomic(folder.classes(), **classes + "\n"));
  if (t.opt.resume && rank0)
    PLINTH_TRY(run::truncate_metrics(folder.metrics(), resume_from ? resume_from->step : 0));
  if (rank0) {
    auto log_sink = add_log_file(folder.log());
    if (!log_sink) return log_sink.status();
    sink_guard.sink = *log_sink;
  }
  return {};
}

std::vector<std::pair<std::string, exec::Store::Group>> RunLoop::own_tensors() const {
  std::vector<std::pair<std::string, exec::Store::Group>> out;
  for (size_t i = 0; i < t.param_names.size(); ++i)
    if (t.params[i].trainable || t.params[i].buffer) out.emplace_back(t.param_names[i], exec::Store::params);
  for (size_t i = 0; i < t.param_names.size(); ++i) {
    if (!t.params[i].trainable) continue;
    for (const auto& sl : t.slot_names) out.emplace_back(t.param_names[i] + "." + sl, exec::Store::state);
  }
  return out;
}

// [distributed] sync's state in a checkpoint (see checkpoint()): the held
// gradient (delayed), this rank's own tensors (local steps; the same world
// size is needed, each rank resumes as itself), the outer state (diloco).
Status RunLoop::restore_sync_state(const Checkpoint& c) {
  auto find = [&](const std::string& name) -> const NamedTensor* {
    for (const auto& nt : c.optimizer)
      if (nt.name == name) return &nt;
    return nullptr;
  };
  auto floats = [](const NamedTensor& nt) {
    std::vector<float> v(nt.data.size() / 4);
    std::memcpy(v.data(), nt.data.data(), v.size() * 4);
    return v;
  };
  const std::string where = (c.dir / "optimizer.safetensors").string();
  if (t.dp->sync() == DataParallel::Sync::delayed) {
    if (const NamedTensor* g = find("delayed.gradient")) {
      const uint64_t want = t.store->group_bytes(exec::Store::grads);
      if (g->data.size() != want || g->dtype != PLINTH_DTYPE_F32)
        return error(errc::bad_data, where + ": tensor 'delayed.gradient' holds " +
                                         std::to_string(g->data.size()) + " bytes, this model's gradients " +
                                         std::to_string(want));
      t.dp->restore_delayed(floats(*g));
    }
    return {};
  }
  if (!t.dp->local()) return {};
  const int was = ls.origin.world_size;
  if (was != t.dp->size())
    return error(errc::config, c.dir.string() + ": written by " + std::to_string(was) +
                                   " ranks with [distributed] sync = \"" + t.dp->sync_name() +
                                   "\", which keeps each rank's own parameters; resume it with " +
                                   std::to_string(was) + " ranks (this run has " +
                                   std::to_string(t.dp->size()) + ")");
  const int r = t.dp->rank();
  for (const auto& [name, group] : r == 0 ? decltype(own_tensors()){} : own_tensors()) {
    // Rank 0's are the plain tensors, restored with the model.
    const auto& sl = t.store->slot(name);
    const std::string key = "rank" + std::to_string(r) + "/" + name;
    const NamedTensor* nt = find(key);
    if (!nt)
      return error(errc::bad_data, where + ": no tensor '" + key + "' (rank " + std::to_string(r) +
                                       "'s own state under sync = \"" + t.dp->sync_name() + "\")");
    if (nt->data.size() != sl.bytes || nt->shape != sl.shape)
      return error(errc::bad_data, where + ": tensor '" + key + "' has another shape than the model's");
    PLINTH_TRY(t.backend->upload(t.store->buffer(group), sl.offset, nt->data.data(), sl.bytes));
  }
  if (t.dp->sync() == DataParallel::Sync::diloco) {
    std::vector<float> outer, momentum;
    size_t found = 0, trained = 0;
    for (size_t i = 0; i < t.param_names.size(); ++i) {
      if (!t.params[i].trainable) continue;
      ++trained;
      const auto& sl = t.store->slot(t.param_names[i]);
      const NamedTensor* o = find(t.param_names[i] + ".diloco_outer");
      const NamedTensor* m = find(t.param_names[i] + ".diloco_momentum");
      if (!o || !m) continue;
      if (o->data.size() != sl.bytes || m->data.size() != sl.bytes)
        return error(errc::bad_data, where + ": DiLoCo state of '" + t.param_names[i] +
                                         "' has another shape than the model's");
      ++found;
      const auto ov = floats(*o), mv = floats(*m);
      outer.insert(outer.end(), ov.begin(), ov.end());
      momentum.insert(momentum.end(), mv.begin(), mv.end());
    }
    if (found != 0 && found != trained)
      return error(errc::bad_data, where + ": DiLoCo state for " + std::to_string(found) + " of " +
                                       std::to_string(trained) + " trained parameters");
    if (found == 0 && t.dp->local_step(c.step))
      return error(errc::bad_data, where + ": no DiLoCo outer state ('<param>.diloco_outer'), though step " +
                                       std::to_string(c.step) + " was a local step");
    if (found) t.dp->restore_outer(std::move(outer), std::move(momentum));
  }
  return {};
}

// Restore a checkpoint: weights, optimizer state, the loss accumulator, the
// schedule and the loop's counters.
Status RunLoop::restore(const Checkpoint& c) {
  exec::Store& store = *t.store;
  auto restore_tensor = [&](const std::vector<NamedTensor>& ts, exec::Store::Group group,
                            const std::string& name) -> Status {
    for (const auto& nt : ts)
      if (nt.name == name) {
        const auto& slot = store.slot(name);
        if (nt.data.size() != slot.bytes || nt.shape != slot.shape)
          return error(errc::bad_data, c.dir.string() + ": tensor '" + name + "' has a different shape");
        return t.backend->upload(store.buffer(group), slot.offset, nt.data.data(), slot.bytes);
      }
    return error(errc::bad_data, c.dir.string() + ": no tensor '" + name + "'");
  };
  for (size_t i = 0; i < t.param_names.size(); ++i) {
    const std::string& name = t.param_names[i];
    PLINTH_TRY(restore_tensor(c.model, exec::Store::params, name));
    if (!t.params[i].trainable) continue;
    for (const auto& sl : t.slot_names)
      PLINTH_TRY(restore_tensor(c.optimizer, exec::Store::state, name + "." + sl));
  }
  const LoopState fresh = ls;
  ls = LoopState::from_json(c.state, fresh);
  if (t.dp && t.dp->powersgd()) PLINTH_TRY(restore_powersgd(t, c, ls));
  if (t.dp) PLINTH_TRY(restore_sync_state(c));
  if (!t.dp)
    for (const auto& nt : c.optimizer)
      if (nt.name.rfind("rank1/", 0) == 0) {
        logger().warn(
            "{}: written by {} ranks taking local steps ([distributed] sync); one process "
            "resumes from rank 0's own parameters and optimizer state",
            c.dir.string(), ls.origin.world_size);
        break;
      }
  ls.step = c.step;
  // Another world size: the epoch's position is kept in samples (global
  // batches change size), rounded down to a whole batch of the new size.
  if (const int64_t was = ls.origin.global_batch; was > 0 && was != t.global_batch) {
    const int64_t samples = ls.position * was;
    ls.position = samples / t.global_batch;
    logger().warn("resuming with a global batch of {} rows (was {}): batch {} of epoch {}{}", t.global_batch,
                  was, ls.position, ls.epoch,
                  samples % t.global_batch ? " (the " + std::to_string(samples % t.global_batch) +
                                                 " samples before it are read again)"
                                           : std::string());
  }
  ls.loss_sum = static_cast<float>(ls.loss_sum);
  if (t.dp && t.dp->rank() != 0) {  // rank 0's counts are the whole run's (all-reduced at each log)
    ls.samples_since_log = 0;
    ls.loss_sum = 0;
  }
  if (!p.train.loss_scaling) {  // only dynamic loss scaling moves S
    ls.loss_scale = fresh.loss_scale;
    ls.scale_clean = fresh.scale_clean;
  }
  if (!ls.schedule) return error(errc::bad_data, c.dir.string() + ": state.json has no schedule state");
  PLINTH_TRY(t.schedule->load(*ls.schedule));
  const float loss_sum = static_cast<float>(ls.loss_sum);
  PLINTH_TRY(
      t.backend->upload(t.store->buffer(exec::Store::stats), t.store->slot("loss.sum").offset, &loss_sum, 4));
  out.resumed_from = c.step;
  return {};
}

Status RunLoop::open() {
  // Every check (the folder, the checkpoint, restoring it) before the first
  // write: a refused resume changes nothing in the run folder.
  PLINTH_TRY(open_folder());
  if (p.train.loss_scaling) ls.loss_scale = p.train.loss_scale_init;
  if (resume_from) PLINTH_TRY(restore(*resume_from));
  step_at_log = ls.step;
  PLINTH_TRY(write_run_files());
  logger().info("run {}: {} steps of batch {} x {} on backend '{}' ({})", folder.dir.string(), t.total_steps,
                p.train.batch_size, p.train.grad_accum, t.backend->name(), t.backend->properties().name);
  for (const std::string& o : p.overrides) logger().info("overridden: --set {}", o);
  if (!openmp_wait_note().empty()) logger().info("{}", openmp_wait_note());
  if (t.dp)
    logger().info("data parallel: {} ranks, global batch {} x {}; {}", t.dp->size(), t.global_batch,
                  p.train.grad_accum, t.dp->traffic_note());
  if (t.dp && t.dp->local())
    logger().info("data parallel: sync = {}: {} rank alone for {} optimizer step(s) between meetings{}{}",
                  t.dp->sync_name(), "each", t.dp->sync_every(),
                  t.dp->sync_warmup() > 0
                      ? ", after " + std::to_string(t.dp->sync_warmup()) + " synchronous step(s)"
                      : std::string(),
                  t.dp->sync() == DataParallel::Sync::diloco
                      ? fmt::format(" (outer SGD, lr {}, Nesterov momentum {})", p.distributed.outer_lr,
                                    p.distributed.outer_momentum)
                      : std::string());
  else if (t.dp && t.dp->sync() == DataParallel::Sync::delayed)
    logger().info(
        "data parallel: sync = delayed: each step's all-reduce runs during the next step and is "
        "applied one step late");
  if (resume_from) {
    logger().info("resuming from {} (step {}, epoch {}, batch {})", resume_from->dir.string(),
                  resume_from->step, ls.epoch, ls.position);
  } else if (t.opt.resume) {
    logger().info("no checkpoint in {}: starting from the beginning", folder.checkpoints().string());
  }
  out.time_to_target = ls.time_to_target;
  out.final_eval_loss = ls.eval_loss;
  out.final_eval_accuracy = ls.eval_accuracy;
  out.early_stopped = ls.early_stopped;

  const auto& ck = p.checkpoint;
  writer.emplace(folder.checkpoints(),
                 CheckpointWriter::Policy{ck.keep_last, ck.keep_best, ck.best_mode == "max"});
  last_ckpt_step = resume_from ? resume_from->step : -1;
  if (resume_from) {
    ph = ls.phases;
    if (ls.energy_j) {
      energy_before = *ls.energy_j;
    } else {
      const std::string why = ls.energy_note.value_or("its checkpoint has no energy record");
      energy_before_note = "not measured before the resume at step " + std::to_string(resume_from->step) +
                           (why.empty() ? "" : ": " + why);
    }
  }
  return {};
}

// An evaluation on [data.eval] and its metrics line: the target, the
// schedule's plateau, the best metric and early stopping see it.
Status RunLoop::evaluate() {
  const auto e0 = clock::now();
  // Local steps between meetings: the model evaluated is the mean of the
  // ranks' parameters; each rank then goes on from its own.
  const bool mean = apart(ls.step);
  std::vector<float> mine, avg;
  if (mean) {
    PLINTH_TRY(t.dp->mean_parameters(mine, avg));
    PLINTH_TRY(t.dp->put_parameters(avg));
  }
  auto ev = t.evaluate();
  if (mean) PLINTH_TRY(t.dp->put_parameters(mine));
  ph.eval += seconds_since(e0);
  if (!ev) return ev.status();
  auto [loss, acc] = *ev;
  ls.last_eval_step = ls.step;
  if (loss < 0) return {};
  out.final_eval_loss = ls.eval_loss = loss;
  out.final_eval_accuracy = ls.eval_accuracy = acc;
  const double now = seconds_since(t.opt.started);
  run::EvalLine j{ls.step, ls.epoch, elapsed(), loss, acc};
  if (!p.train.target_metric.empty() && out.time_to_target < 0) {
    const bool hit =
        p.train.target_metric == "eval.accuracy" ? acc >= p.train.target_value : loss <= p.train.target_value;
    if (hit) {
      out.time_to_target = ls.time_to_target = now;
      j.target_reached = true;
    }
  }
  t.schedule->observe(loss);
  ls.metric = p.checkpoint.best_metric == "eval.accuracy" ? acc : loss;
  if (p.early_stop.enabled) {
    const auto& es = p.early_stop;
    const double v = es.metric == "eval.accuracy" ? acc : loss;
    const bool better = std::isnan(ls.es_best) ||
                        (es.mode == "max" ? v > ls.es_best + es.min_delta : v < ls.es_best - es.min_delta);
    if (better) {
      ls.es_best = v;
      ls.es_bad = 0;
    } else if (++ls.es_bad >= es.patience) {
      ls.stopped = ls.early_stopped = out.early_stopped = true;
      j.early_stop = true;
    }
  }
  if (rank0) PLINTH_TRY(append_line(folder.metrics(), j.to_json().dump()));
  std::ostringstream line;
  line.precision(4);
  line << "eval  step " << ls.step << "  loss " << loss;
  if (acc >= 0) line << "  accuracy " << acc * 100 << "%";
  if (j.target_reached) line << "  (target reached at " << now << " s)";
  if (out.early_stopped)
    line << "  (early stop: no improvement in " << p.early_stop.patience << " evaluations)";
  if (tty && rank0) std::fprintf(stderr, "\r\033[K");
  if (rank0) std::fprintf(stderr, "%s\n", line.str().c_str());
  if (p.train.stop_at_target && out.time_to_target >= 0) ls.stopped = true;
  if (t.opt.on_eval) t.opt.on_eval(EvalInfo{ls.step, loss, acc});
  return {};
}

// A checkpoint of the state after step ls.step: the step pays for the host
// copies; the files are written on the writer's thread.
Status RunLoop::checkpoint() {
  // The loss since the last log, over every rank's samples: a resume (with
  // any world size) gives it to rank 0 and zero to the others, so the next
  // logged loss is the global mean as in an uninterrupted run.
  double since_log[2] = {0, static_cast<double>(ls.samples_since_log)};
  {
    float sum = 0;
    PLINTH_TRY(
        t.backend->download(&sum, t.store->buffer(exec::Store::stats), t.store->slot("loss.sum").offset, 4));
    since_log[0] = sum;
  }
  std::vector<DataParallel::PowerSgdState> psgd;
  std::vector<float> held, every_rank;  // delayed: the held gradient; local steps: every rank's own state
  const auto own = t.dp && t.dp->local() ? own_tensors() : decltype(own_tensors()){};
  if (t.dp) {
    const auto m0 = clock::now();
    PLINTH_TRY(t.dp->all_reduce(since_log, 2, PLINTH_REDUCE_OP_SUM));
    if (t.dp->powersgd()) {
      auto st = t.dp->powersgd_state(true);
      if (!st) return st.status();
      psgd = std::move(*st);
    }
    if (t.dp->sync() == DataParallel::Sync::delayed) {
      auto h = t.dp->delayed_held();
      if (!h) return h.status();
      if (*h) held = **h;
    }
    if (!own.empty()) {
      std::vector<float> mine;
      for (const auto& [name, group] : own) {
        const auto& sl = t.store->slot(name);
        const size_t at = mine.size();
        mine.resize(at + sl.bytes / 4);
        PLINTH_TRY(t.backend->download(mine.data() + at, t.store->buffer(group), sl.offset, sl.bytes));
      }
      PLINTH_TRY(
          t.dp->all_gather(mine, every_rank, "all-gather of every rank's parameters for a checkpoint"));
    }
    ph.comm += seconds_since(m0);
  }
  if (!rank0) {  // rank 0 writes; every rank holds the same state
    last_ckpt_step = ls.step;
    last_ckpt_time = clock::now();
    return {};
  }
  const auto c0 = clock::now();
  Checkpoint c = writer->recycle();
  c.step = ls.step;
  const exec::Store& store = *t.store;
  size_t n_model = 0, n_opt = 0;
  auto slot = [](std::vector<NamedTensor>& into, size_t& n, const std::string& name,
                 const std::vector<int64_t>& shape) -> NamedTensor& {
    if (n == into.size()) into.emplace_back();
    NamedTensor& nt = into[n++];
    nt.name = name;
    nt.dtype = PLINTH_DTYPE_F32;
    nt.shape = shape;
    return nt;
  };
  auto grab = [&](std::vector<NamedTensor>& into, size_t& n, exec::Store::Group group,
                  const std::string& name) -> Status {
    const auto& s = store.slot(name);
    NamedTensor& nt = slot(into, n, name, s.shape);
    nt.data.resize(s.bytes);
    return t.backend->download(nt.data.data(), store.buffer(group), s.offset, s.bytes);
  };
  for (size_t i = 0; i < t.param_names.size(); ++i) {
    const std::string& name = t.param_names[i];
    PLINTH_TRY(grab(c.model, n_model, exec::Store::params, name));
    if (!t.params[i].trainable) continue;
    for (const auto& sl : t.slot_names)
      PLINTH_TRY(grab(c.optimizer, n_opt, exec::Store::state, name + "." + sl));
  }
  c.model.resize(n_model);
  // PowerSGD's warm start and mean residual travel with the optimizer
  // state ("<param>.powersgd_q", "<param>.powersgd_error").
  auto put = [&](const std::string& name, const std::vector<int64_t>& shape, const std::vector<float>& v) {
    NamedTensor& nt = slot(c.optimizer, n_opt, name, shape);
    nt.data.resize(v.size() * 4);
    std::memcpy(nt.data.data(), v.data(), nt.data.size());
  };
  for (const auto& ps : psgd) {
    put(t.param_names[t.grad_params[ps.param]] + ".powersgd_q", ps.q_shape, ps.q);
    put(t.param_names[t.grad_params[ps.param]] + ".powersgd_error", ps.e_shape, ps.e);
  }
  // [distributed] sync: delayed, the gradient summed over ranks and not yet
  // applied ("delayed.gradient"); local steps, ranks 1.. own parameters and
  // optimizer state ("rank<r>/<tensor>"; rank 0's are the plain names);
  // diloco, the outer parameters and momentum.
  if (!held.empty()) put("delayed.gradient", {static_cast<int64_t>(held.size())}, held);
  if (!every_rank.empty()) {
    const size_t per = every_rank.size() / static_cast<size_t>(t.dp->size());
    for (int r = 1; r < t.dp->size(); ++r) {
      const float* at = every_rank.data() + per * static_cast<size_t>(r);
      for (const auto& [name, group] : own) {
        const auto& sl = t.store->slot(name);
        NamedTensor& nt = slot(c.optimizer, n_opt, "rank" + std::to_string(r) + "/" + name, sl.shape);
        nt.data.resize(sl.bytes);
        std::memcpy(nt.data.data(), at, sl.bytes);
        at += sl.bytes / 4;
      }
    }
  }
  if (t.dp && t.dp->sync() == DataParallel::Sync::diloco && t.dp->has_outer()) {
    size_t at = 0;
    for (size_t i = 0; i < t.param_names.size(); ++i) {
      if (!t.params[i].trainable) continue;
      const auto& sl = t.store->slot(t.param_names[i]);
      const size_t n = sl.bytes / 4;
      put(t.param_names[i] + ".diloco_outer", sl.shape,
          std::vector<float>(t.dp->outer().begin() + static_cast<std::ptrdiff_t>(at),
                             t.dp->outer().begin() + static_cast<std::ptrdiff_t>(at + n)));
      put(t.param_names[i] + ".diloco_momentum", sl.shape,
          std::vector<float>(t.dp->outer_momentum().begin() + static_cast<std::ptrdiff_t>(at),
                             t.dp->outer_momentum().begin() + static_cast<std::ptrdiff_t>(at + n)));
      at += n;
    }
  }
  c.optimizer.resize(n_opt);
  LoopState saved = ls;
  saved.samples_since_log = static_cast<int64_t>(since_log[1]);
  saved.loss_sum = since_log[0];
  saved.schedule = t.schedule->save();
  saved.seconds = elapsed();
  saved.origin = {p.backend.threads, t.dp ? t.dp->size() : 1, t.global_batch, resolved, plugins,
                  std::nullopt};
  if (!psgd.empty()) saved.origin.powersgd_steps = t.dp->steps();
  saved.phases = ph;
  energy.sample();
  saved.energy_j = energy_measured() ? std::optional<double>(energy_before + energy.joules()) : std::nullopt;
  saved.energy_note = energy_note();
  c.state = saved.to_json();
  writer->submit(std::move(c));
  last_ckpt_step = ls.step;
  last_ckpt_time = clock::now();
  ph.checkpoint += seconds_since(c0);
  return {};
}

// A failed background checkpoint write: counted and reported; with
// on_error = "stop" it ends the run. Earlier checkpoints are untouched.
Status RunLoop::checkpoint_status() {
  Status s = writer->take_error();
  if (s.ok()) return s;
  ++out.checkpoint_failures;
  const auto good = list_checkpoints(folder.checkpoints());
  const std::string newest = good.empty() ? "none" : good.back().second.string();
  if (p.checkpoint.on_error == "stop")
    return error(s.code(),
                 s.message() + " (checkpoint.on_error = \"stop\"; newest good checkpoint: " + newest + ")");
  logger().warn(
      "checkpoint not written: {}; training goes on (checkpoint.on_error = \"continue\"); newest good "
      "checkpoint: {}",
      s.message(), newest);
  return {};
}

// The metrics line of step ls.step, the on_step hook and the progress line.
Status RunLoop::log_step(const StepUpdate& u) {
  const auto& stats = t.store->buffer(exec::Store::stats);
  const uint64_t loss_off = t.store->slot("loss.sum").offset;
  const float zero = 0.f;
  float sum = 0;
  PLINTH_TRY(t.backend->download(&sum, stats, loss_off, 4));
  PLINTH_TRY(t.backend->upload(stats, loss_off, &zero, 4));
  // Data parallel: the loss over every rank's samples since the last log.
  double tot[2] = {sum, static_cast<double>(ls.samples_since_log)};
  if (t.dp) {
    const auto m0 = clock::now();
    const Status reduced = t.dp->all_reduce(tot, 2, PLINTH_REDUCE_OP_SUM);
    ph.comm += seconds_since(m0);
    PLINTH_TRY(reduced);
  }
  const double now = elapsed();
  const double loss = tot[0] / tot[1];
  const double rate = tot[1] / std::max(1e-9, now - last_log_t);
  const double stall = t.train_loader->stall_seconds();
  run::StepLine j;
  j.step = ls.step;
  j.epoch = ls.epoch;
  j.time_s = now;
  j.loss = loss;
  j.lr = u.lr;
  j.samples_per_s = rate;
  j.data_stall_ms = (stall - stall_at_log) * 1e3;
  j.has_grad_norm = !std::isnan(u.grad_norm) || p.train.clip_grad_norm > 0;
  j.grad_norm = u.grad_norm;
  j.skipped_steps = ls.skipped;
  if (p.train.loss_scaling) j.loss_scale = ls.loss_scale;
  if (t.dp) {
    // The mean over the steps since the last line: local steps send nothing
    // between meetings, a meeting sends every parameter.
    const uint64_t sent = t.dp->bytes_sent();
    const int64_t steps = std::max<int64_t>(1, ls.step - step_at_log);
    j.parallel = {t.dp->size(), (sent - bytes_at_log) / static_cast<uint64_t>(steps), sent,
                  t.dp->comm_seconds()};
    bytes_at_log = sent;
    step_at_log = ls.step;
  }
  j.phases = ph;
  energy.sample();
  if (energy_measured()) j.energy_j = energy_before + energy.joules();
  if (rank0) PLINTH_TRY(append_line(folder.metrics(), j.to_json().dump()));
  if (t.opt.on_step) t.opt.on_step(StepInfo{ls.step, t.total_steps, loss, u.lr, now});
  if (!std::isfinite(loss) && p.train.on_nonfinite != "skip" && !p.train.loss_scaling)
    return error(errc::internal,
                 "the loss is " + std::to_string(loss) + " at step " + std::to_string(ls.step));
  stall_at_log = stall;
  last_log_t = now;
  ls.samples_since_log = 0;
  if (rank0) print_progress(loss, u.lr, rate, now);
  return {};
}

// rank 0 prints progress: a live line on a terminal, plain lines (every 2 s
// at most) otherwise.
void RunLoop::print_progress(double loss, double lr, double rate, double now) {
  const double eta = (t.total_steps - ls.step) * seconds_since(t0) /
                     std::max<int64_t>(1, ls.step - (out.resumed_from > 0 ? out.resumed_from : 0));
  if (tty) {
    std::fprintf(stderr, "\r\033[Kepoch %lld  step %lld/%lld  loss %.4f  lr %.2e  %.0f samples/s  ETA %.1fs",
                 static_cast<long long>(ls.epoch), static_cast<long long>(ls.step),
                 static_cast<long long>(t.total_steps), loss, lr, rate, eta);
  } else if (now - last_print_t >= 2.0 || ls.step == t.total_steps) {
    std::fprintf(stderr, "epoch %lld  step %lld/%lld  loss %.4f  lr %.2e  %.0f samples/s  ETA %.1fs\n",
                 static_cast<long long>(ls.epoch), static_cast<long long>(ls.step),
                 static_cast<long long>(t.total_steps), loss, lr, rate, eta);
    last_print_t = now;
  }
}

// Data parallel: every rank ends at the same step. A stop request (Ctrl-C,
// SIGTERM) or rank 0's failed checkpoint on any rank stops them all. A
// checkpoint is collective (the loss sums), so rank 0's clock decides when
// one is due by time.
Status RunLoop::agree_across_ranks(bool due_steps, bool due_time) {
  Status ck = checkpoint_status();
  double flags[3] = {g_stop ? 1.0 : 0.0, ck.ok() ? 0.0 : 1.0, rank0 && due_time ? 1.0 : 0.0};
  const auto m0 = clock::now();
  PLINTH_TRY(t.dp->all_reduce(flags, 3, PLINTH_REDUCE_OP_MAX));
  ph.comm += seconds_since(m0);
  if (flags[0] > 0) {
    dp_stop = true;
    if (!g_stop) request_stop();
  }
  if (!ck.ok()) return ck;
  if (flags[1] > 0)
    return error(errc::io,
                 "rank 0 could not write a checkpoint (checkpoint.on_error = \"stop\"; see its log)");
  if ((due_steps || flags[2] > 0) && ls.step < t.total_steps) PLINTH_TRY(checkpoint());
  return {};
}

// One optimizer step and what follows it: metrics, evaluation, the epoch's
// end, checkpoints, stop requests.
Status RunLoop::one_step() {
  PLINTH_TRY(checkpoint_status());
  if (!epoch_started) {
    // A resumed epoch starts at its saved batch position: the loader skips
    // the batches before it without reading them.
    const auto d0 = clock::now();
    // [train.progressive]: the epoch's resolution is a function of the epoch,
    // so a resumed run reads at the one it had.
    const data::Resolution res = t.train_resolution(ls.epoch);
    if (p.train.progressive.enabled)
      logger().info("epoch {}: training at {}x{}", ls.epoch, res.is_default() ? t.full_res : res.height,
                    res.is_default() ? t.full_res : res.width);
    t.train_loader->start_epoch(ls.epoch, ls.position, res);
    ph.data += seconds_since(d0);
    epoch_started = true;
  }
  // DiLoCo: the outer parameters are the ones the ranks share as their
  // first local step starts (after the warm-up's synchronous steps).
  if (t.dp && t.dp->sync() == DataParallel::Sync::diloco && !t.dp->has_outer() &&
      t.dp->local_step(ls.step + 1))
    PLINTH_TRY(t.dp->start_outer());
  PLINTH_TRY(run_micro_batches(t, ls, ph));
  ++ls.step;

  // Gradient norm and clipping, the non-finite check, the update.
  const auto o0 = clock::now();
  const bool log_now = ls.step % p.train.log_every == 0 || ls.step == t.total_steps;
  StepUpdate u;
  const Status updated = apply_update(t, ls, log_now, u);
  if (u.skipped) ++out.skipped_steps;
  PLINTH_TRY(updated);
  if (t.dp && t.dp->sync() == DataParallel::Sync::delayed && ls.step == t.total_steps) {
    // The last step applies its own gradient too, once summed: none is left over.
    const auto m0 = clock::now();
    PLINTH_TRY(t.dp->delayed_apply_held());
    ph.comm += seconds_since(m0);
    t.update_ready = true;
    t.update_lag = 0;
    StepUpdate last;
    const Status flushed = apply_update(t, ls, log_now, last);
    if (last.skipped) ++out.skipped_steps;
    PLINTH_TRY(flushed);
  }
  ph.optimizer += seconds_since(o0);
  if (meets(ls.step)) {  // local_sgd / diloco: the ranks meet
    const auto m0 = clock::now();
    PLINTH_TRY(t.dp->sync_parameters());
    ph.comm += seconds_since(m0);
  }
  if (first_step_s < 0) {
    first_step_s = seconds_since(t.opt.started);
    logger().debug("first step done {:.3f} s after the start", first_step_s);
  }

  if (log_now) PLINTH_TRY(log_step(u));
  const bool eval_each_epoch = p.train.eval_every == 0;
  if (!eval_each_epoch && ls.step % p.train.eval_every == 0) PLINTH_TRY(evaluate());
  const int64_t per_epoch = t.train_loader->batches_per_epoch();
  const bool epoch_done = ls.position >= per_epoch;
  // At the end of each epoch, and at the end of training, when eval_every = 0.
  if (eval_each_epoch && (epoch_done || ls.step == t.total_steps) && ls.last_eval_step != ls.step)
    PLINTH_TRY(evaluate());
  if (epoch_done) {
    ++ls.epoch;
    ls.position = 0;
    epoch_started = false;
  }
  const auto& ck = p.checkpoint;
  const bool due_steps = ck.every_steps > 0 && ls.step % ck.every_steps == 0;
  const bool due_time = ck.every_minutes > 0 && seconds_since(last_ckpt_time) >= ck.every_minutes * 60.0;
  if (!t.dp && (due_steps || due_time) && ls.step < t.total_steps) PLINTH_TRY(checkpoint());
  // An embedding application's stop request ends the run as Ctrl-C does.
  if (t.opt.stop_requested && !g_stop.load() && t.opt.stop_requested()) request_stop();
  // Local steps agree on stop requests and timed checkpoints only where
  // the ranks meet anyway (a meeting, a metrics line, an evaluation, an
  // epoch's end, a checkpoint by steps), so a slow rank holds the others
  // back only there.
  const bool meet = !t.dp || !t.dp->local_step(ls.step) || meets(ls.step) || log_now ||
                    ls.last_eval_step == ls.step || epoch_done || due_steps;
  if (t.dp && meet) PLINTH_TRY(agree_across_ranks(due_steps, due_time));
  if (t.dp) PLINTH_TRY(t.dp->delayed_launch());  // delayed: this step's all-reduce runs during the next
  return {};
}

void RunLoop::train() {
  tty = t.opt.progress && ::isatty(STDERR_FILENO);
  t0 = clock::now();
  last_ckpt_time = t0;
  if (t.opt.stop_requested && t.opt.stop_requested()) request_stop();
  const int64_t pause_at = t.opt.stop_at_step;
  while (ls.step < t.total_steps && !stop_requested() && !ls.stopped &&
         !(pause_at > 0 && ls.step >= pause_at))
    if (failure = one_step(); !failure.ok()) break;
  if (tty) std::fprintf(stderr, "\n");
}

// summary.json: how the run ended, where its time and memory went, energy,
// the final evaluation and the target.
Status RunLoop::write_summary(double first_step) {
  run::Summary s;
  s.name = p.run.name;
  s.steps = ls.step;
  s.epochs = ls.epoch + (ls.position > 0 ? 1 : 0);
  s.train_seconds = out.seconds;
  s.wall_seconds = seconds_since(t.opt.started);
  if (first_step >= 0) s.first_step_s = first_step;
  s.data_stall_seconds = t.train_loader->stall_seconds();
  s.interrupted = out.interrupted;
  s.early_stopped = out.early_stopped;
  s.paused = out.paused;
  s.skipped_steps = ls.skipped;
  s.checkpoint_failures = out.checkpoint_failures;
  if (out.resumed_from >= 0) s.resumed_from_step = out.resumed_from;
  s.status = failure.ok() ? "ok" : failure.message();
  // Where the run's training time went, over all its processes (steady_clock
  // around each phase; "other" is the rest: logging, metrics, progress).
  s.time_breakdown = ph;
  s.other_seconds = std::max(0.0, out.seconds - ph.sum());
  // Bytes on the backend: what the run held against what the model needs.
  const MemoryUse mem = memory_use(t);
  s.memory = {mem.parameters, mem.gradients,       mem.optimizer_state, mem.other_persistent,
              mem.arenas,     mem.activation_need, mem.need(),          mem.backend_peak};
  energy.sample();
  auto& e = s.energy.emplace(run::Summary::Energy{});  // from a value: see Summary::from_json
  e.measured = energy_measured();
  if (e.measured) {
    e.joules = energy_before + energy.joules();
    e.sources = energy.sources();
    e.note = energy_note();
    logger().info("energy: {:.1f} J ({})", *e.joules, e.sources);
  } else {
    e.why = energy_note();
    logger().info("energy: not measured ({})", e.why);
  }
  if (p.train.loss_scaling) s.loss_scale = ls.loss_scale;
  if (out.final_eval_loss >= 0) s.eval_loss = out.final_eval_loss;
  if (out.final_eval_accuracy >= 0) s.eval_accuracy = out.final_eval_accuracy;
  if (!p.train.target_metric.empty()) {
    s.target = run::Summary::Target{p.train.target_metric, p.train.target_value};
    if (out.time_to_target >= 0) s.time_to_target_s = out.time_to_target;
  }
  json j = s.to_json();
  if (!p.overrides.empty()) j["overrides"] = p.overrides;  // the --set arguments, as given
  return write_file_atomic(folder.summary(), j.dump(2) + "\n");
}

Result<TrainOutcome> RunLoop::finish() {
  // delayed: the last step's all-reduce, still running, must end before
  // this thread's own collectives.
  if (t.dp)
    if (Status s = t.dp->wait_idle(); !s.ok() && failure.ok()) failure = s;
  // Paused at stop_at_step: the metric at that step (unless just evaluated)
  // and a checkpoint to resume from, whatever [checkpoint] at_end says.
  const int64_t pause_at = t.opt.stop_at_step;
  // Local steps that end the run (a target or early stop) between meetings:
  // the final parameters are the mean, as evaluated. A pause or a stop
  // request keeps each rank's own, for the checkpoint to resume from.
  const bool pausing = dp_stop || (pause_at > 0 && ls.step >= pause_at && ls.step < t.total_steps);
  bool ranks_apart = apart(ls.step);
  if (failure.ok() && ranks_apart && !pausing) {
    std::vector<float> mine, avg;
    failure = t.dp->mean_parameters(mine, avg);
    if (failure.ok()) failure = t.dp->put_parameters(avg);
    ranks_apart = false;
  }
  out.paused = failure.ok() && !g_stop && !ls.stopped && pause_at > 0 && ls.step >= pause_at &&
               ls.step < t.total_steps;
  if (out.paused && t.eval_loader && ls.last_eval_step != ls.step) failure = evaluate();
  if (failure.ok() && (p.checkpoint.at_end || out.paused) && ls.step > 0 && last_ckpt_step != ls.step)
    PLINTH_TRY(checkpoint());
  {
    const auto c0 = clock::now();
    writer->wait();
    ph.checkpoint += seconds_since(c0);
  }
  if (Status s = checkpoint_status(); !s.ok() && failure.ok()) failure = s;
  out.steps = ls.step;
  out.seconds = elapsed();
  out.interrupted = g_stop.load();
  out.stop_signal = out.interrupted ? g_stop_signal.load() : 0;

  // Final weights (safetensors) and the summary, also after a failure, so
  // what was trained is not lost. When the run already failed, that failure
  // is what gets reported; a final write that fails too (the same full disk)
  // is logged beside it.
  auto keep_first = [&](Status s) -> Status {
    if (s.ok() || failure.ok()) return s;
    logger().warn("{}", s.message());
    return {};
  };
  // Data parallel: the ranks must still agree on every parameter.
  const exec::Store& store = *t.store;
  if (t.dp && failure.ok() && !ranks_apart)
    failure = t.dp->check_identical(*t.backend, store.buffer(exec::Store::params),
                                    store.group_bytes(exec::Store::params), "the final parameters");
  // Paused between meetings: model.safetensors holds the mean of the
  // ranks' parameters (each rank's own are in the checkpoint).
  std::vector<float> own_params, mean_params;
  if (t.dp && failure.ok() && ranks_apart) failure = t.dp->mean_parameters(own_params, mean_params);
  if (!rank0) {
    if (!failure.ok()) return failure;
    return out;
  }
  std::vector<NamedTensor> weights;
  size_t mean_at = 0;
  for (size_t i = 0; i < t.param_names.size(); ++i) {
    const auto& name = t.param_names[i];
    const auto& s = store.slot(name);
    NamedTensor nt{name, PLINTH_DTYPE_F32, s.shape, std::vector<unsigned char>(s.bytes)};
    if (!mean_params.empty() && (t.params[i].trainable || t.params[i].buffer)) {
      std::memcpy(nt.data.data(), mean_params.data() + mean_at, s.bytes);
      mean_at += s.bytes / 4;
    } else if (Status s2 =
                   t.backend->download(nt.data.data(), store.buffer(exec::Store::params), s.offset, s.bytes);
               !s2.ok()) {
      return failure.ok() ? s2 : failure;
    }
    weights.push_back(std::move(nt));
  }
  PLINTH_TRY(keep_first(
      write_safetensors(folder.weights(), weights, {{"format", "pt"}, {"step", std::to_string(ls.step)}})));
  PLINTH_TRY(keep_first(write_summary(first_step_s)));
  if (!failure.ok()) return failure;
  return out;
}

}  // namespace

void request_stop(int signal) {
  if (signal) g_stop_signal.store(signal);
  g_stop.store(true);
}

Result<TrainOutcome> run(Trainer& t) {
  RunLoop loop(t);
  PLINTH_TRY(loop.open());
  g_stop = false;
  g_stop_signal = 0;
  const StopHandlers handlers;
  loop.train();
  return loop.finish();
}

Result<std::pair<double, double>> evaluate(Trainer& t) {
  if (!t.eval_loader)
    return error(errc::config, t.p.source.string() + ": no [data.eval] section: nothing to evaluate on");
  return t.evaluate();
}

Result<double> loader_samples_per_second(Trainer& t, int64_t epochs) {
  int64_t rows = 0;
  const auto t0 = clock::now();
  for (int64_t e = 0; e < epochs; ++e) {
    t.train_loader->start_epoch(e);
    while (const data::Batch* b = t.train_loader->next()) {
      PLINTH_TRY(Status(b->status));
      rows += b->rows;
    }
  }
  const double s = seconds_since(t0);
  if (rows == 0) return error(errc::bad_data, "the training data gave no rows");
  return static_cast<double>(rows) / s;
}

Result<StepTiming> time_steps(Trainer& t, int64_t warmup, int64_t steps) {
  t.train_loader->start_epoch(0);
  const data::Batch* b = t.train_loader->next();
  if (!b) return error(errc::bad_data, "no training batch");
  PLINTH_TRY(Status(b->status));
  auto prog = t.program(b->rows, true);
  if (!prog) return prog.status();
  PLINTH_TRY(t.upload(**prog, *b));
  const double lr = t.opt_table->base_lr(t.optimizer);
  double optimizer_s = 0;
  auto one = [&](int64_t step) -> Status {
    PLINTH_TRY((*prog)->run());
    PLINTH_TRY(t.backend->synchronize());
    const auto o0 = clock::now();
    PLINTH_TRY(t.optimizer_step(step, lr));
    PLINTH_TRY(t.backend->synchronize());
    optimizer_s += seconds_since(o0);
    return {};
  };
  for (int64_t i = 1; i <= warmup; ++i) PLINTH_TRY(one(i));
  optimizer_s = 0;
  PLINTH_TRY(t.backend->synchronize());
  auto cpu_now = [] {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
  };
  const double c0 = cpu_now();
  const auto t0 = clock::now();
  for (int64_t i = 1; i <= steps; ++i) PLINTH_TRY(one(warmup + i));
  PLINTH_TRY(t.backend->synchronize());
  const double n = static_cast<double>(steps);
  return StepTiming{seconds_since(t0) / n, (cpu_now() - c0) / n, steps, b->rows, optimizer_s / n};
}

}  // namespace plinth::train
