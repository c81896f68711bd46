// file.hpp — read a whole file into memory, inflating it when it is gzip
// (detected by its magic bytes, so a plain file named .gz still reads).
// Errors name the path. It knows nothing of the formats inside.
#pragma once

#include <string>
#include <vector>

#include "plinth/plugin.h"

namespace plinth::data {

// On failure records a message naming `path` through host->set_error.
plinth_status read_file(const plinth_host* host, const std::string& what, const std::string& path,
                        std::vector<unsigned char>& out);

}  // namespace plinth::data
