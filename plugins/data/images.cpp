// images.cpp — the `images` data source: JPEG/PNG files named by a folder
// (root/<class>/<file>, classes in byte-wise order of the folder names) or a
// list file (CSV `path,label` or JSONL {"path":..,"label":..}), decoded on
// read (image_decode.cpp), cropped, resized, flipped and padded
// (augment.cpp) with draws that are a function of (seed, epoch, sample), then
// normalised. Fields: "image" f32 (C, H, W), "label" i32 (). Implements the
// ABI 1.2 read_ctx (resolution and epoch); read() is epoch 0, seed 0, full
// size. Not here: caching decoded images, streaming, labels other than one
// class per image.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "augment.hpp"
#include "file.hpp"
#include "image_decode.hpp"
#include "source.hpp"

namespace plinth::data {

namespace fs = std::filesystem;

namespace {

struct images_source final : plinth_data_source {
  std::vector<std::string> paths;
  std::vector<int32_t> labels;
  std::vector<std::string> class_names;
  int32_t C = 3, H = 0, W = 0;  // output (C, H, W) at the default resolution
  bool channels_given = false;  // `channels` converts; otherwise every image must have C
  std::string first_path;       // the image C was taken from
  image_header first_header;
  uint64_t max_pixels = uint64_t{1} << 26;
  // Geometry: one of random resized crop, resize (+ center crop), or the
  // whole image stretched to the output size.
  bool rrc = false;
  double scale_lo = 0.08, scale_hi = 1.0, ratio_lo = 3.0 / 4.0, ratio_hi = 4.0 / 3.0;
  int32_t resize = 0;          // shorter side, 0: none
  bool center = false;         // center-crop to (H, W) after resize
  bool flip = false;           // horizontal, p = 0.5
  int32_t pad = 0;             // pad_crop
  bool reflect = false;        // pad_mode = "reflect" (else zeros)
  float a[3] = {}, b[3] = {};  // out = pixel * a[c] + b[c] = (pixel / 255 - mean) / std

