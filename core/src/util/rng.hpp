// rng.hpp — the core's deterministic random numbers: SplitMix64 (Steele et
// al. 2014), the same on every platform and compiler, for parameter init and
// epoch shuffles. Not for dropout masks (the backends' Philox does those).
#pragma once

#include <cstdint>
#include <vector>

namespace plinth {

class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : s_(seed) {}
  uint64_t next() {
    uint64_t z = (s_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  // Uniform integer in [0, n) without modulo bias (Lemire's method).
  uint64_t below(uint64_t n) {
    unsigned __int128 m = static_cast<unsigned __int128>(next()) * n;
    auto lo = static_cast<uint64_t>(m);
    if (lo < n) {
      const uint64_t t = -n % n;
      while (lo < t) {
        m = static_cast<unsigned __int128>(next()) * n;
        lo = static_cast<uint64_t>(m);
      }
    }
    return static_cast<uint64_t>(m >> 64);
  }

 private:
  uint64_t s_;
};

// A seed for a named stream derived from the run seed ("init", "shuffle"...).
inline uint64_t derive_seed(uint64_t seed, uint64_t stream) {
  SplitMix64 r(seed ^ (stream * 0xD1B54A32D192ED03ull));
  return r.next();
}

// Fisher-Yates shuffle of 0..n-1.
inline std::vector<uint64_t> shuffled_indices(uint64_t n, uint64_t seed) {
  std::vector<uint64_t> v(n);
  for (uint64_t i = 0; i < n; ++i) v[i] = i;
  SplitMix64 r(seed);
  for (uint64_t i = n; i > 1; --i) std::swap(v[i - 1], v[r.below(i)]);
  return v;
}

}  // namespace plinth
