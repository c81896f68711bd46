// checked.hpp — overflow-checked arithmetic for sizes computed from input
// (shapes, element and byte counts, offsets): each returns nullopt instead
// of a wrapped value, so a caller can name what was too large.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

namespace plinth::util {

inline std::optional<int64_t> checked_mul(int64_t a, int64_t b) {
  int64_t r = 0;
  if (__builtin_mul_overflow(a, b, &r)) return std::nullopt;
  return r;
}

inline std::optional<int64_t> checked_add(int64_t a, int64_t b) {
  int64_t r = 0;
  if (__builtin_add_overflow(a, b, &r)) return std::nullopt;
  return r;
}

// The product of `dims` times `scale` (an element size), nullopt when a dim
// is negative or the product overflows int64.
inline std::optional<int64_t> checked_size(std::span<const int64_t> dims, int64_t scale = 1) {
  int64_t n = scale;
  for (int64_t d : dims)
    if (d < 0 || __builtin_mul_overflow(n, d, &n)) return std::nullopt;
  return n;
}

}  // namespace plinth::util
