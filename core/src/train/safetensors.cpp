// safetensors.cpp — the safetensors container, checked on read: header size
// within the file, known dtypes, no duplicate names, and data ranges that
// tile the data section exactly (no overlap, no hole, nothing past the end).
#include "train/safetensors.hpp"

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <set>
#include <system_error>

#include <nlohmann/json.hpp>

#include "exec/backend.hpp"
#include "util/files.hpp"

namespace plinth {
namespace {

const char* st_dtype(plinth_dtype d) {
  switch (d) {
    case PLINTH_DTYPE_F32:
      return "F32";
    case PLINTH_DTYPE_F16:
      return "F16";
    case PLINTH_DTYPE_BF16:
      return "BF16";
    case PLINTH_DTYPE_F64:
      return "F64";
    case PLINTH_DTYPE_I32:
      return "I32";
    case PLINTH_DTYPE_I64:
      return "I64";
    case PLINTH_DTYPE_U8:
      return "U8";
    case PLINTH_DTYPE_U16:
      return "U16";
    default:
      return nullptr;
  }
}

bool parse_dtype(const std::string& s, plinth_dtype& out) {
  for (int d = 0; d < PLINTH_DTYPE_COUNT_V1; ++d)
    if (s == st_dtype(static_cast<plinth_dtype>(d))) {
      out = static_cast<plinth_dtype>(d);
      return true;
    }
  return false;
}

}  // namespace

Status write_safetensors(const std::filesystem::path& path, const std::vector<NamedTensor>& tensors,
                         const std::map<std::string, std::string>& metadata, std::string* digest_hex,
                         bool atomic, Digest kind, StagingBuffer* direct) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const auto& t : tensors) {
    header[t.name] = {
        {"dtype", st_dtype(t.dtype)}, {"shape", t.shape}, {"data_offsets", {offset, offset + t.data.size()}}};
    offset += t.data.size();
  }
  std::string h = header.dump();
  while ((8 + h.size()) % 8 != 0) h.push_back(' ');
  std::string head;
  const uint64_t n = h.size();
  for (int i = 0; i < 8; ++i) head.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  head += h;
  // The tensors go out from their own buffers: no copy of the whole file.
  std::vector<std::string_view> parts{head};
  for (const auto& t : tensors)
    parts.emplace_back(reinterpret_cast<const char*>(t.data.data()), t.data.size());
  return write_file_parts(path, parts, digest_hex, atomic, kind, direct);
}

