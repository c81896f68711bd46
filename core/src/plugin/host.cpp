// host.cpp — the host services plugins call: logging into the core's spdlog
// logger, set_error into a thread-local slot (read by take_plugin_error),
// and typed lookups of dotted keys in a plugin's TOML table. Every service
// catches everything: no exception travels back into plugin frames.
// Not here: the registry, or parsing the pipeline (config/).
#include "plugin/host.hpp"
#include "util/toml_names.hpp"

#include <sstream>

#include "plinth/log.hpp"
#include "plinth/registry.hpp"
#include "plugin/plugin_config.hpp"

namespace plinth {

namespace {

thread_local std::string t_plugin_error;

std::string where(const plinth_config* cfg, const toml::node& n) {
  return toml_where(cfg->source.empty() ? std::string("<config>") : cfg->source.string(), n.source());
}

plinth_status type_error(const plinth_config* cfg, const toml::node& n, const char* key, const char* want) {
  set_plugin_error(where(cfg, n) + ": key '" + key + "' must be " + want + ", got " +
                   toml_type_name(n.type()));
  return PLINTH_ERR_INVALID_ARGUMENT;
}

// Find `key` (dotted, may index arrays as a[0]); nullptr when absent.
const toml::node* lookup(const plinth_config* cfg, const char* key) {
  if (!cfg || !cfg->table || !key) return nullptr;
  return cfg->table->at_path(std::string_view(key)).node();
}

template <class F>
plinth_status guarded(F&& f) noexcept {
  try {
    return f();
  } catch (const std::bad_alloc&) {
    set_plugin_error("out of memory");
    return PLINTH_ERR_OUT_OF_MEMORY;
  } catch (const std::exception& e) {
    set_plugin_error(std::string("host service failed: ") + e.what());
    return PLINTH_ERR_INTERNAL;
  } catch (...) {
    set_plugin_error("host service failed");
    return PLINTH_ERR_INTERNAL;
  }
}

// Read a scalar of the given kind from a node.
plinth_status read_int(const plinth_config* cfg, const toml::node& n, const char* key, int64_t* out) {
  if (!n.is_integer()) return type_error(cfg, n, key, "an integer");
  *out = n.as_integer()->get();
  return PLINTH_OK;
}
plinth_status read_float(const plinth_config* cfg, const toml::node& n, const char* key, double* out) {
  if (n.is_integer()) {
    *out = static_cast<double>(n.as_integer()->get());
  } else if (n.is_floating_point()) {
    *out = n.as_floating_point()->get();
  } else {
    return type_error(cfg, n, key, "a number");
  }
  return PLINTH_OK;
}
plinth_status read_string(const plinth_config* cfg, const toml::node& n, const char* key, const char** out) {
  if (!n.is_string()) return type_error(cfg, n, key, "a string");
  *out = n.as_string()->get().c_str();
  return PLINTH_OK;
}

void host_log(void*, plinth_log_level level, const char* plugin, const char* msg) {
  try {
    spdlog::level::level_enum l = spdlog::level::info;
    switch (level) {
      case PLINTH_LOG_TRACE:
        l = spdlog::level::trace;
        break;
      case PLINTH_LOG_DEBUG:
        l = spdlog::level::debug;
        break;
      case PLINTH_LOG_INFO:
        l = spdlog::level::info;
        break;
      case PLINTH_LOG_WARN:
        l = spdlog::level::warn;
        break;
      case PLINTH_LOG_ERROR:
        l = spdlog::level::err;
        break;
    }
    logger().log(l, "[{}] {}", plugin ? plugin : "plugin", msg ? msg : "");
  } catch (...) {
    // Logging must never fail into a plugin.
  }
}

plinth_status host_set_error(void*, plinth_status code, const char* msg) {
  try {
    set_plugin_error(msg ? msg : "");
  } catch (...) {
  }
  return code;
}

template <class T, class Read>
plinth_status get_scalar(const plinth_config* cfg, const char* key, T* out, Read read) {
  return guarded([&] {
    if (!key || !out) {
      set_plugin_error("config lookup: NULL key or out pointer");
      return PLINTH_ERR_INVALID_ARGUMENT;
    }
    const toml::node* n = lookup(cfg, key);
    if (!n) return PLINTH_ERR_NOT_FOUND;
    return read(cfg, *n, key, out);
  });
}

plinth_status host_get_int(void*, const plinth_config* cfg, const char* key, int64_t* out) {
  return get_scalar(cfg, key, out, read_int);
}
plinth_status host_get_float(void*, const plinth_config* cfg, const char* key, double* out) {
  return get_scalar(cfg, key, out, read_float);
}
plinth_status host_get_bool(void*, const plinth_config* cfg, const char* key, int32_t* out) {
  return get_scalar(cfg, key, out,
                    [](const plinth_config* c, const toml::node& n, const char* k, int32_t* o) {
                      if (!n.is_boolean()) return type_error(c, n, k, "a boolean");
                      *o = n.as_boolean()->get() ? 1 : 0;
                      return PLINTH_OK;
                    });
}
plinth_status host_get_string(void*, const plinth_config* cfg, const char* key, const char** out) {
  return get_scalar(cfg, key, out, read_string);
}

plinth_status host_get_path(void*, const plinth_config* cfg, const char* key, const char** out) {
  return get_scalar(
      cfg, key, out, [](const plinth_config* c, const toml::node& n, const char* k, const char** o) {
        const char* s = nullptr;
        plinth_status st = read_string(c, n, k, &s);
        if (st != PLINTH_OK) return st;
        std::filesystem::path p(s);
        if (p.is_relative()) {
          const auto base = c->source.empty() ? std::filesystem::current_path() : c->source.parent_path();
          p = base / p;
        }
        c->strings.push_back(p.lexically_normal().string());
        *o = c->strings.back().c_str();
        return PLINTH_OK;
      });
}

// The array at `key`, or a status (not found / wrong type) in *st.
const toml::array* lookup_array(const plinth_config* cfg, const char* key, plinth_status* st) {
  const toml::node* n = lookup(cfg, key);
  if (!n) {
    *st = PLINTH_ERR_NOT_FOUND;
    return nullptr;
  }
  if (!n->is_array()) {
    *st = type_error(cfg, *n, key, "an array");
    return nullptr;
  }
  *st = PLINTH_OK;
  return n->as_array();
}

plinth_status host_array_size(void*, const plinth_config* cfg, const char* key, size_t* out) {
  return guarded([&] {
    if (!key || !out)
      return host_set_error(nullptr, PLINTH_ERR_INVALID_ARGUMENT, "config lookup: NULL argument");
    plinth_status st;
    const toml::array* a = lookup_array(cfg, key, &st);
    if (a) *out = a->size();
    return st;
  });
}

template <class T, class Read>
plinth_status get_element(const plinth_config* cfg, const char* key, size_t i, T* out, Read read) {
  return guarded([&] {
    if (!key || !out)
      return host_set_error(nullptr, PLINTH_ERR_INVALID_ARGUMENT, "config lookup: NULL argument");
    plinth_status st;
    const toml::array* a = lookup_array(cfg, key, &st);
    if (!a) return st;
    if (i >= a->size()) {
      set_plugin_error(where(cfg, *a) + ": key '" + key + "' has " + std::to_string(a->size()) +
                       " elements, index " + std::to_string(i) + " is out of range");
      return PLINTH_ERR_NOT_FOUND;
    }
    const std::string k = std::string(key) + "[" + std::to_string(i) + "]";
    return read(cfg, *a->get(i), k.c_str(), out);
  });
}

plinth_status host_array_int(void*, const plinth_config* cfg, const char* key, size_t i, int64_t* out) {
  return get_element(cfg, key, i, out, read_int);
}
plinth_status host_array_float(void*, const plinth_config* cfg, const char* key, size_t i, double* out) {
  return get_element(cfg, key, i, out, read_float);
}
plinth_status host_array_string(void*, const plinth_config* cfg, const char* key, size_t i,
                                const char** out) {
  return get_element(cfg, key, i, out, read_string);
}

}  // namespace

void set_plugin_error(std::string msg) { t_plugin_error = std::move(msg); }

std::string take_plugin_error() {
  std::string s = std::move(t_plugin_error);
  t_plugin_error.clear();
  return s;
}

Status plugin_status(plinth_status s, std::string_view what) {
  std::string msg = take_plugin_error();
  if (s == PLINTH_OK) return {};
  if (msg.empty()) msg = "failed with status " + std::to_string(static_cast<int>(s)) + " and no message";
  return error(from_abi(s), std::string(what) + ": " + msg);
}

const plinth_host* plugin_host() {
  static const plinth_host host = {
      PLINTH_HOST_STRUCT_SIZE, PLINTH_ABI_MAJOR, PLINTH_ABI_MINOR, nullptr,           host_log,
      host_set_error,          host_get_int,     host_get_float,   host_get_bool,     host_get_string,
      host_array_size,         host_array_int,   host_array_float, host_array_string, host_get_path,
  };
  return &host;
}

}  // namespace plinth
