// text_fuzz.cpp — fuzz target: the `text` data source of plinth-data-std (a
// UTF-8 file as a character-level corpus, optionally with a given vocab).
// Input: 3 option bytes — byte 0: bit 0 split "val", bits 1-3 stride = 1 + b,
// bit 4 a vocab file, bit 5 unknown = "skip"; byte 1: block_size = 1 + b % 32;
// byte 2: val_fraction = b / 256 — then, with a vocab file, 2 bytes (LE) of
// its length and the vocab file; the rest is the text file. Checked: a
// failure leaves no handle and one message; a success has two (T) i32 fields
// whose num_classes is the vocab size, a "vocab" metadata JSON with that many
// tokens, and first and last windows with ids below it, targets shifted by one.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include <nlohmann/json.hpp>

#include "data_fuzz_util.hpp"
#include "fake_host.hpp"
#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  const bool val = data[0] & 1, with_vocab = data[0] & 16, skip = data[0] & 32;
  const int64_t stride = 1 + ((data[0] >> 1) & 7);
  const int64_t T = 1 + data[1] % 32;
  const double val_fraction = data[2] / 256.0;
  size_t at = 3;
  std::string toml;
  if (with_vocab) {
    if (size < at + 2) return 0;
    const size_t n = size_t{data[at]} | (size_t{data[at + 1]} << 8);
    at += 2;
    if (size < at + n) return 0;
    toml += "vocab = '" + plinth::fuzz::write_input("vocab.json", data + at, n).string() + "'\n";
    at += n;
  }
  const auto path = plinth::fuzz::write_input("text.txt", data + at, size - at);
  toml += "path = '" + path.string() + "'\nsplit = '" + (val ? "val" : "train") +
          "'\nblock_size = " + std::to_string(T) + "\nstride = " + std::to_string(stride) +
          "\nval_fraction = " + std::to_string(val_fraction) + "\nunknown = '" + (skip ? "skip" : "error") +
          "'\n";

  static const plinth_data_v1* t = plinth::fuzz::data_table("text");
  plinth::test::fake_host h;
  plinth_data_source* src = nullptr;
  const plinth_status s = t->open(h.host(), h.config(toml), &src);
  if (s != PLINTH_OK) {
    if (src || h.last_error().empty()) std::abort();  // failure: no handle, one message
    return 0;
  }
  plinth_data_info info{};
  info.struct_size = PLINTH_DATA_INFO_STRUCT_SIZE;
  if (t->info(src, &info) != PLINTH_OK || info.num_fields != 2 || info.num_samples == 0) std::abort();
  int64_t V = -1;
  for (int32_t k = 0; k < 2; ++k) {
    plinth_data_field f{};
    f.struct_size = PLINTH_DATA_FIELD_STRUCT_SIZE;
    if (t->field(src, k, &f) != PLINTH_OK || f.dtype != PLINTH_DTYPE_I32 || f.ndim != 1 || f.shape[0] != T)
      std::abort();
    if (V >= 0 && f.num_classes != V) std::abort();
    V = f.num_classes;
  }
  if (V < 1) std::abort();
  // The vocabulary the metadata names has exactly num_classes tokens.
  size_t len = 0;
  if (t->metadata(src, "vocab", nullptr, 0, &len) != PLINTH_OK) std::abort();
  std::string meta(len + 1, '\0');
  if (t->metadata(src, "vocab", meta.data(), meta.size(), &len) != PLINTH_OK) std::abort();
  meta.resize(len);
  const auto j = nlohmann::json::parse(meta, nullptr, false);
  if (j.is_discarded() || !j.contains("tokens") || !j["tokens"].is_array() ||
      j["tokens"].size() != static_cast<size_t>(V))
    std::abort();
  plinth::fuzz::check_windows(t, src, info.num_samples, T, V);
  plinth::fuzz::read_ends(t, src);
  t->close(src);
  return 0;
}
