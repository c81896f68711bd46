// plinth/plugin.hpp — a small header-only C++ helper for plugin authors.
// It adds nothing to the ABI: it wraps the host services of plugin.h and
// turns C++ exceptions into status codes at the boundary (exceptions must
// never cross into the core).
#pragma once

#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <new>
#include <string>

#include "plinth/plugin.h"

namespace plinth::sdk {

// An ABI enum field (an op kind, a dtype, a function code) as its raw int,
// for comparing and printing. A C caller may store any value there (a newer
// core one this header does not name, a malformed call anything); the
// enums' fixed underlying type (PLINTH_ENUM_TYPE) makes reading such a value
// well defined in C++ too, and this states the intent where it matters.
template <class E>
int32_t raw_enum(const E& e) {
  static_assert(sizeof(E) == sizeof(int32_t), "ABI enums are 32 bits");
  int32_t v;
  std::memcpy(&v, &e, sizeof v);
  return v;
}

// Record `msg` as the calling thread's error and return `code`.
inline plinth_status fail(const plinth_host* host, plinth_status code, const std::string& msg) {
  if (host && host->set_error) return host->set_error(host->ctx, code, msg.c_str());
  return code;
}

// printf-style fail().
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
inline plinth_status
failf(const plinth_host* host, plinth_status code, const char* fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  return fail(host, code, buf);
}

inline void log(const plinth_host* host, plinth_log_level level, const char* plugin, const std::string& msg) {
  if (host && host->log) host->log(host->ctx, level, plugin, msg.c_str());
}

// Run `f` (returning plinth_status); any exception becomes an error status.
// Use it around the body of every function the core calls.
template <class F>
plinth_status guard(const plinth_host* host, F&& f) noexcept {
  try {
    return f();
  } catch (const std::bad_alloc&) {
    return fail(host, PLINTH_ERR_OUT_OF_MEMORY, "out of memory");
  } catch (const std::exception& e) {
    return fail(host, PLINTH_ERR_INTERNAL, std::string("unexpected exception: ") + e.what());
  } catch (...) {
    return fail(host, PLINTH_ERR_INTERNAL, "unexpected non-standard exception");
  }
}

// Config lookups with a default: absent keys leave `out` at its default and
// return PLINTH_OK; a key of the wrong type returns the host's error.
inline plinth_status config_int(const plinth_host* h, const plinth_config* c, const char* key, int64_t& out) {
  if (!c) return PLINTH_OK;
  plinth_status s = h->config_get_int(h->ctx, c, key, &out);
  return s == PLINTH_ERR_NOT_FOUND ? PLINTH_OK : s;
}
inline plinth_status config_float(const plinth_host* h, const plinth_config* c, const char* key,
                                  double& out) {
  if (!c) return PLINTH_OK;
  plinth_status s = h->config_get_float(h->ctx, c, key, &out);
  return s == PLINTH_ERR_NOT_FOUND ? PLINTH_OK : s;
}
inline plinth_status config_bool(const plinth_host* h, const plinth_config* c, const char* key, bool& out) {
  if (!c) return PLINTH_OK;
  int32_t v = out ? 1 : 0;
  plinth_status s = h->config_get_bool(h->ctx, c, key, &v);
  if (s == PLINTH_OK) out = v != 0;
  return s == PLINTH_ERR_NOT_FOUND ? PLINTH_OK : s;
}
inline plinth_status config_string(const plinth_host* h, const plinth_config* c, const char* key,
                                   std::string& out) {
  if (!c) return PLINTH_OK;
  const char* v = nullptr;
  plinth_status s = h->config_get_string(h->ctx, c, key, &v);
  if (s == PLINTH_OK) out = v;
  return s == PLINTH_ERR_NOT_FOUND ? PLINTH_OK : s;
}
// A path, resolved against the folder of the file the config came from.
inline plinth_status config_path(const plinth_host* h, const plinth_config* c, const char* key,
                                 std::string& out) {
  if (!c) return PLINTH_OK;
  const char* v = nullptr;
  plinth_status s = h->config_get_path(h->ctx, c, key, &v);
  if (s == PLINTH_OK) out = v;
  return s == PLINTH_ERR_NOT_FOUND ? PLINTH_OK : s;
}

}  // namespace plinth::sdk
