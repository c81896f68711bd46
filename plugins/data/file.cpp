// file.cpp — whole-file reads for the data sources. gzip files are inflated
// with zlib's gz* API, which also passes a plain file through unchanged;
// a corrupt or cut-off gzip stream is an error, not a short read.
#include "file.hpp"

#include <cerrno>
#include <cstring>

#include <zlib.h>

#include "plinth/plugin.hpp"

namespace plinth::data {

plinth_status read_file(const plinth_host* host, const std::string& what, const std::string& path,
                        std::vector<unsigned char>& out) {
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