  plinth_status read_one(const plinth_data_read_context& ctx, uint64_t i, float* img, int32_t oh,
                         int32_t ow) const;
  plinth_status copy_sample(int f, uint64_t i, void* dst) const override {
    if (f == 1) {
      std::memcpy(dst, &labels[i], sizeof(int32_t));
      return PLINTH_OK;
    }
    plinth_data_read_context ctx{};
    ctx.struct_size = sizeof ctx;
    return read_one(ctx, i, static_cast<float*>(dst), H, W);
  }
};

plinth_status bad(const plinth_host* h, const std::string& path, const std::string& why) {
  return sdk::failf(h, PLINTH_ERR_BAD_DATA, "images: '%s': %s", path.c_str(), why.c_str());
}

plinth_status images_source::read_one(const plinth_data_read_context& ctx, uint64_t i, float* img, int32_t oh,
                                      int32_t ow) const {
  const std::string& path = paths[i];
  thread_local std::vector<unsigned char> bytes;
  thread_local decoded_image im;
  thread_local std::vector<float> scratch, plane;
  bytes.clear();
  if (plinth_status s = read_file(host, "images", path, bytes); s != PLINTH_OK) return s;
  std::string err;
  image_header hd;
  if (!probe_image(bytes.data(), bytes.size(), max_pixels, hd, err)) return bad(host, path, err);
  if (!channels_given && hd.channels != C)
    return bad(host, path,
               "has " + std::to_string(hd.channels) + " channel(s) where '" + first_path + "' has " +
                   std::to_string(C) + "; set channels = 1 or 3 to convert every image");
  // The box of the source image that becomes the output, in its pixels.
  sample_rng rng(ctx.seed, ctx.epoch, i);
  crop_box box{0, 0, double(hd.width), double(hd.height)};
  if (rrc)
    box = random_resized_crop(hd.width, hd.height, scale_lo, scale_hi, ratio_lo, ratio_hi, rng);
  else if (center)
    box = resize_center_crop(hd.width, hd.height, resize > 0 ? resize : std::min(hd.width, hd.height), H, W);
  else if (resize > 0)  // resize alone: the shorter side to `resize`, then the center output size
    box = resize_center_crop(hd.width, hd.height, resize, H, W);
  // Decode no larger than the box needs at the output size (JPEG DCT scaling).
  // (Capped: a tiny box of a large image would ask for more than int32.)
  auto need = [](double out, double full, double span) {
    return static_cast<int32_t>(std::min(std::ceil(out * full / std::max(1e-9, span)), double(1 << 30)));
  };
  const int32_t min_w = need(ow, hd.width, box.x1 - box.x0), min_h = need(oh, hd.height, box.y1 - box.y0);
  if (!decode_image(bytes.data(), bytes.size(), C, max_pixels, min_w, min_h, im, err))
    return bad(host, path, err);
  if (im.width != hd.width || im.height != hd.height) {
    const double sx = double(im.width) / hd.width, sy = double(im.height) / hd.height;
    box = {box.x0 * sx, box.y0 * sy, box.x1 * sx, box.y1 * sy};
  }
  const size_t P = static_cast<size_t>(oh) * ow;
  plane.resize(P * C);
  resample_box(im.pixels.data(), im.width, im.height, C, box, ow, oh, plane.data(), scratch);
  // pad_crop (scaled with the resolution), then the flip, then normalise.
  const int32_t p = H > 0 ? static_cast<int32_t>(std::lround(double(pad) * oh / H)) : pad;
  int32_t dy = 0, dx = 0;
  if (p > 0) {
    dy = static_cast<int32_t>(rng.below(2 * p + 1)) - p;
    dx = static_cast<int32_t>(rng.below(2 * p + 1)) - p;
  }
  const bool flipped = flip && rng.uniform() < 0.5;
  auto reflect_index = [](int32_t k, int32_t n) {
    if (n == 1) return 0;
    const int32_t period = 2 * (n - 1);
    k %= period;
    if (k < 0) k += period;
    return k < n ? k : period - k;
  };
  for (int32_t c = 0; c < C; ++c) {
    const float* src = plane.data() + c * P;
    float* dst = img + c * P;
    for (int32_t y = 0; y < oh; ++y) {
      int32_t sy = y + dy;
      bool row_out = sy < 0 || sy >= oh;
      if (row_out && reflect) sy = reflect_index(sy, oh), row_out = false;
      for (int32_t x = 0; x < ow; ++x) {
        int32_t sx = (flipped ? ow - 1 - x : x) + dx;
        bool out = row_out || sx < 0 || sx >= ow;
        if (!row_out && out && reflect) sx = reflect_index(sx, ow), out = false;
        const float v = out ? 0.0f : src[static_cast<size_t>(sy) * ow + sx];
        dst[static_cast<size_t>(y) * ow + x] = v * a[c] + b[c];
      }
    }
  }
  return PLINTH_OK;
}

plinth_status images_read_ctx(plinth_data_source* base, const plinth_data_read_context* ctx_in,
                              const uint64_t* indices, size_t n, void* const* buffers) {
  const plinth_host* h = base ? base->host : nullptr;
  return sdk::guard(h, [&] {
    if (!base || !ctx_in)
      return sdk::fail(h, PLINTH_ERR_INVALID_ARGUMENT, "images: read: NULL source or context");
    auto* src = static_cast<images_source*>(base);
    // Only the fields the caller's struct holds.
    plinth_data_read_context ctx{};
    std::memcpy(&ctx, ctx_in, std::min(ctx_in->struct_size, sizeof ctx));
    const int32_t oh = ctx.height > 0 ? ctx.height : src->H, ow = ctx.width > 0 ? ctx.width : src->W;
    if (ctx.height < 0 || ctx.width < 0 || int64_t{oh} * ow > (int64_t{1} << 26))
      return sdk::failf(h, PLINTH_ERR_INVALID_ARGUMENT, "images: resolution %dx%d out of range", ctx.height,
                        ctx.width);
    if (n == 0) return PLINTH_OK;
    if (!indices || !buffers || !buffers[0] || !buffers[1])
      return sdk::failf(h, PLINTH_ERR_INVALID_ARGUMENT,
                        "images: read of %zu samples with NULL indices or buffers", n);
    for (size_t i = 0; i < n; ++i)
      if (indices[i] >= src->num_samples)
        return sdk::failf(h, PLINTH_ERR_INVALID_ARGUMENT,
                          "images: sample index %llu (position %zu of the request) out of range [0, %llu)",
                          static_cast<unsigned long long>(indices[i]), i,
                          static_cast<unsigned long long>(src->num_samples));
    const size_t per = static_cast<size_t>(src->C) * oh * ow;
    for (size_t i = 0; i < n; ++i) {
      auto* img = static_cast<float*>(buffers[0]) + i * per;
      if (plinth_status s = src->read_one(ctx, indices[i], img, oh, ow); s != PLINTH_OK) return s;
      std::memcpy(static_cast<int32_t*>(buffers[1]) + i, &src->labels[indices[i]], sizeof(int32_t));
    }
    return PLINTH_OK;
  });
}

plinth_status images_read(plinth_data_source* src, const uint64_t* indices, size_t n, void* const* buffers) {
  plinth_data_read_context ctx{};
  ctx.struct_size = sizeof ctx;
  return images_read_ctx(src, &ctx, indices, n, buffers);
}

bool has_image_extension(const std::string& name) {
  const auto dot = name.rfind('.');
  if (dot == std::string::npos) return false;
  std::string ext = name.substr(dot + 1);
  for (auto& ch : ext) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return ext == "jpg" || ext == "jpeg" || ext == "png";
}

std::string json_string(const std::string& s) {
  std::string o = "\"";
  for (unsigned char ch : s) {
    if (ch == '"' || ch == '\\') {
      o += '\\';
      o += static_cast<char>(ch);
    } else if (ch < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", ch);
      o += buf;
    } else {
      o += static_cast<char>(ch);
    }
  }
  return o + "\"";
}

// root/<class>/<file>: classes are the sub-folders in byte-wise order.
plinth_status scan_folder(const plinth_host* h, const std::string& root, images_source& src,
                          size_t& skipped) {
  std::error_code ec;
  if (!fs::is_directory(root, ec))
    return sdk::failf(h, PLINTH_ERR_IO, "images: root '%s' is not a folder", root.c_str());
  std::vector<std::string> classes;
  for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.empty() || name[0] == '.') continue;  // hidden (.git, .DS_Store): not a class
    if (it->is_directory(ec))
      classes.push_back(name);
    else
      ++skipped;
  }
  if (ec)
    return sdk::failf(h, PLINTH_ERR_IO, "images: cannot list '%s': %s", root.c_str(), ec.message().c_str());
  std::sort(classes.begin(), classes.end());
  if (classes.empty())
    return sdk::failf(h, PLINTH_ERR_BAD_DATA,
                      "images: root '%s' has no class folders (expected root/<class>/<image files>)",
                      root.c_str());
  if (classes.size() > (size_t{1} << 24))
    return sdk::failf(h, PLINTH_ERR_BAD_DATA, "images: root '%s' has more than 2^24 class folders",
                      root.c_str());
  for (size_t k = 0; k < classes.size(); ++k) {
    const fs::path dir = fs::path(root) / classes[k];
    std::vector<std::string> files;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      const std::string name = it->path().filename().string();
      if (!name.empty() && name[0] != '.' && has_image_extension(name) && it->is_regular_file(ec))
        files.push_back(name);
      else
        ++skipped;
    }
    if (ec)
      return sdk::failf(h, PLINTH_ERR_IO, "images: cannot list '%s': %s", dir.string().c_str(),
                        ec.message().c_str());
    if (files.empty())
      return sdk::failf(
          h, PLINTH_ERR_BAD_DATA,
          "images: class folder '%s' has no image files (.jpg, .jpeg, .png); remove it or add images",
          dir.string().c_str());
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      src.paths.push_back((dir / f).string());
      src.labels.push_back(static_cast<int32_t>(k));
    }
  }
  src.class_names = std::move(classes);
  return PLINTH_OK;
}

