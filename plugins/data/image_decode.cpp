// image_decode.cpp — the JPEG and PNG decoders behind image_decode.hpp. One
// TurboJPEG handle per thread (creating one per image costs an allocation of
// its tables); libspng gets a context per image, with its own limits set so
// a crafted chunk cannot make it allocate beyond them.
#include "image_decode.hpp"

#include <cstring>
#include <memory>

#include <spng.h>
#include <turbojpeg.h>

namespace plinth::data {

namespace {

struct tj_handle {
  tjhandle h = nullptr;
  tj_handle() : h(tjInitDecompress()) {}
  ~tj_handle() {
    if (h) tjDestroy(h);
  }
};

thread_local tj_handle t_tj;

tjhandle thread_decompressor() { return t_tj.h; }

// After a failed call a TurboJPEG 2.1 handle may keep the failed stream's
// state (tjDecompressHeader3 returns without aborting it), which then
// spoils the next image: start a fresh one.
void reset_decompressor() {
  if (t_tj.h) tjDestroy(t_tj.h);
  t_tj.h = tjInitDecompress();
}

bool check_size(int64_t w, int64_t h, uint64_t max_pixels, std::string& err) {
  if (w <= 0 || h <= 0) {
    err =
        "image of " + std::to_string(w) + "x" + std::to_string(h) + " pixels (width and height must be > 0)";
    return false;
  }
  if (static_cast<uint64_t>(w) * static_cast<uint64_t>(h) > max_pixels) {
    err = "image of " + std::to_string(w) + "x" + std::to_string(h) +
          " pixels is over max_pixels = " + std::to_string(max_pixels);
    return false;
  }
  return true;
}

// PIL's "L" conversion of (R, G, B).
inline unsigned char luma(unsigned r, unsigned g, unsigned b) {
  return static_cast<unsigned char>((19595u * r + 38470u * g + 7471u * b + 32768u) >> 16);
}

bool jpeg_header(const unsigned char* data, size_t n, image_header& out, int& colorspace, std::string& err) {
  tjhandle tj = thread_decompressor();
  if (!tj) {
    err = "cannot create a JPEG decoder";
    return false;
  }
  int w = 0, h = 0, subsamp = 0;
  if (tjDecompressHeader3(tj, data, static_cast<unsigned long>(n), &w, &h, &subsamp, &colorspace) != 0) {
    err = std::string("corrupt JPEG header: ") + tjGetErrorStr2(tj);
    reset_decompressor();
    return false;
  }
  if (colorspace == TJCS_CMYK || colorspace == TJCS_YCCK) {
    err = "CMYK JPEG is not supported (convert it to RGB)";
    return false;
  }
  out.format = image_format::jpeg;
  out.width = w;
  out.height = h;
  out.channels = colorspace == TJCS_GRAY ? 1 : 3;
  return true;
}

struct spng_ctx_ptr {
  spng_ctx* c;
  explicit spng_ctx_ptr(spng_ctx* p) : c(p) {}
  ~spng_ctx_ptr() {
    if (c) spng_ctx_free(c);
  }
};

bool png_open(spng_ctx* c, const unsigned char* data, size_t n, spng_ihdr& ihdr, std::string& err) {
  if (!c) {
    err = "cannot create a PNG decoder";
    return false;
  }
  // Limits: no side past 2^24 (libspng checks the header against them), and
  // at most 64 MiB of ancillary chunks cached.
  spng_set_image_limits(c, 1u << 24, 1u << 24);
  spng_set_chunk_limits(c, 1u << 26, 1u << 26);
  int r = spng_set_png_buffer(c, data, n);
  if (r == 0) r = spng_get_ihdr(c, &ihdr);
  if (r != 0) {
    err = std::string("corrupt PNG: ") + spng_strerror(r);
    return false;
  }
  return true;
}

int png_channels(const spng_ihdr& ihdr) {
  return ihdr.color_type == SPNG_COLOR_TYPE_GRAYSCALE || ihdr.color_type == SPNG_COLOR_TYPE_GRAYSCALE_ALPHA
             ? 1
             : 3;
}

}  // namespace

image_format sniff_image(const unsigned char* data, size_t n) {
  static const unsigned char png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (n >= 3 && data[0] == 0xff && data[1] == 0xd8 && data[2] == 0xff) return image_format::jpeg;
  if (n >= 8 && std::memcmp(data, png_sig, 8) == 0) return image_format::png;
  return image_format::unknown;
}

bool probe_image(const unsigned char* data, size_t n, uint64_t max_pixels, image_header& out,
                 std::string& err) {
  switch (sniff_image(data, n)) {
    case image_format::jpeg: {
      int cs = 0;
      if (!jpeg_header(data, n, out, cs, err)) return false;
      return check_size(out.width, out.height, max_pixels, err);
    }
    case image_format::png: {
      spng_ctx_ptr c(spng_ctx_new(0));
      spng_ihdr ihdr{};
      if (!png_open(c.c, data, n, ihdr, err)) return false;
      out.format = image_format::png;
      out.width = static_cast<int32_t>(ihdr.width);
      out.height = static_cast<int32_t>(ihdr.height);
      out.channels = png_channels(ihdr);
      return check_size(ihdr.width, ihdr.height, max_pixels, err);
    }
    default:
      err = "not a JPEG or PNG file (its first bytes are neither signature)";
      return false;
  }
}

bool decode_image(const unsigned char* data, size_t n, int32_t channels, uint64_t max_pixels,
                  int32_t min_width, int32_t min_height, decoded_image& out, std::string& err) {
  image_header hd;
  if (!probe_image(data, n, max_pixels, hd, err)) return false;
  const int32_t C = channels > 0 ? channels : hd.channels;
  out.channels = C;
  if (hd.format == image_format::jpeg) {
    tjhandle tj = thread_decompressor();
    // The smallest DCT scale (m/8, m in 1..8) that keeps the image at least
    // min_width x min_height: decoding at 1/2, 1/4, 1/8 skips most of the IDCT.
    int w = hd.width, h = hd.height;
    if (min_width > 0 && min_height > 0) {
      int nsf = 0;
      const tjscalingfactor* sf = tjGetScalingFactors(&nsf);
      for (int i = 0; sf && i < nsf; ++i) {
        if (sf[i].num > sf[i].denom) continue;
        const int sw = TJSCALED(hd.width, sf[i]), sh = TJSCALED(hd.height, sf[i]);
        if (sw >= min_width && sh >= min_height && sw * int64_t{1} * sh < int64_t{w} * h) w = sw, h = sh;
      }
    }
    // A colour JPEG asked for as gray decodes to RGB and converts with PIL's
    // luma, so gray output does not depend on the file's colour space.
    const bool to_gray = C == 1 && hd.channels == 3;
    const int pf = C == 3 || to_gray ? TJPF_RGB : TJPF_GRAY;
    const int pc = pf == TJPF_RGB ? 3 : 1;
    std::vector<unsigned char> buf(static_cast<size_t>(w) * h * pc);
    // A warning (e.g. premature end of data) would decode what there is:
    // stop on it, a cut-off file is not an image to train on.
    if (tjDecompress2(tj, data, static_cast<unsigned long>(n), buf.data(), w, 0, h, pf,
                      TJFLAG_ACCURATEDCT | TJFLAG_STOPONWARNING) != 0) {
      err = std::string(tjGetErrorCode(tj) == TJERR_WARNING ? "damaged or truncated JPEG: "
                                                            : "corrupt JPEG: ") +
            tjGetErrorStr2(tj);
      reset_decompressor();
      return false;
    }
    out.width = w;
    out.height = h;
    if (to_gray) {
      out.pixels.resize(static_cast<size_t>(w) * h);
      for (size_t i = 0; i < out.pixels.size(); ++i)
        out.pixels[i] = luma(buf[3 * i], buf[3 * i + 1], buf[3 * i + 2]);
    } else if (C == 3 && pc == 1) {
      out.pixels.resize(static_cast<size_t>(w) * h * 3);
      for (size_t i = 0; i < buf.size(); ++i) std::memset(&out.pixels[3 * i], buf[i], 3);
    } else {
      out.pixels = std::move(buf);
    }
    return true;
  }
  spng_ctx_ptr c(spng_ctx_new(0));
  spng_ihdr ihdr{};
  if (!png_open(c.c, data, n, ihdr, err)) return false;
  // 8-bit-or-less gray decodes as G8; everything else as RGBA8 (libspng
  // converts every colour type and depth to it), alpha dropped.
  const bool g8 = ihdr.color_type == SPNG_COLOR_TYPE_GRAYSCALE && ihdr.bit_depth <= 8;
  const int fmt = g8 ? SPNG_FMT_G8 : SPNG_FMT_RGBA8;
  size_t len = 0;
  int r = spng_decoded_image_size(c.c, fmt, &len);
  std::vector<unsigned char> buf;
  if (r == 0) {
    buf.resize(len);
    r = spng_decode_image(c.c, buf.data(), len, fmt, 0);
  }
  if (r != 0) {
    err = std::string(r == SPNG_EOF || r == SPNG_IO_EOF ? "truncated PNG: " : "corrupt PNG: ") +
          spng_strerror(r);
    return false;
  }
  const size_t P = size_t{ihdr.width} * ihdr.height;
  out.width = static_cast<int32_t>(ihdr.width);
  out.height = static_cast<int32_t>(ihdr.height);
  out.pixels.resize(P * C);
  if (g8) {
    if (C == 1)
      out.pixels = std::move(buf);
    else
      for (size_t i = 0; i < P; ++i) std::memset(&out.pixels[3 * i], buf[i], 3);
  } else if (C == 3) {
    for (size_t i = 0; i < P; ++i) std::memcpy(&out.pixels[3 * i], &buf[4 * i], 3);
  } else if (hd.channels == 1) {  // gray with alpha or 16-bit gray: R = G = B = gray
    for (size_t i = 0; i < P; ++i) out.pixels[i] = buf[4 * i];
  } else {
    for (size_t i = 0; i < P; ++i) out.pixels[i] = luma(buf[4 * i], buf[4 * i + 1], buf[4 * i + 2]);
  }
  return true;
}

}  // namespace plinth::data
