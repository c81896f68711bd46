// run_folder_test.cpp — the run folder's schema (run/run_folder.cpp): each
// file's keys in the order the trainer has always written them, the readers'
// round trips and their tolerance of absent keys and half-written lines.
// Not here: a whole training run's folder (tests/cli, tests/examples).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "run/run_folder.hpp"

namespace plinth::run {
namespace {

namespace fs = std::filesystem;

fs::path temp_dir(const std::string& name) {
  fs::path d = fs::path(testing::TempDir()) / ("plinth_run_folder_" + name);
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

std::vector<std::string> keys(const json& j) {
  std::vector<std::string> k;
  for (const auto& [key, v] : j.items()) k.push_back(key);
  return k;
}

void write(const fs::path& p, const std::string& text) { std::ofstream(p, std::ios::binary) << text; }

TEST(run_folder, step_line_keys_in_order_and_nan_as_null) {
  StepLine l;
  l.step = 7;
  l.loss = NAN;
  l.has_grad_norm = true;
  l.grad_norm = NAN;
  l.skipped_steps = 2;
  l.loss_scale = 1024.0;
  l.parallel = StepLine::Parallel{2, 4096, 81920, 0.5};
  l.energy_j = 3.5;
  const json j = l.to_json();
  EXPECT_EQ(keys(j), (std::vector<std::string>{"step",
                                               "epoch",
                                               "time_s",
                                               "loss",
                                               "lr",
                                               "samples_per_s",
                                               "data_stall_ms",
                                               "grad_norm",
                                               "skipped_steps",
                                               "loss_scale",
                                               "world_size",
                                               "allreduce_bytes_per_step",
                                               "allreduce_bytes_total",
                                               "allreduce_busy_s",
                                               "data_wait_s",
                                               "forward_backward_s",
                                               "optimizer_s",
                                               "communication_s",
                                               "checkpoint_s",
                                               "evaluation_s",
                                               "energy_j"}));
  EXPECT_TRUE(j["loss"].is_null());
  EXPECT_TRUE(j["grad_norm"].is_null());
  EXPECT_TRUE(j["allreduce_bytes_per_step"].is_number_unsigned());
  EXPECT_EQ(j["allreduce_bytes_total"].get<uint64_t>(), 81920u);
  // The optional keys are left out when unset.
  EXPECT_EQ(keys(StepLine{}.to_json()).size(), 13u);
  EXPECT_FALSE(is_eval_line(j));
}

TEST(run_folder, eval_line_keys) {
  EvalLine e{4, 1, 2.5, 0.75, 0.5, true, true};
  const json j = e.to_json();
  EXPECT_EQ(keys(j), (std::vector<std::string>{"step", "epoch", "time_s", "eval_loss", "eval_accuracy",
                                               "target_reached", "early_stop"}));
  EXPECT_TRUE(is_eval_line(j));
  EXPECT_EQ(keys(EvalLine{1, 0, 1.0, 2.0}.to_json()).size(), 4u);  // no accuracy: not a classification
}

TEST(run_folder, summary_round_trip_keeps_key_order) {
  Summary s;
  s.name = "r";
  s.steps = 12;
  s.epochs = 2;
  s.train_seconds = 1.5;
  s.first_step_s = 0.25;
  s.interrupted = true;
  s.status = "ok";
  Phases ph;
  ph.compute = 1.0;
  s.time_breakdown = ph;
  s.other_seconds = 0.5;
  s.memory.need = 99;
  s.energy = Summary::Energy{true, 10.0, "rapl", "", ""};
  s.eval_loss = 0.5;
  s.eval_accuracy = 0.875;
  s.target = Summary::Target{"eval.accuracy", 0.9};
  const json j = s.to_json();
  EXPECT_EQ(keys(j), (std::vector<std::string>{"name",
                                               "steps",
                                               "epochs",
                                               "train_seconds",
                                               "wall_seconds",
                                               "first_step_s",
                                               "data_stall_seconds",
                                               "interrupted",
                                               "early_stopped",
                                               "paused",
                                               "skipped_steps",
                                               "checkpoint_failures",
                                               "resumed_from_step",
                                               "status",
                                               "time_breakdown_s",
                                               "memory_bytes",
                                               "energy",
                                               "eval_loss",
                                               "eval_accuracy",
                                               "target",
                                               "time_to_target_s"}));
  EXPECT_TRUE(j["resumed_from_step"].is_null());
  EXPECT_TRUE(j["time_to_target_s"].is_null());
  EXPECT_EQ(j["time_breakdown_s"]["other"].get<double>(), 0.5);
  const Summary b = Summary::from_json(j);
  EXPECT_EQ(b.steps, 12);
  EXPECT_TRUE(b.interrupted);
  EXPECT_EQ(b.status, "ok");
  ASSERT_TRUE(b.time_breakdown);
  EXPECT_EQ(b.time_breakdown->compute, 1.0);
  EXPECT_EQ(b.other_seconds, 0.5);
  ASSERT_TRUE(b.energy);
  EXPECT_EQ(b.energy->joules, 10.0);
  EXPECT_EQ(b.eval_accuracy, 0.875);
  ASSERT_TRUE(b.target);
  EXPECT_EQ(b.target->metric, "eval.accuracy");
  EXPECT_FALSE(b.time_to_target_s);
  EXPECT_FALSE(b.resumed_from_step);
  EXPECT_EQ(b.to_json().dump(), j.dump());
}

TEST(run_folder, summary_reader_leaves_absent_keys_unset) {
  const fs::path d = temp_dir("summary");
  const Folder f{d};
  auto none = read_summary(f);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), errc::not_found);
  write(f.summary(), "[1, 2]");
  auto bad = read_summary(f);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), errc::bad_data);
  write(f.summary(), R"({"interrupted": true, "steps": "many"})");
  auto s = read_summary(f);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_TRUE(s->interrupted);
  EXPECT_FALSE(s->steps);
  EXPECT_FALSE(s->status);
  EXPECT_FALSE(s->energy);
  fs::remove_all(d);
}