// A minimal reader of one JSONL line: an object whose values are strings or
// integers (other values are refused), enough for {"path":..,"label":..}.
struct json_line {
  const std::string& s;
  size_t i = 0;
  std::string err;
  void ws() {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r')) ++i;
  }
  bool str(std::string& out) {
    if (i >= s.size() || s[i] != '"') return err = "expected a string", false;
    ++i;
    out.clear();
    while (i < s.size() && s[i] != '"') {
      char ch = s[i++];
      if (ch == '\\') {
        if (i >= s.size()) break;
        const char e = s[i++];
        switch (e) {
          case 'n':
            ch = '\n';
            break;
          case 't':
            ch = '\t';
            break;
          case 'r':
            ch = '\r';
            break;
          case 'b':
            ch = '\b';
            break;
          case 'f':
            ch = '\f';
            break;
          case 'u': {
            if (i + 4 > s.size()) return err = "bad \\u escape", false;
            unsigned v = 0;
            for (int k = 0; k < 4; ++k) {
              const char d = s[i++];
              v <<= 4;
              if (d >= '0' && d <= '9')
                v |= unsigned(d - '0');
              else if (d >= 'a' && d <= 'f')
                v |= unsigned(d - 'a' + 10);
              else if (d >= 'A' && d <= 'F')
                v |= unsigned(d - 'A' + 10);
              else
                return err = "bad \\u escape", false;
            }
            // UTF-8 of a BMP code point (surrogate pairs are refused).
            if (v >= 0xd800 && v < 0xe000) return err = "surrogate \\u escape", false;
            if (v < 0x80) {
              out += char(v);
            } else if (v < 0x800) {
              out += char(0xc0 | (v >> 6)), out += char(0x80 | (v & 0x3f));
            } else {
              out += char(0xe0 | (v >> 12)), out += char(0x80 | ((v >> 6) & 0x3f)),
                  out += char(0x80 | (v & 0x3f));
            }
            continue;
          }
          default:
            ch = e;  // \" \\ \/
        }
      }
      out += ch;
    }
    if (i >= s.size()) return err = "unterminated string", false;
    ++i;
    return true;
  }
  // {"key": value, ...}: string values to `strings`, integer ones as text too.
  bool object(std::vector<std::pair<std::string, std::string>>& kv) {
    ws();
    if (i >= s.size() || s[i] != '{') return err = "expected '{'", false;
    ++i;
    ws();
    if (i < s.size() && s[i] == '}') return ++i, true;
    for (;;) {
      ws();
      std::string k, v;
      if (!str(k)) return false;
      ws();
      if (i >= s.size() || s[i] != ':') return err = "expected ':' after \"" + k + "\"", false;
      ++i;
      ws();
      if (i < s.size() && s[i] == '"') {
        if (!str(v)) return false;
        v = "s" + v;
      } else {
        const size_t b = i;
        if (i < s.size() && s[i] == '-') ++i;
        while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
        if (i == b || (i == b + 1 && s[b] == '-'))
          return err = "value of \"" + k + "\" is not a string or integer", false;
        v = "i" + s.substr(b, i - b);
      }
      kv.emplace_back(std::move(k), std::move(v));
      ws();
      if (i < s.size() && s[i] == ',') {
        ++i;
        continue;
      }
      if (i < s.size() && s[i] == '}') {
        ++i;
        ws();
        if (i != s.size()) return err = "text after the object", false;
        return true;
      }
      return err = "expected ',' or '}'", false;
    }
  }
};

