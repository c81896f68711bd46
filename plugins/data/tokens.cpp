// tokens.cpp — the `tokens` data source: language-model windows over uint16
// token shards. format = "llmc" (default) is llm.c's shard: a 1024-byte header
// of 256 little-endian int32 (magic 20240520, version 1, token count, the rest
// unused), then that many uint16 little-endian tokens; format = "raw" is
// nanoGPT's headerless uint16 .bin. Shards are read with pread(2), not
// mapped: a shard truncated or rewritten while training then reads short and
// is an error naming it, where a mapping would kill the process with SIGBUS
// (a signal handler cannot tell which access failed, nor resume it safely).
// The page cache keeps repeated reads cheap. Every id is checked against
// vocab_size at open. Sample i is a window of T+1 tokens
// inside one shard: tokens = w[0..T), targets = w[1..T+1). It does not read
// llm.c's version-2 (uint32) shards and does not tokenize text.
#include <fcntl.h>
#include <glob.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

#include "source.hpp"

namespace plinth::data {

namespace {

constexpr int32_t k_llmc_magic = 20240520;
constexpr int32_t k_llmc_version = 1;
constexpr size_t k_llmc_header_bytes = 256 * sizeof(int32_t);

int32_t le32(const unsigned char* p) {
  return static_cast<int32_t>(uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) |
                              (uint32_t{p[3]} << 24));
}

uint16_t le16(const unsigned char* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }

struct shard {
  std::string path;
  int fd = -1;
  uint64_t file_size = 0;     // at open
  uint64_t offset = 0;        // byte offset of the first token
  uint64_t n = 0;             // tokens in the shard
  uint64_t first_sample = 0;  // index of its first window

  shard() = default;
  shard(const shard&) = delete;
  shard& operator=(const shard&) = delete;
  ~shard() {
    if (fd >= 0) ::close(fd);
  }

  // `len` bytes at byte offset `at`; a short read (the file shrank since
  // open) or a read error is a message naming the shard.
  plinth_status read(const plinth_host* h, uint64_t at, void* dst, size_t len) const {
    auto* p = static_cast<unsigned char*>(dst);
    size_t done = 0;
    while (done < len) {
      const ssize_t got = ::pread(fd, p + done, len - done, static_cast<off_t>(at + done));
      if (got < 0 && errno == EINTR) continue;
      if (got < 0)
        return sdk::failf(h, PLINTH_ERR_IO,
                          "tokens file '%s': read of %zu bytes at byte offset %llu failed: %s", path.c_str(),
                          len, static_cast<unsigned long long>(at), std::strerror(errno));
      if (got == 0) {
        struct stat st {};
        const long long now = ::fstat(fd, &st) == 0 ? static_cast<long long>(st.st_size) : -1;
        return sdk::failf(
            h, PLINTH_ERR_BAD_DATA,
            "tokens file '%s': the file changed while in use: it had %llu bytes when opened and "
            "now has %lld, so %zu bytes at byte offset %llu cannot be read",
            path.c_str(), static_cast<unsigned long long>(file_size), now, len,
            static_cast<unsigned long long>(at));
      }
      done += static_cast<size_t>(got);
    }
    return PLINTH_OK;
  }
};

struct tokens_source final : plinth_data_source {
  std::vector<std::unique_ptr<shard>> shards;
  std::vector<uint64_t> starts;  // shards[k]->first_sample, for the binary search
  int64_t T = 0;                 // block_size
  int64_t stride = 1;

