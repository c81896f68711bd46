// run_lock.cpp — flock(2) on runs/<name>/lock held by the folder's writer,
// who holds it (from /proc/locks, else the PID the holder wrote), the
// non-blocking probe `plinth runs` uses, and claiming a new run's folder.
#include "run/run_lock.hpp"

#include "util/files.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "run/run_folder.hpp"

namespace plinth::run {
namespace fs = std::filesystem;

namespace {

// The PID holding a lock on the file open as `fd`: the kernel's table of
// locks (/proc/locks: "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF",
// the device's major and minor in hex), else the PID the holder wrote into
// the file. 0: unknown.
long holder_pid(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) == 0) {
    char want[64];
    std::snprintf(want, sizeof want, "%02x:%02x:%llu", major(st.st_dev), minor(st.st_dev),
                  static_cast<unsigned long long>(st.st_ino));
    std::ifstream locks("/proc/locks");
    std::string line;
    while (std::getline(locks, line)) {
      std::istringstream in(line);
      std::string id, kind, mode, access, pid, file;
      in >> id >> kind;
      if (kind == "->") continue;  // a waiter, not the holder
      in >> mode >> access >> pid >> file;
      if (kind == "FLOCK" && file == want) return std::strtol(pid.c_str(), nullptr, 10);
    }
  }
  char buf[32] = {};
  const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  return n > 0 ? std::strtol(buf, nullptr, 10) : 0;
}

}  // namespace

Result<RunLock> RunLock::take(const fs::path& dir) {
  const fs::path file = dir / "lock";
  const int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return error(errc::io, file.string() + ": cannot open the run's lock: " + std::strerror(errno));
  // `plinth runs` probes with a shared lock it drops at once: a writer that
  // meets one tries again for half a second before calling the folder taken.
  int err = 0;
  for (int attempt = 0; attempt < 25; ++attempt) {
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) return RunLock(fd);
    err = errno;
    if (err != EWOULDBLOCK) break;
    ::usleep(20000);
  }
  const long pid = err == EWOULDBLOCK ? holder_pid(fd) : 0;
  ::close(fd);
  if (err != EWOULDBLOCK) return error(errc::io, file.string() + ": cannot lock: " + std::strerror(err));
  return error(errc::config, dir.string() + ": another plinth process (" +
                                 (pid > 0 ? "PID " + std::to_string(pid) : std::string("PID unknown")) +
                                 ") is writing this run folder; wait for it to end or stop it");
}

void RunLock::write_pid() {
  if (fd_ < 0) return;
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd_, 0) == 0 && ::pwrite(fd_, pid.data(), pid.size(), 0) < 0) return;  // best effort
}

RunLock& RunLock::operator=(RunLock&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}

RunLock::~RunLock() {
  if (fd_ >= 0) ::close(fd_);  // closing drops the lock
}

bool run_is_locked(const fs::path& run_dir) {
  const int fd = ::open((run_dir / "lock").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool held = ::flock(fd, LOCK_SH | LOCK_NB) != 0;
  ::close(fd);
  return held;
}

Result<std::optional<RunLock>> lock_enclosing_run(const fs::path& file) {
  std::error_code ec;
  for (fs::path d = fs::weakly_canonical(fs::absolute(file, ec), ec).parent_path();
       !ec && d.has_relative_path(); d = d.parent_path())
    if (fs::exists(d / "lock", ec)) {
      auto lock = RunLock::take(d);
      if (!lock) return lock.status();
      return std::optional<RunLock>(std::move(*lock));
    }
  return std::optional<RunLock>();
}

Result<ClaimedFolder> claim_new_folder(const fs::path& out_dir, const std::string& name) {
  PLINTH_TRY(create_output_folder(out_dir, "the output folder"));
  for (int suffix = 0;; suffix = suffix == 0 ? 2 : suffix + 1) {
    const fs::path dir = folder_path(out_dir, name, suffix);
    if (::mkdir(dir.c_str(), 0777) != 0) {
      const int err = errno;
      // A file, device or dangling link at runs/<name> is the user's mistake,
      // refused rather than stepped around to runs/<name>-2.
      if (err == EEXIST && suffix == 0) PLINTH_TRY(create_output_folder(dir, "the run folder"));
      if (err == EEXIST) continue;  // another run's, or being created by one now
      return error(errc::unavailable, dir.string() + ": cannot create the run folder: " + std::strerror(err));
    }
    auto lock = RunLock::take(dir);
    if (!lock) return lock.status();
    return ClaimedFolder{dir, suffix, std::move(*lock)};
  }
}

}  // namespace plinth::run
