// text.cpp — the `text` data source: a UTF-8 text file as a character-level
// language-model corpus, the way nanoGPT's shakespeare_char/prepare.py makes
// one: the vocabulary is the sorted set of the whole file's Unicode code
// points (id = rank), the file is encoded to ids, the first
// floor(n * (1 - val_fraction)) characters are split "train", the rest "val".
// Sample i is the window at offset i * stride of the split: tokens = ids[o,
// o+T), targets = ids[o+1, o+T+1). No subword tokenizer, no normalization.
// With `vocab` (a run's vocab.json), that vocabulary is used instead, so a
// model fine-tunes on another text with the ids it was trained on;
// characters outside it are an error, or dropped with `unknown = "skip"`.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "file.hpp"
#include "source.hpp"

namespace plinth::data {

namespace {

constexpr uint32_t k_max_code_point = 0x10FFFF;

struct text_source final : plinth_data_source {
  std::vector<int32_t> ids;  // the split's characters as vocabulary ids
  int64_t T = 0;             // block_size
  int64_t stride = 1;

  plinth_status copy_sample(int f, uint64_t i, void* dst) const override {
    const int32_t* w = ids.data() + i * static_cast<uint64_t>(stride) + static_cast<uint64_t>(f);
    std::memcpy(dst, w, static_cast<size_t>(T) * sizeof(int32_t));
    return PLINTH_OK;
  }
};

// Decode strict UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing
// above U+10FFFF). Returns the byte offset of the first bad sequence, or
// npos with every code point in `out`.
size_t decode_utf8(const std::vector<unsigned char>& b, std::vector<uint32_t>& out) {
  out.clear();
  out.reserve(b.size());
  size_t i = 0;
  const size_t n = b.size();
  auto cont = [&](size_t k, unsigned lo, unsigned hi) { return k < n && b[k] >= lo && b[k] <= hi; };
  while (i < n) {
    const unsigned c = b[i];
    if (c < 0x80) {
      out.push_back(c);
      i += 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
      if (!cont(i + 1, 0x80, 0xBF)) return i;
      out.push_back(((c & 0x1Fu) << 6) | (b[i + 1] & 0x3Fu));
      i += 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      const unsigned lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;  // overlong, surrogates
      if (!cont(i + 1, lo, hi) || !cont(i + 2, 0x80, 0xBF)) return i;
      out.push_back(((c & 0x0Fu) << 12) | ((b[i + 1] & 0x3Fu) << 6) | (b[i + 2] & 0x3Fu));
      i += 3;
    } else if (c >= 0xF0 && c <= 0xF4) {
      const unsigned lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;  // overlong, > U+10FFFF
      if (!cont(i + 1, lo, hi) || !cont(i + 2, 0x80, 0xBF) || !cont(i + 3, 0x80, 0xBF)) return i;
      out.push_back(((c & 0x07u) << 18) | ((b[i + 1] & 0x3Fu) << 12) | ((b[i + 2] & 0x3Fu) << 6) |
                    (b[i + 3] & 0x3Fu));
      i += 4;
    } else {
      return i;  // a continuation byte without a lead, or 0xC0, 0xC1, 0xF5..0xFF
    }
  }
  return std::string::npos;
}

// Append code point `cp` as the inside of a JSON string (UTF-8, escaped).
void json_char(uint32_t cp, std::string& s) {
  switch (cp) {
    case '"':
      s += "\\\"";
      return;
    case '\\':
      s += "\\\\";
      return;
    case '\n':
      s += "\\n";
      return;
    case '\r':
      s += "\\r";
      return;
    case '\t':
      s += "\\t";
      return;
    case '\b':
      s += "\\b";
      return;
    case '\f':
      s += "\\f";
      return;
    default:
      break;
  }
  char buf[8];
  if (cp < 0x20) {
    std::snprintf(buf, sizeof buf, "\\u%04x", cp);
    s += buf;
  } else if (cp < 0x80) {
    s += static_cast<char>(cp);
  } else if (cp < 0x800) {
    s += static_cast<char>(0xC0 | (cp >> 6));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    s += static_cast<char>(0xE0 | (cp >> 12));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    s += static_cast<char>(0xF0 | (cp >> 18));
    s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

plinth_status text_open(const plinth_host* h, const plinth_config* cfg, plinth_data_source** out) {
  return sdk::guard(h, [&]() -> plinth_status {
    if (!out) return sdk::fail(h, PLINTH_ERR_INVALID_ARGUMENT, "text: NULL output handle");
    *out = nullptr;
    std::string path, split = "train", vocab_path, unknown = "error";
    double val_fraction = 0.1;
    int64_t block_size = -1, stride = 1;  // -1: absent
    plinth_status s;
    if ((s = sdk::config_path(h, cfg, "path", path)) != PLINTH_OK) return s;
    if ((s = sdk::config_string(h, cfg, "split", split)) != PLINTH_OK) return s;
    if ((s = sdk::config_float(h, cfg, "val_fraction", val_fraction)) != PLINTH_OK) return s;
    if ((s = sdk::config_int(h, cfg, "block_size", block_size)) != PLINTH_OK) return s;
    if ((s = sdk::config_int(h, cfg, "stride", stride)) != PLINTH_OK) return s;
    if ((s = sdk::config_path(h, cfg, "vocab", vocab_path)) != PLINTH_OK) return s;
    if ((s = sdk::config_string(h, cfg, "unknown", unknown)) != PLINTH_OK) return s;
    if (unknown != "error" && unknown != "skip")
      return sdk::failf(h, PLINTH_ERR_INVALID_ARGUMENT,
                        "text: 'unknown' must be \"error\" or \"skip\", got \"%s\"", unknown.c_str());
    if (path.empty())
      return sdk::fail(h, PLINTH_ERR_NOT_FOUND, "text: missing key 'path' (a UTF-8 text file)");
    if (block_size == -1)
      return sdk::fail(h, PLINTH_ERR_NOT_FOUND, "text: missing key 'block_size' (characters per sample, T)");
    if (block_size < 1 || block_size > (int64_t{1} << 24))
      return sdk::failf(h, PLINTH_ERR_INVALID_ARGUMENT, "text: 'block_size' must be in [1, 2^24], got %lld",
                        static_cast<long long>(block_size));
    if (stride < 1)
      return sdk::failf(h, PLINTH_ERR_INVALID_ARGUMENT, "text: 'stride' must be >= 1, got %lld",
                        static_cast<long long>(stride));
    if (split != "train" && split != "val")
      return sdk::failf(h, PLINTH_ERR_INVALID_ARGUMENT,
                        "text: 'split' must be \"train\" or \"val\", got \"%s\"", split.c_str());
    if (!(val_fraction >= 0.0 && val_fraction < 1.0))
      return sdk::failf(h, PLINTH_ERR_INVALID_ARGUMENT, "text: 'val_fraction' must be in [0, 1), got %g",
                        val_fraction);

    std::vector<unsigned char> bytes;
    if ((s = read_file(h, "text", path, bytes)) != PLINTH_OK) return s;
    std::vector<uint32_t> cps;
    if (size_t bad = decode_utf8(bytes, cps); bad != std::string::npos)
      return sdk::failf(h, PLINTH_ERR_BAD_DATA,
                        "text file '%s': invalid UTF-8 at byte offset %zu (byte 0x%02x)", path.c_str(), bad,
                        bytes[bad]);
    bytes = {};

    // The vocabulary: sorted unique code points of the whole file (both
    // splits), or the given one.
    std::vector<int32_t> rank(k_max_code_point + 1, -1);
    std::vector<uint32_t> order;  // code point of each id
    if (vocab_path.empty()) {
      for (uint32_t cp : cps) rank[cp] = 0;
      for (uint32_t cp = 0; cp <= k_max_code_point; ++cp)
        if (rank[cp] == 0) order.push_back(cp);
    } else {
      std::vector<unsigned char> vb;
      if ((s = read_file(h, "text", vocab_path, vb)) != PLINTH_OK) return s;
      auto j = nlohmann::json::parse(vb.begin(), vb.end(), nullptr, false);
      if (j.is_discarded() || !j.is_object() || !j.contains("tokens") || !j["tokens"].is_array())
        return sdk::failf(h, PLINTH_ERR_BAD_DATA,
                          "text vocab '%s': not a vocabulary (a JSON object with a \"tokens\" array, as a "
                          "run's vocab.json)",
                          vocab_path.c_str());
      for (size_t i = 0; i < j["tokens"].size(); ++i) {
        const auto& t = j["tokens"][i];
        std::vector<uint32_t> one;
        const std::string str = t.is_string() ? t.get<std::string>() : std::string();
        const std::vector<unsigned char> tb(str.begin(), str.end());
        if (!t.is_string() || decode_utf8(tb, one) != std::string::npos || one.size() != 1)
          return sdk::failf(h, PLINTH_ERR_BAD_DATA, "text vocab '%s': token %zu is not one character",
                            vocab_path.c_str(), i);
        if (rank[one[0]] >= 0)
          return sdk::failf(h, PLINTH_ERR_BAD_DATA, "text vocab '%s': token %zu appears twice",
                            vocab_path.c_str(), i);
        rank[one[0]] = 0;
        order.push_back(one[0]);
      }
      if (order.empty())
        return sdk::failf(h, PLINTH_ERR_BAD_DATA, "text vocab '%s': no tokens", vocab_path.c_str());
      // Characters outside it: an error naming the first, or dropped.
      size_t dropped = 0;
      std::vector<uint32_t> kept;
      kept.reserve(cps.size());
      for (size_t i = 0; i < cps.size(); ++i) {
        if (rank[cps[i]] >= 0) {
          kept.push_back(cps[i]);
          continue;
        }
        if (unknown == "error") {
          std::string ch;
          json_char(cps[i], ch);
          return sdk::failf(h, PLINTH_ERR_BAD_DATA,
                            "text file '%s': character %zu (U+%04X '%s') is not in the vocabulary '%s' (set "
                            "unknown = \"skip\" to drop such characters)",
                            path.c_str(), i, cps[i], ch.c_str(), vocab_path.c_str());
        }
        ++dropped;
      }
      if (dropped > 0) {
        char msg[512];
        std::snprintf(msg, sizeof msg,
                      "text file '%s': %zu of %zu characters are not in the vocabulary '%s' "
                      "and were dropped (unknown = \"skip\")",
                      path.c_str(), dropped, cps.size(), vocab_path.c_str());
        sdk::log(h, PLINTH_LOG_WARN, "text", msg);
      }
      cps = std::move(kept);
    }
    std::string vocab = "{\"type\":\"char\",\"tokens\":[";
    int32_t V = 0;
    for (uint32_t cp : order) {
      if (V > 0) vocab += ',';
      vocab += '"';
      json_char(cp, vocab);
      vocab += '"';
      rank[cp] = V++;
    }
    vocab += "]}";

    // The split, as in prepare.py: n_train = int(n * 0.9).
    const uint64_t n = cps.size();
    const auto n_train = static_cast<uint64_t>(std::floor(static_cast<double>(n) * (1.0 - val_fraction)));
    const uint64_t lo = split == "train" ? 0 : n_train, hi = split == "train" ? n_train : n;
    const uint64_t need = static_cast<uint64_t>(block_size) + 1;
    if (hi - lo < need)
      return sdk::failf(h, PLINTH_ERR_BAD_DATA,
                        "text: block_size %lld needs at least %llu characters, the %s split of '%s' has %llu",
                        static_cast<long long>(block_size), static_cast<unsigned long long>(need),
                        split.c_str(), path.c_str(), static_cast<unsigned long long>(hi - lo));

    auto src = std::make_unique<text_source>();
    src->host = h;
    src->component = "text";
    src->T = block_size;
    src->stride = stride;
    src->ids.reserve(hi - lo);
    for (uint64_t i = lo; i < hi; ++i) src->ids.push_back(rank[cps[i]]);
    src->num_samples = (hi - lo - need) / static_cast<uint64_t>(stride) + 1;
    src->fields.push_back({"tokens", PLINTH_DTYPE_I32, {block_size}, V});
    src->fields.push_back({"targets", PLINTH_DTYPE_I32, {block_size}, V});
    src->metadata.emplace_back("vocab", std::move(vocab));
    *out = src.release();
    return PLINTH_OK;
  });
}

}  // namespace

const char* const text_keys[] = {"path",   "split", "val_fraction", "block_size",
                                 "stride", "vocab", "unknown",      nullptr};

const plinth_data_v1 text_table = {
    .struct_size = PLINTH_DATA_V1_STRUCT_SIZE,
    .open = text_open,
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
