// checkpoint.cpp — write, verify, find and prune checkpoint folders, and
// the background writer. Crash safety comes from the order of operations:
// every file fsynced in a temporary folder, the folder renamed, its parent
// fsynced. Not here: which tensors or state a checkpoint holds.
#include "train/checkpoint.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>

#include "plinth/log.hpp"
#include "util/files.hpp"

namespace plinth::train {
namespace fs = std::filesystem;
namespace {

constexpr const char* kFiles[] = {"model.safetensors", "optimizer.safetensors"};
// The prefix of a file checksum in state.json that is XXH3-128 (`xxhsum -H2`).
constexpr std::string_view kXxhPrefix = "xxh128:";

Status fsync_dir(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return error(errc::io, dir.string() + ": cannot open the folder: " + std::strerror(errno));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return error(errc::unavailable, dir.string() + ": fsync failed: " + std::strerror(err));
  return {};
}

// N of "step-N", or -1.
int64_t step_of(const std::string& name) {
  if (name.rfind("step-", 0) != 0 || name.size() == 5) return -1;
  int64_t n = -1;
  auto [p, ec] = std::from_chars(name.data() + 5, name.data() + name.size(), n);
  if (ec != std::errc() || p != name.data() + name.size() || n < 0) return -1;
  return n;
}

Result<nlohmann::ordered_json> read_json(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return error(errc::io, path.string() + ": cannot read");
  std::ostringstream ss;
  ss << in.rdbuf();
  auto j = nlohmann::ordered_json::parse(ss.str(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return error(errc::bad_data, path.string() + ": not a JSON object");
  return j;
}

// Moves the folder aside (one rename, which either happens or not) before
// deleting it, so a checkpoint is never left half removed: where the parent
// folder is read-only, removing the files inside would succeed and the folder
// itself would not.
Status remove_checkpoint(const fs::path& dir, const fs::path& step_dir) {
  const fs::path doomed = dir / (".tmp-remove-" + step_dir.filename().string());
  std::error_code ec;
  fs::remove_all(doomed, ec);
  if (::rename(step_dir.c_str(), doomed.c_str()) != 0)
    return error(errc::io, step_dir.string() + ": cannot remove: " + std::strerror(errno));
  fs::remove_all(doomed, ec);
  return {};
}

}  // namespace

std::vector<std::pair<int64_t, fs::path>> list_checkpoints(const fs::path& dir) {
  std::vector<std::pair<int64_t, fs::path>> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const int64_t n = step_of(it->path().filename().string());
    if (n >= 0 && it->is_directory(ec)) out.emplace_back(n, it->path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

namespace {

Status write_into(const fs::path& dir, const fs::path& tmp, const fs::path& final_dir, const Checkpoint& c,
                  StagingBuffer* direct) {
  std::error_code ec;
  fs::create_directory(tmp, ec);
  if (ec) return error(errc::unavailable, tmp.string() + ": cannot create: " + ec.message());
  const std::map<std::string, std::string> meta{{"format", "pt"}, {"step", std::to_string(c.step)}};
  // Straight into the temporary folder (its rename is what makes the
  // checkpoint appear), hashed from memory while written.
  std::string hashes[2];
  PLINTH_TRY(write_safetensors(tmp / kFiles[0], c.model, meta, &hashes[0], false, Digest::xxh3_128, direct));
  PLINTH_TRY(
      write_safetensors(tmp / kFiles[1], c.optimizer, meta, &hashes[1], false, Digest::xxh3_128, direct));
  nlohmann::ordered_json state = c.state;
  state["step"] = c.step;
  nlohmann::ordered_json files = nlohmann::ordered_json::object();
  for (int i = 0; i < 2; ++i) files[kFiles[i]] = std::string(kXxhPrefix) + hashes[i];
  state["files"] = files;
  const std::string state_text = state.dump(2) + "\n";
  const std::string_view state_part = state_text;
  PLINTH_TRY(write_file_parts(tmp / "state.json", std::span<const std::string_view>(&state_part, 1), nullptr,
                              false));
  PLINTH_TRY(fsync_dir(tmp));
  if (fs::exists(final_dir, ec)) PLINTH_TRY(remove_checkpoint(dir, final_dir));
  if (::rename(tmp.c_str(), final_dir.c_str()) != 0)
    return error(errc::unavailable, final_dir.string() + ": rename failed: " + std::strerror(errno));
  return fsync_dir(dir);
}

}  // namespace

Status write_checkpoint(const fs::path& dir, const Checkpoint& c, StagingBuffer* direct) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    return error(errc::unavailable, dir.string() + ": cannot create the checkpoint folder: " + ec.message());
  const std::string name = "step-" + std::to_string(c.step);
  const fs::path tmp = dir / (".tmp-" + name), final_dir = dir / name;
  fs::remove_all(tmp, ec);
  Status s = write_into(dir, tmp, final_dir, c, direct);
  // A failed write leaves nothing behind (a full disk gets its space back);
  // the checkpoints written before are untouched.
  if (!s.ok()) fs::remove_all(tmp, ec);
  return s;
}

Result<nlohmann::ordered_json> read_state(const fs::path& step_dir) {
  const fs::path file = step_dir / "state.json";
  auto state = read_json(file);
  if (!state) return state.status();
  const auto& j = *state;
  const auto step = j.find("step");
  const auto files = j.find("files");
  if (step == j.end() || files == j.end())
    return error(errc::bad_data, file.string() + ": missing 'step' or 'files'");
  if (!step->is_number_integer())
    return error(errc::bad_data, file.string() + ": 'step' must be an integer, got " + step->dump());
  if (!files->is_object())
    return error(errc::bad_data, file.string() + ": 'files' must be an object, got " + files->dump());
  // The folder's name says which step it holds; a state.json that says
  // another (or a step no run reaches: negative, 2^63) is not this folder's.
  const int64_t named = step_of(step_dir.filename().string());
  if ((step->is_number_unsigned() && step->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) ||
      step->get<int64_t>() < 0 || (named >= 0 && step->get<int64_t>() != named))
    return error(errc::bad_data,
                 file.string() + ": 'step' is " + step->dump() +
                     (named >= 0 ? ", not the folder's step " + std::to_string(named) : ", not a step >= 0"));
  for (const char* f : kFiles) {
    const auto want = files->find(f);
    if (want == files->end() || !want->is_string())
      return error(errc::bad_data, file.string() + ": no hash of " + f);
  }
  return state;
}

Result<Checkpoint> read_checkpoint(const fs::path& step_dir) {
  Checkpoint c;
  c.dir = step_dir;
  auto state = read_state(step_dir);
  if (!state) return state.status();
  c.state = std::move(*state);
  c.step = c.state["step"].get<int64_t>();
  for (const char* f : kFiles) {
    const auto& want = c.state["files"][f];
    std::error_code ec;
    if (!fs::exists(step_dir / f, ec))
      return error(errc::bad_data, (step_dir / f).string() + ": missing (state.json lists it)");
    // "xxh128:<hex>" (XXH3-128), or a bare sha256 hex from checkpoints
    // written before the switch.
    std::string_view pin = want.get_ref<const std::string&>();
    const bool xxh = pin.starts_with(kXxhPrefix);
    if (xxh) pin.remove_prefix(kXxhPrefix.size());
    const std::string got = file_digest(step_dir / f, xxh ? Digest::xxh3_128 : Digest::sha256);
    if (got != pin)
      return error(errc::bad_data, (step_dir / f).string() + ": " + (xxh ? "xxh128" : "sha256") +
                                       " checksum does not match state.json (" +
                                       (got.empty() ? std::string("unreadable") : "corrupt or truncated") +
                                       ")");
  }
  auto model = read_safetensors(step_dir / kFiles[0]);
  if (!model) return model.status();
  auto opt = read_safetensors(step_dir / kFiles[1]);
  if (!opt) return opt.status();
  c.model = std::move(*model);
  c.optimizer = std::move(*opt);
  return c;
}

std::optional<Checkpoint> load_latest_checkpoint(const fs::path& dir, std::vector<std::string>* warnings) {
  auto all = list_checkpoints(dir);
  for (auto it = all.rbegin(); it != all.rend(); ++it) {
    auto c = read_checkpoint(it->second);
    if (c) return std::move(*c);
    const std::string w = "skipping checkpoint " + it->second.string() + ": " + c.status().message();
    logger().warn("{}", w);
    if (warnings) warnings->push_back(w);
  }
  return std::nullopt;
}

Status prune_checkpoints(const fs::path& dir, int64_t keep_last, int64_t keep_best, bool max) {
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    if (it->path().filename().string().rfind(".tmp-", 0) == 0) fs::remove_all(it->path(), ec);
  auto all = list_checkpoints(dir);
  std::vector<char> keep(all.size(), 0);
  for (size_t i = all.size() > static_cast<size_t>(keep_last) ? all.size() - keep_last : 0; i < all.size();
       ++i)
    keep[i] = 1;
  if (keep_best > 0) {
    std::vector<std::pair<double, size_t>> scored;
    for (size_t i = 0; i < all.size(); ++i) {
      auto s = read_json(all[i].second / "state.json");
      if (!s || !s->contains("metric") || !(*s)["metric"].is_number()) continue;
      const double m = (*s)["metric"].get<double>();
      if (std::isfinite(m)) scored.emplace_back(max ? -m : m, i);
    }
    std::stable_sort(scored.begin(), scored.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    for (size_t k = 0; k < scored.size() && k < static_cast<size_t>(keep_best); ++k)
      keep[scored[k].second] = 1;
  }
  for (size_t i = 0; i < all.size(); ++i)
    if (!keep[i]) PLINTH_TRY(remove_checkpoint(dir, all[i].second));
  return {};
}

void CheckpointWriter::submit(Checkpoint c) {
  wait();
  thread_ = std::thread([this, c = std::move(c)]() mutable {
    Status s = write_checkpoint(dir_, c, &staging_);
    spare_ = std::move(c);
    if (s.ok()) {
      // The new checkpoint is safe; an old one that cannot be removed only
      // costs disk space, so it is a warning, not a failed checkpoint.
      const Status pruned = prune_checkpoints(dir_, policy_.keep_last, policy_.keep_best, policy_.max);
      if (!pruned.ok()) logger().warn("older checkpoint kept: {}", pruned.message());
    }
    if (!s.ok()) {
      // Reported by whoever takes the error (the trainer logs it once).
      std::lock_guard<std::mutex> lock(mu_);
      if (error_.ok()) error_ = s;
    }
  });
}

Checkpoint CheckpointWriter::recycle() {
  wait();
  Checkpoint c = std::move(spare_);
  spare_ = Checkpoint{};
  return c;
}

void CheckpointWriter::wait() {
  if (thread_.joinable()) thread_.join();
}

Status CheckpointWriter::take_error() {
  std::lock_guard<std::mutex> lock(mu_);
  Status s = error_;
  error_ = Status();
  return s;
}

}  // namespace plinth::train
