// safetensors_fuzz.cpp — fuzz target: any bytes as a safetensors file through
// read_safetensors (written to a scratch file first: the reader takes a path).
// A good read must hold exactly shape-product * dtype-size bytes per tensor.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

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
  for (const auto& t : r.value()) {
    size_t n = plinth::sdk::dtype_size(t.dtype);
    for (int64_t d : t.shape) {
      // A shape whose byte count overflows cannot match any data: it must be refused.
      if (d < 0 || __builtin_mul_overflow(n, static_cast<size_t>(d), &n)) std::abort();
    }
    if (n != t.data.size()) std::abort();
  }
  return 0;
}