TEST(run_folder, metrics_reader_flags_a_half_written_last_line) {
  const fs::path d = temp_dir("metrics");
  const Folder f{d};
  write(f.metrics(), "{\"step\": 1}\n\nnot json\n{\"step\": 2}\n{\"step\": 3, \"lo");
  auto lines = read_metrics(f.metrics());
  ASSERT_TRUE(lines.ok());
  ASSERT_EQ(lines->size(), 4u);  // the empty line is skipped
  EXPECT_TRUE((*lines)[0].object);
  EXPECT_FALSE((*lines)[1].object);
  EXPECT_EQ((*lines)[1].number, 3);
  EXPECT_FALSE((*lines)[1].last);
  EXPECT_FALSE((*lines)[3].object);
  EXPECT_TRUE((*lines)[3].last);
  EXPECT_FALSE(read_metrics(d / "absent.jsonl").ok());
  fs::remove_all(d);
}

TEST(run_folder, truncate_keeps_lines_up_to_the_step) {
  const fs::path d = temp_dir("truncate");
  const Folder f{d};
  write(f.metrics(),
        "{\"step\": 1, \"loss\": 2.0}\n{\"step\": 2, \"eval_loss\": 1.0}\nbroken\n{\"step\": 3}\n{\"step\": "
        "2}\n");
  ASSERT_TRUE(truncate_metrics(f.metrics(), 2).ok());
  std::ifstream in(f.metrics());
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "{\"step\": 1, \"loss\": 2.0}\n{\"step\": 2, \"eval_loss\": 1.0}\n");
  EXPECT_TRUE(truncate_metrics(d / "absent.jsonl", 1).ok());
  fs::remove_all(d);
}

TEST(run_folder, a_name_is_one_printable_path_component) {
  EXPECT_EQ(name_problem("mnist-2"), "");
  EXPECT_EQ(name_problem("a b.c_d"), "");
  const std::vector<std::string> bad_names = {
      "",      ".",        "..",   "../../victim",         "/abs/name",
      "a/b",   "a/",       "x\ny", std::string("x\0y", 3), "x\x1b[2J",
      "x\x7f", "tab\there"};
  for (const std::string& bad : bad_names) EXPECT_NE(name_problem(bad), "") << bad;
  EXPECT_EQ(name_problem("x\ny"), "must be printable: it holds the control character U+000A");
}

TEST(run_folder, model_io_and_vocab_round_trip) {
  const fs::path d = temp_dir("model_io");
  const Folder f{d};
  EXPECT_FALSE(read_model_io(f).ok());
  ModelIO m{{"i32", {16}}, {"i32", {16}}, 0, 65};
  write(f.model_io(), m.to_json().dump(2) + "\n");
  auto back = read_model_io(f);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->input.dtype, "i32");
  EXPECT_EQ(back->target.shape, std::vector<int64_t>{16});
  EXPECT_EQ(back->outputs, 65);
  write(f.model_io(), R"({"input": {"shape": [3]}})");
  auto missing = read_model_io(f);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("input.dtype missing"), std::string::npos);

  write(f.vocab(), R"({"tokens": ["a", "b"]})");
  auto v = read_vocab(f);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, (std::vector<std::string>{"a", "b"}));
  write(f.vocab(), R"({"tokens": 3})");
  EXPECT_FALSE(read_vocab(f).ok());
  fs::remove_all(d);
}

TEST(run_folder, plugins_round_trip) {
  const std::vector<PluginRow> rows = {{"cpu", "backend", "1.0", "1.2", "/x/libcpu.so", "ab"}};
  const json j = plugins_json(rows);
  EXPECT_EQ(keys(j[0]), (std::vector<std::string>{"name", "kind", "version", "abi", "path", "sha256"}));
  const auto back = plugins_from_json(j);
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].path, "/x/libcpu.so");
  EXPECT_TRUE(plugins_from_json(json::object()).empty());
}

}  // namespace
}  // namespace plinth::run
