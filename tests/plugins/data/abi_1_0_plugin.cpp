// abi_1_0_plugin.cpp — a data plugin as built against ABI 1.0: its table's
// struct_size stops before plinth_data_v1.metadata (ABI 1.1). The slot past
// that size holds a function that answers "poison", so a core that reads the
// table beyond struct_size is caught by tests/core/data/source_test.cpp.
// One field "x" f32 () of 3 samples x = index. Test-only.
#include <cstring>
#include <new>

#include "plinth/data.h"

struct plinth_data_source {
  int unused;
};

namespace {

constexpr size_t k_abi_1_0_size = PLINTH_STRUCT_SIZE(plinth_data_v1, restore_position);

plinth_status open(const plinth_host*, const plinth_config*, plinth_data_source** out) {
  *out = new (std::nothrow) plinth_data_source{0};
  return *out ? PLINTH_OK : PLINTH_ERR_OUT_OF_MEMORY;
}
void close(plinth_data_source* s) { delete s; }
plinth_status info(const plinth_data_source*, plinth_data_info* out) {
  out->num_samples = 3;
  out->num_fields = 1;
  out->flags = 0;
  return PLINTH_OK;
}
plinth_status field(const plinth_data_source*, int32_t, plinth_data_field* out) {
  std::strcpy(out->name, "x");
  out->dtype = PLINTH_DTYPE_F32;
  out->ndim = 0;
  out->num_classes = 0;
  return PLINTH_OK;
}
plinth_status read(plinth_data_source*, const uint64_t* idx, size_t n, void* const* bufs) {
  for (size_t i = 0; i < n; ++i) static_cast<float*>(bufs[0])[i] = static_cast<float>(idx[i]);
  return PLINTH_OK;
}
plinth_status poison(const plinth_data_source*, const char*, char* buf, size_t cap, size_t* len) {
  *len = 6;
  if (cap > 6) std::memcpy(buf, "poison", 7);
  return PLINTH_OK;
}

const plinth_data_v1 k_table = {
    .struct_size = k_abi_1_0_size,
    .open = open,
    .close = close,
    .info = info,
    .field = field,
    .read = read,
    .next = nullptr,
    .save_position = nullptr,
    .restore_position = nullptr,
    .metadata = poison,  // beyond struct_size: must never be called
};

const plinth_component k_components[] = {{.struct_size = PLINTH_COMPONENT_STRUCT_SIZE,
                                          .kind = PLINTH_KIND_DATA,
                                          .name = "abi-1-0-data",
                                          .description = "a data table of ABI 1.0's size",
                                          .table = &k_table,
                                          .config_keys = nullptr}};

const plinth_plugin k_plugin = {.struct_size = PLINTH_PLUGIN_STRUCT_SIZE,
                                .abi_major = 1,
                                .abi_minor = 0,
                                .name = "plinth-test-data-abi-1-0",
                                .version = "1.0.0",
                                .vendor = "Plinth tests",
                                .num_components = 1,
                                .components = k_components,
                                .init = nullptr,
                                .shutdown = nullptr};

}  // namespace

extern "C" PLINTH_EXPORT const plinth_plugin* plinth_plugin_get(void) { return &k_plugin; }