  // Fields 0 (tokens) and 1 (targets) differ only by a one-token shift.
  plinth_status copy_sample(int f, uint64_t i, void* dst) const override {
    const size_t k =
        static_cast<size_t>(std::upper_bound(starts.begin(), starts.end(), i) - starts.begin()) - 1;
    const shard& s = *shards[k];
    const uint64_t at = (i - s.first_sample) * static_cast<uint64_t>(stride) + static_cast<uint64_t>(f);
    auto* out = static_cast<int32_t*>(dst);
    constexpr int64_t chunk = 4096;  // tokens per read
    unsigned char buf[2 * chunk];
    for (int64_t t0 = 0; t0 < T; t0 += chunk) {
      const int64_t m = std::min(chunk, T - t0);
      if (const plinth_status st =
              s.read(host, s.offset + 2 * (at + static_cast<uint64_t>(t0)), buf, static_cast<size_t>(2 * m));
          st != PLINTH_OK)
        return st;
      for (int64_t t = 0; t < m; ++t) out[t0 + t] = le16(buf + 2 * t);
    }
    return PLINTH_OK;
  }
};

// The files a `path` entry names: a glob pattern's sorted matches, or itself.
plinth_status expand(const plinth_host* h, const std::string& pattern, std::vector<std::string>& out) {
  if (pattern.find_first_of("*?[") == std::string::npos) {
    out.push_back(pattern);
    return PLINTH_OK;
  }
  glob_t g{};
  const int r = ::glob(pattern.c_str(), GLOB_ERR, nullptr, &g);
  if (r == GLOB_NOMATCH || (r == 0 && g.gl_pathc == 0)) {
    ::globfree(&g);
    return sdk::failf(h, PLINTH_ERR_NOT_FOUND, "tokens: path pattern '%s' matches no file", pattern.c_str());
  }
  if (r != 0) {
    ::globfree(&g);
    return sdk::failf(h, PLINTH_ERR_IO, "tokens: cannot expand path pattern '%s'", pattern.c_str());
  }
  for (size_t i = 0; i < g.gl_pathc; ++i) out.emplace_back(g.gl_pathv[i]);  // glob sorts them
  ::globfree(&g);
  return PLINTH_OK;
}

// `path`: one string or an array of strings, each a file or a glob pattern,
// resolved against the config's folder.
plinth_status read_paths(const plinth_host* h, const plinth_config* cfg, std::vector<std::string>& files) {
  std::string one;
  plinth_status s = sdk::config_path(h, cfg, "path", one);
  std::vector<std::string> patterns;
  if (s == PLINTH_OK && !one.empty()) {
    patterns.push_back(one);
  } else if (s == PLINTH_ERR_INVALID_ARGUMENT) {  // not a string: an array?
    size_t n = 0;
    if ((s = h->config_array_size(h->ctx, cfg, "path", &n)) != PLINTH_OK) return s;
    for (size_t i = 0; i < n; ++i) {
      const std::string key = "path[" + std::to_string(i) + "]";
      std::string p;
      if ((s = sdk::config_path(h, cfg, key.c_str(), p)) != PLINTH_OK) return s;
      patterns.push_back(p);
    }
  } else if (s != PLINTH_OK) {
    return s;
  }
  if (patterns.empty())
    return sdk::fail(
        h, PLINTH_ERR_NOT_FOUND,
        "tokens: missing key 'path' (a token shard, a glob such as 'data/train_*.bin', or a list)");
  for (const auto& p : patterns)
    if ((s = expand(h, p, files)) != PLINTH_OK) return s;
  return PLINTH_OK;
}

// Open the shard, check its header (llmc) or size (raw) and set s.offset
// and s.n.
plinth_status open_shard(const plinth_host* h, bool raw, shard& s) {
  const char* path = s.path.c_str();
  s.fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (s.fd < 0) return sdk::failf(h, PLINTH_ERR_IO, "tokens file '%s': %s", path, std::strerror(errno));
  struct stat st {};
  if (::fstat(s.fd, &st) != 0)
    return sdk::failf(h, PLINTH_ERR_IO, "tokens file '%s': %s", path, std::strerror(errno));
  if (!S_ISREG(st.st_mode))
    return sdk::failf(h, PLINTH_ERR_BAD_DATA, "tokens file '%s': not a regular file", path);
  const size_t size = static_cast<size_t>(st.st_size);
  s.file_size = size;
  if (raw) {
    if (size % 2 != 0)
      return sdk::failf(h, PLINTH_ERR_BAD_DATA,
                        "tokens file '%s': %zu bytes is not a whole number of uint16 tokens (truncated?)",
                        path, size);
    s.offset = 0;
    s.n = size / 2;
    return PLINTH_OK;
  }
  unsigned char b[k_llmc_header_bytes];
  plinth_status r;
  if ((r = s.read(h, 0, b, std::min(size, k_llmc_header_bytes))) != PLINTH_OK) return r;
  if (size >= 4 && le32(b) != k_llmc_magic)
    return sdk::failf(
        h, PLINTH_ERR_BAD_DATA,
        "tokens file '%s': wrong magic %d at byte offset 0, expected %d (an llm.c token shard); "
        "hint: for a headerless uint16 file (nanoGPT's .bin) set format = \"raw\"",
        path, le32(b), k_llmc_magic);
  if (size < k_llmc_header_bytes)
    return sdk::failf(h, PLINTH_ERR_BAD_DATA,
                      "tokens file '%s': truncated header: %zu bytes, an llm.c token shard starts with a "
                      "%zu-byte header (256 int32)",
                      path, size, k_llmc_header_bytes);
  const int32_t version = le32(b + 4);
  if (version != k_llmc_version)
    return sdk::failf(
        h, PLINTH_ERR_BAD_DATA,
        "tokens file '%s': unsupported version %d at byte offset 4, expected %d (uint16 tokens)%s", path,
        version, k_llmc_version,
        version == 2 ? "; version 2 shards hold uint32 tokens, which this source does not read" : "");
  const int32_t count = le32(b + 8);
  const uint64_t need = k_llmc_header_bytes + 2 * static_cast<uint64_t>(count < 0 ? 0 : count);
  if (count < 0 || need != size)
    return sdk::failf(
        h, PLINTH_ERR_BAD_DATA,
        "tokens file '%s': the header's token count %d (byte offset 8) needs %llu bytes, the file "
        "has %zu (%s)",
        path, count, static_cast<unsigned long long>(need), size,
        count < 0     ? "negative count"
        : need > size ? "truncated"
                      : "trailing bytes");
  s.offset = k_llmc_header_bytes;
  s.n = static_cast<uint64_t>(count);
  return PLINTH_OK;
}

// Every id of the shard below vocab_size: one pass, read in chunks.
plinth_status check_ids(const plinth_host* h, const shard& s, int64_t vocab_size) {
  constexpr uint64_t chunk = uint64_t{1} << 19;  // tokens per read
  std::vector<unsigned char> buf(2 * std::min(chunk, s.n));
  for (uint64_t i0 = 0; i0 < s.n; i0 += chunk) {
    const uint64_t m = std::min(chunk, s.n - i0);
    if (const plinth_status st = s.read(h, s.offset + 2 * i0, buf.data(), static_cast<size_t>(2 * m));
        st != PLINTH_OK)
      return st;
    for (uint64_t i = 0; i < m; ++i)
      if (const uint16_t id = le16(buf.data() + 2 * i); id >= vocab_size)
        return sdk::failf(h, PLINTH_ERR_BAD_DATA,
                          "tokens file '%s': token id %u at byte offset %llu (token %llu) is not below "
                          "vocab_size = %lld",
                          s.path.c_str(), id, static_cast<unsigned long long>(s.offset + 2 * (i0 + i)),
                          static_cast<unsigned long long>(i0 + i), static_cast<long long>(vocab_size));
  }
  return PLINTH_OK;
}

plinth_status tokens_open(const plinth_host* h, const plinth_config* cfg, plinth_data_source** out) {
  return sdk::guard(h, [&]() -> plinth_status {
    if (!out) return sdk::fail(h, PLINTH_ERR_INVALID_ARGUMENT, "tokens: NULL output handle");
    *out = nullptr;
    std::string format = "llmc";
    int64_t block_size = -1, vocab_size = -1, stride = 1;  // -1: absent
    std::vector<std::string> files;
    plinth_status s;
    if ((s = read_paths(h, cfg, files)) != PLINTH_OK) return s;
    if ((s = sdk::config_string(h, cfg, "format", format)) != PLINTH_OK) return s;
    if ((s = sdk::config_int(h, cfg, "block_size", block_size)) != PLINTH_OK) return s;
    if ((s = sdk::config_int(h, cfg, "vocab_size", vocab_size)) != PLINTH_OK) return s;
    if ((s = sdk::config_int(h, cfg, "stride", stride)) != PLINTH_OK) return s;
    if (format != "llmc" && format != "raw")
      return sdk::failf(h, PLINTH_ERR_INVALID_ARGUMENT,
                        "tokens: 'format' must be \"llmc\" (llm.c shard with header) or \"raw\" (headerless "
                        "uint16), got \"%s\"",
                        format.c_str());
    if (block_size == -1)
      return sdk::fail(h, PLINTH_ERR_NOT_FOUND, "tokens: missing key 'block_size' (tokens per sample, T)");
    if (vocab_size == -1)
      return sdk::fail(h, PLINTH_ERR_NOT_FOUND,
                       "tokens: missing key 'vocab_size' (token ids lie in [0, vocab_size); GPT-2: 50257)");
    if (block_size < 1 || block_size > (int64_t{1} << 24))
      return sdk::failf(h, PLINTH_ERR_INVALID_ARGUMENT,
                        "tokens: 'block_size' (tokens per sample, T) must be in [1, 2^24], got %lld",
                        static_cast<long long>(block_size));
    if (vocab_size < 1 || vocab_size > 65536)
      return sdk::failf(
          h, PLINTH_ERR_INVALID_ARGUMENT,
          "tokens: 'vocab_size' (token ids lie in [0, vocab_size)) must be in [1, 65536], got %lld",
          static_cast<long long>(vocab_size));
    if (stride < 1)
      return sdk::failf(h, PLINTH_ERR_INVALID_ARGUMENT, "tokens: 'stride' must be >= 1, got %lld",
                        static_cast<long long>(stride));

    auto src = std::make_unique<tokens_source>();
    src->host = h;
    src->component = "tokens";
    src->T = block_size;
    src->stride = stride;
    const bool raw = format == "raw";
    for (const auto& path : files) {
      auto sh = std::make_unique<shard>();
      sh->path = path;
      if ((s = open_shard(h, raw, *sh)) != PLINTH_OK) return s;
      if (vocab_size < 65536 && (s = check_ids(h, *sh, vocab_size)) != PLINTH_OK) return s;
      const uint64_t need = static_cast<uint64_t>(block_size) + 1;
      if (sh->n < need)
        return sdk::failf(h, PLINTH_ERR_BAD_DATA,
                          "tokens: block_size %lld needs at least %llu tokens, '%s' has %llu",
                          static_cast<long long>(block_size), static_cast<unsigned long long>(need),
                          path.c_str(), static_cast<unsigned long long>(sh->n));
      sh->first_sample = src->num_samples;
      src->starts.push_back(sh->first_sample);
      src->num_samples += (sh->n - need) / static_cast<uint64_t>(stride) + 1;
      src->shards.push_back(std::move(sh));
    }
    src->fields.push_back({"tokens", PLINTH_DTYPE_I32, {block_size}, vocab_size});
    src->fields.push_back({"targets", PLINTH_DTYPE_I32, {block_size}, vocab_size});
    *out = src.release();
    return PLINTH_OK;
  });
}

}  // namespace

const char* const tokens_keys[] = {"path", "format", "block_size", "vocab_size", "stride", nullptr};

const plinth_data_v1 tokens_table = {
    .struct_size = PLINTH_DATA_V1_STRUCT_SIZE,
    .open = tokens_open,
    .close = source_close,
    .info = source_info,
    .field = source_field,
    .read = source_read,
    .next = nullptr,
    .save_position = nullptr,
    .restore_position = nullptr,
    .metadata = source_metadata,
    .read_ctx = nullptr,
};

}  // namespace plinth::data
