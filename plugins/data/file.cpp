// file.cpp — whole-file reads for the data sources. A plain file or one
// gzip member is read whole and, with libdeflate, inflated in one call (the
// fast path); anything else (several members, trailing bytes, a damaged
// stream, a read error) goes through zlib's gz* API, which also passes a
// plain file through unchanged and words every error: a corrupt or cut-off
// gzip stream is an error, not a short read.
#include "file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

#include <zlib.h>
#ifdef PLINTH_HAVE_LIBDEFLATE
#include <libdeflate.h>
#endif

#include "plinth/plugin.hpp"

namespace plinth::data {
namespace {

// Room for `n` bytes in the empty `v`, on transparent huge pages where it
// spans whole 2 MiB pages: first touching a large inflated file then faults
// once per 2 MiB instead of once per 4 KiB, which dominates its cost. The
// allocation does not start on a 2 MiB boundary, so it is made one huge page
// longer (address space only: the tail past `n` is never touched).
void reserve_huge(std::vector<unsigned char>& v, size_t n) {
  constexpr uintptr_t huge = uintptr_t{1} << 21;
  if (n < huge) {
    v.reserve(n);
    return;
  }
  v.reserve(n + huge);
  const auto at = reinterpret_cast<uintptr_t>(v.data());
  const uintptr_t begin = (at + huge - 1) & ~(huge - 1), end = (at + n + huge - 1) & ~(huge - 1);
  if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);  // advice only
}

// A regular file's bytes, empty (ok false) on any failure. A large file is
// mapped read-only (mapping reads it with far fewer page faults than copying
// it into fresh memory); a small one (an image of an image folder) is read
// into memory, because every munmap flushes the TLB of each core the process
// runs on: at thousands of files a second that interrupts the training
// threads far more than the copy costs.
struct file_view {
  static constexpr size_t k_small = size_t{1} << 18;
  const unsigned char* data = nullptr;
  size_t size = 0;
  void* map = MAP_FAILED;
  std::vector<unsigned char> small;
  bool ok = false;

  explicit file_view(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
      size = static_cast<size_t>(st.st_size);
      if (size > 0 && size <= k_small) {
        small.resize(size);
        size_t got = 0;
        while (got < size) {
          const ssize_t r = ::pread(fd, small.data() + got, size - got, static_cast<off_t>(got));
          if (r < 0 && errno == EINTR) continue;
          if (r <= 0) break;
          got += static_cast<size_t>(r);
        }
        ok = got == size;  // shorter: changed under us; zlib's path reads and words it
        data = small.data();
      } else {
        if (size > 0) map = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
        ok = size == 0 || map != MAP_FAILED;
        if (map != MAP_FAILED) data = static_cast<const unsigned char*>(map);
      }
    }
    ::close(fd);
  }
  ~file_view() {
    if (map != MAP_FAILED) ::munmap(map, size);
  }
  file_view(const file_view&) = delete;
  file_view& operator=(const file_view&) = delete;
};

// What a regular file is not, for the message refusing it.
const char* kind_of(mode_t m) {
  if (S_ISDIR(m)) return "a folder";
  if (S_ISFIFO(m)) return "a FIFO";
  if (S_ISCHR(m) || S_ISBLK(m)) return "a device";
  if (S_ISSOCK(m)) return "a socket";
  return "not a regular file";
}

// The size a gzip file's header declares, read from its first inflated
// bytes (a format header is short); k_size_unknown when it does not tell.
unsigned long long declared_by_gzip(const std::string& path, declared_size_fn declared) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) return k_size_unknown;
  unsigned char head[64];
  const int got = gzread(f, head, sizeof head);
  gzclose(f);
  return got > 0 ? declared(head, static_cast<size_t>(got)) : k_size_unknown;
}

