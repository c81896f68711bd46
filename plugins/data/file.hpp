// file.hpp — read a whole file into memory, inflating it when it is gzip
// (detected by its magic bytes, so a plain file named .gz still reads).
// Errors name the path. It knows nothing of the formats inside.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "plinth/plugin.h"

namespace plinth::data {

// The whole size a format's header declares, from the file's first `n`
// (inflated) bytes; k_size_unknown while `n` is too short to tell or the
// header does not parse (the format's own parser then words the error).
constexpr unsigned long long k_size_unknown = ~0ull;
using declared_size_fn = unsigned long long (*)(const unsigned char* head, size_t n);

// On failure records a message naming `path` through host->set_error. Only
// a regular file is read (a folder, FIFO or device is refused before any
// read: a FIFO would block and a device may never end). With `declared`, a
// gzip file is inflated no further than a little past the size its header
// declares: a small file claiming a small size cannot inflate to gigabytes.
plinth_status read_file(const plinth_host* host, const std::string& what, const std::string& path,
                        std::vector<unsigned char>& out, declared_size_fn declared = nullptr);

}  // namespace plinth::data