bool parse_label_id(const std::string& s, int64_t& out) {
  if (s.empty() || s.size() > 9) return false;
  for (char ch : s)
    if (!std::isdigit(static_cast<unsigned char>(ch))) return false;
  out = std::stoll(s);
  return true;
}

// A CSV (`path,label` per line, split at the last comma; an optional first
// line `path,label`) or JSONL list; paths relative to the list's folder.
// Labels are class ids when every one is a non-negative integer, else class
// names, numbered in byte-wise order.
plinth_status read_list(const plinth_host* h, const std::string& list, int64_t num_classes,
                        images_source& src) {
  std::vector<unsigned char> bytes;
  if (plinth_status s = read_file(h, "images list", list, bytes); s != PLINTH_OK) return s;
  const bool jsonl = list.size() >= 6 && (list.compare(list.size() - 6, 6, ".jsonl") == 0 ||
                                          list.compare(list.size() - 5, 5, ".json") == 0);
  const fs::path dir = fs::path(list).parent_path();
  std::vector<std::string> raw_labels;
  std::vector<size_t> line_of;
  std::string text(bytes.begin(), bytes.end());
  std::istringstream in(text);
  std::string line;
  size_t lineno = 0;
  bool ints = true;
  while (std::getline(in, line)) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    std::string path, label;
    bool label_is_int = false;
    if (jsonl) {
      json_line j{line, 0, {}};
      std::vector<std::pair<std::string, std::string>> kv;
      if (!j.object(kv))
        return sdk::failf(h, PLINTH_ERR_BAD_DATA, "images list '%s':%zu: %s", list.c_str(), lineno,
                          j.err.c_str());
      bool has_p = false, has_l = false;
      for (auto& [k, v] : kv) {
        if (k == "path" && v[0] == 's') path = v.substr(1), has_p = true;
        if (k == "label") label = v.substr(1), has_l = true, label_is_int = v[0] == 'i';
      }
      if (!has_p || !has_l)
        return sdk::failf(h, PLINTH_ERR_BAD_DATA,
                          "images list '%s':%zu: needs \"path\" (a string) and \"label\"", list.c_str(),
                          lineno);
      if (label_is_int && label[0] == '-')
        return sdk::failf(h, PLINTH_ERR_BAD_DATA, "images list '%s':%zu: negative label %s", list.c_str(),
                          lineno, label.c_str());
    } else {
      if (lineno == 1 && line == "path,label") continue;
      const auto comma = line.rfind(',');
      if (comma == std::string::npos || comma == 0 || comma + 1 == line.size())
        return sdk::failf(h, PLINTH_ERR_BAD_DATA, "images list '%s':%zu: expected 'path,label', got '%.80s'",
                          list.c_str(), lineno, line.c_str());
      path = line.substr(0, comma);
      label = line.substr(comma + 1);
    }
    if (path.empty())
      return sdk::failf(h, PLINTH_ERR_BAD_DATA, "images list '%s':%zu: empty path", list.c_str(), lineno);
    int64_t id = 0;
    ints = ints && parse_label_id(label, id);
    fs::path p(path);
    src.paths.push_back(p.is_absolute() ? p.string() : (dir / p).string());
    raw_labels.push_back(label);
    line_of.push_back(lineno);
  }
  if (src.paths.empty())
    return sdk::failf(h, PLINTH_ERR_BAD_DATA, "images list '%s': no entries", list.c_str());
  if (src.paths.size() > (size_t{1} << 31))
    return sdk::failf(h, PLINTH_ERR_BAD_DATA, "images list '%s': more than 2^31 entries", list.c_str());
  if (ints) {
    int64_t max_id = 0;
    for (size_t k = 0; k < raw_labels.size(); ++k) {
      int64_t id = 0;
      parse_label_id(raw_labels[k], id);
      if (num_classes > 0 && id >= num_classes)
        return sdk::failf(h, PLINTH_ERR_BAD_DATA,
                          "images list '%s':%zu: label %lld is not below num_classes = %lld", list.c_str(),
                          line_of[k], static_cast<long long>(id), static_cast<long long>(num_classes));
      max_id = std::max(max_id, id);
      src.labels.push_back(static_cast<int32_t>(id));
    }
    const int64_t n = num_classes > 0 ? num_classes : max_id + 1;
    for (int64_t c = 0; c < n; ++c) src.class_names.push_back(std::to_string(c));
  } else {
    src.class_names = raw_labels;
    std::sort(src.class_names.begin(), src.class_names.end());
    src.class_names.erase(std::unique(src.class_names.begin(), src.class_names.end()), src.class_names.end());
    if (num_classes > 0 && static_cast<int64_t>(src.class_names.size()) > num_classes)
      return sdk::failf(h, PLINTH_ERR_BAD_DATA,
                        "images list '%s': %zu class names, more than num_classes = %lld", list.c_str(),
                        src.class_names.size(), static_cast<long long>(num_classes));
    for (const auto& l : raw_labels)
      src.labels.push_back(static_cast<int32_t>(
          std::lower_bound(src.class_names.begin(), src.class_names.end(), l) - src.class_names.begin()));
    for (int64_t c = static_cast<int64_t>(src.class_names.size()); c < num_classes; ++c)
      src.class_names.push_back(std::to_string(c));
  }
  return PLINTH_OK;
}

