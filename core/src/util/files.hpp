// files.hpp — writing files so a crash never leaves a half-written one:
// write to a temporary in the same folder, fsync, rename over the target,
// fsync the folder.
#pragma once

#include <filesystem>
#include <span>
#include <string>
#include <string_view>

#include "plinth/status.hpp"

namespace plinth {

Status write_file_atomic(const std::filesystem::path& path, std::string_view bytes);
// Writes the parts in order (writev, no concatenated copy) and fsyncs; the
// SHA-256 of the bytes written, as lowercase hex, into *sha256_hex when given
// (hashed from memory, not re-read). atomic: through a temporary and a rename
// as above; else straight into `path` (inside a folder that is itself renamed
// into place, as a checkpoint's files are).
Status write_file_parts(const std::filesystem::path& path, std::span<const std::string_view> parts,
                        std::string* sha256_hex = nullptr, bool atomic = true);
// Append one line and flush it to the OS (metrics.jsonl).
Status append_line(const std::filesystem::path& path, std::string_view line);
// SHA-256 of a file as lowercase hex; empty on failure.
std::string sha256_file(const std::filesystem::path& path);

}  // namespace plinth
