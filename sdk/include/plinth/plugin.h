/*
 * plinth/plugin.h — what every Plinth plugin shares: the entry point, ABI
 * versioning, status codes, handles and the host services table.
 *
 * This is a C99 header. It is the only contract between the core and a plugin;
 * the kind-specific tables live in backend.h, comm.h, optimizer.h and data.h.
 *
 * Versioning rules (also in sdk/CHANGELOG.md):
 *   1. Every table and argument struct begins with `size_t struct_size`, set by
 *      whoever fills the struct to PLINTH_<TYPE>_STRUCT_SIZE of the header it
 *      was built against.
 *   2. A minor version only appends fields at the end of structs and values at
 *      the end of enums. Nothing is reordered, removed or retyped.
 *   3. A reader touches a field only if the writer's struct_size covers it
 *      (PLINTH_HAS_FIELD). A field it cannot see reads as "absent".
 *   4. A major version is a break. The core refuses a plugin of another major
 *      with a message naming both versions; old majors are kept frozen as
 *      plugin_v1.h etc. with an adapter in the core.
 *   5. Exceptions, longjmp and exit() never cross the boundary. A C++ plugin
 *      catches everything at its entry points and returns a status.
 */
#ifndef PLINTH_PLUGIN_H
#define PLINTH_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------- */
/* Versions and layout helpers                                               */
/* ------------------------------------------------------------------------- */

#define PLINTH_ABI_MAJOR 1
#define PLINTH_ABI_MINOR 2

/* Size of `type` up to and including `last_field`: what struct_size must be
 * for a writer that knows fields up to `last_field`. */
#define PLINTH_STRUCT_SIZE(type, last_field) (offsetof(type, last_field) + sizeof(((type*)0)->last_field))

/* True when a struct whose struct_size is `size` contains `field`. */
#define PLINTH_HAS_FIELD(ptr, type, field) ((ptr)->struct_size >= PLINTH_STRUCT_SIZE(type, field))

#if defined(_WIN32)
#define PLINTH_EXPORT __declspec(dllexport)
#else
#define PLINTH_EXPORT __attribute__((visibility("default")))
#endif

/* Every enum of the ABI is 32 bits wide: `typedef enum name PLINTH_ENUM_TYPE
 * {...}`. In C++ that gives it int32_t as its fixed underlying type, so that a
 * value this header does not name (from a newer peer, or a malformed call the
 * receiver must reject) is a valid value to read and compare, not undefined
 * behaviour; in C an enum is an int, the same size and layout. */
#ifdef __cplusplus
#define PLINTH_ENUM_TYPE : int32_t
#else
#define PLINTH_ENUM_TYPE
#endif

/* ------------------------------------------------------------------------- */
/* Status codes                                                              */
/* ------------------------------------------------------------------------- */

/* Every fallible function returns a plinth_status. On failure the plugin
 * should first call host->set_error() with a message (the status code it
 * passes is returned, so `return h->set_error(h->ctx, CODE, "...")` works). */
typedef enum plinth_status PLINTH_ENUM_TYPE {
  PLINTH_OK = 0,
  PLINTH_ERR_INVALID_ARGUMENT = 1, /* bad shape, dtype, NULL where not allowed */
  PLINTH_ERR_UNSUPPORTED = 2,      /* op/dtype/feature not implemented here   */
  PLINTH_ERR_OUT_OF_MEMORY = 3,
  PLINTH_ERR_IO = 4,         /* a file could not be read or written      */
  PLINTH_ERR_NOT_FOUND = 5,  /* config key, device, file absent          */
  PLINTH_ERR_TIMEOUT = 6,    /* a peer or device did not answer in time  */
  PLINTH_ERR_INTERNAL = 7,   /* a bug or an unexpected failure           */
  PLINTH_ERR_BAD_DATA = 8,   /* malformed input data (magic, truncation) */
  PLINTH_ERR_UNAVAILABLE = 9 /* a resource (device, peer) is gone        */
} plinth_status;

