// loop_state.cpp — LoopState to and from a checkpoint's state.json. The
// writer's key order is the format's (tests and resume of older runs read
// it); the reader tolerates checkpoints written before a key existed.
// Not here: what the trainer does with a restored state (train/trainer.cpp).
#include "train/loop_state.hpp"

namespace plinth::train {
namespace {

using json = nlohmann::ordered_json;

// JSON has no NaN: null stands for it.
json num_or_null(double v) { return std::isfinite(v) ? json(v) : json(); }

void read(const json& j, const char* key, double& into) {
  if (auto it = j.find(key); it != j.end() && it->is_number()) into = it->get<double>();
}
void read(const json& j, const char* key, int64_t& into) {
  if (auto it = j.find(key); it != j.end() && it->is_number_integer()) into = it->get<int64_t>();
}
void read(const json& j, const char* key, bool& into) {
  if (auto it = j.find(key); it != j.end() && it->is_boolean()) into = it->get<bool>();
}

}  // namespace

json LoopState::to_json() const {
  json j{{"epoch", epoch},
         {"position", position},
         {"samples_since_log", samples_since_log},
         {"loss_sum", loss_sum},
         {"schedule", schedule.value_or("")},
         {"early_stop_best", num_or_null(es_best)},
         {"early_stop_bad", es_bad},
         {"metric", num_or_null(metric)},
         {"time_to_target_s", time_to_target},
         {"eval_loss", eval_loss},
         {"eval_accuracy", eval_accuracy},
         {"skipped_steps", skipped},
         {"nonfinite_in_a_row", nonfinite_run},
         {"loss_scale", loss_scale},
         {"loss_scale_clean_steps", scale_clean},
         {"last_eval_step", last_eval_step},
         {"train_seconds", seconds},
         {"stopped", stopped},
         {"early_stopped", early_stopped},
         {"threads", origin.threads.value_or(0)},
         {"world_size", origin.world_size},
         {"global_batch", origin.global_batch},
         {"pipeline", origin.pipeline.value_or("")},
         {"plugins", origin.plugins}};
  if (origin.powersgd_steps) j["powersgd_steps"] = *origin.powersgd_steps;
  phases.put(j["time_breakdown_s"], false);
  j["energy_j"] = energy_j ? json(*energy_j) : json();
  j["energy_note"] = energy_note.value_or("");
  return j;
}

LoopState LoopState::from_json(const json& j, const LoopState& defaults) {
  LoopState s = defaults;
  read(j, "epoch", s.epoch);
  read(j, "position", s.position);
  read(j, "samples_since_log", s.samples_since_log);
  read(j, "loss_sum", s.loss_sum);
  read(j, "early_stop_best", s.es_best);
  read(j, "early_stop_bad", s.es_bad);
  read(j, "metric", s.metric);
  read(j, "time_to_target_s", s.time_to_target);
  read(j, "eval_loss", s.eval_loss);
  read(j, "eval_accuracy", s.eval_accuracy);
  read(j, "skipped_steps", s.skipped);
  read(j, "nonfinite_in_a_row", s.nonfinite_run);
  read(j, "loss_scale", s.loss_scale);
  read(j, "loss_scale_clean_steps", s.scale_clean);
  read(j, "last_eval_step", s.last_eval_step);
  read(j, "train_seconds", s.seconds);
  read(j, "stopped", s.stopped);
  read(j, "early_stopped", s.early_stopped);
  if (auto it = j.find("schedule"); it != j.end() && it->is_string()) s.schedule = it->get<std::string>();
  if (auto it = j.find("time_breakdown_s"); it != j.end()) s.phases.load(*it);
  if (auto it = j.find("energy_j"); it != j.end() && it->is_number()) s.energy_j = it->get<double>();
  if (auto it = j.find("energy_note"); it != j.end() && it->is_string())
    s.energy_note = it->get<std::string>();
  if (auto it = j.find("threads"); it != j.end() && it->is_number_integer())
    s.origin.threads = it->get<int>();
  if (auto it = j.find("world_size"); it != j.end() && it->is_number_integer())
    s.origin.world_size = it->get<int>();
  read(j, "global_batch", s.origin.global_batch);
  if (auto it = j.find("pipeline"); it != j.end() && it->is_string())
    s.origin.pipeline = it->get<std::string>();
  if (auto it = j.find("plugins"); it != j.end()) s.origin.plugins = *it;
  if (auto it = j.find("powersgd_steps"); it != j.end() && it->is_number_integer())
    s.origin.powersgd_steps = it->get<int64_t>();
  return s;
}

}  // namespace plinth::train
