// augment.hpp — the `images` source's geometry and random draws: a
// counter-based generator (Philox-4x32-10) keyed by (seed, epoch, sample), so
// every draw is a pure function of them; the crop boxes (random resized crop
// as torchvision draws it, resize-then-center-crop); and an antialiased
// bilinear resampling of a box of an (H, W, C) u8 image to (C, H', W') f32.
// Not here: decoding, files, normalisation keys (images.cpp).
#pragma once

#include <cstdint>
#include <vector>

namespace plinth::data {

// Philox-4x32-10 (Salmon et al., SC'11), one 128-bit block per counter.
void philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);

// Uniform draws for one sample of one epoch: key = seed, counter = (index,
// epoch, block); each block gives four 32-bit words.
class sample_rng {
 public:
  sample_rng(uint64_t seed, uint64_t epoch, uint64_t index);
  uint32_t next_u32();
  double uniform();          // [0, 1), 32 random bits
  int64_t below(int64_t n);  // [0, n) (n <= 2^31; bias < 2^-32 * n)
  double uniform(double a, double b) { return a + (b - a) * uniform(); }

 private:
  uint32_t key_[2];
  uint32_t ctr_[4];
  uint32_t buf_[4];
  int left_ = 0;
};

// A box in source pixel coordinates: [x0, x1) x [y0, y1), pixel i covering
// [i, i + 1).
struct crop_box {
  double x0 = 0, y0 = 0, x1 = 0, y1 = 0;
};

// torchvision's RandomResizedCrop.get_params: up to 10 tries of an area
// fraction in [scale_lo, scale_hi] and an aspect ratio log-uniform in
// [ratio_lo, ratio_hi], integer box inside the image; else the center crop
// at the ratio clamped to the range.
crop_box random_resized_crop(int32_t width, int32_t height, double scale_lo, double scale_hi, double ratio_lo,
                             double ratio_hi, sample_rng& rng);

// Resize the shorter side to `resize` (the longer to resize * long / short,
// truncated, as torchvision's Resize(int)), then the center (crop_h,
// crop_w) of that, as a box of the original image.
crop_box resize_center_crop(int32_t width, int32_t height, int32_t resize, int32_t crop_h, int32_t crop_w);

// Resample `box` of src (H, W, C) u8 to out (C, oh, ow) f32 pixel values in
// [0, 255], with a separable triangle (bilinear) filter widened by the
// scale when downscaling (antialias, as PIL's BILINEAR resize with box=),
// taps clamped to the image and their weights renormalised. A box with scale
// 1 at integer offsets copies pixels exactly. `scratch` is reused.
void resample_box(const unsigned char* src, int32_t width, int32_t height, int32_t channels, crop_box box,
                  int32_t ow, int32_t oh, float* out, std::vector<float>& scratch);

}  // namespace plinth::data
