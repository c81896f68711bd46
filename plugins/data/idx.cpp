// idx.cpp — the `idx` data source: MNIST's IDX format (LeCun et al.), an
// images file (magic 0x00000803: u8, 3 big-endian u32 dims N, rows, cols)
// and a labels file (magic 0x00000801: u8, 1 dim N), plain or gzip. Images
// stay u8 in memory and are scaled on read: x = (u8 * scale - mean) / std.
// It reads no other IDX element type (the MNIST files are all u8).
#include <cmath>
#include <cstring>
#include <memory>

#include "file.hpp"
#include "source.hpp"

namespace plinth::data {

namespace {

constexpr uint32_t k_images_magic = 0x00000803;
constexpr uint32_t k_labels_magic = 0x00000801;

uint32_t be32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

struct idx_source final : plinth_data_source {
  std::vector<unsigned char> images;  // (N, rows, cols) u8, header stripped
  std::vector<unsigned char> labels;  // (N) u8
  size_t pixels = 0;                  // rows * cols
  float lut[256] = {};                // u8 -> (u8 * scale - mean) / std

  plinth_status copy_sample(int f, uint64_t i, void* dst) const override {
    if (f == 0) {
      const unsigned char* src = images.data() + i * pixels;
      float* out = static_cast<float*>(dst);
      for (size_t k = 0; k < pixels; ++k) out[k] = lut[src[k]];
    } else {
      int32_t v = labels[i];
      std::memcpy(dst, &v, sizeof v);
    }
    return PLINTH_OK;
  }
};

// The size an IDX header declares (header and data), for read_file's gzip
// bound; k_size_unknown when the header is short or its dims overflow.
unsigned long long idx_declared_size(const unsigned char* p, size_t n) {
  if (n < 4) return k_size_unknown;
  const size_t ndim = p[3];
  const size_t header = 4 + 4 * ndim;
  if (n < header) return k_size_unknown;
  unsigned long long count = 1, total = 0;
  for (size_t d = 0; d < ndim; ++d)
    if (__builtin_mul_overflow(count, static_cast<unsigned long long>(be32(p + 4 + 4 * d)), &count))
      return k_size_unknown;
  if (__builtin_add_overflow(count, header, &total)) return k_size_unknown;
  return total;
}

// Parse one IDX file: check magic, dims and exact size. `dims` gets the dims.
plinth_status parse_idx(const plinth_host* h, const std::string& what, const std::string& path,
                        std::vector<unsigned char>& bytes, uint32_t magic, std::vector<uint32_t>& dims) {
  const size_t ndim = magic & 0xffu;
  const size_t header = 4 + 4 * ndim;
  if (bytes.size() < 4)
    return sdk::failf(h, PLINTH_ERR_BAD_DATA,
                      "%s file '%s': truncated: expected at least %zu header bytes, got %zu", what.c_str(),
                      path.c_str(), header, bytes.size());
  uint32_t found = be32(bytes.data());
  if (found != magic)
    return sdk::failf(
        h, PLINTH_ERR_BAD_DATA, "%s file '%s': wrong IDX magic 0x%08x, expected 0x%08x (%s)%s", what.c_str(),
        path.c_str(), found, magic, magic == k_images_magic ? "u8 images, 3 dims" : "u8 labels, 1 dim",
        found == k_images_magic || found == k_labels_magic ? "; are images and labels swapped?" : "");
  if (bytes.size() < header)
    return sdk::failf(h, PLINTH_ERR_BAD_DATA,
                      "%s file '%s': truncated: expected at least %zu header bytes, got %zu", what.c_str(),
                      path.c_str(), header, bytes.size());
  dims.clear();
  uint64_t expected = header;
  uint64_t count = 1;
  for (size_t d = 0; d < ndim; ++d) {
    dims.push_back(be32(bytes.data() + 4 + 4 * d));
    // Three u32 dims can overflow 64 bits and wrap to a size that matches a
    // short file (e.g. 4 x 2^31 x 2^31 = 2^64 -> 0 bytes); refuse it.
    uint64_t with_header = 0;
    if (__builtin_mul_overflow(count, uint64_t{dims.back()}, &count) ||
        __builtin_add_overflow(count, expected, &with_header))
      return sdk::failf(h, PLINTH_ERR_BAD_DATA,
                        "%s file '%s': the header's dims overflow a 64-bit size (the file has %zu bytes)",
                        what.c_str(), path.c_str(), bytes.size());
  }
  expected += count;
  if (bytes.size() != expected)
    return sdk::failf(h, PLINTH_ERR_BAD_DATA,
                      "%s file '%s': %s: the header's dims need %llu bytes, the file has %zu", what.c_str(),
                      path.c_str(), bytes.size() < expected ? "truncated" : "trailing bytes",
                      static_cast<unsigned long long>(expected), bytes.size());
  bytes.erase(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(header));
  return PLINTH_OK;
}

plinth_status idx_open(const plinth_host* h, const plinth_config* cfg, plinth_data_source** out) {
  return sdk::guard(h, [&]() -> plinth_status {
    if (!out) return sdk::fail(h, PLINTH_ERR_INVALID_ARGUMENT, "idx: NULL output handle");
    *out = nullptr;
    std::string images_path, labels_path;
    double scale = 1.0 / 255.0, mean = 0.0, stddev = 1.0;
    int64_t num_classes = 10;
    plinth_status s;
    if ((s = sdk::config_path(h, cfg, "images", images_path)) != PLINTH_OK) return s;
    if ((s = sdk::config_path(h, cfg, "labels", labels_path)) != PLINTH_OK) return s;
    if ((s = sdk::config_float(h, cfg, "scale", scale)) != PLINTH_OK) return s;
    if ((s = sdk::config_float(h, cfg, "mean", mean)) != PLINTH_OK) return s;
    if ((s = sdk::config_float(h, cfg, "std", stddev)) != PLINTH_OK) return s;
    if ((s = sdk::config_int(h, cfg, "num_classes", num_classes)) != PLINTH_OK) return s;
    if (images_path.empty())
      return sdk::fail(h, PLINTH_ERR_NOT_FOUND, "idx: missing key 'images' (path of the IDX images file)");
    if (labels_path.empty())
      return sdk::fail(h, PLINTH_ERR_NOT_FOUND, "idx: missing key 'labels' (path of the IDX labels file)");
    if (!(stddev > 0.0) || !std::isfinite(stddev))
      return sdk::failf(h, PLINTH_ERR_INVALID_ARGUMENT, "idx: 'std' must be > 0, got %g", stddev);
    if (!std::isfinite(scale) || !std::isfinite(mean))
      return sdk::fail(h, PLINTH_ERR_INVALID_ARGUMENT, "idx: 'scale' and 'mean' must be finite");
    if (num_classes < 1 || num_classes > 256)
      return sdk::failf(h, PLINTH_ERR_INVALID_ARGUMENT, "idx: 'num_classes' must be in [1, 256], got %lld",
                        static_cast<long long>(num_classes));

    auto src = std::make_unique<idx_source>();
    src->host = h;
    src->component = "idx";
    std::vector<uint32_t> idims, ldims;
    if ((s = read_file(h, "idx images", images_path, src->images, idx_declared_size)) != PLINTH_OK) return s;
    if ((s = parse_idx(h, "idx images", images_path, src->images, k_images_magic, idims)) != PLINTH_OK)
      return s;
    // An image of 0 rows or columns has no pixels: every later size
    // (and a per-pixel division in the model's shape checks) breaks on it.
    for (size_t d = 1; d < 3; ++d)
      if (idims[d] == 0)
        return sdk::failf(h, PLINTH_ERR_BAD_DATA,
                          "idx images file '%s': the header's %s (dim %zu, byte offset %zu) is 0; an image "
                          "needs at least one row and one column",
                          images_path.c_str(), d == 1 ? "rows" : "columns", d + 1, 4 + 4 * d);
    if ((s = read_file(h, "idx labels", labels_path, src->labels, idx_declared_size)) != PLINTH_OK) return s;
    if ((s = parse_idx(h, "idx labels", labels_path, src->labels, k_labels_magic, ldims)) != PLINTH_OK)
      return s;
    if (idims[0] != ldims[0])
      return sdk::failf(h, PLINTH_ERR_BAD_DATA, "idx: '%s' holds %u images but '%s' holds %u labels",
                        images_path.c_str(), idims[0], labels_path.c_str(), ldims[0]);
    for (size_t i = 0; i < src->labels.size(); ++i)
      if (src->labels[i] >= num_classes)
        return sdk::failf(h, PLINTH_ERR_BAD_DATA,
                          "idx labels file '%s': label %u at index %zu (byte offset %zu) is not below "
                          "num_classes = %lld",
                          labels_path.c_str(), src->labels[i], i, 8 + i, static_cast<long long>(num_classes));
    src->num_samples = idims[0];
    src->pixels = size_t{idims[1]} * idims[2];
    for (int v = 0; v < 256; ++v)
      src->lut[v] = static_cast<float>((static_cast<double>(v) * scale - mean) / stddev);
    src->fields.push_back({"image", PLINTH_DTYPE_F32, {int64_t{idims[1]}, int64_t{idims[2]}}, 0});
    src->fields.push_back({"label", PLINTH_DTYPE_I32, {}, num_classes});
    *out = src.release();
    return PLINTH_OK;
  });
}

}  // namespace

const char* const idx_keys[] = {"images", "labels", "scale", "mean", "std", "num_classes", nullptr};

const plinth_data_v1 idx_table = {
    .struct_size = PLINTH_DATA_V1_STRUCT_SIZE,
    .open = idx_open,
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