/* ------------------------------------------------------------------------- */
/* Shared enums                                                              */
/* ------------------------------------------------------------------------- */

typedef enum plinth_kind PLINTH_ENUM_TYPE {
  PLINTH_KIND_BACKEND = 1,
  PLINTH_KIND_COMM = 2,
  PLINTH_KIND_OPTIMIZER = 3,
  PLINTH_KIND_DATA = 4
} plinth_kind;

/* Element types. Values are fixed forever; new types are appended. */
typedef enum plinth_dtype PLINTH_ENUM_TYPE {
  PLINTH_DTYPE_F32 = 0,
  PLINTH_DTYPE_F16 = 1,
  PLINTH_DTYPE_BF16 = 2,
  PLINTH_DTYPE_F64 = 3,
  PLINTH_DTYPE_I32 = 4,
  PLINTH_DTYPE_I64 = 5,
  PLINTH_DTYPE_U8 = 6,
  PLINTH_DTYPE_U16 = 7,
  PLINTH_DTYPE_COUNT_V1 = 8 /* number of dtypes in ABI 1.0 */
} plinth_dtype;

/* Where a buffer's bytes live; communicators declare what they can read. */
typedef enum plinth_memory_kind PLINTH_ENUM_TYPE {
  PLINTH_MEMORY_HOST = 0,
  PLINTH_MEMORY_CUDA = 1,
  PLINTH_MEMORY_HIP = 2,
  PLINTH_MEMORY_OTHER = 3 /* a vendor device only its own backend reads */
} plinth_memory_kind;

typedef enum plinth_log_level PLINTH_ENUM_TYPE {
  PLINTH_LOG_TRACE = 0,
  PLINTH_LOG_DEBUG = 1,
  PLINTH_LOG_INFO = 2,
  PLINTH_LOG_WARN = 3,
  PLINTH_LOG_ERROR = 4
} plinth_log_level;

/* ------------------------------------------------------------------------- */
/* Host services                                                             */
/* ------------------------------------------------------------------------- */

/* A read-only view of one TOML table of the pipeline (e.g. `[backend]` or a
 * `[data.train]` table). Owned by the host; valid during the call it is passed
 * to and, for create/open calls, until the object created is destroyed. */
typedef struct plinth_config plinth_config;

/* Services the host offers to a plugin. Passed to plinth_plugin.init and to
 * every create/open call. Owned by the host; valid until plugin shutdown.
 * All functions are thread-safe and never block for long. */
typedef struct plinth_host {
  size_t struct_size;
  uint32_t abi_major; /* the core's ABI version */
  uint32_t abi_minor;
  void* ctx; /* opaque; pass back as the first argument of every service */

  /* Log a message into the host's sinks, tagged with `plugin` (the plugin's
   * name; may be NULL). `msg` is copied before return. */
  void (*log)(void* ctx, plinth_log_level level, const char* plugin, const char* msg);

  /* Record an error message for the calling thread and return `code`.
   * The message is copied. The core reads it when the failing call returns. */
  plinth_status (*set_error)(void* ctx, plinth_status code, const char* msg);

  /* Config lookups in a plugin's own table. `key` may be dotted ("a.b").
   * Return PLINTH_OK and write *out; PLINTH_ERR_NOT_FOUND when absent (out
   * untouched); PLINTH_ERR_INVALID_ARGUMENT when present with another type
   * (the host records a message naming file:line:column and the key).
   * Strings are owned by the config and live as long as it does.
   * An integer is accepted where a float is asked for. */
  plinth_status (*config_get_int)(void* ctx, const plinth_config* cfg, const char* key, int64_t* out);
  plinth_status (*config_get_float)(void* ctx, const plinth_config* cfg, const char* key, double* out);
  plinth_status (*config_get_bool)(void* ctx, const plinth_config* cfg, const char* key, int32_t* out);
  plinth_status (*config_get_string)(void* ctx, const plinth_config* cfg, const char* key, const char** out);
  /* Arrays: length, then element i of a given type (same return rules). */
  plinth_status (*config_array_size)(void* ctx, const plinth_config* cfg, const char* key, size_t* out);
  plinth_status (*config_array_int)(void* ctx, const plinth_config* cfg, const char* key, size_t i,
                                    int64_t* out);
  plinth_status (*config_array_float)(void* ctx, const plinth_config* cfg, const char* key, size_t i,
                                      double* out);
  plinth_status (*config_array_string)(void* ctx, const plinth_config* cfg, const char* key, size_t i,
                                       const char** out);
  /* Resolve a path written in the config relative to the file it was written
   * in. Writes a host-owned string valid as long as cfg. */
  plinth_status (*config_get_path)(void* ctx, const plinth_config* cfg, const char* key, const char** out);
} plinth_host;

