// number_formats.hpp — the bf16 and f16 conversions every backend must
// agree on bit for bit (round to nearest even; NaN stays a quiet NaN; f16
// overflow to inf, subnormals exact), and FILL's saturating integer
// conversion. Header-only and free of the standard library's containers, so
// that the GPU kernels (backends/gpu/kernels.cu) compile the same code for
// the device: define PLINTH_NUMFMT_HD (e.g. as __host__ __device__ inline)
// before including it there.
#pragma once

#include <math.h>
#include <stdint.h>
#include <string.h>

#include <limits>

#ifndef PLINTH_NUMFMT_HD
#define PLINTH_NUMFMT_HD inline
#endif

namespace plinth::numfmt {

PLINTH_NUMFMT_HD uint32_t f32_to_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return u;
}
PLINTH_NUMFMT_HD float bits_to_f32(uint32_t u) {
  float f;
  memcpy(&f, &u, 4);
  return f;
}

PLINTH_NUMFMT_HD float bf16_to_f32(uint16_t h) { return bits_to_f32(uint32_t(h) << 16); }
PLINTH_NUMFMT_HD uint16_t f32_to_bf16(float f) {
  uint32_t u = f32_to_bits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x0040u);  // NaN stays NaN
  u += 0x7fffu + ((u >> 16) & 1u);
  return uint16_t(u >> 16);
}

PLINTH_NUMFMT_HD float f16_to_f32(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  const uint32_t man = h & 0x3ffu;
  if (exp == 0x1f) return bits_to_f32(sign | 0x7f800000u | (man << 13));  // inf / NaN
  if (exp == 0) {
    // zero or subnormal: man * 2^-24
    const float v = float(man) * 5.9604644775390625e-8f;
    return sign ? -v : v;
  }
  return bits_to_f32(sign | ((exp + 112) << 23) | (man << 13));
}

PLINTH_NUMFMT_HD uint16_t f32_to_f16(float f) {
  const uint32_t u = f32_to_bits(f);
  const uint16_t sign = uint16_t((u >> 16) & 0x8000u);
  const uint32_t a = u & 0x7fffffffu;
  if (a > 0x7f800000u) return uint16_t(sign | 0x7e00u | ((a >> 13) & 0x3ffu));  // NaN stays NaN
  if (a >= 0x477ff000u) return uint16_t(sign | 0x7c00u);                        // rounds to >= 65520: inf
  if (a < 0x38800000u) {
    // Result is subnormal (or zero) in f16: value / 2^-24, rounded to nearest even.
    if (a < 0x33000000u) return sign;  // below half the smallest subnormal
    const uint32_t e = a >> 23;
    const uint32_t m = (a & 0x7fffffu) | 0x800000u;
    const int shift = int(126 - e);  // value = m * 2^(e-150); / 2^-24 -> m >> (126 - e)
    uint32_t r = m >> shift;
    const uint32_t rem = m & ((1u << shift) - 1);
    const uint32_t half = 1u << (shift - 1);
    if (rem > half || (rem == half && (r & 1u))) ++r;
    return uint16_t(sign | r);
  }
  // Normal: rebias the exponent 127 -> 15 and round the 13 dropped bits.
  uint32_t r = a - 0x38000000u;  // (127 - 15) << 23
  r += 0xfffu + ((r >> 13) & 1u);
  return uint16_t(sign | (r >> 13));
}

// FILL's value as an integer dtype: NaN -> 0, clamped to T's range,
// truncated toward zero. Host only.
template <class T>
T saturate(double v) {
  if (isnan(v)) return T(0);
  const double lo = double(std::numeric_limits<T>::lowest()), hi = double(std::numeric_limits<T>::max());
  if (v <= lo) return std::numeric_limits<T>::lowest();
  if (v >= hi) return std::numeric_limits<T>::max();
  return T(v);
}

}  // namespace plinth::numfmt
