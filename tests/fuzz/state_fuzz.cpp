// state_fuzz.cpp — fuzz target: any bytes as a checkpoint's state.json
// (runs/<name>/checkpoints/step-4/state.json) through what `--resume` checks
// before it touches the run folder: read_state (JSON, 'step' against the
// folder's name, 'files') and LoopState::check_json (every key's type and
// range). A state that passes must restore counters in range, and must pass
// again once written back by LoopState::to_json.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "fuzz_util.hpp"
#include "train/checkpoint.hpp"
#include "train/loop_state.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::filesystem::path step_dir = [] {
    auto d = plinth::fuzz::scratch_dir() / "step-4";
    std::filesystem::create_directories(d);
    return d;
  }();
  plinth::fuzz::write_input("step-4/state.json", data, size);
  auto state = plinth::train::read_state(step_dir);
  if (!state.ok()) {
    if (state.status().message().empty()) std::abort();
    return 0;
  }
  if ((*state)["step"].get<int64_t>() != 4) std::abort();
  const plinth::Status checked = plinth::train::LoopState::check_json(*state, "state.json");
  if (!checked.ok()) {
    if (checked.message().empty() || checked.exit_code() != 2) std::abort();
    return 0;
  }
  const auto s = plinth::train::LoopState::from_json(*state, plinth::train::LoopState{});
  if (s.epoch < 0 || s.position < 0 || s.samples_since_log < 0 || s.skipped < 0 || s.es_bad < 0 ||
      s.last_eval_step < -1 || s.last_eval_step > 4 || !(s.loss_scale > 0) || s.origin.world_size < 1 ||
      !s.schedule || !s.origin.pipeline)
    std::abort();
  auto again = s.to_json();
  again["step"] = 4;
  if (!plinth::train::LoopState::check_json(again, "state.json").ok()) std::abort();
  return 0;
}
