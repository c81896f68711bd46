// safetensors.hpp — write and read the safetensors format (Hugging Face): an
// 8-byte little-endian header length, a JSON header mapping each name to its
// dtype, shape and [begin, end) byte range, then the raw data. Written
// atomically. Not here: which tensors a checkpoint holds.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "util/files.hpp"

#include "plinth/plugin.h"
#include "plinth/status.hpp"

namespace plinth {

struct NamedTensor {
  std::string name;
  plinth_dtype dtype = PLINTH_DTYPE_F32;
  std::vector<int64_t> shape;
  std::vector<unsigned char> data;
};

// digest_hex, atomic, kind and direct: as write_file_parts (util/files.hpp).
Status write_safetensors(const std::filesystem::path& path, const std::vector<NamedTensor>& tensors,
                         const std::map<std::string, std::string>& metadata = {},
                         std::string* digest_hex = nullptr, bool atomic = true, Digest kind = Digest::sha256,
                         StagingBuffer* direct = nullptr);
// Strict: no name twice, and the [begin, end) ranges must tile the data
// section exactly (no overlap, no hole, no byte past the last range; the
// header may list them in any order, as the format allows). Every error
// names the path and, for a bad header, the offending entry or entries.
Result<std::vector<NamedTensor>> read_safetensors(const std::filesystem::path& path);

}  // namespace plinth