// An array key of 1 to `max_n` floats (or one number) into out; NOT_FOUND
// leaves out alone.
plinth_status config_floats(const plinth_host* h, const plinth_config* cfg, const char* key, size_t max_n,
                            std::vector<double>& out) {
  if (!cfg) return PLINTH_OK;
  double one = 0;
  size_t n = 0;
  plinth_status s = h->config_array_size(h->ctx, cfg, key, &n);
  if (s == PLINTH_ERR_NOT_FOUND) return PLINTH_OK;
  if (s == PLINTH_ERR_INVALID_ARGUMENT) {  // a plain number?
    s = h->config_get_float(h->ctx, cfg, key, &one);
    if (s != PLINTH_OK) return s;
    out.assign(1, one);
    return PLINTH_OK;
  }
  if (s != PLINTH_OK) return s;
  if (n < 1 || n > max_n)
    return sdk::failf(h, PLINTH_ERR_INVALID_ARGUMENT, "images: '%s' needs 1 to %zu numbers, got %zu", key,
                      max_n, n);
  out.resize(n);
  for (size_t i = 0; i < n; ++i)
    if ((s = h->config_array_float(h->ctx, cfg, key, i, &out[i])) != PLINTH_OK) return s;
  return PLINTH_OK;
}

// Up to `cap` first bytes of a regular file (a FIFO or device is refused
// before any read).
plinth_status read_head(const plinth_host* h, const std::string& path, size_t cap,
                        std::vector<unsigned char>& out) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0)
    return sdk::failf(h, PLINTH_ERR_IO, "images: cannot open '%s': %s", path.c_str(), std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return sdk::failf(h, PLINTH_ERR_IO, "images: '%s' is not a regular file", path.c_str());
  }
  out.resize(std::min<size_t>(cap, static_cast<size_t>(st.st_size)));
  size_t got = 0;
  while (got < out.size()) {
    const ssize_t r = ::pread(fd, out.data() + got, out.size() - got, static_cast<off_t>(got));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += static_cast<size_t>(r);
  }
  ::close(fd);
  out.resize(got);
  return PLINTH_OK;
}

