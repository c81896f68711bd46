// fuzz_util.hpp — shared code for the fuzz targets: a per-process scratch
// folder and writing one input to a file there, for readers that take a path.
// Not here: the targets themselves (one <name>_fuzz.cpp each).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

namespace plinth::fuzz {

// A folder under the system temp dir, unique to this process, removed at exit.
inline const std::filesystem::path& scratch_dir() {
  struct dir {
    std::filesystem::path path;
    dir() {
      path = std::filesystem::temp_directory_path() / ("plinth-fuzz-" + std::to_string(::getpid()));
      std::filesystem::create_directories(path);
    }
    ~dir() {
      std::error_code ec;
      std::filesystem::remove_all(path, ec);
    }
  };
  static dir d;
  return d.path;
}

// Writes bytes [data, data + size) to scratch_dir()/name and returns the path.
inline std::filesystem::path write_input(const std::string& name, const uint8_t* data, size_t size) {
  std::filesystem::path p = scratch_dir() / name;
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  f.close();
  if (!f) std::abort();  // the scratch folder is broken: not an input problem
  return p;
}

}  // namespace plinth::fuzz
