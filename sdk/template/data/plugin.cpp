// plugin.cpp — template-data: the smallest complete Plinth data source, a
// counter dataset. Sample i has label (i mod C) and features x, the one-hot
// vector of that label, so a linear model can learn it exactly.
// Fields: "x" f32 (C), "label" i32 () with num_classes C.
// Config ([data.<split>] table): samples (int > 0, default 64),
// num_classes (int in [2, 1024], default 4). Random access; no files.
#include <cstring>

#include "plinth/data.h"
#include "plinth/plugin.hpp"

struct plinth_data_source {
  const plinth_host* host;
  uint64_t samples;
  int64_t classes;
};

namespace {

using plinth::sdk::fail;
using plinth::sdk::failf;
using plinth::sdk::guard;

constexpr const char* k_name = "template-data";

plinth_status source_open(const plinth_host* h, const plinth_config* cfg, plinth_data_source** out) {
  return guard(h, [&]() -> plinth_status {
    if (!out) return fail(h, PLINTH_ERR_INVALID_ARGUMENT, "template-data: NULL output handle");
    *out = nullptr;
    int64_t samples = 64, classes = 4;
    plinth_status s;
    if ((s = plinth::sdk::config_int(h, cfg, "samples", samples)) != PLINTH_OK) return s;
    if ((s = plinth::sdk::config_int(h, cfg, "num_classes", classes)) != PLINTH_OK) return s;
    if (samples <= 0)
      return failf(h, PLINTH_ERR_INVALID_ARGUMENT, "template-data: 'samples' must be > 0, got %lld",
                   static_cast<long long>(samples));
    if (classes < 2 || classes > 1024)
      return failf(h, PLINTH_ERR_INVALID_ARGUMENT,
                   "template-data: 'num_classes' must be in [2, 1024], got %lld",
                   static_cast<long long>(classes));
    *out = new plinth_data_source{h, static_cast<uint64_t>(samples), classes};
    return PLINTH_OK;
  });
}

void source_close(plinth_data_source* src) { delete src; }

plinth_status source_info(const plinth_data_source* src, plinth_data_info* out) {
  if (!src || !out) return PLINTH_ERR_INVALID_ARGUMENT;
  // Fields of ABI 1.0 are all present in any caller's struct; keep its size.
  out->num_samples = src->samples;
  out->num_fields = 2;
  out->flags = 0;
  return PLINTH_OK;
}

plinth_status source_field(const plinth_data_source* src, int32_t index, plinth_data_field* out) {
  if (!src || !out) return PLINTH_ERR_INVALID_ARGUMENT;
  if (index < 0 || index > 1)
    return failf(src->host, PLINTH_ERR_INVALID_ARGUMENT, "template-data: field %d out of range [0, 2)",
                 index);
  const size_t caller_size = out->struct_size;
  plinth_data_field f{};
  f.struct_size = caller_size;
  if (index == 0) {
    std::strcpy(f.name, "x");
    f.dtype = PLINTH_DTYPE_F32;
    f.ndim = 1;
    f.shape[0] = src->classes;
  } else {
    std::strcpy(f.name, "label");
    f.dtype = PLINTH_DTYPE_I32;
    f.ndim = 0;
    f.num_classes = src->classes;
  }
  std::memcpy(out, &f, caller_size < sizeof f ? caller_size : sizeof f);
  return PLINTH_OK;
}

// Thread-safe: reads only the immutable source and writes the caller's buffers.
plinth_status source_read(plinth_data_source* src, const uint64_t* indices, size_t n, void* const* buffers) {
  if (!src) return PLINTH_ERR_INVALID_ARGUMENT;
  if (n && (!indices || !buffers || !buffers[0] || !buffers[1]))
    return fail(src->host, PLINTH_ERR_INVALID_ARGUMENT, "template-data: NULL indices or buffers");
  auto* x = static_cast<float*>(buffers[0]);
  auto* label = static_cast<int32_t*>(buffers[1]);
  for (size_t i = 0; i < n; ++i) {
    if (indices[i] >= src->samples)
      return failf(
          src->host, PLINTH_ERR_INVALID_ARGUMENT, "template-data: sample index %llu out of range [0, %llu)",
          static_cast<unsigned long long>(indices[i]), static_cast<unsigned long long>(src->samples));
    const int64_t c = static_cast<int64_t>(indices[i] % static_cast<uint64_t>(src->classes));
    float* xi = x + i * static_cast<size_t>(src->classes);
    for (int64_t j = 0; j < src->classes; ++j) xi[j] = j == c ? 1.0f : 0.0f;
    label[i] = static_cast<int32_t>(c);
  }
  return PLINTH_OK;
}

const plinth_data_v1 k_table = {
    .struct_size = PLINTH_DATA_V1_STRUCT_SIZE,
    .open = source_open,
    .close = source_close,
    .info = source_info,
    .field = source_field,
    .read = source_read,
    .next = nullptr,  // random access: the streaming functions stay NULL
    .save_position = nullptr,
    .restore_position = nullptr,
    .metadata = nullptr,  // ABI 1.1, optional: named metadata such as "vocab"
    .read_ctx = nullptr,  // ABI 1.2, optional: reads for a (seed, epoch, resolution)
};

const char* const k_config_keys[] = {"samples", "num_classes", nullptr};

const plinth_component k_components[] = {{
    .struct_size = PLINTH_COMPONENT_STRUCT_SIZE,
    .kind = PLINTH_KIND_DATA,
    .name = k_name,
    .description = "counter dataset: label i mod C, x its one-hot vector",
    .table = &k_table,
    .config_keys = k_config_keys,
}};

const plinth_plugin k_plugin = {
    .struct_size = PLINTH_PLUGIN_STRUCT_SIZE,
    .abi_major = PLINTH_ABI_MAJOR,
    .abi_minor = PLINTH_ABI_MINOR,
    .name = k_name,
    .version = "0.1.0",
    .vendor = "Example Vendor",
    .num_components = 1,
    .components = k_components,
    .init = nullptr,
    .shutdown = nullptr,
};

}  // namespace

extern "C" PLINTH_EXPORT const plinth_plugin* plinth_plugin_get(void) { return &k_plugin; }