// The fast path: `out` gets the file's contents, inflated when it is one
// whole gzip member no larger than `limit`. false: zlib must read it (see
// the file comment).
bool read_fast(const std::string& path, std::vector<unsigned char>& out, unsigned long long limit) {
  const file_view raw(path);
  if (!raw.ok) return false;
  if (raw.size < 2 || raw.data[0] != 0x1f ||
      raw.data[1] != 0x8b) {  // not gzip: passed through, as gzread does
    reserve_huge(out, raw.size);
    out.assign(raw.data, raw.data + raw.size);
    return true;
  }
#ifdef PLINTH_HAVE_LIBDEFLATE
  if (raw.size < 18) return false;  // shorter than a gzip header and trailer
  // The trailer's ISIZE: the inflated size modulo 2^32 (RFC 1952, 2.3.1).
  const unsigned char* tail = raw.data + raw.size - 4;
  const uint64_t isize =
      uint64_t{tail[0]} | uint64_t{tail[1]} << 8 | uint64_t{tail[2]} << 16 | uint64_t{tail[3]} << 24;
  // DEFLATE expands at most 1032:1, so a larger ISIZE is damage (or a
  // member over 4 GiB, ISIZE being modulo 2^32): zlib reads it, and no
  // memory is reserved for a claimed size the data cannot hold.
  if (isize > uint64_t{raw.size} * 1032 || isize > limit) return false;
  libdeflate_decompressor* d = libdeflate_alloc_decompressor();
  if (!d) return false;
  reserve_huge(out, static_cast<size_t>(isize));
  out.resize(static_cast<size_t>(isize));
  size_t in_used = 0, out_used = 0;
  const libdeflate_result r =
      libdeflate_gzip_decompress_ex(d, raw.data, raw.size, out.data(), out.size(), &in_used, &out_used);
  libdeflate_free_decompressor(d);
  // libdeflate checks the member's CRC-32 and ISIZE; a member that is not
  // the whole file (more members, trailing bytes) is zlib's to read.
  if (r == LIBDEFLATE_SUCCESS && in_used == raw.size && out_used == out.size()) return true;
  out.clear();
#endif
  return false;
}

}  // namespace

plinth_status read_file(const plinth_host* host, const std::string& what, const std::string& path,
                        std::vector<unsigned char>& out, declared_size_fn declared) {
  out.clear();
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
    return sdk::failf(host, PLINTH_ERR_BAD_DATA, "%s file '%s': %s, not a regular file", what.c_str(),
                      path.c_str(), kind_of(st.st_mode));
  unsigned long long limit = k_size_unknown;
  bool gzip = false;
  if (declared) {
    unsigned char magic[2] = {};
    if (FILE* f = std::fopen(path.c_str(), "rb")) {
      gzip = std::fread(magic, 1, 2, f) == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
      std::fclose(f);
    }
    if (gzip) limit = declared_by_gzip(path, declared);
  }
  if (read_fast(path, out, limit)) return PLINTH_OK;
  out.clear();
  errno = 0;
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) {
    const char* why = errno ? std::strerror(errno) : "cannot open";
    return sdk::failf(host, PLINTH_ERR_IO, "%s file '%s': %s", what.c_str(), path.c_str(), why);
  }
  gzbuffer(f, 1 << 17);
  constexpr unsigned chunk = 1u << 20;
  for (;;) {
    size_t at = out.size();
    out.resize(at + chunk);
    int got = gzread(f, out.data() + at, chunk);
    if (got < 0) {
      int code = 0;
      std::string msg = gzerror(f, &code);
      if (code == Z_ERRNO) msg = std::strerror(errno);
      gzclose(f);
      out.clear();
      return sdk::failf(host, code == Z_ERRNO ? PLINTH_ERR_IO : PLINTH_ERR_BAD_DATA,
                        "%s file '%s': read failed after %zu bytes: %s", what.c_str(), path.c_str(), at,
                        msg.c_str());
    }
    out.resize(at + static_cast<size_t>(got));
    // A gzip bomb stops here, a chunk past the declared size, not at the
    // end of its stream.
    if (gzip && out.size() > limit) {
      gzclose(f);
      out.clear();
      return sdk::failf(host, PLINTH_ERR_BAD_DATA,
                        "%s file '%s': the gzip stream inflates past the %llu bytes its header declares "
                        "(stopped after %zu bytes)",
                        what.c_str(), path.c_str(), limit, at + static_cast<size_t>(got));
    }
    if (static_cast<unsigned>(got) < chunk) break;
  }
  // gzread stops quietly at a cut-off gzip member; gzerror tells.
  int code = 0;
  const char* msg = gzerror(f, &code);
  if (code != Z_OK && code != Z_STREAM_END) {
    std::string m = msg ? msg : "unknown zlib error";
    gzclose(f);
    out.clear();
    return sdk::failf(host, PLINTH_ERR_BAD_DATA, "%s file '%s': corrupt or truncated gzip stream: %s",
                      what.c_str(), path.c_str(), m.c_str());
  }
  gzclose(f);
  return PLINTH_OK;
}

}  // namespace plinth::data
