// csv.cpp — the `csv` data source: a file of numeric columns (optionally
// gzip), one sample per line, with an optional header row. One column is the
// label (f32 for regression when num_classes = 0, i32 checked against
// num_classes otherwise); the rest form "features" f32 (F). Parsed fully at
// open. It does not handle quoted cells or non-numeric (categorical) data.
#include <charconv>
#include <cmath>
#include <cstring>
#include <memory>

#include "file.hpp"
#include "source.hpp"

namespace plinth::data {

namespace {

struct csv_source final : plinth_data_source {
  size_t num_features = 0;
  std::vector<float> features;    // (N, F)
  std::vector<float> labels_f;    // (N) regression
  std::vector<int32_t> labels_i;  // (N) classification

  plinth_status copy_sample(int f, uint64_t i, void* dst) const override {
    if (f == 0) {
      std::memcpy(dst, features.data() + i * num_features, num_features * sizeof(float));
    } else if (!labels_i.empty()) {
      std::memcpy(dst, &labels_i[i], sizeof(int32_t));
    } else {
      std::memcpy(dst, &labels_f[i], sizeof(float));
    }
    return PLINTH_OK;
  }
};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> split(std::string_view line, char delim) {
  std::vector<std::string_view> cells;
  size_t at = 0;
  for (;;) {
    size_t next = line.find(delim, at);
    if (next == std::string_view::npos) {
      cells.push_back(trim(line.substr(at)));
      return cells;
    }
    cells.push_back(trim(line.substr(at, next - at)));
    at = next + 1;
  }
}

bool parse_number(std::string_view cell, double& v) {
  if (cell.empty()) return false;
  if (cell.front() == '+') cell.remove_prefix(1);
  auto r = std::from_chars(cell.data(), cell.data() + cell.size(), v);
  return r.ec == std::errc() && r.ptr == cell.data() + cell.size();
}

plinth_status csv_open(const plinth_host* h, const plinth_config* cfg, plinth_data_source** out) {
  return sdk::guard(h, [&]() -> plinth_status {
    if (!out) return sdk::fail(h, PLINTH_ERR_INVALID_ARGUMENT, "csv: NULL output handle");
    *out = nullptr;
    std::string path, delimiter = ",", label_name;
    bool header = true;
    int64_t num_classes = 0;
    int64_t label_index = -1;  // negative counts from the end: -1 is the last column
    plinth_status s;
    if ((s = sdk::config_path(h, cfg, "path", path)) != PLINTH_OK) return s;
    if ((s = sdk::config_bool(h, cfg, "header", header)) != PLINTH_OK) return s;
    if ((s = sdk::config_string(h, cfg, "delimiter", delimiter)) != PLINTH_OK) return s;
    if ((s = sdk::config_int(h, cfg, "num_classes", num_classes)) != PLINTH_OK) return s;
    // label_column: an integer index or a column name.
    if (cfg) {
      s = h->config_get_int(h->ctx, cfg, "label_column", &label_index);
      if (s == PLINTH_ERR_INVALID_ARGUMENT) {
        if ((s = sdk::config_string(h, cfg, "label_column", label_name)) != PLINTH_OK) return s;
      } else if (s != PLINTH_OK && s != PLINTH_ERR_NOT_FOUND) {
        return s;
      }
    }
    if (path.empty()) return sdk::fail(h, PLINTH_ERR_NOT_FOUND, "csv: missing key 'path' (the CSV file)");
    if (delimiter.size() != 1)
      return sdk::failf(h, PLINTH_ERR_INVALID_ARGUMENT, "csv: 'delimiter' must be one character, got \"%s\"",
                        delimiter.c_str());
    if (num_classes < 0)
      return sdk::failf(h, PLINTH_ERR_INVALID_ARGUMENT,
                        "csv: 'num_classes' must be >= 0 (0 = regression), got %lld",
                        static_cast<long long>(num_classes));
    if (!label_name.empty() && !header)
      return sdk::failf(h, PLINTH_ERR_INVALID_ARGUMENT,
                        "csv: 'label_column' = \"%s\" names a column but 'header' is false; give an index",
                        label_name.c_str());

    std::vector<unsigned char> bytes;
    if ((s = read_file(h, "csv", path, bytes)) != PLINTH_OK) return s;
    std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    const char delim = delimiter[0];

    auto src = std::make_unique<csv_source>();
    src->host = h;
    src->component = "csv";
    size_t ncols = 0, label_col = 0;
    bool have_layout = false;
    std::vector<std::string> names;

    auto set_layout = [&](size_t n, size_t line_no) -> plinth_status {
      ncols = n;
      if (ncols < 2)
        return sdk::failf(h, PLINTH_ERR_BAD_DATA,
                          "csv file '%s' line %zu: %zu column(s); need at least one feature and a label",
                          path.c_str(), line_no, ncols);
      if (!label_name.empty()) {
        size_t k = 0;
        while (k < names.size() && names[k] != label_name) ++k;
        if (k == names.size()) {
          std::string all;
          for (auto& n2 : names) all += (all.empty() ? "" : ", ") + n2;
          return sdk::failf(h, PLINTH_ERR_INVALID_ARGUMENT,
                            "csv file '%s': label_column \"%s\" is not in the header (%s)", path.c_str(),
                            label_name.c_str(), all.c_str());
        }
        label_col = k;
      } else {
        int64_t k = label_index < 0 ? static_cast<int64_t>(ncols) + label_index : label_index;
        if (k < 0 || k >= static_cast<int64_t>(ncols))
          return sdk::failf(h, PLINTH_ERR_INVALID_ARGUMENT,
                            "csv file '%s': label_column %lld is out of range for %zu columns", path.c_str(),
                            static_cast<long long>(label_index), ncols);
        label_col = static_cast<size_t>(k);
      }
      src->num_features = ncols - 1;
      have_layout = true;
      return PLINTH_OK;
    };

    // " (\"name\")" for column c when there is a header, for messages.
    auto column_name = [&](size_t c) { return names.empty() ? std::string() : " (\"" + names[c] + "\")"; };

    size_t line_no = 0, at = 0;
    bool header_pending = header;
    while (at < text.size()) {
      size_t end = text.find('\n', at);
      if (end == std::string_view::npos) end = text.size();
      std::string_view line = text.substr(at, end - at);
      at = end + 1;
      ++line_no;
      if (trim(line).empty()) continue;
      auto cells = split(line, delim);
      if (header_pending) {
        for (auto c : cells) names.emplace_back(c);
        header_pending = false;
        if ((s = set_layout(cells.size(), line_no)) != PLINTH_OK) return s;
        continue;
      }
      if (!have_layout && (s = set_layout(cells.size(), line_no)) != PLINTH_OK) return s;
      if (cells.size() != ncols)
        return sdk::failf(h, PLINTH_ERR_BAD_DATA, "csv file '%s' line %zu: %zu columns, expected %zu",
                          path.c_str(), line_no, cells.size(), ncols);
      for (size_t c = 0; c < ncols; ++c) {
        double v = 0;
        if (!parse_number(cells[c], v)) {
          const std::string col = column_name(c);
          return sdk::failf(h, PLINTH_ERR_BAD_DATA,
                            "csv file '%s' line %zu column %zu%s: not a number: \"%.*s\"", path.c_str(),
                            line_no, c + 1, col.c_str(), static_cast<int>(cells[c].size()), cells[c].data());
        }
        // NaN and inf parse as numbers (and 1e39 overflows f32 to inf); any
        // of them would end training at its first step without naming the row.
        if (!std::isfinite(static_cast<float>(v))) {
          const std::string col = column_name(c);
          return sdk::failf(h, PLINTH_ERR_BAD_DATA,
                            "csv file '%s' line %zu column %zu%s: not a finite f32 number: \"%.*s\"",
                            path.c_str(), line_no, c + 1, col.c_str(), static_cast<int>(cells[c].size()),
                            cells[c].data());
        }
        if (c != label_col) {
          src->features.push_back(static_cast<float>(v));
        } else if (num_classes > 0) {
          if (v != std::floor(v) || v < 0 || v >= static_cast<double>(num_classes))
            return sdk::failf(h, PLINTH_ERR_BAD_DATA,
                              "csv file '%s' line %zu column %zu: label %g is not an integer in [0, %lld)",
                              path.c_str(), line_no, c + 1, v, static_cast<long long>(num_classes));
          src->labels_i.push_back(static_cast<int32_t>(v));
        } else {
          src->labels_f.push_back(static_cast<float>(v));
        }
      }
      ++src->num_samples;
    }
    if (src->num_samples == 0)
      return sdk::failf(h, PLINTH_ERR_BAD_DATA, "csv file '%s': no data rows", path.c_str());
    src->fields.push_back({"features", PLINTH_DTYPE_F32, {static_cast<int64_t>(src->num_features)}, 0});
    src->fields.push_back({"label", num_classes > 0 ? PLINTH_DTYPE_I32 : PLINTH_DTYPE_F32, {}, num_classes});
    *out = src.release();
    return PLINTH_OK;
  });
}

}  // namespace

const char* const csv_keys[] = {"path", "label_column", "header", "delimiter", "num_classes", nullptr};

const plinth_data_v1 csv_table = {
    .struct_size = PLINTH_DATA_V1_STRUCT_SIZE,
    .open = csv_open,
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
