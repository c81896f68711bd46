// tokens_fuzz.cpp — fuzz target: the `tokens` data source of plinth-data-std
// (llm.c token shards and raw uint16 files). Input: 4 option bytes — bit 0 of
// byte 0: format raw; byte 1: block_size = 1 + b % 32; bytes 2-3 (LE):
// vocab_size = 1 + v; bits 1-3 of byte 0: stride = 1 + b — then the shard
// file, written to a scratch file and opened with the test fake host.
// Checked: a failure leaves no handle and one message; a success has exactly
// the windows the file size allows, and its first and last windows hold ids
// below vocab_size with targets shifted by one.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "data_fuzz_util.hpp"
#include "fake_host.hpp"
#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 4) return 0;
  const bool raw = data[0] & 1;
  const uint64_t stride = 1 + ((data[0] >> 1) & 7);
  const int64_t T = 1 + data[1] % 32;
  const int64_t V = 1 + (int64_t{data[2]} | (int64_t{data[3]} << 8));
  auto path = plinth::fuzz::write_input("shard.bin", data + 4, size - 4);
  const std::string toml = "path = '" + path.string() + "'\nformat = '" + (raw ? "raw" : "llmc") +
                           "'\nblock_size = " + std::to_string(T) + "\nvocab_size = " + std::to_string(V) +
                           "\nstride = " + std::to_string(stride) + "\n";

  static const plinth_data_v1* t = plinth::fuzz::data_table("tokens");
  plinth::test::fake_host h;
  plinth_data_source* src = nullptr;
  plinth_status s = t->open(h.host(), h.config(toml), &src);
  if (s != PLINTH_OK) {
    if (src || h.last_error().empty()) std::abort();  // failure: no handle, one message
    return 0;
  }
  // The windows the file holds: n tokens after a 1024-byte header (llmc).
  const size_t file = size - 4;
  const uint64_t n = raw ? file / 2 : (file - 1024) / 2;
  if (!raw && file < 1024) std::abort();
  plinth_data_info info{};
  info.struct_size = PLINTH_DATA_INFO_STRUCT_SIZE;
  if (t->info(src, &info) != PLINTH_OK || info.num_fields != 2) std::abort();
  if (n < static_cast<uint64_t>(T) + 1 || info.num_samples != (n - T - 1) / stride + 1) std::abort();
  plinth::fuzz::check_windows(t, src, info.num_samples, T, V);
  plinth::fuzz::read_ends(t, src);
  t->close(src);
  return 0;
}
