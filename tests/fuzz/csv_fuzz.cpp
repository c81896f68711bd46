// csv_fuzz.cpp — fuzz target: the `csv` data source of plinth-data-std.
// Input: one option byte (bit 0: header; bits 1-2: delimiter , ; tab space;
// bits 4-7: num_classes), then the CSV file, written to a scratch file and
// opened through the plugin's table with the test fake host.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "data_fuzz_util.hpp"
#include "fake_host.hpp"
#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t opt = data[0];
  auto path = plinth::fuzz::write_input("in.csv", data + 1, size - 1);
  static const char* const delims[4] = {",", ";", "\\t", " "};
  std::string toml = "path = '" + path.string() + "'\nheader = " + ((opt & 1) ? "true" : "false") +
                     "\ndelimiter = \"" + delims[(opt >> 1) & 3] +
                     "\"\nnum_classes = " + std::to_string(opt >> 4) + "\n";

  static const plinth_data_v1* t = plinth::fuzz::data_table("csv");
  plinth::test::fake_host h;
  plinth_data_source* src = nullptr;
  plinth_status s = t->open(h.host(), h.config(toml), &src);
  if (s != PLINTH_OK) {
    if (src || h.last_error().empty()) std::abort();  // failure: no handle, one message
    return 0;
  }
  plinth::fuzz::read_ends(t, src);
  t->close(src);
  return 0;
}
