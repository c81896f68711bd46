// augment.cpp — Philox, the crop boxes and the antialiased resampling of
// augment.hpp. Notation: (H, W, C) source image, (C, oh, ow) output.
#include "augment.hpp"

#include <algorithm>
#include <cmath>

namespace plinth::data {

void philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]) {
  // Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11:
  // multipliers 0xD2511F53 / 0xCD9E8D57, Weyl key bumps 0x9E3779B9 / 0xBB67AE85.
  uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3], k0 = key[0], k1 = key[1];
  for (int r = 0; r < 10; ++r) {
    const uint64_t p0 = uint64_t{0xD2511F53u} * c0, p1 = uint64_t{0xCD9E8D57u} * c2;
    const uint32_t n0 = static_cast<uint32_t>(p1 >> 32) ^ c1 ^ k0, n1 = static_cast<uint32_t>(p1);
    const uint32_t n2 = static_cast<uint32_t>(p0 >> 32) ^ c3 ^ k1, n3 = static_cast<uint32_t>(p0);
    c0 = n0, c1 = n1, c2 = n2, c3 = n3;
    k0 += 0x9E3779B9u, k1 += 0xBB67AE85u;
  }
  out[0] = c0, out[1] = c1, out[2] = c2, out[3] = c3;
}

sample_rng::sample_rng(uint64_t seed, uint64_t epoch, uint64_t index) {
  key_[0] = static_cast<uint32_t>(seed), key_[1] = static_cast<uint32_t>(seed >> 32);
  ctr_[0] = static_cast<uint32_t>(index), ctr_[1] = static_cast<uint32_t>(index >> 32);
  // The epoch's high bits fold into the block counter's high half: 2^16
  // blocks per sample is far more than any pipeline draws.
  ctr_[2] = static_cast<uint32_t>(epoch);
  ctr_[3] = static_cast<uint32_t>(epoch >> 32) << 16;
}

uint32_t sample_rng::next_u32() {
  if (left_ == 0) {
    philox4x32_10(ctr_, key_, buf_);
    ++ctr_[3];
    left_ = 4;
  }
  return buf_[4 - left_--];
}

double sample_rng::uniform() { return next_u32() * 0x1.0p-32; }

int64_t sample_rng::below(int64_t n) {
  return static_cast<int64_t>((uint64_t{next_u32()} * uint64_t(n)) >> 32);
}

crop_box random_resized_crop(int32_t width, int32_t height, double scale_lo, double scale_hi, double ratio_lo,
                             double ratio_hi, sample_rng& rng) {
  const double area = double(width) * height;
  const double log_lo = std::log(ratio_lo), log_hi = std::log(ratio_hi);
  for (int attempt = 0; attempt < 10; ++attempt) {
    const double target = area * rng.uniform(scale_lo, scale_hi);
    const double ar = std::exp(rng.uniform(log_lo, log_hi));
    const auto w = static_cast<int64_t>(std::lround(std::sqrt(target * ar)));
    const auto h = static_cast<int64_t>(std::lround(std::sqrt(target / ar)));
    if (w > 0 && h > 0 && w <= width && h <= height) {
      const int64_t top = rng.below(height - h + 1), left = rng.below(width - w + 1);
      return {double(left), double(top), double(left + w), double(top + h)};
    }
  }
  // Fallback: the whole image cut to the ratio range, centered.
  const double in_ratio = double(width) / height;
  int64_t w = width, h = height;
  if (in_ratio < ratio_lo)
    h = std::lround(w / ratio_lo);
  else if (in_ratio > ratio_hi)
    w = std::lround(h * ratio_hi);
  h = std::clamp<int64_t>(h, 1, height);
  w = std::clamp<int64_t>(w, 1, width);
  const int64_t top = (height - h) / 2, left = (width - w) / 2;
  return {double(left), double(top), double(left + w), double(top + h)};
}

crop_box resize_center_crop(int32_t width, int32_t height, int32_t resize, int32_t crop_h, int32_t crop_w) {
  // Resized size (rw, rh), then the crop's offset in it as torchvision's
  // CenterCrop rounds it; back to source coordinates by the scale per axis.
  int64_t rw, rh;
  if (width <= height) {
    rw = resize;
    rh = static_cast<int64_t>(double(resize) * height / width);
  } else {
    rh = resize;
    rw = static_cast<int64_t>(double(resize) * width / height);
  }
  const double sx = double(width) / rw, sy = double(height) / rh;
  const double top = std::round((rh - crop_h) / 2.0), left = std::round((rw - crop_w) / 2.0);
  return {left * sx, top * sy, (left + crop_w) * sx, (top + crop_h) * sy};
}

