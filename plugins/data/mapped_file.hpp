// mapped_file.hpp — a read-only memory map of one whole file (POSIX mmap),
// unmapped at destruction. Used by the token-shard source, whose files can be
// far larger than what read_file() should copy into memory. Errors name the
// path. It does not inflate gzip (see file.hpp) and does not write.
#pragma once

#include <cstddef>
#include <string>

#include "plinth/plugin.h"

namespace plinth::data {

class mapped_file {
 public:
  mapped_file() = default;
  ~mapped_file();
  mapped_file(const mapped_file&) = delete;
  mapped_file& operator=(const mapped_file&) = delete;

  // Map `path`; on failure records a message naming `what` and `path`.
  plinth_status open(const plinth_host* host, const std::string& what, const std::string& path);
  const unsigned char* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  const unsigned char* data_ = nullptr;
  size_t size_ = 0;
  void* map_ = nullptr;  // nullptr for an empty file (nothing mapped)
};

}  // namespace plinth::data
