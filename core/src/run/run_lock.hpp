// run_lock.hpp — a run folder's `lock` file: the one process that writes
// the folder (a training run, a resume, a sweep) holds an exclusive advisory
// lock (flock) on it; a second writer fails to take it and is refused with
// the holder's PID. `plinth runs` probes it to tell a running run from one
// whose process died; the kernel drops the lock with the process however it
// ends. Not here: choosing the folder's name (run_folder.hpp).
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "plinth/status.hpp"

namespace plinth::run {

class RunLock {
 public:
  // Locks <dir>/lock (creating it; `dir` must exist). A lock held by another
  // process is errc::config (exit 2: the command is wrong, not the machine),
  // naming the folder and the holder's PID.
  static Result<RunLock> take(const std::filesystem::path& dir);
  // Records this process's PID in the lock file, for people and for a
  // refused writer's message. Called once the writer starts writing: a
  // writer refused later leaves the file as it found it.
  void write_pid();

  RunLock(RunLock&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  RunLock& operator=(RunLock&& o) noexcept;
  ~RunLock();
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;

 private:
  explicit RunLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

// True when a process holds the run folder's lock now.
bool run_is_locked(const std::filesystem::path& run_dir);

// For a writer of `file` that is not the run itself (export): the lock of
// the nearest folder above `file` that has a lock file (a run, a sweep),
// taken, so the file is written only while no run writes there; nullopt
// when `file` is in no such folder.
Result<std::optional<RunLock>> lock_enclosing_run(const std::filesystem::path& file);

// A new run's folder: the first of <out_dir>/<name>, <name>-2, ... that this
// process creates itself (mkdir, so two runs starting together never share
// one), locked. `out_dir` is created when missing.
struct ClaimedFolder {
  std::filesystem::path dir;
  int suffix = 0;  // as run::folder_path takes it
  RunLock lock;
};
Result<ClaimedFolder> claim_new_folder(const std::filesystem::path& out_dir, const std::string& name);

}  // namespace plinth::run
