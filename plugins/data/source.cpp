// source.cpp — info/field/read/close/metadata for every data source of the
// plugin. read() validates every index before it writes anything, then copies
// sample by sample through the component's const copy_sample().
#include "source.hpp"

#include <cstring>

#include "plinth/ops.hpp"

namespace plinth::data {

size_t field_desc::bytes_per_sample() const {
  size_t n = sdk::dtype_size(dtype);
  for (int64_t d : shape) n *= static_cast<size_t>(d);
  return n;
}

void source_close(plinth_data_source* src) { delete src; }

plinth_status source_info(const plinth_data_source* src, plinth_data_info* out) {
  const plinth_host* h = src ? src->host : nullptr;
  return sdk::guard(h, [&] {
    if (!src || !out) return sdk::fail(h, PLINTH_ERR_INVALID_ARGUMENT, "data info: NULL argument");
    plinth_data_info r{};
    r.struct_size = PLINTH_DATA_INFO_STRUCT_SIZE;
    r.num_samples = src->num_samples;
    r.num_fields = static_cast<int32_t>(src->fields.size());
    r.flags = 0;
    // Copy only what the caller's struct holds.
    size_t n = out->struct_size < sizeof r ? out->struct_size : sizeof r;
    size_t caller = out->struct_size;
    std::memcpy(out, &r, n);
    out->struct_size = caller;
    return PLINTH_OK;
  });
}

plinth_status source_field(const plinth_data_source* src, int32_t index, plinth_data_field* out) {
  const plinth_host* h = src ? src->host : nullptr;
  return sdk::guard(h, [&] {
    if (!src || !out) return sdk::fail(h, PLINTH_ERR_INVALID_ARGUMENT, "data field: NULL argument");
    if (index < 0 || static_cast<size_t>(index) >= src->fields.size())
      return sdk::failf(h, PLINTH_ERR_INVALID_ARGUMENT, "%s: field index %d out of range [0, %zu)",
                        src->component.c_str(), index, src->fields.size());
    const field_desc& f = src->fields[static_cast<size_t>(index)];
    plinth_data_field r{};
    r.struct_size = PLINTH_DATA_FIELD_STRUCT_SIZE;
    std::snprintf(r.name, sizeof r.name, "%s", f.name.c_str());
    r.dtype = f.dtype;
    r.ndim = static_cast<int32_t>(f.shape.size());
    for (size_t i = 0; i < f.shape.size() && i < 8; ++i) r.shape[i] = f.shape[i];
    r.num_classes = f.num_classes;
    size_t caller = out->struct_size;
    size_t n = caller < sizeof r ? caller : sizeof r;
    std::memcpy(out, &r, n);
    out->struct_size = caller;
    return PLINTH_OK;
  });
}

plinth_status source_read(plinth_data_source* src, const uint64_t* indices, size_t n, void* const* buffers) {
  const plinth_host* h = src ? src->host : nullptr;
  return sdk::guard(h, [&] {
    if (!src) return sdk::fail(h, PLINTH_ERR_INVALID_ARGUMENT, "data read: NULL source");
    if (n == 0) return PLINTH_OK;
    if (!indices || !buffers)
      return sdk::failf(h, PLINTH_ERR_INVALID_ARGUMENT,
                        "%s: read of %zu samples with NULL indices or buffers", src->component.c_str(), n);
    for (size_t i = 0; i < n; ++i)
      if (indices[i] >= src->num_samples)
        return sdk::failf(h, PLINTH_ERR_INVALID_ARGUMENT,
                          "%s: sample index %llu (position %zu of the request) out of range [0, %llu)",
                          src->component.c_str(), static_cast<unsigned long long>(indices[i]), i,
                          static_cast<unsigned long long>(src->num_samples));
    for (size_t f = 0; f < src->fields.size(); ++f) {
      if (!buffers[f])
        return sdk::failf(h, PLINTH_ERR_INVALID_ARGUMENT, "%s: NULL buffer for field '%s'",
                          src->component.c_str(), src->fields[f].name.c_str());
    }
    for (size_t f = 0; f < src->fields.size(); ++f) {
      const size_t bps = src->fields[f].bytes_per_sample();
      auto* base = static_cast<unsigned char*>(buffers[f]);
      for (size_t i = 0; i < n; ++i)
        if (const plinth_status s = src->copy_sample(static_cast<int>(f), indices[i], base + i * bps);
            s != PLINTH_OK)
          return s;
    }
    return PLINTH_OK;
  });
}

plinth_status source_metadata(const plinth_data_source* src, const char* key, char* buf, size_t cap,
                              size_t* len) {
  const plinth_host* h = src ? src->host : nullptr;
  return sdk::guard(h, [&] {
    if (!src || !key || !len || (cap > 0 && !buf))
      return sdk::fail(h, PLINTH_ERR_INVALID_ARGUMENT, "data metadata: NULL argument");
    for (const auto& [k, v] : src->metadata) {
      if (k != key) continue;
      *len = v.size();
      if (cap > v.size()) {  // snprintf-like: all or nothing, NUL-terminated
        std::memcpy(buf, v.data(), v.size());
        buf[v.size()] = '\0';
      }
      return PLINTH_OK;
    }
    return PLINTH_ERR_NOT_FOUND;  // an absent key is an answer, not an error: no message
  });
}

}  // namespace plinth::data