#define PLINTH_HOST_STRUCT_SIZE PLINTH_STRUCT_SIZE(plinth_host, config_get_path)

/* ------------------------------------------------------------------------- */
/* The plugin descriptor                                                     */
/* ------------------------------------------------------------------------- */

/* One component a library provides: a backend, a communicator, an optimizer
 * or a data source. A library may provide several, all of the kind its
 * manifest declares. */
typedef struct plinth_component {
  size_t struct_size;
  plinth_kind kind;
  const char* name;        /* unique within its kind, e.g. "cpu", "adamw", "idx" */
  const char* description; /* (optional) may be NULL; one line */
  /* The kind's table: plinth_backend_v1*, plinth_comm_v1*, plinth_optimizer_v1*
   * or plinth_data_v1*. Static storage owned by the library. */
  const void* table;
  /* (optional) may be NULL: NULL-terminated list of the keys this component
   * reads from its config table. When present, the core rejects any other key
   * with a "did you mean" hint. */
  const char* const* config_keys;
} plinth_component;

#define PLINTH_COMPONENT_STRUCT_SIZE PLINTH_STRUCT_SIZE(plinth_component, config_keys)

typedef struct plinth_plugin {
  size_t struct_size;
  uint32_t abi_major;  /* PLINTH_ABI_MAJOR the plugin was built against */
  uint32_t abi_minor;  /* PLINTH_ABI_MINOR the plugin was built against */
  const char* name;    /* must equal the manifest's `name` */
  const char* version; /* the plugin's own version, "1.2.3" */
  const char* vendor;  /* (optional) may be NULL */
  size_t num_components;
  const plinth_component* components; /* num_components entries, static storage */
  /* (optional) may be NULL. Called once, after the core validated the tables
   * and before any component is used. `host` outlives the plugin. A failure
   * (with set_error) marks the plugin failed; no other function is called. */
  plinth_status (*init)(const plinth_host* host);
  /* (optional) may be NULL. Called once, after every object the plugin made
   * is destroyed and before the library is closed. Must not fail. */
  void (*shutdown)(void);
} plinth_plugin;

#define PLINTH_PLUGIN_STRUCT_SIZE PLINTH_STRUCT_SIZE(plinth_plugin, shutdown)

/* The one required export. Returns static storage; must be callable before
 * init, from any thread, any number of times, and must do nothing else (no
 * allocation, no device probing). */
typedef const plinth_plugin* (*plinth_plugin_get_fn)(void);
#define PLINTH_PLUGIN_GET_SYMBOL "plinth_plugin_get"

/* The optional export: how well this plugin can run here, 0 = cannot run
 * (e.g. no device). Called after init. Higher wins among same-kind plugins
 * when the pipeline says "auto". */
typedef int32_t (*plinth_plugin_score_fn)(void);
#define PLINTH_PLUGIN_SCORE_SYMBOL "plinth_plugin_score"

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* PLINTH_PLUGIN_H */
