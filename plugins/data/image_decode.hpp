// image_decode.hpp — JPEG (libturbojpeg) and PNG (libspng) decoding from
// memory into 8-bit interleaved pixels (H, W, C), C 1 (gray) or 3 (RGB), for
// the `images` source. The header is checked (0 width/height, more pixels
// than a limit) before any pixel buffer is allocated. Errors are a message
// without the path (the caller names the file). Not here: resizing,
// augmentation, files.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace plinth::data {

enum class image_format { unknown, jpeg, png };

// The format from the first bytes (JPEG SOI FF D8 FF, PNG signature).
image_format sniff_image(const unsigned char* data, size_t n);

struct image_header {
  image_format format = image_format::unknown;
  int32_t width = 0, height = 0;
  int32_t channels = 0;  // the image's own: 1 gray, 3 colour (palette and alpha count as colour)
};

struct decoded_image {
  int32_t width = 0, height = 0, channels = 0;
  std::vector<unsigned char> pixels;  // (H, W, C)
};

// The header only. False with `err` set on a non-image or a bad header.
bool probe_image(const unsigned char* data, size_t n, uint64_t max_pixels, image_header& out,
                 std::string& err);

// Decode to `channels` (1 or 3; 0: the image's own). Colour to gray uses
// ITU-R 601-2 luma with PIL's integer rounding (L = (19595 R + 38470 G +
// 7471 B + 32768) >> 16); a gray JPEG asked for as gray is its Y plane.
// `min_width`/`min_height` > 0 let a JPEG decode at a DCT scale (1/8 .. 1)
// no smaller than that, and at least 1/scale of the image; out gets the
// decoded size. False with `err` set on corrupt or truncated data.
bool decode_image(const unsigned char* data, size_t n, int32_t channels, uint64_t max_pixels,
                  int32_t min_width, int32_t min_height, decoded_image& out, std::string& err);

}  // namespace plinth::data
