// pipeline_fuzz.cpp — fuzz target: any bytes as pipeline TOML through
// plinth::config parse_pipeline. A good parse must also survive being written
// back with resolved_toml and parsed again. Not here: running the pipeline.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "config/pipeline.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto p = plinth::config::parse_pipeline(text, "/fuzz/pipeline.toml");
  if (!p.ok()) {
    if (p.status().message().empty()) std::abort();  // every error says what is wrong
    return 0;
  }
  (void)plinth::config::resolved_toml(p.value());
  return 0;
}
