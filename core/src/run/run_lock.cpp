// run_lock.cpp — flock(2) on runs/<name>/lock while a run trains, and the
// non-blocking probe `plinth runs` uses. Not here: any file content.
#include "run/run_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

namespace plinth::run {

RunLock::RunLock(const std::filesystem::path& run_dir) {
  fd_ = ::open((run_dir / "lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ >= 0 && ::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

RunLock::~RunLock() {
  if (fd_ >= 0) ::close(fd_);  // closing drops the lock
}

bool run_is_locked(const std::filesystem::path& run_dir) {
  const int fd = ::open((run_dir / "lock").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool held = ::flock(fd, LOCK_SH | LOCK_NB) != 0;
  ::close(fd);
  return held;
}

}  // namespace plinth::run
