// source.hpp — a data-source component opened from a pipeline's [data.*]
// table: its schema and thread-safe reads, with plugin errors as Status.
// Not here: batching, shuffling, prefetching (data/loader.hpp).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "plinth/data.h"
#include "plinth/registry.hpp"

namespace plinth::data {

struct Field {
  std::string name;
  plinth_dtype dtype;
  std::vector<int64_t> shape;  // per sample
  int64_t num_classes = 0;
  uint64_t sample_bytes = 0;
};

// Output resolution of image fields (progressive resizing). 0: the fields'
// own shape. Image fields are those of rank 3 (C, H, W) or 2 (H, W).
struct Resolution {
  int32_t height = 0, width = 0;
  bool is_default() const { return height == 0 && width == 0; }
  bool operator==(const Resolution&) const = default;
};

// What a read is for: the run's seed, the epoch, the resolution (ABI 1.2
// read context). Sources without read_ctx ignore seed and epoch.
struct ReadContext {
  uint64_t seed = 0;
  uint64_t epoch = 0;
  Resolution res;
};

bool is_image_field(const Field& f);
// The field's per-sample shape at `res` (image fields only change; a
// partial resolution keeps the other dimension).
std::vector<int64_t> shape_at(const Field& f, Resolution res);
uint64_t sample_bytes_at(const Field& f, Resolution res);

class Source {
 public:
  // `what` names the source in messages ("[data.train]").
  static Result<std::shared_ptr<Source>> open(const Registry& registry, const std::string& component,
                                              const plinth_config* cfg, std::string what);
  // A replay mix (fine-tuning on new data without forgetting the old): every
  // sample of `main`, then `count` samples of `replay` spread evenly over it
  // (sample j of them is replay's floor(j * replay.size / count)), read as one
  // source of main.size + count samples. The schemas must match.
  static Result<std::shared_ptr<Source>> mix(std::shared_ptr<Source> main, std::shared_ptr<Source> replay,
                                             uint64_t count, std::string what);
  ~Source();
  Source(const Source&) = delete;
  Source& operator=(const Source&) = delete;

  uint64_t size() const { return info_.num_samples; }
  const std::vector<Field>& fields() const { return fields_; }
  int field_index(const std::string& name) const;
  // Read samples into buffers[f] (one per field, packed). Thread-safe.
  Status read(const uint64_t* indices, size_t n, void* const* buffers);
  // The same for a read context: through the table's read_ctx when it has
  // one, else read() (seed and epoch unused). Image fields are packed at
  // ctx.res; a source without read_ctx asked for a resolution other than its
  // own shape is an error naming it.
  Status read(const ReadContext& ctx, const uint64_t* indices, size_t n, void* const* buffers);
  // Whether the source takes a read context (ABI 1.2 read_ctx); a mix when
  // both of its parts do.
  bool has_read_ctx() const;
  // Whether every image field can be produced at `res`: ok, or the error a
  // read would give.
  Status check_resolution(Resolution res) const;
  const std::string& what() const { return what_; }
  // The source's metadata value for `key` (e.g. "vocab": a JSON document), or
  // nullopt when the source has none: the key is unknown to it, or its table
  // predates ABI 1.1's metadata(). Thread-safe.
  Result<std::optional<std::string>> metadata(const std::string& key) const;

 private:
  Source() = default;
  const plinth_data_v1* table_ = nullptr;
  plinth_data_source* src_ = nullptr;
  std::shared_ptr<void> keep_alive_;
  plinth_data_info info_{};
  std::vector<Field> fields_;
  std::string what_;
  std::shared_ptr<Source> mix_main_, mix_replay_;  // set for a mix, which has no table of its own
};

}  // namespace plinth::data
