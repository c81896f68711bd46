// broken_data.cpp — a data source for plinth-plugin-check's data checks: a
// counter dataset (sample i: "x" f32 (4), the one-hot vector of i mod 4, and
// "label" i32 with num_classes 4) that, with `bug` set in its config, breaks
// one rule of data.h; the kit must fail the case that rule belongs to:
//   bug = "none"        keeps every rule (every case passes)
//   bug = "changes"     each read() call writes a different value (a call counter)
//   bug = "order"       a sample's bytes depend on its position in the list
//   bug = "past_end"    an index past the end reads as sample 0 (PLINTH_OK)
//   bug = "labels"      labels run to 4, outside num_classes
//   bug = "field_range" field(-1) and field(2) return PLINTH_OK
//   bug = "crash"       a read of 8 or more indices dies of SIGSEGV
//   bug = "hang"        a read of 8 or more indices never returns
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstring>
#include <string>

#include "plinth/data.h"
#include "plinth/plugin.hpp"

struct plinth_data_source {
  const plinth_host* host;
  std::string bug;
  std::atomic<uint32_t> calls{0};
};

namespace {

using plinth::sdk::fail;
constexpr uint64_t kSamples = 40;

plinth_status open(const plinth_host* h, const plinth_config* cfg, plinth_data_source** out) {
  return plinth::sdk::guard(h, [&]() -> plinth_status {
    if (!out) return fail(h, PLINTH_ERR_INVALID_ARGUMENT, "broken-data: NULL output handle");
    std::string bug = "none";
    if (plinth_status s = plinth::sdk::config_string(h, cfg, "bug", bug); s != PLINTH_OK) return s;
    *out = new plinth_data_source{h, bug};
    return PLINTH_OK;
  });
}
void close(plinth_data_source* s) { delete s; }
plinth_status info(const plinth_data_source* s, plinth_data_info* out) {
  if (!s || !out) return PLINTH_ERR_INVALID_ARGUMENT;
  out->num_samples = kSamples;
  out->num_fields = 2;
  out->flags = 0;
  return PLINTH_OK;
}
plinth_status field(const plinth_data_source* s, int32_t index, plinth_data_field* out) {
  if (!s || !out) return PLINTH_ERR_INVALID_ARGUMENT;
  if ((index < 0 || index > 1) && s->bug != "field_range")
    return fail(s->host, PLINTH_ERR_INVALID_ARGUMENT, "broken-data: field index out of range");
  const size_t size = out->struct_size;
  plinth_data_field f{};
  f.struct_size = size;
  if (index == 0) {
    std::strcpy(f.name, "x");
    f.dtype = PLINTH_DTYPE_F32;
    f.ndim = 1;
    f.shape[0] = 4;
  } else {
    std::strcpy(f.name, "label");
    f.dtype = PLINTH_DTYPE_I32;
    f.num_classes = 4;
  }
  std::memcpy(out, &f, size < sizeof f ? size : sizeof f);
  return PLINTH_OK;
}
plinth_status read(plinth_data_source* s, const uint64_t* idx, size_t n, void* const* buf) {
  if (!s) return PLINTH_ERR_INVALID_ARGUMENT;
  const uint32_t call = s->calls.fetch_add(1);
  if (n >= 8 && s->bug == "crash") ::raise(SIGSEGV);
  while (n >= 8 && s->bug == "hang") ::pause();
  auto* x = static_cast<float*>(buf[0]);
  auto* label = static_cast<int32_t*>(buf[1]);
  for (size_t i = 0; i < n; ++i) {
    uint64_t k = idx[i];
    if (k >= kSamples) {
      if (s->bug != "past_end")
        return fail(s->host, PLINTH_ERR_INVALID_ARGUMENT, "broken-data: index out of range");
      k = 0;
    }
    const int c = static_cast<int>(k % (s->bug == "labels" ? 5 : 4));
    for (int j = 0; j < 4; ++j) x[i * 4 + j] = j == c % 4 ? 1.0f : 0.0f;
    if (s->bug == "changes") x[i * 4] += static_cast<float>(call);
    if (s->bug == "order") x[i * 4 + 1] += static_cast<float>(i);
    label[i] = c;
  }
  return PLINTH_OK;
}

const plinth_data_v1 k_table = {
    .struct_size = PLINTH_DATA_V1_STRUCT_SIZE,
    .open = open,
    .close = close,
    .info = info,
    .field = field,
    .read = read,
    .next = nullptr,
    .save_position = nullptr,
    .restore_position = nullptr,
    .metadata = nullptr,
    .read_ctx = nullptr,
};
const char* const k_keys[] = {"bug", nullptr};
const plinth_component k_components[] = {{PLINTH_COMPONENT_STRUCT_SIZE, PLINTH_KIND_DATA, "broken-data",
                                          "counter dataset with one bug chosen by `bug`", &k_table, k_keys}};
const plinth_plugin k_plugin = {PLINTH_PLUGIN_STRUCT_SIZE,
                                PLINTH_ABI_MAJOR,
                                PLINTH_ABI_MINOR,
                                "plinth-test-broken-data",
                                "0.1.0",
                                "Plinth tests",
                                1,
                                k_components,
                                nullptr,
                                nullptr};

}  // namespace

extern "C" PLINTH_EXPORT const plinth_plugin* plinth_plugin_get(void) { return &k_plugin; }

#ifdef BROKEN_DATA_LEAKY
// Built without plinth_add_plugin's version script (tests/tools/CMakeLists.txt):
// a symbol of its own beside the entry point, as a plugin built by hand exports.
extern "C" __attribute__((visibility("default"))) int broken_data_leaky_helper(void) { return 1; }
#endif
