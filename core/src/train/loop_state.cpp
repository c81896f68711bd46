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

// What check_json holds a key to; `lo` and `hi` bound numbers.
struct Rule {
  const char* key;
  enum Kind { integer, number, number_or_null, boolean, string, object_or_array } kind;
  double lo = 0, hi = 0;
  bool required = false;
};

constexpr double kCount = 9007199254740992.0;  // 2^53: counts stay exact in a double and far from overflow
constexpr double kBatches = 2147483648.0;      // 2^31: position x global batch fits 64 bits
constexpr double kAny = 1.7976931348623157e308;
constexpr double kFloat = 3.0e38;  // the loss sum and scale go to the device as floats

constexpr Rule kRules[] = {
    {"step", Rule::integer, 0, kCount, true},
    {"epoch", Rule::integer, 0, kCount, true},
    {"position", Rule::integer, 0, kBatches, true},
    {"samples_since_log", Rule::integer, 0, kCount},
    {"loss_sum", Rule::number, -kFloat, kFloat},
    {"schedule", Rule::string, 0, 0, true},
    {"early_stop_best", Rule::number_or_null, -kAny, kAny},
    {"early_stop_bad", Rule::integer, 0, kCount},
    {"metric", Rule::number_or_null, -kAny, kAny},
    {"time_to_target_s", Rule::number, -1, kAny},
    {"eval_loss", Rule::number, -kAny, kAny},
    {"eval_accuracy", Rule::number, -1, 1},
    {"skipped_steps", Rule::integer, 0, kCount},
    {"nonfinite_in_a_row", Rule::integer, 0, kCount},
    {"loss_scale", Rule::number, 0, kFloat},  // > 0: checked below
    {"loss_scale_clean_steps", Rule::integer, 0, kCount},
    {"last_eval_step", Rule::integer, -1, kCount},
    {"train_seconds", Rule::number, 0, kAny},
    {"stopped", Rule::boolean},
    {"early_stopped", Rule::boolean},
    {"threads", Rule::integer, 0, 1 << 20},
    {"world_size", Rule::integer, 1, 1 << 24},
    {"global_batch", Rule::integer, 0, kBatches},
    {"pipeline", Rule::string, 0, 0, true},
    {"plugins", Rule::object_or_array},
    {"powersgd_steps", Rule::integer, 0, kCount},
    {"time_breakdown_s", Rule::object_or_array},
    {"energy_j", Rule::number_or_null, 0, kAny},
    {"energy_note", Rule::string},
};

std::string range_of(const Rule& r) {
  auto n = [](double v) {
    if (v == kCount) return std::string("2^53");
    if (v == kBatches) return std::string("2^31");
    return v == std::floor(v) && std::fabs(v) < 1e15 ? std::to_string(static_cast<int64_t>(v))
                                                     : json(v).dump();
  };
  if (r.hi == kAny) return r.lo == -kAny ? "finite" : ">= " + n(r.lo);
  return "in [" + n(r.lo) + ", " + n(r.hi) + "]";
}

}  // namespace

Status LoopState::check_json(const json& j, const std::string& file) {
  if (!j.is_object()) return error(errc::bad_data, file + ": not a JSON object");
  auto bad = [&](const char* key, const std::string& why) {
    return error(errc::bad_data, file + ": '" + key + "' " + why);
  };
  for (const Rule& r : kRules) {
    const auto it = j.find(r.key);
    if (it == j.end()) {
      if (r.required) return bad(r.key, "is missing");
      continue;
    }
    const json& v = *it;
    std::string got = v.dump();
    if (got.size() > 40) got = got.substr(0, 40) + "...";
    switch (r.kind) {
      case Rule::boolean:
        if (!v.is_boolean()) return bad(r.key, "must be true or false, got " + got);
        continue;
      case Rule::string:
        if (!v.is_string()) return bad(r.key, "must be a string, got " + got);
        continue;
      case Rule::object_or_array:
        if (!v.is_object() && !v.is_array() && !v.is_null())
          return bad(r.key, "must be an object or an array, got " + got);
        continue;
      case Rule::number_or_null:
        if (v.is_null()) continue;
        [[fallthrough]];
      case Rule::number:
        if (!v.is_number())
          return bad(r.key, std::string("must be a number") +
                                (r.kind == Rule::number_or_null ? " or null" : "") + ", got " + got);
        break;
      case Rule::integer:
        if (!v.is_number_integer()) return bad(r.key, "must be an integer " + range_of(r) + ", got " + got);
        break;
    }
    // As a double, a huge integer (2^63 and past, read unsigned) still compares right with the bounds.
    const double x = v.get<double>();
    if (!std::isfinite(x) || x < r.lo || x > r.hi)
      return bad(r.key, "must be " + std::string(r.kind == Rule::integer ? "an integer " : "") + range_of(r) +
                            ", got " + got);
  }
  if (const auto it = j.find("loss_scale"); it != j.end() && !(it->get<double>() > 0))
    return bad("loss_scale", "must be > 0, got " + it->dump());
  if (const auto it = j.find("last_eval_step");
      it != j.end() && it->get<int64_t>() > j["step"].get<int64_t>())
    return bad("last_eval_step", "is " + it->dump() + ", after the checkpoint's step " + j["step"].dump());
  if (const auto it = j.find("time_breakdown_s"); it != j.end() && it->is_object())
    for (const auto& [k, x] : it->items())
      if (!x.is_number() || !std::isfinite(x.get<double>()) || x.get<double>() < 0)
        return error(errc::bad_data,
                     file + ": 'time_breakdown_s." + k + "' must be a number >= 0, got " + x.dump());
  return {};
}

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