// verify = "header": every file's header (format, size, channels) at open;
// "decode": every file decoded; "none": only the first file's header.
plinth_status verify_images(const plinth_host* h, images_source& src, const std::string& mode) {
  std::vector<unsigned char> bytes;
  decoded_image im;
  std::string err;
  const size_t n = mode == "none" ? 1 : src.paths.size();
  for (size_t i = 0; i < n; ++i) {
    const std::string& path = src.paths[i];
    image_header hd;
    plinth_status s;
    if (mode == "decode") {
      bytes.clear();
      s = read_file(h, "images", path, bytes);
    } else {
      // The header is near the start; a JPEG's SOF may follow a large EXIF
      // block, so a head that does not parse is read again whole.
      s = read_head(h, path, size_t{1} << 16, bytes);
      if (s == PLINTH_OK && !probe_image(bytes.data(), bytes.size(), src.max_pixels, hd, err) &&
          bytes.size() == size_t{1} << 16) {
        bytes.clear();
        s = read_file(h, "images", path, bytes);
      }
    }
    if (s != PLINTH_OK) return s;
    if (!probe_image(bytes.data(), bytes.size(), src.max_pixels, hd, err)) return bad(h, path, err);
    if (i == 0) {
      src.first_path = path;
      src.first_header = hd;
      if (!src.channels_given) src.C = hd.channels;
    } else if (!src.channels_given && hd.channels != src.C) {
      return bad(h, path,
                 "has " + std::to_string(hd.channels) + " channel(s) where '" + src.first_path + "' has " +
                     std::to_string(src.C) + "; set channels = 1 or 3 to convert every image");
    }
    if (mode == "decode" && !decode_image(bytes.data(), bytes.size(), src.C, src.max_pixels, 0, 0, im, err))
      return bad(h, path, err);
  }
  return PLINTH_OK;
}

