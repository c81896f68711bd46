// synthetic.cpp — the `synthetic` data source for tests and benchmarks: each
// feature is a standard normal drawn from a counter-based hash of (seed,
// sample, element), so any sample is computed on demand, identically on
// every thread and machine; the label is argmax_c (W x)_c for a fixed random
// W (C, F) drawn from the seed, so a linear model can learn it exactly.
// It holds no data in memory beyond W.
#include <cmath>
#include <cstring>
#include <memory>

#include "source.hpp"

namespace plinth::data {

namespace {

// SplitMix64 finaliser (Steele, Lea, Flood 2014): a good 64-bit mixer.
uint64_t mix64(uint64_t z) {
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// Uniform in (0, 1) from 53 bits of a hash.
double unit(uint64_t h) { return (static_cast<double>(h >> 11) + 0.5) * (1.0 / 9007199254740992.0); }

// Standard normal for the key (a, b, c) by Box-Muller.
double normal(uint64_t a, uint64_t b, uint64_t c) {
  uint64_t h = mix64(mix64(mix64(a) ^ b) ^ c);
  double u1 = unit(h), u2 = unit(mix64(h));
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

struct synthetic_source final : plinth_data_source {
  uint64_t seed = 0;
  size_t num_features = 0;  // F = product of shape
  int64_t num_classes = 0;  // C
  std::vector<double> w;    // (C, F)

  void features(uint64_t i, float* x) const {
    for (size_t j = 0; j < num_features; ++j) x[j] = static_cast<float>(normal(seed, 2 * i + 1, j));
  }
  plinth_status copy_sample(int f, uint64_t i, void* dst) const override {
    if (f == 0) {
      features(i, static_cast<float*>(dst));
      return PLINTH_OK;
    }
    std::vector<float> x(num_features);
    features(i, x.data());
    int32_t best = 0;
    double best_v = -INFINITY;
    for (int64_t c = 0; c < num_classes; ++c) {
      double v = 0;
      for (size_t j = 0; j < num_features; ++j) v += w[c * num_features + j] * x[j];
      if (v > best_v) best_v = v, best = static_cast<int32_t>(c);
    }
    std::memcpy(dst, &best, sizeof best);
    return PLINTH_OK;
  }
};

plinth_status synthetic_open(const plinth_host* h, const plinth_config* cfg, plinth_data_source** out) {
  return sdk::guard(h, [&]() -> plinth_status {
    if (!out) return sdk::fail(h, PLINTH_ERR_INVALID_ARGUMENT, "synthetic: NULL output handle");
    *out = nullptr;
    int64_t samples = 1024, num_classes = 10, seed = 0;
    std::vector<int64_t> shape{16};
    plinth_status s;
    if ((s = sdk::config_int(h, cfg, "samples", samples)) != PLINTH_OK) return s;
    if ((s = sdk::config_int(h, cfg, "num_classes", num_classes)) != PLINTH_OK) return s;
    if ((s = sdk::config_int(h, cfg, "seed", seed)) != PLINTH_OK) return s;
    if (cfg) {
      size_t n = 0;
      s = h->config_array_size(h->ctx, cfg, "shape", &n);
      if (s == PLINTH_OK) {
        if (n < 1 || n > 8)
          return sdk::failf(h, PLINTH_ERR_INVALID_ARGUMENT,
                            "synthetic: 'shape' must have 1 to 8 dims, got %zu", n);
        shape.assign(n, 0);
        for (size_t i = 0; i < n; ++i)
          if ((s = h->config_array_int(h->ctx, cfg, "shape", i, &shape[i])) != PLINTH_OK) return s;
      } else if (s != PLINTH_ERR_NOT_FOUND) {
        return s;
      }
    }
    if (samples < 1)
      return sdk::failf(h, PLINTH_ERR_INVALID_ARGUMENT, "synthetic: 'samples' must be >= 1, got %lld",
                        static_cast<long long>(samples));
    if (num_classes < 2 || num_classes > (1 << 20))
      return sdk::failf(h, PLINTH_ERR_INVALID_ARGUMENT,
                        "synthetic: 'num_classes' must be in [2, 2^20], got %lld",
                        static_cast<long long>(num_classes));
    int64_t features = 1;
    for (size_t i = 0; i < shape.size(); ++i) {
      if (shape[i] < 1 || shape[i] > (1 << 24))
        return sdk::failf(h, PLINTH_ERR_INVALID_ARGUMENT,
                          "synthetic: 'shape'[%zu] must be in [1, 2^24], got %lld", i,
                          static_cast<long long>(shape[i]));
      features *= shape[i];
      if (features > (int64_t{1} << 28))
        return sdk::fail(h, PLINTH_ERR_INVALID_ARGUMENT, "synthetic: 'shape' has more than 2^28 elements");
    }
    auto src = std::make_unique<synthetic_source>();
    src->host = h;
    src->component = "synthetic";
    src->seed = static_cast<uint64_t>(seed);
    src->num_samples = static_cast<uint64_t>(samples);
    src->num_features = static_cast<size_t>(features);
    src->num_classes = num_classes;
    src->w.resize(static_cast<size_t>(num_classes) * src->num_features);
    // W uses even sample keys (0), features odd ones (2i+1): no overlap.
    for (size_t k = 0; k < src->w.size(); ++k) src->w[k] = normal(src->seed, 0, k);
    src->fields.push_back({"features", PLINTH_DTYPE_F32, shape, 0});
    src->fields.push_back({"label", PLINTH_DTYPE_I32, {}, num_classes});
    *out = src.release();
    return PLINTH_OK;
  });
}

}  // namespace

const char* const synthetic_keys[] = {"samples", "shape", "num_classes", "seed", nullptr};

const plinth_data_v1 synthetic_table = {
    .struct_size = PLINTH_DATA_V1_STRUCT_SIZE,
    .open = synthetic_open,
    .close = source_close,
    .info = source_info,
    .field = source_field,
    .read = source_read,
    .next = nullptr,
    .save_position = nullptr,
    .restore_position = nullptr,
    .metadata = source_metadata,
    .read_ctx = nullptr,
};

}  // namespace plinth::data
