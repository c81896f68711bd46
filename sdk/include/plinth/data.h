/*
 * plinth/data.h — the data-source table. A source offers random access by
 * sample index: how many samples, the schema (named fields with a dtype and a
 * per-sample shape), and a thread-safe read of a list of indices into host
 * buffers. Shuffling, sharding, batching, prefetching and exact resume live in
 * the core. A source that can only stream sets PLINTH_DATA_STREAMING, reads
 * with next() and saves/restores its position.
 */
#ifndef PLINTH_DATA_H
#define PLINTH_DATA_H

#include "plinth/plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct plinth_data_source plinth_data_source; /* one opened source */

#define PLINTH_DATA_STREAMING 0x1u /* no random access: use next()        */

typedef struct plinth_data_info {
  size_t struct_size;
  uint64_t num_samples; /* out: 0 for a streaming source of unknown length */
  int32_t num_fields;   /* out: >= 1                                       */
  uint32_t flags;       /* out: PLINTH_DATA_* bits                         */
} plinth_data_info;
#define PLINTH_DATA_INFO_STRUCT_SIZE PLINTH_STRUCT_SIZE(plinth_data_info, flags)

/* One field of a sample, e.g. "image" f32 (28, 28) or "label" i32 (). */
typedef struct plinth_data_field {
  size_t struct_size;
  char name[64];       /* out: NUL-terminated                                   */
  plinth_dtype dtype;  /* out                                                   */
  int32_t ndim;        /* out: per-sample rank, 0 for a scalar                  */
  int64_t shape[8];    /* out: per-sample shape                                 */
  int64_t num_classes; /* out: for class labels, values lie in [0, num_classes);
                          0 when not a label or unknown */
} plinth_data_field;
#define PLINTH_DATA_FIELD_STRUCT_SIZE PLINTH_STRUCT_SIZE(plinth_data_field, num_classes)

/* ABI 1.2. What a read is for, so a source can make its random draws
 * (augmentation) a function of (seed, epoch, sample index) alone: the same
 * sample of the same epoch reads the same bytes whichever thread, worker
 * count, batch or resume reads it. */
typedef struct plinth_data_read_context {
  size_t struct_size;
  uint64_t seed;  /* the run's seed ([run] seed), the same on every rank     */
  uint64_t epoch; /* 0-based epoch of the samples read                       */
  /* Output resolution of image fields for this read (progressive resizing):
   * 0 means the field's own shape. A source that cannot produce another size
   * returns PLINTH_ERR_UNSUPPORTED with a message. Samples are packed at the
   * size asked for: (C, height, width). */
  int32_t height;
  int32_t width;
} plinth_data_read_context;
#define PLINTH_DATA_READ_CONTEXT_STRUCT_SIZE PLINTH_STRUCT_SIZE(plinth_data_read_context, width)

typedef struct plinth_data_v1 {
  size_t struct_size;
  /* Open from the pipeline's [data.<split>] table. May read files; reports
   * a missing or malformed file with PLINTH_ERR_IO / PLINTH_ERR_BAD_DATA and
   * a message naming the path (and offset or line). */
  plinth_status (*open)(const plinth_host* host, const plinth_config* cfg, plinth_data_source** out);
  void (*close)(plinth_data_source* src);
  plinth_status (*info)(const plinth_data_source* src, plinth_data_info* out);
  /* Field `index` in [0, num_fields). Caller sets out->struct_size.
   * An index out of range is an error status, never a crash. */
  plinth_status (*field)(const plinth_data_source* src, int32_t index, plinth_data_field* out);
  /* Read samples indices[0..n) into buffers[f] for every field f: sample i
   * of field f lands at buffers[f] + i * (bytes per sample of f), packed.
   * Thread-safe: several threads call it at once on one source. Not for
   * streaming sources (may be NULL there). A sample's bytes depend only on
   * its index (and ctx, for read_ctx): not on the call, the order of the
   * indices, the thread or the instance. An index >= num_samples is an
   * error status with a message naming it, never a crash; n = 0 succeeds.
   * plinth-plugin-check checks each of these. */
  plinth_status (*read)(plinth_data_source* src, const uint64_t* indices, size_t n, void* const* buffers);
  /* --- streaming sources only; (optional) NULL otherwise --- */
  /* Read up to n next samples; *got < n only at the end of the stream. */
  plinth_status (*next)(plinth_data_source* src, size_t n, void* const* buffers, size_t* got);
  /* Write the position into buf (cap bytes); *len receives the size needed.
   * PLINTH_ERR_INVALID_ARGUMENT when cap is too small. */
  plinth_status (*save_position)(plinth_data_source* src, void* buf, size_t cap, size_t* len);
  plinth_status (*restore_position)(plinth_data_source* src, const void* buf, size_t len);
  /* --- ABI 1.1 --- */
  /* (optional) may be NULL. A named text value describing the source, e.g.
   * "vocab": JSON {"type":"char","tokens":["\n"," ",...]}, token id -> string.
   * Like snprintf: *len receives the value's length in bytes (no NUL); the
   * value and a NUL are written only when cap > *len, so cap 0 (buf may be
   * NULL) asks for the size. PLINTH_ERR_NOT_FOUND, with no message, for a
   * key the source lacks. Thread-safe. */
  plinth_status (*metadata)(const plinth_data_source* src, const char* key, char* buf, size_t cap,
                            size_t* len);
  /* --- ABI 1.2 --- */
  /* (optional) may be NULL: read() as above, for the epoch, seed and
   * resolution in ctx (a reader checks ctx->struct_size before reading a
   * field). The core calls it instead of read() when present. Keys a source
   * may answer in metadata(): "classes", a JSON array of class names in
   * label order, which the core writes to the run as classes.json. */
  plinth_status (*read_ctx)(plinth_data_source* src, const plinth_data_read_context* ctx,
                            const uint64_t* indices, size_t n, void* const* buffers);
} plinth_data_v1;

#define PLINTH_DATA_V1_STRUCT_SIZE PLINTH_STRUCT_SIZE(plinth_data_v1, read_ctx)
/* Required: open, close, info, field (and read unless streaming). */
#define PLINTH_DATA_V1_MIN_STRUCT_SIZE PLINTH_STRUCT_SIZE(plinth_data_v1, read)

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* PLINTH_DATA_H */
