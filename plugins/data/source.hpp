// source.hpp — the random-access data source shared by every component of
// plinth-data-std: a list of fields, a const per-sample copy routine and
// named metadata, and the info/field/read/close/metadata entries of
// plinth_data_v1 built on it. It holds no mutable state after open, so read()
// is thread-safe. It parses no file format; see idx.cpp, csv.cpp, tokens.cpp…
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "plinth/data.h"
#include "plinth/plugin.hpp"

namespace plinth::data {

struct field_desc {
  std::string name;
  plinth_dtype dtype = PLINTH_DTYPE_F32;
  std::vector<int64_t> shape;  // per-sample shape, empty for a scalar
  int64_t num_classes = 0;
  size_t bytes_per_sample() const;
};

}  // namespace plinth::data

// The opaque handle of data.h. Each component derives from it.
struct plinth_data_source {
  const plinth_host* host = nullptr;
  std::string component;  // "idx", "csv", "synthetic": used in messages
  uint64_t num_samples = 0;
  std::vector<plinth::data::field_desc> fields;
  std::vector<std::pair<std::string, std::string>> metadata;  // key -> value, e.g. "vocab" -> JSON

  virtual ~plinth_data_source() = default;
  // Write sample `index` (< num_samples) of field `f` to `dst`. Must be const
  // and thread-safe: several threads call it at once. Not OK only for a
  // source that reads its file while training (tokens), with the message set.
  virtual plinth_status copy_sample(int f, uint64_t index, void* dst) const = 0;
};

namespace plinth::data {

// Entries shared by every component's table.
void source_close(plinth_data_source* src);
plinth_status source_info(const plinth_data_source* src, plinth_data_info* out);
plinth_status source_field(const plinth_data_source* src, int32_t index, plinth_data_field* out);
plinth_status source_read(plinth_data_source* src, const uint64_t* indices, size_t n, void* const* buffers);
plinth_status source_metadata(const plinth_data_source* src, const char* key, char* buf, size_t cap,
                              size_t* len);

// Component tables and their config keys (idx.cpp, csv.cpp, synthetic.cpp,
// tokens.cpp, text.cpp, images.cpp).
extern const plinth_data_v1 idx_table;
extern const char* const idx_keys[];
extern const plinth_data_v1 csv_table;
extern const char* const csv_keys[];
extern const plinth_data_v1 synthetic_table;
extern const char* const synthetic_keys[];
extern const plinth_data_v1 tokens_table;
extern const char* const tokens_keys[];
extern const plinth_data_v1 text_table;
extern const char* const text_keys[];
extern const plinth_data_v1 images_table;
extern const char* const images_keys[];

}  // namespace plinth::data
