// files.cpp — atomic writes (temp + fsync + rename), where an output path's
// bytes may go (symlinks followed, devices and FIFOs refused), and file
// hashing. A failed write (disk full, read-only folder) is errc::unavailable:
// the storage failed at run time, which is not bad input (exit 1, not 2).
// Something at an output path that must not be written (a device, a FIFO, a
// folder) is errc::invalid_argument: the user named the wrong path (exit 2).
#include "util/files.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <vector>

#include <openssl/evp.h>

// Header-only XXH3 (libxxhash-dev): no run-time library to depend on.
#define XXH_INLINE_ALL
#include <xxhash.h>

namespace plinth {

static Status io_error(const std::filesystem::path& p, const char* what) {
  return error(errc::unavailable, p.string() + ": " + what + ": " + std::strerror(errno));
}

namespace {

// "a FIFO", "a character device", ... for an error message.
const char* kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a folder";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISLNK(mode)) return "a symbolic link";
  if (S_ISREG(mode)) return "a regular file";
  return "of an unknown kind";
}

Status not_writable_here(const std::string& label, mode_t mode) {
  return error(errc::invalid_argument,
               label + ": is " + kind_of(mode) + ", not a regular file; refusing to write to it");
}

// Opens `p` for writing, created with `mode` or truncated. A symlink at `p`
// is not followed (O_NOFOLLOW) and a FIFO does not block the open
// (O_NONBLOCK); whatever is there that is not a regular file is refused
// before a byte is written or truncated.
Result<int> open_regular(const std::filesystem::path& p, mode_t mode) {
  int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, mode);
  if (fd < 0) {
    const int err = errno;
    // ELOOP (a symlink), ENXIO (a FIFO no one reads), EISDIR: say what is there.
    if (struct stat st{}; ::lstat(p.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
      return not_writable_here(p.string(), st.st_mode);
    errno = err;
    return io_error(p, "cannot create");
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    const mode_t m = st.st_mode;
    ::close(fd);
    return not_writable_here(p.string(), m);
  }
  if (::ftruncate(fd, 0) != 0) {
    Status s = io_error(p, "cannot truncate");
    ::close(fd);
    return s;
  }
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  return fd;
}

std::string to_hex(const unsigned char* md, size_t len) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < len; ++i) {
    out.push_back(hex[md[i] >> 4]);
    out.push_back(hex[md[i] & 15]);
  }
  return out;
}

// One running digest of either kind.
class Hasher {
 public:
  explicit Hasher(Digest kind) : kind_(kind) {
    if (kind_ == Digest::sha256) {
      evp_ = EVP_MD_CTX_new();
      EVP_DigestInit_ex(evp_, EVP_sha256(), nullptr);
    } else {
      xxh_ = XXH3_createState();
      XXH3_128bits_reset(xxh_);
    }
  }
  ~Hasher() {
    if (evp_) EVP_MD_CTX_free(evp_);
    if (xxh_) XXH3_freeState(xxh_);
  }
  Hasher(const Hasher&) = delete;
  Hasher& operator=(const Hasher&) = delete;

  void update(const void* p, size_t n) {
    if (evp_)
      EVP_DigestUpdate(evp_, p, n);
    else
      XXH3_128bits_update(xxh_, p, n);
  }
  std::string hex() {
    if (evp_) {
      unsigned char md[EVP_MAX_MD_SIZE];
      unsigned len = 0;
      EVP_DigestFinal_ex(evp_, md, &len);
      return to_hex(md, len);
    }
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, XXH3_128bits_digest(xxh_));
    return to_hex(c.digest, sizeof c.digest);
  }

 private:
  Digest kind_;
  EVP_MD_CTX* evp_ = nullptr;
  XXH3_state_t* xxh_ = nullptr;
};

// A failed write of `written` (open as fd): the error, with errno's words;
// fd closed and the partial file removed.
Status fail_write(int fd, const std::filesystem::path& written, const char* what) {
  Status s = io_error(written, what);
  ::close(fd);
  ::unlink(written.c_str());
  return s;
}