namespace {

// Taps of one output coordinate: source indices [first, first + weights.size()).
struct taps {
  std::vector<int32_t> first;
  std::vector<int32_t> count;
  std::vector<float> weights;  // (out, max_count)
  int32_t max_count = 0;
};

// PIL's precompute_coeffs for the triangle filter (support 1), over
// [lo, hi) of a source axis of n pixels into `out` samples.
taps make_taps(double lo, double hi, int32_t n, int32_t out) {
  taps t;
  const double scale = (hi - lo) / out;
  const double fscale = std::max(scale, 1.0);
  const double support = fscale;  // triangle support 1, widened when downscaling
  t.max_count = static_cast<int32_t>(std::ceil(support)) * 2 + 1;
  t.first.resize(out);
  t.count.resize(out);
  t.weights.assign(static_cast<size_t>(out) * t.max_count, 0.0f);
  std::vector<double> w(t.max_count);
  for (int32_t i = 0; i < out; ++i) {
    const double center = lo + (i + 0.5) * scale;
    int32_t xmin = static_cast<int32_t>(std::max(0.0, std::floor(center - support + 0.5)));
    int32_t xmax = static_cast<int32_t>(std::min<double>(n, std::floor(center + support + 0.5)));
    if (xmax - xmin > t.max_count) xmax = xmin + t.max_count;
    double sum = 0;
    int32_t k = 0;
    for (int32_t x = xmin; x < xmax; ++x, ++k) {
      const double d = std::abs((x + 0.5 - center) / fscale);
      w[k] = d < 1.0 ? 1.0 - d : 0.0;
      sum += w[k];
    }
    if (sum <= 0) {  // the box lies outside the image: nearest edge pixel
      xmin = std::clamp(static_cast<int32_t>(std::floor(center)), 0, n - 1);
      k = 1;
      w[0] = 1;
      sum = 1;
    }
    t.first[i] = xmin;
    t.count[i] = k;
    for (int32_t j = 0; j < k; ++j) t.weights[static_cast<size_t>(i) * t.max_count + j] = float(w[j] / sum);
  }
  return t;
}

}  // namespace

void resample_box(const unsigned char* src, int32_t width, int32_t height, int32_t channels, crop_box box,
                  int32_t ow, int32_t oh, float* out, std::vector<float>& scratch) {
  const int32_t C = channels;
  const taps tx = make_taps(box.x0, box.x1, width, ow);
  const taps ty = make_taps(box.y0, box.y1, height, oh);
  // Rows the vertical pass reads.
  int32_t r0 = height, r1 = 0;
  for (int32_t i = 0; i < oh; ++i) {
    r0 = std::min(r0, ty.first[i]);
    r1 = std::max(r1, ty.first[i] + ty.count[i]);
  }
  // Horizontal pass: rows [r0, r1) to (rows, ow, C).
  const size_t rows = static_cast<size_t>(r1 - r0);
  scratch.resize(rows * ow * C);
  for (int32_t y = r0; y < r1; ++y) {
    const unsigned char* row = src + static_cast<size_t>(y) * width * C;
    float* dst = scratch.data() + static_cast<size_t>(y - r0) * ow * C;
    for (int32_t x = 0; x < ow; ++x) {
      const float* w = tx.weights.data() + static_cast<size_t>(x) * tx.max_count;
      const unsigned char* p = row + static_cast<size_t>(tx.first[x]) * C;
      for (int32_t c = 0; c < C; ++c) {
        float acc = 0;
        for (int32_t k = 0; k < tx.count[x]; ++k) acc += w[k] * p[k * C + c];
        dst[x * C + c] = acc;
      }
    }
  }
  // Vertical pass into (C, oh, ow).
  for (int32_t y = 0; y < oh; ++y) {
    const float* w = ty.weights.data() + static_cast<size_t>(y) * ty.max_count;
    const float* base = scratch.data() + static_cast<size_t>(ty.first[y] - r0) * ow * C;
    for (int32_t x = 0; x < ow; ++x)
      for (int32_t c = 0; c < C; ++c) {
        float acc = 0;
        for (int32_t k = 0; k < ty.count[y]; ++k)
          acc += w[k] * base[static_cast<size_t>(k) * ow * C + x * C + c];
        out[(static_cast<size_t>(c) * oh + y) * ow + x] = acc;
      }
  }
}

}  // namespace plinth::data
