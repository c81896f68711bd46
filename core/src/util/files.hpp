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

// The digests files are written and checked with. sha256 pins what must not
// be forged (plugins); xxh3_128 (XXH3, 128 bits, tens of GB/s) only has to
// catch truncation and bit rot, which is all a checkpoint's checksum is for.
enum class Digest { sha256, xxh3_128 };

Status write_file_atomic(const std::filesystem::path& path, std::string_view bytes);
// Writes the parts in order (writev, no concatenated copy) and fsyncs; the
// digest of the bytes written, as lowercase hex, into *digest_hex when given
// (hashed from memory, not re-read; XXH3-128 in its canonical big-endian
// form, as `xxhsum -H2` prints it). atomic: through a temporary and a rename
// as above; else straight into `path` (inside a folder that is itself renamed
// into place, as a checkpoint's files are).
Status write_file_parts(const std::filesystem::path& path, std::span<const std::string_view> parts,
                        std::string* digest_hex = nullptr, bool atomic = true, Digest kind = Digest::sha256);
// Append one line and flush it to the OS (metrics.jsonl).
Status append_line(const std::filesystem::path& path, std::string_view line);
// The digest of a file as lowercase hex; empty on failure.
std::string file_digest(const std::filesystem::path& path, Digest kind);
inline std::string sha256_file(const std::filesystem::path& path) {
  return file_digest(path, Digest::sha256);
}

}  // namespace plinth