// Writes every part in order with writev (no concatenated copy), hashing each
// part from memory as it goes, then fsyncs. Closes fd; unlinks `written` on failure.
Status write_parts_fd(int fd, const std::filesystem::path& written, std::span<const std::string_view> parts,
                      std::string* digest_hex, Digest kind) {
  std::optional<Hasher> hasher;
  if (digest_hex) hasher.emplace(kind);
  auto fail = [&](const char* what) { return fail_write(fd, written, what); };
  size_t i = 0, done = 0;  // part i, bytes of it already written
  while (i < parts.size()) {
    iovec iov[64];
    int n_iov = 0;
    for (size_t k = i; k < parts.size() && n_iov < 64; ++k) {
      const size_t skip = k == i ? done : 0;
      if (parts[k].size() == skip) continue;
      iov[n_iov].iov_base = const_cast<char*>(parts[k].data() + skip);
      iov[n_iov].iov_len = parts[k].size() - skip;
      ++n_iov;
    }
    if (n_iov == 0) break;
    ssize_t n = ::writev(fd, iov, n_iov);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("write failed");
    }
    // Hash what went out and advance (part, offset) by n bytes.
    size_t left = static_cast<size_t>(n);
    while (i < parts.size() && (left > 0 || parts[i].size() == done)) {
      const size_t take = std::min(left, parts[i].size() - done);
      if (hasher) hasher->update(parts[i].data() + done, take);
      done += take;
      left -= take;
      if (done == parts[i].size()) ++i, done = 0;
    }
  }
  if (::fsync(fd) != 0) return fail("fsync failed");
  ::close(fd);
  if (hasher) *digest_hex = hasher->hex();
  return {};
}

// The alignment O_DIRECT asks of the buffer, the offset and the length: a
// page covers every logical block size up to it.
constexpr size_t kDirectAlign = 4096;

// At most this much of a file is gathered at a time: the staging area stays
// small however large the file (a checkpoint of a large model).
constexpr size_t kDirectChunk = size_t{16} << 20;

// Gathers the parts into `buf` (kDirectChunk bytes at a time) and writes
// them with O_DIRECT (the file descriptor must have it set), hashing the
// gathered copy, then truncates the block padding away and fsyncs. A write
// the device takes only partly, or refuses for its alignment, goes on
// without O_DIRECT. Closes fd; unlinks `written` on failure.
Status write_direct_fd(int fd, const std::filesystem::path& written, std::span<const std::string_view> parts,
                       std::string* digest_hex, Digest kind, char* buf) {
  auto fail = [&](const char* what) { return fail_write(fd, written, what); };
  auto buffered = [&] { return ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_DIRECT) == 0; };
  std::optional<Hasher> hasher;
  if (digest_hex) hasher.emplace(kind);
  size_t i = 0, in_part = 0, file_off = 0;
  for (;;) {
    size_t fill = 0;
    while (fill < kDirectChunk && i < parts.size()) {
      const size_t take = std::min(kDirectChunk - fill, parts[i].size() - in_part);
      std::memcpy(buf + fill, parts[i].data() + in_part, take);
      fill += take;
      in_part += take;
      if (in_part == parts[i].size()) ++i, in_part = 0;
    }
    if (fill == 0) break;
    if (hasher) hasher->update(buf, fill);
    // Only the last chunk can end off a block: padded with zeros, cut off below.
    const size_t len = (fill + kDirectAlign - 1) / kDirectAlign * kDirectAlign;
    std::memset(buf + fill, 0, len - fill);
    for (size_t done = 0; done < len;) {
      const ssize_t n = ::pwrite(fd, buf + done, len - done, static_cast<off_t>(file_off + done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EINVAL) {  // the device wants another alignment
        if (!buffered()) return fail("write failed");
        continue;
      }
      if (n <= 0) return fail("write failed");
      done += static_cast<size_t>(n);
      if (done % kDirectAlign != 0 && !buffered()) return fail("write failed");
    }
    file_off += fill;
  }
  if (::ftruncate(fd, static_cast<off_t>(file_off)) != 0) return fail("cannot truncate");
  if (::fsync(fd) != 0) return fail("fsync failed");
  ::close(fd);
  if (hasher) *digest_hex = hasher->hex();
  return {};
}

}  // namespace

StagingBuffer::~StagingBuffer() { std::free(data_); }

char* StagingBuffer::reserve(size_t bytes) {
  if (bytes <= size_) return data_;
  // In 2 MiB pages where the kernel gives them on request: faulting 4 KiB
  // pages in costs more than the copies themselves (18 ms against 1 ms for
  // 6.4 MB on a virtual machine), and the first checkpoint pays it.
  constexpr size_t kHuge = size_t{2} << 20;
  const size_t align = bytes >= kHuge ? kHuge : kDirectAlign;
  const size_t want = (bytes + align - 1) / align * align;
  char* p = static_cast<char*>(std::aligned_alloc(align, want));
  if (!p) return nullptr;
  if (align == kHuge) ::madvise(p, want, MADV_HUGEPAGE);
  std::free(data_);
  data_ = p;
  size_ = want;
  return data_;
}

