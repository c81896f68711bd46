// checkpoint.hpp — training checkpoints on disk: runs/<name>/checkpoints/
// step-<N>/ holds model.safetensors (parameters), optimizer.safetensors
// ("<param>.<slot>") and state.json (the trainer's state plus the sha256 of
// each file). Written under a temporary name and renamed last; read back
// newest first, skipping any whose files do not match their hashes.
// Not here: what the state means (train/loop_state.hpp).
#pragma once

#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "plinth/status.hpp"
#include "train/safetensors.hpp"

namespace plinth::train {

struct Checkpoint {
  int64_t step = 0;
  nlohmann::ordered_json state = nlohmann::ordered_json::object();  // the trainer's own keys
  std::vector<NamedTensor> model;                                   // parameters
  std::vector<NamedTensor> optimizer;                               // optimizer state slots
  std::filesystem::path dir;                                        // where it was read from
};

// "step-<N>" folders of `dir` (runs/<name>/checkpoints), by step, oldest first.
std::vector<std::pair<int64_t, std::filesystem::path>> list_checkpoints(const std::filesystem::path& dir);

// Write c as <dir>/step-<c.step>/ (replacing one of that step). Files go
// into <dir>/.tmp-step-<N>/ first, each fsynced; state.json, with every
// file's sha256, is written last; then the folder is renamed into place
// and <dir> is fsynced. A crash at any point leaves either the whole
// checkpoint or a temporary folder that load and prune ignore.
// `direct`: the tensor files go out with O_DIRECT through it (write_file_parts).
Status write_checkpoint(const std::filesystem::path& dir, const Checkpoint& c,
                        StagingBuffer* direct = nullptr);

// A checkpoint folder's state.json, read and checked for what the reader
// needs: a JSON object whose integer 'step' is the folder's (step-<N>) and
// whose 'files' holds a hash of each file. Not the trainer's keys
// (LoopState::check_json) nor the files themselves (read_checkpoint).
Result<nlohmann::ordered_json> read_state(const std::filesystem::path& step_dir);

// Read and verify one checkpoint folder (state.json parsed, every listed
// file's sha256 checked, safetensors parsed).
Result<Checkpoint> read_checkpoint(const std::filesystem::path& step_dir);

// The newest checkpoint of `dir` that reads and verifies; one that does not
// is skipped with a warning in `warnings` (and the log). nullopt: none.
std::optional<Checkpoint> load_latest_checkpoint(const std::filesystem::path& dir,
                                                 std::vector<std::string>* warnings = nullptr);

// Delete all but the newest `keep_last` and the `keep_best` best by the
// "metric" number in each state.json (higher is better when `max`);
// checkpoints without a metric only count as recent. Also removes temporary
// folders left by an interrupted write.
Status prune_checkpoints(const std::filesystem::path& dir, int64_t keep_last, int64_t keep_best, bool max);

// Writes checkpoints on a thread of its own, one at a time: submit() waits
// for the previous write to finish, then returns at once. Errors of a
// background write are kept for the caller to report (take_error).
class CheckpointWriter {
 public:
  struct Policy {
    int64_t keep_last = 3, keep_best = 0;
    bool max = false;
  };
  CheckpointWriter(std::filesystem::path dir, Policy policy) : dir_(std::move(dir)), policy_(policy) {}
  ~CheckpointWriter() { wait(); }
  void submit(Checkpoint c);
  // The last checkpoint written, once written, to fill again: its tensor
  // buffers are reused, so a checkpoint costs the step no allocation and no
  // page faults after the first.
  Checkpoint recycle();
  void wait();
  Status take_error();  // the first error since the last call, if any

 private:
  std::filesystem::path dir_;
  Policy policy_;
  std::thread thread_;
  std::mutex mu_;
  Status error_;
  Checkpoint spare_;       // written by the writer thread; read after wait()
  StagingBuffer staging_;  // the writer thread's, for O_DIRECT writes
};

}  // namespace plinth::train
