// images_fuzz.cpp — fuzz target: the `images` source's decoders
// (plugins/data/image_decode.cpp) and its resampling of the result. Input:
// one option byte (bits 0-1: channels 0, 1, 3, 3; bits 2-4: the minimum
// size asked of a JPEG's DCT scaling, 0 or 2^k), then the file's bytes.
// A decode either fails with a message or gives exactly width * height *
// channels pixels, which are then resampled to 7 x 5.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "augment.hpp"
#include "image_decode.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  static const int32_t channels[4] = {0, 1, 3, 3};
  const int32_t C = channels[data[0] & 3];
  const int32_t min = (data[0] >> 2 & 7) ? 1 << (data[0] >> 2 & 7) : 0;
  const uint64_t max_pixels = uint64_t{1} << 22;  // keep the fuzzer's memory small
  plinth::data::image_header hd;
  plinth::data::decoded_image im;
  std::string err;
  const bool probed = plinth::data::probe_image(data + 1, size - 1, max_pixels, hd, err);
  if (!probed && err.empty()) std::abort();
  err.clear();
  if (!plinth::data::decode_image(data + 1, size - 1, C, max_pixels, min, min, im, err)) {
    if (err.empty()) std::abort();  // a failure always says why
    return 0;
  }
  if (!probed) std::abort();  // decoded what the header check refused
  if (im.width <= 0 || im.height <= 0 || im.width > hd.width || im.height > hd.height) std::abort();
  if (im.channels != (C ? C : hd.channels)) std::abort();
  if (im.pixels.size() != size_t(im.width) * size_t(im.height) * size_t(im.channels)) std::abort();
  std::vector<float> out(size_t(im.channels) * 7 * 5), scratch;
  plinth::data::resample_box(im.pixels.data(), im.width, im.height, im.channels,
                             {0, 0, double(im.width), double(im.height)}, 7, 5, out.data(), scratch);
  for (float v : out)
    if (!(v >= -1e-3f && v <= 255.001f)) std::abort();
  return 0;
}
