// files.cpp — atomic writes (temp + fsync + rename) and file hashing. A
// failed write (disk full, read-only folder) is errc::unavailable: the
// storage failed at run time, which is not bad input (exit 1, not 2).
#include "util/files.hpp"

#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
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

// Writes every part in order with writev (no concatenated copy), hashing each
// part from memory as it goes, then fsyncs. Closes fd; unlinks `written` on failure.
Status write_parts_fd(int fd, const std::filesystem::path& written, std::span<const std::string_view> parts,
                      std::string* digest_hex, Digest kind) {
  std::optional<Hasher> hasher;
  if (digest_hex) hasher.emplace(kind);
  auto fail = [&](const char* what) {
    Status s = io_error(written, what);
    ::close(fd);
    ::unlink(written.c_str());
    return s;
  };
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

}  // namespace

Status write_file_parts(const std::filesystem::path& path, std::span<const std::string_view> parts,
                        std::string* digest_hex, bool atomic, Digest kind) {
  std::filesystem::path target = path;
  if (atomic) target += ".tmp";
  int fd = ::open(target.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return io_error(target, "cannot create");
  PLINTH_TRY(write_parts_fd(fd, target, parts, digest_hex, kind));
  if (!atomic) return {};
  if (::rename(target.c_str(), path.c_str()) != 0) {
    Status s = io_error(path, "rename failed");
    ::unlink(target.c_str());
    return s;
  }
  auto dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
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