plinth_status images_open(const plinth_host* h, const plinth_config* cfg, plinth_data_source** out) {
  return sdk::guard(h, [&]() -> plinth_status {
    if (!out) return sdk::fail(h, PLINTH_ERR_INVALID_ARGUMENT, "images: NULL output handle");
    *out = nullptr;
    std::string root, list, pad_mode = "zeros", verify = "header";
    int64_t channels = 0, max_pixels = int64_t{1} << 26, resize = 0, pad = 0, num_classes = 0;
    bool rrc = false, flip = false;
    std::vector<double> size, center, scale{0.08, 1.0}, ratio{3.0 / 4.0, 4.0 / 3.0}, mean{0.0}, stddev{1.0};
    plinth_status s;
    if ((s = sdk::config_path(h, cfg, "root", root)) != PLINTH_OK) return s;
    if ((s = sdk::config_path(h, cfg, "list", list)) != PLINTH_OK) return s;
    if ((s = sdk::config_int(h, cfg, "channels", channels)) != PLINTH_OK) return s;
    if ((s = sdk::config_int(h, cfg, "max_pixels", max_pixels)) != PLINTH_OK) return s;
    if ((s = sdk::config_int(h, cfg, "num_classes", num_classes)) != PLINTH_OK) return s;
    if ((s = sdk::config_int(h, cfg, "resize", resize)) != PLINTH_OK) return s;
    if ((s = sdk::config_int(h, cfg, "pad_crop", pad)) != PLINTH_OK) return s;
    if ((s = sdk::config_string(h, cfg, "pad_mode", pad_mode)) != PLINTH_OK) return s;
    if ((s = sdk::config_string(h, cfg, "verify", verify)) != PLINTH_OK) return s;
    if ((s = sdk::config_bool(h, cfg, "random_resized_crop", rrc)) != PLINTH_OK) return s;
    if ((s = sdk::config_bool(h, cfg, "flip", flip)) != PLINTH_OK) return s;
    if ((s = config_floats(h, cfg, "size", 2, size)) != PLINTH_OK) return s;
    if ((s = config_floats(h, cfg, "center_crop", 2, center)) != PLINTH_OK) return s;
    if ((s = config_floats(h, cfg, "crop_scale", 2, scale)) != PLINTH_OK) return s;
    if ((s = config_floats(h, cfg, "crop_ratio", 2, ratio)) != PLINTH_OK) return s;
    if ((s = config_floats(h, cfg, "mean", 3, mean)) != PLINTH_OK) return s;
    if ((s = config_floats(h, cfg, "std", 3, stddev)) != PLINTH_OK) return s;
    if (root.empty() == list.empty())
      return sdk::fail(
          h, PLINTH_ERR_INVALID_ARGUMENT,
          "images: set exactly one of 'root' (a folder of class folders) and 'list' (a .csv or .jsonl "
          "file of path,label)");
    if (channels != 0 && channels != 1 && channels != 3)
      return sdk::failf(h, PLINTH_ERR_INVALID_ARGUMENT, "images: 'channels' must be 1 or 3, got %lld",
                        static_cast<long long>(channels));
    if (max_pixels < 1) return sdk::fail(h, PLINTH_ERR_INVALID_ARGUMENT, "images: 'max_pixels' must be >= 1");
    if (resize < 0 || resize > 65536 || pad < 0 || pad > 4096)
      return sdk::fail(h, PLINTH_ERR_INVALID_ARGUMENT,
                       "images: 'resize' must be in [0, 65536], 'pad_crop' in [0, 4096]");
    if (pad_mode != "zeros" && pad_mode != "reflect")
      return sdk::failf(h, PLINTH_ERR_INVALID_ARGUMENT,
                        "images: 'pad_mode' must be \"zeros\" or \"reflect\", got \"%s\"", pad_mode.c_str());
    if (verify != "header" && verify != "decode" && verify != "none")
      return sdk::failf(h, PLINTH_ERR_INVALID_ARGUMENT,
                        "images: 'verify' must be \"header\", \"decode\" or \"none\", got \"%s\"",
                        verify.c_str());
    if (rrc && (resize > 0 || !center.empty()))
      return sdk::fail(
          h, PLINTH_ERR_INVALID_ARGUMENT,
          "images: random_resized_crop with resize or center_crop: pick one (train vs. evaluation)");
    auto two = [](std::vector<double>& v) {
      if (v.size() == 1) v.push_back(v[0]);
    };
    two(size), two(center), two(scale), two(ratio);
    if (!(scale[0] > 0 && scale[0] <= scale[1] && scale[1] <= 1))
      return sdk::failf(h, PLINTH_ERR_INVALID_ARGUMENT,
                        "images: 'crop_scale' must be 0 < lo <= hi <= 1, got [%g, %g]", scale[0], scale[1]);
    if (!(ratio[0] > 0 && ratio[0] <= ratio[1] && std::isfinite(ratio[1])))
      return sdk::failf(h, PLINTH_ERR_INVALID_ARGUMENT,
                        "images: 'crop_ratio' must be 0 < lo <= hi, got [%g, %g]", ratio[0], ratio[1]);
    for (const auto* v : {&size, &center})
      for (double d : *v)
        if (!(d >= 1 && d <= 65536 && d == std::floor(d)))
          return sdk::fail(h, PLINTH_ERR_INVALID_ARGUMENT,
                           "images: 'size' and 'center_crop' must be integers in [1, 65536]");
    if (!size.empty() && !center.empty() && size != center)
      return sdk::fail(h, PLINTH_ERR_INVALID_ARGUMENT,
                       "images: 'size' and 'center_crop' differ; the crop is the output size");

    auto src = std::make_unique<images_source>();
    src->host = h;
    src->component = "images";
    size_t skipped = 0;
    if (!root.empty()) {
      if ((s = scan_folder(h, root, *src, skipped)) != PLINTH_OK) return s;
      if (num_classes > 0 && num_classes < static_cast<int64_t>(src->class_names.size()))
        return sdk::failf(h, PLINTH_ERR_INVALID_ARGUMENT,
                          "images: root '%s' has %zu classes, more than num_classes = %lld", root.c_str(),
                          src->class_names.size(), static_cast<long long>(num_classes));
      for (int64_t c = static_cast<int64_t>(src->class_names.size()); c < num_classes; ++c)
        src->class_names.push_back(std::to_string(c));
    } else if ((s = read_list(h, list, num_classes, *src)) != PLINTH_OK) {
      return s;
    }
    if (skipped > 0)
      sdk::log(h, PLINTH_LOG_INFO, "plinth-data-std",
               "images: skipped " + std::to_string(skipped) + " non-image entries under '" + root + "'");
    src->max_pixels = static_cast<uint64_t>(max_pixels);
    // The first image gives the channel count (unless `channels`) and the
    // output size (unless `size` or `center_crop`).
    src->channels_given = channels != 0;
    src->C = static_cast<int32_t>(channels);
    if ((s = verify_images(h, *src, verify)) != PLINTH_OK) return s;
    const image_header& hd = src->first_header;
    const std::vector<double>& out_size = !size.empty() ? size : center;
    src->H = out_size.empty() ? hd.height : static_cast<int32_t>(out_size[0]);
    src->W = out_size.empty() ? hd.width : static_cast<int32_t>(out_size[1]);
    if (int64_t{src->H} * src->W > (int64_t{1} << 26))
      return sdk::fail(h, PLINTH_ERR_INVALID_ARGUMENT, "images: output size over 2^26 pixels");
    src->rrc = rrc;
    src->scale_lo = scale[0], src->scale_hi = scale[1], src->ratio_lo = ratio[0], src->ratio_hi = ratio[1];
    src->resize = static_cast<int32_t>(resize);
    src->center = !center.empty();
    src->flip = flip;
    src->pad = static_cast<int32_t>(pad);
    src->reflect = pad_mode == "reflect";
    if (mean.size() != 1 && mean.size() != static_cast<size_t>(src->C))
      return sdk::failf(h, PLINTH_ERR_INVALID_ARGUMENT, "images: 'mean' has %zu values for %d channels",
                        mean.size(), src->C);
    if (stddev.size() != 1 && stddev.size() != static_cast<size_t>(src->C))
      return sdk::failf(h, PLINTH_ERR_INVALID_ARGUMENT, "images: 'std' has %zu values for %d channels",
                        stddev.size(), src->C);
    for (int32_t c = 0; c < src->C; ++c) {
      const double m = mean[mean.size() == 1 ? 0 : c], sd = stddev[stddev.size() == 1 ? 0 : c];
      if (!(sd > 0) || !std::isfinite(sd) || !std::isfinite(m))
        return sdk::fail(h, PLINTH_ERR_INVALID_ARGUMENT, "images: 'std' must be > 0 and 'mean' finite");
      src->a[c] = static_cast<float>(1.0 / (255.0 * sd));
      src->b[c] = static_cast<float>(-m / sd);
    }
    src->num_samples = src->paths.size();
    const auto nc = static_cast<int64_t>(src->class_names.size());
    src->fields.push_back({"image", PLINTH_DTYPE_F32, {src->C, src->H, src->W}, 0});
    src->fields.push_back({"label", PLINTH_DTYPE_I32, {}, nc});
    std::string json = "[";
    for (size_t c = 0; c < src->class_names.size(); ++c)
      json += (c ? "," : "") + json_string(src->class_names[c]);
    src->metadata.emplace_back("classes", json + "]");
    *out = src.release();
    return PLINTH_OK;
  });
}

}  // namespace

const char* const images_keys[] = {
    "root",        "list",       "channels", "max_pixels",  "verify",
    "num_classes", "size",       "resize",   "center_crop", "random_resized_crop",
    "crop_scale",  "crop_ratio", "flip",     "pad_crop",    "pad_mode",
    "mean",        "std",        nullptr};

const plinth_data_v1 images_table = {
    .struct_size = PLINTH_DATA_V1_STRUCT_SIZE,
    .open = images_open,
    .close = source_close,
    .info = source_info,
    .field = source_field,
    .read = images_read,
    .next = nullptr,
    .save_position = nullptr,
    .restore_position = nullptr,
    .metadata = source_metadata,
    .read_ctx = images_read_ctx,
};

}  // namespace plinth::data
