// safetensors_fuzz.cpp — fuzz target: any bytes as a safetensors file through
// read_safetensors (written to a scratch file first: the reader takes a path).
// A good read must hold exactly shape-product * dtype-size bytes per tensor,
// no name twice, and (the ranges tiling the data section) tensors whose bytes
// add up to the data section's size.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>

#include "fuzz_util.hpp"
#include "plinth/ops.hpp"
#include "train/safetensors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto path = plinth::fuzz::write_input("in.safetensors", data, size);
  auto r = plinth::read_safetensors(path);
  if (!r.ok()) {
    if (r.status().message().empty()) std::abort();
    return 0;
  }
  uint64_t header = 0;
  for (size_t i = 0; i < 8 && i < size; ++i) header |= static_cast<uint64_t>(data[i]) << (8 * i);
  // A good read had a whole header: the rest of the file is the data section.
  if (size < 8 || header > size - 8) std::abort();
  const uint64_t data_size = size - 8 - header;
  uint64_t total = 0;
  std::set<std::string> names;
  for (const auto& t : r.value()) {
    if (!names.insert(t.name).second) std::abort();
    total += t.data.size();
    size_t n = plinth::sdk::dtype_size(t.dtype);
    for (int64_t d : t.shape) {
      // A shape whose byte count overflows cannot match any data: it must be refused.
      if (d < 0 || __builtin_mul_overflow(n, static_cast<size_t>(d), &n)) std::abort();
    }
    if (n != t.data.size()) std::abort();
  }
  if (total != data_size) std::abort();
  return 0;
}
