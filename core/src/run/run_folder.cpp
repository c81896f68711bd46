// run_folder.cpp — the run folder's JSON files to and from their structs. The
// writers keep each file's keys in the order plinth has always written them
// (tests and users' scripts read them); the readers tolerate absent keys and
// a half-written last line of a running run. Not here: when files are
// written (train/) or what readers make of them (report/, sweep/).
#include "run/run_folder.hpp"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "util/files.hpp"

namespace plinth::run {
namespace fs = std::filesystem;

namespace {

// JSON has no NaN: null stands for it.
json num_or_null(double v) { return std::isfinite(v) ? json(v) : json(); }

std::optional<double> opt_num(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

std::string str_of(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool bool_of(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_boolean() && it->get<bool>();
}

Result<json> read_json(const fs::path& file, const std::string& why) {
  std::ifstream in(file);
  if (!in) return error(errc::io, "cannot read " + file.string() + " (" + why + ")");
  auto j = json::parse(in, nullptr, false);
  if (j.is_discarded()) return error(errc::bad_data, file.string() + ": not valid JSON");
  return j;
}

}  // namespace

fs::path folder_path(const fs::path& out_dir, const std::string& name, int suffix) {
  return out_dir / (suffix == 0 ? name : name + "-" + std::to_string(suffix));
}

std::string name_problem(const std::string& name) {
  if (name.empty()) return "must not be empty";
  if (name == "." || name == "..") return "must be a folder name, not '" + name + "'";
  if (name.find('/') != std::string::npos)
    return "must be one folder name, without '/' (it is a folder under out_dir), got '" + name + "'";
  for (const unsigned char c : name)
    if (c < 0x20 || c == 0x7f) {
      char code[8];
      std::snprintf(code, sizeof code, "U+%04X", c);
      return std::string("must be printable: it holds the control character ") + code;
    }
  return "";
}

// ---------------------------------------------------------------------------

const char* const kPhaseKeys[6] = {"data_wait",     "forward_backward", "optimizer",
                                   "communication", "checkpoint",       "evaluation"};

std::vector<std::pair<const char*, double>> Phases::items() const {
  return {{kPhaseKeys[0], data}, {kPhaseKeys[1], compute},    {kPhaseKeys[2], optimizer},
          {kPhaseKeys[3], comm}, {kPhaseKeys[4], checkpoint}, {kPhaseKeys[5], eval}};
}

void Phases::put(json& j, bool flat) const {
  for (const auto& [k, x] : items()) j[flat ? std::string(k) + "_s" : std::string(k)] = x;
}

void Phases::load(const json& j) {
  if (!j.is_object()) return;
  double* into[] = {&data, &compute, &optimizer, &comm, &checkpoint, &eval};
  for (int i = 0; i < 6; ++i) *into[i] = opt_num(j, kPhaseKeys[i]).value_or(0.0);
}

// ---------------------------------------------------------------------------

json StepLine::to_json() const {
  json j{{"step", step},
         {"epoch", epoch},
         {"time_s", time_s},
         {"loss", num_or_null(loss)},
         {"lr", lr},
         {"samples_per_s", samples_per_s},
         {"data_stall_ms", data_stall_ms}};
  if (has_grad_norm) j["grad_norm"] = num_or_null(grad_norm);
  if (skipped_steps > 0) j["skipped_steps"] = skipped_steps;
  if (loss_scale) j["loss_scale"] = *loss_scale;
  if (parallel) {
    j["world_size"] = parallel->world_size;
    j["allreduce_bytes_per_step"] = parallel->allreduce_bytes_per_step;
    j["allreduce_bytes_total"] = parallel->allreduce_bytes_total;
    j["allreduce_busy_s"] = parallel->allreduce_busy_s;
  }
  phases.put(j, true);
  if (energy_j) j["energy_j"] = *energy_j;
  return j;
}

json EvalLine::to_json() const {
  json j{{"step", step}, {"epoch", epoch}, {"time_s", time_s}, {"eval_loss", eval_loss}};
  if (eval_accuracy >= 0) j["eval_accuracy"] = eval_accuracy;
  if (target_reached) j["target_reached"] = true;
  if (early_stop) j["early_stop"] = true;
  return j;
}

bool is_eval_line(const json& line) { return line.contains("eval_loss"); }

Result<std::vector<MetricsLine>> read_metrics(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return error(errc::io, file.string() + ": cannot be read");
  std::vector<MetricsLine> lines;
  std::string text;
  int64_t n = 0;
  while (std::getline(in, text)) {
    ++n;
    if (text.empty()) continue;
    MetricsLine l;
    l.number = n;
    l.value = json::parse(text, nullptr, false);
    l.object = !l.value.is_discarded() && l.value.is_object();
    l.last = in.peek() == EOF;
    l.text = std::move(text);
    lines.push_back(std::move(l));
  }
  return lines;
}

Status truncate_metrics(const fs::path& file, int64_t step) {
  auto lines = read_metrics(file);
  if (!lines) return {};
  std::string kept;
  for (const auto& l : *lines) {
    if (!l.object) continue;
    auto it = l.value.find("step");
    if (it == l.value.end() || !it->is_number_integer()) continue;
    if (it->get<int64_t>() > step) break;
    kept += l.text + "\n";
  }
  return write_file_atomic(file, kept);
}

// ---------------------------------------------------------------------------

json Summary::to_json() const {
  json j{{"name", name},
         {"steps", steps.value_or(0)},
         {"epochs", epochs},
         {"train_seconds", train_seconds.value_or(0.0)},
         {"wall_seconds", wall_seconds},
         {"first_step_s", first_step_s ? json(*first_step_s) : json()},
         {"data_stall_seconds", data_stall_seconds},
         {"interrupted", interrupted},
         {"early_stopped", early_stopped},
         {"paused", paused},
         {"skipped_steps", skipped_steps},
         {"checkpoint_failures", checkpoint_failures},
         {"resumed_from_step", resumed_from_step ? json(*resumed_from_step) : json()},
         {"status", status.value_or("ok")}};
  // Where the run's training time went ("other": the rest: logging, metrics, progress).
  time_breakdown.value_or(Phases{}).put(j["time_breakdown_s"], false);
  j["time_breakdown_s"]["other"] = other_seconds;
  j["memory_bytes"] = {{"parameters", memory.parameters},
                       {"gradients", memory.gradients},
                       {"optimizer_state", memory.optimizer_state},
                       {"other_persistent", memory.other_persistent},
                       {"activation_arenas", memory.activation_arenas},
                       {"activation_need", memory.activation_need},
                       {"need", memory.need},
                       {"backend_peak", memory.backend_peak}};
  const Energy e = energy.value_or(Energy{});
  if (e.measured)
    j["energy"] = {
        {"measured", true}, {"joules", e.joules.value_or(0.0)}, {"sources", e.sources}, {"note", e.note}};
  else
    j["energy"] = {{"measured", false}, {"why", e.why}};
  if (loss_scale) j["loss_scale"] = *loss_scale;
  if (eval_loss) j["eval_loss"] = *eval_loss;
  if (eval_accuracy) j["eval_accuracy"] = *eval_accuracy;
  if (target) {
    j["target"] = {{"metric", target->metric}, {"value", target->value}};
    j["time_to_target_s"] = time_to_target_s ? json(*time_to_target_s) : json();
  }
  return j;
}

Summary Summary::from_json(const json& j) {
  Summary s;
  if (!j.is_object()) return s;
  s.name = str_of(j, "name");
  if (auto v = opt_num(j, "steps")) s.steps = static_cast<int64_t>(*v);
  s.epochs = static_cast<int64_t>(opt_num(j, "epochs").value_or(0));
  s.train_seconds = opt_num(j, "train_seconds");
  s.wall_seconds = opt_num(j, "wall_seconds").value_or(0);
  s.first_step_s = opt_num(j, "first_step_s");
  s.data_stall_seconds = opt_num(j, "data_stall_seconds").value_or(0);
  s.interrupted = bool_of(j, "interrupted");
  s.early_stopped = bool_of(j, "early_stopped");
  s.paused = bool_of(j, "paused");
  s.skipped_steps = static_cast<int64_t>(opt_num(j, "skipped_steps").value_or(0));
  s.checkpoint_failures = static_cast<int64_t>(opt_num(j, "checkpoint_failures").value_or(0));
  if (auto v = opt_num(j, "resumed_from_step")) s.resumed_from_step = static_cast<int64_t>(*v);
  if (auto it = j.find("status"); it != j.end() && it->is_string()) s.status = it->get<std::string>();
  if (auto it = j.find("time_breakdown_s"); it != j.end() && it->is_object()) {
    s.time_breakdown.emplace().load(*it);
    s.other_seconds = opt_num(*it, "other").value_or(0);
  }
  if (auto it = j.find("memory_bytes"); it != j.end() && it->is_object()) {
    auto bytes = [&](const char* key) { return static_cast<uint64_t>(opt_num(*it, key).value_or(0)); };
    s.memory = {bytes("parameters"),
                bytes("gradients"),
                bytes("optimizer_state"),
                bytes("other_persistent"),
                bytes("activation_arenas"),
                bytes("activation_need"),
                bytes("need"),
                bytes("backend_peak")};
  }
  if (auto it = j.find("energy"); it != j.end() && it->is_object()) {
    // From a value: clang 14 sees no default constructor of a nested struct with member initializers.
    Energy& e = s.energy.emplace(Energy{});
    e.measured = bool_of(*it, "measured");
    e.joules = opt_num(*it, "joules");
    e.sources = str_of(*it, "sources");
    e.note = str_of(*it, "note");
    e.why = str_of(*it, "why");
  }
  s.loss_scale = opt_num(j, "loss_scale");
  s.eval_loss = opt_num(j, "eval_loss");
  s.eval_accuracy = opt_num(j, "eval_accuracy");
  if (auto it = j.find("target"); it != j.end() && it->is_object())
    s.target = Target{str_of(*it, "metric"), opt_num(*it, "value").value_or(0)};
  if (auto v = opt_num(j, "time_to_target_s"); v && *v >= 0) s.time_to_target_s = v;
  return s;
}

Result<Summary> read_summary(const Folder& f) {
  std::ifstream in(f.summary(), std::ios::binary);
  if (!in) return error(errc::not_found, f.summary().string() + ": cannot be read");
  std::ostringstream ss;
  ss << in.rdbuf();
  json j = json::parse(ss.str(), nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return error(errc::bad_data, f.summary().string() + ": not a JSON object");
  return Summary::from_json(j);
}

// ---------------------------------------------------------------------------

json ModelIO::to_json() const {
  return {{"input", {{"dtype", input.dtype}, {"shape", input.shape}}},
          {"target", {{"dtype", target.dtype}, {"shape", target.shape}}},
          {"num_classes", num_classes},
          {"outputs", outputs}};
}

Result<ModelIO> read_model_io(const Folder& f) {
  const fs::path file = f.model_io();
  auto j = read_json(file, "written by plinth train since sequence models were added");
  if (!j) return j.status();
  ModelIO m;
  for (auto [key, into] : {std::pair{"input", &m.input}, std::pair{"target", &m.target}}) {
    if (!j->contains(key) || !(*j)[key].contains("dtype") || !(*j)[key]["dtype"].is_string())
      return error(errc::bad_data, file.string() + ": " + key + ".dtype missing");
    into->dtype = (*j)[key]["dtype"].get<std::string>();
  }
  try {
    m.input.shape = (*j)["input"].at("shape").get<std::vector<int64_t>>();
    m.target.shape = (*j)["target"].at("shape").get<std::vector<int64_t>>();
    m.num_classes = j->value("num_classes", int64_t{0});
    m.outputs = j->value("outputs", int64_t{0});
  } catch (const json::exception& e) {
    return error(errc::bad_data, file.string() + ": " + e.what());
  }
  return m;
}

// ---------------------------------------------------------------------------

json plugins_json(const std::vector<PluginRow>& rows) {
  json a = json::array();
  for (const auto& r : rows)
    a.push_back({{"name", r.name},
                 {"kind", r.kind},
                 {"version", r.version},
                 {"abi", r.abi},
                 {"path", r.path},
                 {"sha256", r.sha256}});
  return a;
}

std::vector<PluginRow> plugins_from_json(const json& j) {
  std::vector<PluginRow> rows;
  if (!j.is_array()) return rows;
  for (const auto& e : j)
    if (e.is_object())
      rows.push_back({str_of(e, "name"), str_of(e, "kind"), str_of(e, "version"), str_of(e, "abi"),
                      str_of(e, "path"), str_of(e, "sha256")});
  return rows;
}

std::vector<PluginRow> read_plugins(const Folder& f) {
  std::ifstream in(f.plugins(), std::ios::binary);
  if (!in) return {};
  return plugins_from_json(json::parse(in, nullptr, false));
}

// ---------------------------------------------------------------------------

Result<std::vector<std::string>> read_vocab(const Folder& f) {
  const fs::path file = f.vocab();
  auto j = read_json(file, "the run's data source saved no vocabulary");
  if (!j) return j.status();
  try {
    return j->at("tokens").get<std::vector<std::string>>();
  } catch (const json::exception& e) {
    return error(errc::bad_data, file.string() + ": 'tokens' must be an array of strings: " + e.what());
  }
}

}  // namespace plinth::run
