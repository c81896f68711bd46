// run_lock.hpp — a run folder's `lock` file: the training process holds an
// advisory lock (flock) on it while it runs, so `plinth runs` can tell a
// running run from one whose process died; the kernel drops the lock with the
// process however it ends. Not here: what the lock protects (nothing else
// takes it exclusively; it is a liveness flag, not mutual exclusion).
#pragma once

#include <filesystem>

namespace plinth::run {

class RunLock {
 public:
  explicit RunLock(const std::filesystem::path& run_dir);  // best effort: no lock if it cannot
  ~RunLock();
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;

 private:
  int fd_ = -1;
};

// True when a process holds the run folder's lock now.
bool run_is_locked(const std::filesystem::path& run_dir);

}  // namespace plinth::run
