// files.hpp — writing files so a crash never leaves a half-written one:
// write to a temporary in the same folder, fsync, rename over the target,
// fsync the folder; and never destroying what is at a path named for output
// (a symlink is written through, a device or FIFO is refused).
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

// Where a write to `path` lands: a symlink is followed to the end of its chain,
// so the link stays a link and its target gets the bytes (created when it
// does not exist yet). Bad input (exit 2), naming the path and what is there:
// a device, FIFO, socket or folder at the path or at the link's end, a link
// loop, a folder that does not exist. Only a regular file (or none) is ever
// replaced, and only by rename in the target's own folder.
Result<std::filesystem::path> output_target(const std::filesystem::path& path);
// A folder output goes into (a run's out_dir, a sweep's folder), created with
// its parents when absent. Something other than a folder at the path or at a
// parent (a file, a device) is bad input (exit 2); a folder that cannot be
// created (read-only, full disk) is a run-time failure (exit 1). `what` names
// it in the error: "the run folder".
Status create_output_folder(const std::filesystem::path& dir, const std::string& what);

// Through output_target: the bytes go to a symlink's target.
Status write_file_atomic(const std::filesystem::path& path, std::string_view bytes);
// Writes the parts in order (writev, no concatenated copy) and fsyncs; the
// digest of the bytes written, as lowercase hex, into *digest_hex when given
// (hashed from memory, not re-read; XXH3-128 in its canonical big-endian
// form, as `xxhsum -H2` prints it). atomic: through a temporary and a rename
// as above, into output_target(path), keeping an existing file's permission
// bits; else straight into `path` (inside a folder that is itself renamed
// into place, as a checkpoint's files are). Either way only a regular file
// is opened: a symlink, FIFO or device at the file written is refused.
// A reusable page-aligned staging area for write_file_parts' direct writes
// (grown when needed, never shrunk, so a writer that writes files of one size
// again and again allocates and faults its pages in once).
class StagingBuffer {
 public:
  StagingBuffer() = default;
  StagingBuffer(const StagingBuffer&) = delete;
  StagingBuffer& operator=(const StagingBuffer&) = delete;
  ~StagingBuffer();
  char* reserve(size_t bytes);  // nullptr when it cannot be allocated

 private:
  char* data_ = nullptr;
  size_t size_ = 0;
};
// direct (not atomic only): the parts are gathered into `direct` and written
// with O_DIRECT, past the page cache (whose copy of every byte costs the
// writer more CPU than the gathering does, taken from training threads when
// every core trains). Where the file system refuses O_DIRECT (tmpfs), or the
// staging area cannot be allocated, the write is an ordinary one.
Status write_file_parts(const std::filesystem::path& path, std::span<const std::string_view> parts,
                        std::string* digest_hex = nullptr, bool atomic = true, Digest kind = Digest::sha256,
                        StagingBuffer* direct = nullptr);
// Append one line and flush it to the OS (metrics.jsonl).
Status append_line(const std::filesystem::path& path, std::string_view line);
// The digest of a file as lowercase hex; empty on failure.
std::string file_digest(const std::filesystem::path& path, Digest kind);
inline std::string sha256_file(const std::filesystem::path& path) {
  return file_digest(path, Digest::sha256);
}

}  // namespace plinth
