// data_fuzz_util.hpp — shared code for the data-source fuzz targets: find a
// component's table in plinth-data-std (linked in as objects), read a few
// samples of an opened source into buffers sized from its schema, and check
// a language-model source's windows.
// Not here: writing the inputs (fuzz_util.hpp).
#pragma once

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "plinth/data.h"
#include "plinth/ops.hpp"

extern "C" const plinth_plugin* plinth_plugin_get(void);

namespace plinth::fuzz {

inline const plinth_data_v1* data_table(const char* name) {
  const plinth_plugin* p = plinth_plugin_get();
  for (size_t i = 0; i < p->num_components; ++i)
    if (std::strcmp(p->components[i].name, name) == 0)
      return static_cast<const plinth_data_v1*>(p->components[i].table);
  std::abort();  // the plugin lost a component: a build problem
}

// Bytes per sample of field `f`, or 0 when the schema is unreadable.
inline size_t field_bytes(const plinth_data_field& f) {
  size_t n = plinth::sdk::dtype_size(f.dtype);
  if (n == 0) std::abort();                    // the schema must be valid
  if (f.ndim < 0 || f.ndim > 8) std::abort();  // the schema must be valid
  for (int d = 0; d < f.ndim; ++d) {
    if (f.shape[d] < 0) std::abort();
    if (__builtin_mul_overflow(n, static_cast<size_t>(f.shape[d]), &n)) std::abort();
  }
  return n;
}

// Reads the first and the last sample through t->read (when the samples are
// small enough to allocate); the returned status must be OK for valid indices.
// Returns the bytes of one sample of field 0 (0 when not read).
inline size_t read_ends(const plinth_data_v1* t, plinth_data_source* src) {
  plinth_data_info info{};
  info.struct_size = PLINTH_DATA_INFO_STRUCT_SIZE;
  if (t->info(src, &info) != PLINTH_OK || info.num_fields < 1 || info.num_fields > 16) std::abort();
  std::vector<std::vector<unsigned char>> bufs(static_cast<size_t>(info.num_fields));
  std::vector<void*> ptrs;
  size_t first = 0;
  for (int32_t k = 0; k < info.num_fields; ++k) {
    plinth_data_field f{};
    f.struct_size = PLINTH_DATA_FIELD_STRUCT_SIZE;
    if (t->field(src, k, &f) != PLINTH_OK) std::abort();
    size_t b = field_bytes(f);
    if (k == 0) first = b;
    if (b > (size_t{1} << 24)) return 0;  // too big to read here; open's size checks are tested by the caller
    bufs[static_cast<size_t>(k)].resize(b ? b : 1);
    ptrs.push_back(bufs[static_cast<size_t>(k)].data());
  }
  if (info.num_samples == 0 || !t->read) return first;
  const uint64_t ends[2] = {0, info.num_samples - 1};
  for (uint64_t i : ends)
    if (t->read(src, &i, 1, ptrs.data()) != PLINTH_OK) std::abort();
  // An index past the end is refused, not read.
  const uint64_t past = info.num_samples;
  if (t->read(src, &past, 1, ptrs.data()) == PLINTH_OK) std::abort();
  return first;
}

// For a language-model source (fields tokens and targets, each T i32): the
// first and last of its `n` windows read, hold ids in [0, V), and their
// targets are the tokens shifted by one.
inline void check_windows(const plinth_data_v1* t, plinth_data_source* src, uint64_t n, int64_t T,
                          int64_t V) {
  std::vector<int32_t> x(static_cast<size_t>(T)), y(static_cast<size_t>(T));
  void* bufs[2] = {x.data(), y.data()};
  const uint64_t ends[2] = {0, n - 1};
  for (uint64_t i : ends) {
    if (t->read(src, &i, 1, bufs) != PLINTH_OK) std::abort();
    for (int64_t k = 0; k < T; ++k) {
      if (x[k] < 0 || x[k] >= V || y[k] < 0 || y[k] >= V) std::abort();
      if (k + 1 < T && y[k] != x[k + 1]) std::abort();
    }
  }
}

}  // namespace plinth::fuzz