Result<std::filesystem::path> output_target(const std::filesystem::path& path) {
  std::filesystem::path p = path;
  // Errors name the path as given and, past a link, where it led.
  auto label = [&] { return p == path ? path.string() : path.string() + " -> " + p.string(); };
  for (int hops = 0;; ++hops) {
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0) {
      if (errno == ENOTDIR)
        return error(errc::invalid_argument, label() + ": a part of the path is not a folder");
      if (errno != ENOENT) return io_error(p, "cannot look at it");
      // A new file: its folder must exist (the write creates no folders).
      const std::filesystem::path dir = p.has_parent_path() ? p.parent_path() : ".";
      struct stat ds {};
      const int rc = ::stat(dir.c_str(), &ds);
      if (rc != 0 ? (errno == ENOENT || errno == ENOTDIR) : !S_ISDIR(ds.st_mode))
        return error(errc::invalid_argument, label() + ": no such folder: " + dir.string());
      return p;
    }
    if (S_ISREG(st.st_mode)) return p;
    if (!S_ISLNK(st.st_mode)) return not_writable_here(label(), st.st_mode);
    if (hops >= 40) return error(errc::invalid_argument, label() + ": too many levels of symbolic links");
    std::string to(static_cast<size_t>(st.st_size > 0 ? st.st_size : 4096) + 1, '\0');
    const ssize_t n = ::readlink(p.c_str(), to.data(), to.size());
    if (n < 0) return io_error(p, "cannot read the symbolic link");
    to.resize(static_cast<size_t>(n));
    p = std::filesystem::path(to).is_absolute() ? std::filesystem::path(to) : p.parent_path() / to;
  }
}

Status create_output_folder(const std::filesystem::path& dir, const std::string& what) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (!ec) return {};
  // The nearest existing path at or above `dir` that is not a folder (a
  // symlink to nothing counts) is the user's mistake; else the storage failed.
  for (std::filesystem::path q = dir; !q.empty(); q = q.parent_path()) {
    struct stat st {};
    if (::stat(q.c_str(), &st) == 0) {
      if (!S_ISDIR(st.st_mode))
        return error(errc::invalid_argument, dir.string() + ": cannot create " + what + ": " + q.string() +
                                                 " is " + kind_of(st.st_mode) + ", not a folder");
      break;
    }
    if (::lstat(q.c_str(), &st) == 0)
      return error(errc::invalid_argument, dir.string() + ": cannot create " + what + ": " + q.string() +
                                               " is a symbolic link to nothing");
    if (q == q.parent_path()) break;
  }
  return error(errc::unavailable, dir.string() + ": cannot create " + what + ": " + ec.message());
}

Status write_file_parts(const std::filesystem::path& path, std::span<const std::string_view> parts,
                        std::string* digest_hex, bool atomic, Digest kind, StagingBuffer* direct) {
  std::filesystem::path dest = path;
  mode_t mode = 0644;
  bool replaces = false;
  if (atomic) {
    auto t = output_target(path);
    if (!t) return t.status();
    dest = std::move(*t);
    // A file that is replaced keeps its permission bits (a private one stays private).
    if (struct stat st{}; ::stat(dest.c_str(), &st) == 0) mode = st.st_mode & 07777, replaces = true;
  }
  std::filesystem::path target = dest;
  if (atomic) target += ".tmp";
  auto fd = open_regular(target, mode);
  if (!fd) return fd.status();
  if (replaces) ::fchmod(*fd, mode);
  if (direct && !atomic) {
    size_t total = 0;
    for (const auto& p : parts) total += p.size();
    char* buf = direct->reserve(std::min(total, kDirectChunk) + kDirectAlign);
    // O_DIRECT set after the open: open_regular's checks stay as they are.
    if (buf && ::fcntl(*fd, F_SETFL, ::fcntl(*fd, F_GETFL) | O_DIRECT) == 0)
      return write_direct_fd(*fd, target, parts, digest_hex, kind, buf);
  }
  PLINTH_TRY(write_parts_fd(*fd, target, parts, digest_hex, kind));
  if (!atomic) return {};
  if (::rename(target.c_str(), dest.c_str()) != 0) {
    Status s = io_error(dest, "rename failed");
    ::unlink(target.c_str());
    return s;
  }
  auto dir = dest.has_parent_path() ? dest.parent_path() : std::filesystem::path(".");
  if (int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return {};
}

Status write_file_atomic(const std::filesystem::path& path, std::string_view bytes) {
  return write_file_parts(path, std::span<const std::string_view>(&bytes, 1), nullptr, true);
}

Status append_line(const std::filesystem::path& path, std::string_view line) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return io_error(path, "cannot open for append");
  std::string buf(line);
  buf.push_back('\n');
  ssize_t n = ::write(fd, buf.data(), buf.size());
  Status s;
  if (n != static_cast<ssize_t>(buf.size())) s = io_error(path, "short write");
  ::close(fd);
  return s;
}

std::string file_digest(const std::filesystem::path& path, Digest kind) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  Hasher h(kind);
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    if (in.gcount() > 0) h.update(buf.data(), static_cast<size_t>(in.gcount()));
  }
  if (in.bad()) return {};
  return h.hex();
}

}  // namespace plinth