Result<std::vector<NamedTensor>> read_safetensors(const std::filesystem::path& path) {
  // A device or FIFO would be read without end (or block): refused first.
  std::error_code ec;
  if (const auto st = std::filesystem::status(path, ec);
      !ec && std::filesystem::exists(st) && !std::filesystem::is_regular_file(st))
    return error(errc::bad_data, path.string() + ": not a regular file");
  std::ifstream in(path, std::ios::binary);
  if (!in) return error(errc::io, path.string() + ": cannot open");
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto bad = [&](const std::string& what) { return error(errc::bad_data, path.string() + ": " + what); };
  if (bytes.size() < 8) return bad("truncated: " + std::to_string(bytes.size()) + " bytes, no header length");
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= static_cast<uint64_t>(static_cast<unsigned char>(bytes[i])) << (8 * i);
  if (n > bytes.size() - 8) return bad("header length " + std::to_string(n) + " exceeds the file size");
  // The parser keeps one of two equal keys silently, so duplicates are
  // caught while parsing: a key of the top-level object seen twice.
  std::set<std::string> top_keys;
  std::string duplicate;
  const nlohmann::json::parser_callback_t note_keys = [&](int depth, nlohmann::json::parse_event_t event,
                                                          nlohmann::json& parsed) {
    if (depth == 1 && event == nlohmann::json::parse_event_t::key && duplicate.empty() &&
        !top_keys.insert(parsed.get<std::string>()).second)
      duplicate = parsed.get<std::string>();
    return true;
  };
  nlohmann::json header =
      nlohmann::json::parse(bytes.begin() + 8, bytes.begin() + 8 + static_cast<int64_t>(n), note_keys, false);
  if (header.is_discarded() || !header.is_object()) return bad("the header is not a JSON object");
  if (!duplicate.empty()) return bad("tensor '" + duplicate + "' is named twice in the header");
  const uint64_t data_size = bytes.size() - 8 - n;
  std::vector<NamedTensor> out;
  struct Range {
    uint64_t begin, end;
    std::string name;
  };
  std::vector<Range> ranges;
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") continue;
    const auto& e = it.value();
    NamedTensor t;
    t.name = it.key();
    if (!e.is_object() || !e.contains("dtype") || !e["dtype"].is_string() ||
        !parse_dtype(e["dtype"].get<std::string>(), t.dtype))
      return bad("tensor '" + t.name + "': missing or unknown dtype");
    if (!e.contains("shape") || !e["shape"].is_array()) return bad("tensor '" + t.name + "': missing shape");
    uint64_t numel = 1;
    // The bytes the shape spans over its non-zero dimensions: an empty tensor
    // of shape (2^62, 0) holds nothing, but its strides would still overflow.
    uint64_t span = exec::dtype_size(t.dtype);
    for (const auto& d : e["shape"]) {
      if (!d.is_number_integer() || d.get<int64_t>() < 0) return bad("tensor '" + t.name + "': bad shape");
      t.shape.push_back(d.get<int64_t>());
      // A shape whose element count overflows 64 bits would wrap to a small
      // (even zero) byte count and pass the size check below.
      if (__builtin_mul_overflow(numel, static_cast<uint64_t>(d.get<int64_t>()), &numel))
        return bad("tensor '" + t.name + "': shape has more elements than 2^64");
      if (d.get<int64_t>() > 0 &&
          (__builtin_mul_overflow(span, static_cast<uint64_t>(d.get<int64_t>()), &span) || span > INT64_MAX))
        return bad("tensor '" + t.name + "': its dimensions span more than 2^63 bytes");
    }
    const auto& off = e.value("data_offsets", nlohmann::json());
    if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
      return bad("tensor '" + t.name + "': missing data_offsets");
    uint64_t b = off[0].get<uint64_t>(), end = off[1].get<uint64_t>();
    if (b > end || end > data_size)
      return bad("tensor '" + t.name + "': data [" + std::to_string(b) + ", " + std::to_string(end) +
                 ") lies outside the " + std::to_string(data_size) + " data bytes (truncated file?)");
    uint64_t nbytes = 0;
    if (__builtin_mul_overflow(numel, static_cast<uint64_t>(exec::dtype_size(t.dtype)), &nbytes) ||
        end - b != nbytes)
      return bad("tensor '" + t.name + "': " + std::to_string(end - b) + " bytes do not match its shape");
    t.data.assign(bytes.begin() + 8 + static_cast<int64_t>(n + b),
                  bytes.begin() + 8 + static_cast<int64_t>(n + end));
    ranges.push_back({b, end, t.name});
    out.push_back(std::move(t));
  }
  // The ranges must tile [0, data_size): two tensors sharing bytes, bytes no
  // tensor owns, or a data section longer than the tensors all mean the file
  // is not what its writer meant. The header may list them in any order (the
  // format asks for tiling, not sorting), so they are checked sorted by begin;
  // empty tensors take no bytes and are left out.
  ranges.erase(std::remove_if(ranges.begin(), ranges.end(), [](const Range& r) { return r.begin == r.end; }),
               ranges.end());
  std::sort(ranges.begin(), ranges.end(), [](const Range& a, const Range& b) { return a.begin < b.begin; });
  auto span = [](const Range& r) {
    return "[" + std::to_string(r.begin) + ", " + std::to_string(r.end) + ")";
  };
  uint64_t at = 0;
  const Range* prev = nullptr;
  for (const Range& r : ranges) {
    if (r.begin < at)
      return bad("tensors '" + prev->name + "' " + span(*prev) + " and '" + r.name + "' " + span(r) +
                 " overlap");
    if (r.begin > at)
      return bad("data bytes [" + std::to_string(at) + ", " + std::to_string(r.begin) +
                 ") belong to no tensor (a hole " +
                 (prev ? "after tensor '" + prev->name + "'" : "at the start") + ", before tensor '" +
                 r.name + "')");
    at = r.end;
    prev = &r;
  }
  if (at != data_size)
    return bad("data bytes [" + std::to_string(at) + ", " + std::to_string(data_size) +
               ") belong to no tensor (" + (prev ? "after tensor '" + prev->name + "', " : "") +
               "the data section is " + std::to_string(data_size) + " bytes)");
  return out;
}

}  // namespace plinth
