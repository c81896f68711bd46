// files.hpp — writing files so a crash never leaves a half-written one:
// write to a temporary in the same folder, fsync, rename over the target,
// fsync the folder.
#pragma once

#include <filesystem>
#include <string_view>

#include "plinth/status.hpp"

namespace plinth {

Status write_file_atomic(const std::filesystem::path& path, std::string_view bytes);
// Append one line and flush it to the OS (metrics.jsonl).
Status append_line(const std::filesystem::path& path, std::string_view line);
// SHA-256 of a file as lowercase hex; empty on failure.
std::string sha256_file(const std::filesystem::path& path);

}  // namespace plinth
