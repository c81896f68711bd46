// idx_fuzz.cpp — fuzz target: the `idx` data source of plinth-data-std.
// Input: 2 bytes (little-endian) giving the images file's length, then the
// images file, then the labels file; both are written to scratch files and
// opened through the plugin's table with the test fake host.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "data_fuzz_util.hpp"
#include "fake_host.hpp"
#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  size_t n_images = std::min<size_t>(size_t{data[0]} | (size_t{data[1]} << 8), size - 2);
  const uint8_t* images = data + 2;
  auto ipath = plinth::fuzz::write_input("images.idx", images, n_images);
  auto lpath = plinth::fuzz::write_input("labels.idx", images + n_images, size - 2 - n_images);

  static const plinth_data_v1* t = plinth::fuzz::data_table("idx");
  plinth::test::fake_host h;
  auto* cfg = h.config("images = '" + ipath.string() + "'\nlabels = '" + lpath.string() + "'\n");
  plinth_data_source* src = nullptr;
  plinth_status s = t->open(h.host(), cfg, &src);
  if (s != PLINTH_OK) {
    if (src || h.last_error().empty()) std::abort();  // failure: no handle, one message
    return 0;
  }
  // Every image byte the schema promises must be in the file (plain files:
  // a gzip stream may inflate to more).
  plinth_data_info info{};
  info.struct_size = PLINTH_DATA_INFO_STRUCT_SIZE;
  if (t->info(src, &info) != PLINTH_OK) std::abort();
  plinth_data_field f{};
  f.struct_size = PLINTH_DATA_FIELD_STRUCT_SIZE;
  if (t->field(src, 0, &f) != PLINTH_OK) std::abort();
  size_t pixels = plinth::fuzz::field_bytes(f) / 4, total = 0;
  const bool gz = n_images >= 2 && images[0] == 0x1f && images[1] == 0x8b;
  if (!gz &&
      (__builtin_mul_overflow(pixels, static_cast<size_t>(info.num_samples), &total) || total > n_images))
    std::abort();
  plinth::fuzz::read_ends(t, src);
  t->close(src);
  return 0;
}
