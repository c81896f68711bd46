// pipeline_test.cpp — pipeline.toml parsing: a full pipeline, the defaults,
// every kind of error with its file:line:col and dotted key, did-you-mean
// suggestions, plugin tables kept with positions, and the resolve round trip.
#include "../../../core/src/config/pipeline.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>

namespace {

namespace fs = std::filesystem;
using plinth::errc;
using plinth::config::parse_pipeline;
using plinth::config::Pipeline;

Pipeline parse_ok(const std::string& text, const fs::path& source = "dir/p.toml") {
  auto r = parse_pipeline(text, source);
  EXPECT_TRUE(r.ok()) << r.status().message();
  if (!r.ok()) return Pipeline{};
  return std::move(r).value();
}

// The one error message for `text` (named "p.toml"); empty when it parses.
std::string parse_err(const std::string& text) {
  auto r = parse_pipeline(text, "p.toml");
  if (r.ok()) {
    ADD_FAILURE() << "expected an error for:\n" << text;
    return {};
  }
  EXPECT_EQ(r.status().code(), errc::config);
  EXPECT_EQ(r.status().message().find('\n'), std::string::npos) << "one line: " << r.status().message();
  return r.status().message();
}

#define EXPECT_HAS(haystack, needle) EXPECT_NE((haystack).find(needle), std::string::npos) << (haystack)

// Five lines: the least a pipeline needs. Tests append sections from line 6.
const std::string kMinimal = R"([data.train]
source = "synthetic"
[[model.layer]]
type = "linear"
out = 4
)";

const std::string kFull = R"(# an MNIST MLP
[run]
name = "mnist-mlp"
seed = 42
out_dir = "out/runs"

[backend]
name = "cuda"
device = 1
threads = 8
allow_fallback = false
stream_count = 2

[data.train]
source = "idx"
images = "data/train-images-idx3-ubyte.gz"
labels = "data/train-labels-idx1-ubyte.gz"
shuffle = false
drop_last = true
workers = 3
prefetch = 6
input_field = "image"
target_field = "label"

[data.eval]
source = "idx"
images = "data/t10k-images-idx3-ubyte.gz"

[[model.layer]]
type = "flatten"

[[model.layer]]
type = "linear"
out = 512
bias = false

[[model.layer]]
type = "relu"
name = "act"

[[model.layer]]
type = "dropout"
p = 0.25

[[model.layer]]
type = "layernorm"
eps = 1e-6

[[model.layer]]
type = "linear"
out = 10

[loss]
type = "mse"

[optimizer]
name = "sgd"
lr = 0.05
momentum = 0.9
betas = [0.9, 0.999]

[schedule]
type = "cosine"
warmup_steps = 100
min_lr = 1e-5

[train]
epochs = 15
batch_size = 128
eval_every = 500
log_every = 10
target_metric = "eval.accuracy"
target_value = 0.98
stop_at_target = true
grad_accum = 4
clip_grad_norm = 1.0
precision = "bf16"
on_nonfinite = "skip"
max_nonfinite = 4

[checkpoint]
every_steps = 1000
every_minutes = 2.5
keep_last = 2
keep_best = 1
best_metric = "eval.accuracy"
at_end = false

[early_stop]
metric = "eval.loss"
patience = 3
min_delta = 0.001

[plugins]
manifests = ["plugins/extra.toml", "/opt/vendor/plugin.toml"]
)";

TEST(pipeline, parses_a_full_pipeline) {
  Pipeline p = parse_ok(kFull, "examples/mnist/pipeline.toml");
  EXPECT_EQ(p.source, fs::path("examples/mnist/pipeline.toml"));
  EXPECT_EQ(p.run.name, "mnist-mlp");
  EXPECT_EQ(p.run.seed, 42u);
  EXPECT_EQ(p.run.out_dir, fs::path("out/runs"));
  EXPECT_EQ(p.backend.name, "cuda");
  EXPECT_EQ(p.backend.device, 1);
  EXPECT_EQ(p.backend.threads, 8);
  EXPECT_FALSE(p.backend.allow_fallback);
  EXPECT_EQ(p.train_data.source, "idx");
  EXPECT_FALSE(p.train_data.shuffle);
  EXPECT_TRUE(p.train_data.drop_last);
  EXPECT_EQ(p.train_data.workers, 3);
  EXPECT_EQ(p.train_data.prefetch, 6);
  EXPECT_EQ(p.train_data.input_field, "image");
  EXPECT_EQ(p.train_data.target_field, "label");
  ASSERT_TRUE(p.eval_data.has_value());
  EXPECT_FALSE(p.eval_data->shuffle);
  ASSERT_EQ(p.model.layers.size(), 6u);
  EXPECT_EQ(p.model.layers[0].type, "flatten");
  EXPECT_EQ(p.model.layers[0].name, "flatten0");
  EXPECT_EQ(p.model.layers[1].name, "linear1");
  EXPECT_EQ(p.model.layers[1].integer("out"), 512);
  EXPECT_FALSE(p.model.layers[1].boolean("bias"));
  EXPECT_EQ(p.model.layers[1].where.begin.line, 32u);
  EXPECT_EQ(p.model.layers[2].name, "act");
  EXPECT_DOUBLE_EQ(p.model.layers[3].number("p"), 0.25);
  EXPECT_DOUBLE_EQ(p.model.layers[4].number("eps"), 1e-6);
  EXPECT_EQ(p.model.layers[5].name, "linear5");
  EXPECT_EQ(p.model.layers[5].integer("out"), 10);
  EXPECT_TRUE(p.model.layers[5].boolean("bias"));
  EXPECT_EQ(p.loss.type, "mse");
  EXPECT_EQ(p.optimizer.name, "sgd");
  EXPECT_EQ(p.schedule.type, "cosine");
  EXPECT_EQ(p.schedule.warmup_steps, 100);
  EXPECT_DOUBLE_EQ(p.schedule.min_lr, 1e-5);
  EXPECT_EQ(p.train.epochs, 15);
  EXPECT_EQ(p.train.batch_size, 128);
  EXPECT_EQ(p.train.eval_every, 500);
  EXPECT_EQ(p.train.log_every, 10);
  EXPECT_EQ(p.train.target_metric, "eval.accuracy");
  EXPECT_DOUBLE_EQ(p.train.target_value, 0.98);
  EXPECT_TRUE(p.train.stop_at_target);
  EXPECT_EQ(p.train.grad_accum, 4);
  EXPECT_DOUBLE_EQ(p.train.clip_grad_norm, 1.0);
  EXPECT_EQ(p.train.precision, "bf16");
  EXPECT_EQ(p.train.on_nonfinite, "skip");
  EXPECT_EQ(p.train.max_nonfinite, 4);
  EXPECT_EQ(p.checkpoint.every_steps, 1000);
  EXPECT_DOUBLE_EQ(p.checkpoint.every_minutes, 2.5);
  EXPECT_EQ(p.checkpoint.keep_last, 2);
  EXPECT_EQ(p.checkpoint.keep_best, 1);
  EXPECT_EQ(p.checkpoint.best_metric, "eval.accuracy");
  EXPECT_EQ(p.checkpoint.best_mode, "max");  // the default for an accuracy
  EXPECT_FALSE(p.checkpoint.at_end);
  EXPECT_TRUE(p.early_stop.enabled);
  EXPECT_EQ(p.early_stop.metric, "eval.loss");
  EXPECT_EQ(p.early_stop.mode, "min");
  EXPECT_EQ(p.early_stop.patience, 3);
  EXPECT_DOUBLE_EQ(p.early_stop.min_delta, 0.001);
  ASSERT_EQ(p.plugins.manifests.size(), 2u);
  EXPECT_EQ(p.plugins.manifests[0], fs::absolute("examples/mnist/plugins/extra.toml").lexically_normal());
  EXPECT_EQ(p.plugins.manifests[1], fs::path("/opt/vendor/plugin.toml"));
  EXPECT_TRUE(p.document.contains("train"));
}

TEST(pipeline, keeps_plugin_tables_with_their_positions) {
  Pipeline p = parse_ok(kFull, "examples/mnist/pipeline.toml");
  // [backend] and [optimizer] are kept whole (core keys with defaults filled in),
  // [data.*] without the core keys.
  EXPECT_EQ(p.backend.table["stream_count"].value<int64_t>(), 2);
  EXPECT_EQ(p.backend.table["name"].value<std::string>(), "cuda");
  EXPECT_EQ(p.optimizer.table["lr"].value<double>(), 0.05);
  EXPECT_EQ(p.optimizer.table["name"].value<std::string>(), "sgd");
  EXPECT_EQ(p.train_data.table.size(), 2u);
  EXPECT_EQ(p.train_data.table["images"].value<std::string>(), "data/train-images-idx3-ubyte.gz");
  EXPECT_FALSE(p.train_data.table.contains("source"));
  EXPECT_FALSE(p.train_data.table.contains("shuffle"));
  EXPECT_EQ(p.eval_data->table.size(), 1u);
  // Positions survive, so a plugin's config errors can name the line.
  EXPECT_EQ(p.train_data.table["labels"].node()->source().begin.line, 17u);
  EXPECT_EQ(p.optimizer.table["momentum"].node()->source().begin.line, 59u);
  EXPECT_EQ(p.backend.table["stream_count"].node()->source().begin.line, 12u);
}

TEST(pipeline, fills_in_defaults) {
  Pipeline p = parse_ok(kMinimal + R"(
[[model.layer]]
type = "relu"
[[model.layer]]
type = "linear"
out = 2
[data.eval]
source = "synthetic"
)",
                        "some/dir/mnist.toml");
  EXPECT_EQ(p.run.name, "mnist");
  EXPECT_EQ(p.run.seed, 0u);
  EXPECT_EQ(p.run.out_dir, fs::path("runs"));
  EXPECT_EQ(p.backend.name, "cpu");
  EXPECT_EQ(p.backend.device, 0);
  EXPECT_EQ(p.backend.threads, 0);
  EXPECT_TRUE(p.backend.allow_fallback);
  EXPECT_TRUE(p.train_data.shuffle);
  EXPECT_FALSE(p.train_data.drop_last);
  EXPECT_EQ(p.train_data.workers, 2);
  EXPECT_EQ(p.train_data.prefetch, 4);
  EXPECT_EQ(p.train_data.input_field, "");
  ASSERT_TRUE(p.eval_data.has_value());
  EXPECT_FALSE(p.eval_data->shuffle);
  ASSERT_EQ(p.model.layers.size(), 3u);
  EXPECT_EQ(p.model.layers[0].name, "linear0");
  EXPECT_EQ(p.model.layers[1].name, "relu1");
  EXPECT_EQ(p.model.layers[2].name, "linear2");
  EXPECT_EQ(p.loss.type, "cross_entropy");
  EXPECT_EQ(p.optimizer.name, "adamw");
  EXPECT_EQ(p.schedule.type, "constant");
  EXPECT_DOUBLE_EQ(p.schedule.gamma, 0.1);
  EXPECT_EQ(p.train.epochs, 1);
  EXPECT_EQ(p.train.max_steps, 0);
  EXPECT_EQ(p.train.batch_size, 32);
  EXPECT_EQ(p.train.log_every, 50);
  EXPECT_EQ(p.train.grad_accum, 1);
  EXPECT_EQ(p.train.precision, "fp32");
  EXPECT_EQ(p.train.on_nonfinite, "stop");
  EXPECT_EQ(p.train.max_nonfinite, 10);
  EXPECT_EQ(p.checkpoint.every_steps, 0);
  EXPECT_EQ(p.checkpoint.every_minutes, 0.0);
  EXPECT_EQ(p.checkpoint.keep_last, 3);
  EXPECT_EQ(p.checkpoint.keep_best, 0);
  EXPECT_EQ(p.checkpoint.best_metric, "eval.loss");
  EXPECT_EQ(p.checkpoint.best_mode, "min");
  EXPECT_TRUE(p.checkpoint.at_end);
  EXPECT_FALSE(p.early_stop.enabled);
  EXPECT_TRUE(p.plugins.manifests.empty());
}

TEST(pipeline, no_eval_section_means_no_eval_data) { EXPECT_FALSE(parse_ok(kMinimal).eval_data.has_value()); }

TEST(pipeline, accepts_integers_where_floats_are_expected) {
  Pipeline p = parse_ok(kMinimal + "[schedule]\nmin_lr = 0\ngamma = 1\n");
  EXPECT_DOUBLE_EQ(p.schedule.min_lr, 0.0);
  EXPECT_DOUBLE_EQ(p.schedule.gamma, 1.0);
}

// --- errors --------------------------------------------------------------------

TEST(pipeline, syntax_error_names_file_line_and_column) {
  const std::string m = parse_err("[train]\nepochs = = 3\n");
  EXPECT_HAS(m, "p.toml:2:");
  EXPECT_EQ(m.rfind("p.toml:2:", 0), 0u) << m;
}

TEST(pipeline, unknown_key_suggests_the_closest) {
  const std::string m = parse_err(kMinimal + "[train]\nbatch_sise = 4\n");
  EXPECT_EQ(m, "p.toml:7:1: train.batch_sise: unknown key (did you mean 'batch_size'?)");
}

TEST(pipeline, unknown_key_without_a_close_match_lists_the_keys) {
  const std::string m = parse_err(kMinimal + "[loss]\nweighting = 2\n");
  EXPECT_HAS(m, "p.toml:7:1: loss.weighting: unknown key; expected one of 'type'");
}

TEST(pipeline, unknown_keys_in_every_core_section) {
  EXPECT_HAS(parse_err(kMinimal + "[run]\nsed = 1\n"),
             "p.toml:7:1: run.sed: unknown key (did you mean 'seed'?)");
  EXPECT_HAS(parse_err(kMinimal + "[schedule]\nwarmup = 1\n"),
             "p.toml:7:1: schedule.warmup: unknown key (did you mean 'warmup_steps'?)");
  EXPECT_HAS(parse_err(kMinimal + "[plugins]\nmanifest = []\n"),
             "p.toml:7:1: plugins.manifest: unknown key (did you mean 'manifests'?)");
  EXPECT_HAS(parse_err(kMinimal + "[model]\nlayers = 1\n"),
             "p.toml:7:1: model.layers: unknown key (did you mean 'layer'?)");
  EXPECT_HAS(parse_err(kMinimal + "[data.tran]\nsource = \"x\"\n"),
             "p.toml:6:7: data.tran: unknown data split (did you mean 'train'?)");
  EXPECT_HAS(parse_err(kMinimal + "[checkpoint]\nevery_step = 5\n"),
             "p.toml:7:1: checkpoint.every_step: unknown key (did you mean 'every_steps'?)");
  EXPECT_HAS(parse_err(kMinimal + "[early_stop]\npatiense = 5\n"),
             "p.toml:7:1: early_stop.patiense: unknown key (did you mean 'patience'?)");
  EXPECT_HAS(parse_err(kMinimal + "[checkpint]\n"), "(did you mean 'checkpoint'?)");
  // The old [train] key now lives in [checkpoint].
  EXPECT_HAS(parse_err(kMinimal + "[train]\ncheckpoint_every = 5\n"), "train.checkpoint_every: unknown key");
}

TEST(pipeline, unknown_section_suggests_the_closest) {
  EXPECT_HAS(parse_err(kMinimal + "[trian]\nepochs = 1\n"),
             "p.toml:6:2: trian: unknown section (did you mean 'train'?)");
  EXPECT_HAS(parse_err(kMinimal + "[optimiser]\n"), "(did you mean 'optimizer'?)");
}

TEST(pipeline, misspelt_core_data_key_is_caught) {
  const std::string m = parse_err(R"([data.train]
source = "idx"
shufle = false
)");
  EXPECT_EQ(m, "p.toml:3:1: data.train.shufle: unknown key (did you mean 'shuffle'?)");
}

TEST(pipeline, type_errors_name_the_expected_type) {
  EXPECT_EQ(parse_err(kMinimal + "[train]\nbatch_size = \"32\"\n"),
            "p.toml:7:14: train.batch_size: expected an integer, got a string");
  EXPECT_EQ(parse_err(kMinimal + "[train]\nstop_at_target = 1\n"),
            "p.toml:7:18: train.stop_at_target: expected a boolean, got an integer");
  EXPECT_EQ(parse_err(kMinimal + "[schedule]\nmin_lr = \"small\"\n"),
            "p.toml:7:10: schedule.min_lr: expected a number, got a string");
  EXPECT_EQ(parse_err(kMinimal + "[backend]\nname = 3\n"),
            "p.toml:7:8: backend.name: expected a string, got an integer");
  EXPECT_HAS(parse_err("train = 3\n" + kMinimal), "p.toml:1:9: train: expected a table, got an integer");
  EXPECT_HAS(parse_err("[data]\ntrain = 1\n"), "p.toml:2:9: data.train: expected a table, got an integer");
}

TEST(pipeline, missing_required_sections_and_keys_point_at_the_header) {
  EXPECT_HAS(parse_err("[train]\nepochs = 1\n"),
             "p.toml:1:1: data.train: missing required section [data.train]");
  EXPECT_HAS(parse_err("[train]\nepochs = 1\n[data.eval]\nsource = \"x\"\n"),
             "data.train: missing required section [data.train]");
  EXPECT_HAS(parse_err("[train]\nepochs = 1\n\n[data.train]\nshuffle = true\n"),
             "p.toml:4:1: data.train.source: missing required key");
  EXPECT_HAS(parse_err("[data.train]\nsource = \"x\"\n"), "model: missing required section [model]");
  EXPECT_HAS(parse_err(kMinimal + "[[model.layer]]\nname = \"x\"\n"),
             "p.toml:6:1: model.layer[1].type: missing required key");
  EXPECT_HAS(parse_err(kMinimal + "[[model.layer]]\ntype = \"linear\"\n"),
             "p.toml:6:1: model.layer[1].out: missing required key");
}

TEST(pipeline, range_errors_say_the_rule_and_the_value) {
  struct Case {
    std::string section;
    std::string want;
  };
  const Case cases[] = {
      {"[train]\nbatch_size = 0\n", "p.toml:7:14: train.batch_size: batch_size must be > 0, got 0"},
      {"[train]\nepochs = 0\n",
       "p.toml:7:10: train.epochs: epochs must be >= 1 (or set max_steps > 0), got 0"},
      {"[train]\nlog_every = 0\n", "p.toml:7:13: train.log_every: log_every must be >= 1, got 0"},
      {"[train]\neval_every = -1\n", "p.toml:7:14: train.eval_every: eval_every must be >= 0, got -1"},
      {"[train]\ngrad_accum = 0\n", "p.toml:7:14: train.grad_accum: grad_accum must be >= 1, got 0"},
      {"[train]\non_nonfinite = \"skp\"\n",
       "p.toml:7:16: train.on_nonfinite: unknown non-finite policy 'skp' (did you mean 'skip'?)"},
      {"[train]\nmax_nonfinite = 0\n", "p.toml:7:17: train.max_nonfinite: max_nonfinite must be >= 1, got 0"},
      {"[checkpoint]\nevery_steps = -1\n",
       "p.toml:7:15: checkpoint.every_steps: every_steps must be >= 0, got -1"},
      {"[checkpoint]\nkeep_last = 0\n", "p.toml:7:13: checkpoint.keep_last: keep_last must be >= 1, got 0"},
      {"[checkpoint]\nbest_mode = \"mx\"\n",
       "p.toml:7:13: checkpoint.best_mode: unknown mode 'mx' (did you mean 'max'?)"},
      {"[early_stop]\npatience = 0\n", "p.toml:7:12: early_stop.patience: patience must be >= 1, got 0"},
      {"[early_stop]\nmetric = \"eval.los\"\n",
       "p.toml:7:10: early_stop.metric: unknown metric 'eval.los' (did you mean 'eval.loss'?)"},
      {"[train]\ntarget_metric = \"eval.acc\"\n",
       "p.toml:7:17: train.target_metric: unknown target metric 'eval.acc' (did you mean 'eval.accuracy'?)"},
      {"[train]\nstop_at_target = true\n",
       "p.toml:7:18: train.stop_at_target: stop_at_target needs train.target_metric"},
      {"[backend]\nthreads = -1\n", "p.toml:7:11: backend.threads: threads must be >= 0, got -1"},
      {"[schedule]\nwarmup_steps = -5\n",
       "p.toml:7:16: schedule.warmup_steps: warmup_steps must be >= 0, got -5"},
      {"[schedule]\ntype = \"step\"\n",
       "p.toml:6:1: schedule.step_size: a 'step' schedule needs step_size > 0, got 0"},
      {"[schedule]\ntype = \"cosin\"\n",
       "p.toml:7:8: schedule.type: unknown schedule type 'cosin' (did you mean 'cosine'?)"},
      {"[loss]\ntype = \"nll\"\n",
       "p.toml:7:8: loss.type: unknown loss type 'nll'; expected one of 'cross_entropy', 'mse'"},
      {"[run]\nseed = -1\n", "p.toml:7:8: run.seed: seed must be >= 0, got -1"},
  };
  for (const Case& c : cases) EXPECT_EQ(parse_err(kMinimal + c.section), c.want);
}

TEST(pipeline, epochs_zero_is_fine_with_max_steps) {
  Pipeline p = parse_ok(kMinimal + "[train]\nepochs = 0\nmax_steps = 100\n");
  EXPECT_EQ(p.train.max_steps, 100);
}

TEST(pipeline, data_ranges) {
  EXPECT_EQ(parse_err("[data.train]\nsource = \"x\"\nworkers = -1\n"),
            "p.toml:3:11: data.train.workers: workers must be in [0, 256], got -1");
  EXPECT_EQ(parse_err("[data.train]\nsource = \"x\"\n[data.eval]\nsource = \"x\"\nprefetch = 0\n"),
            "p.toml:5:12: data.eval.prefetch: prefetch must be in [1, 4096], got 0");
  EXPECT_EQ(parse_err("[data.train]\nsource = \"x\"\nworkers = 257\n"),
            "p.toml:3:11: data.train.workers: workers must be in [0, 256], got 257");
  EXPECT_EQ(parse_err("[data.train]\nsource = \"x\"\nprefetch = 4097\n"),
            "p.toml:3:12: data.train.prefetch: prefetch must be in [1, 4096], got 4097");
}

TEST(pipeline, layer_errors_name_the_layer_index_and_line) {
  EXPECT_EQ(parse_err(kMinimal + "[[model.layer]]\ntype = \"lienar\"\nout = 3\n"),
            "p.toml:7:8: model.layer[1].type: unknown layer type 'lienar' (did you mean 'linear'?)");
  EXPECT_EQ(parse_err(kMinimal + "[[model.layer]]\ntype = \"relu\"\nout = 3\n"),
            "p.toml:8:1: model.layer[1].out: not a key of a 'relu' layer; expected one of 'type', 'name', "
            "'inputs'");
  EXPECT_EQ(
      parse_err(kMinimal + "[[model.layer]]\ntype = \"linear\"\nout = 3\np = 0.5\n"),
      "p.toml:9:1: model.layer[1].p: not a key of a 'linear' layer; expected one of 'type', 'name', 'tie', "
      "'out', 'bias', 'inputs'");
  EXPECT_EQ(parse_err(kMinimal + "[[model.layer]]\ntype = \"dropout\"\nq = 0.5\n"),
            "p.toml:8:1: model.layer[1].q: not a key of a 'dropout' layer; expected one of 'type', 'name', "
            "'p', 'inputs'");
  EXPECT_EQ(parse_err(kMinimal + "[[model.layer]]\ntype = \"dropout\"\np = 1.0\n"),
            "p.toml:8:5: model.layer[1].p: p must be in [0, 1), got 1");
  EXPECT_EQ(parse_err(kMinimal + "[[model.layer]]\ntype = \"linear\"\nout = 0\n"),
            "p.toml:8:7: model.layer[1].out: out must be > 0, got 0");
  EXPECT_EQ(parse_err("[data.train]\nsource = \"x\"\n[model]\nlayer = 3\n"),
            "p.toml:4:9: model.layer: expected an array of tables ([[model.layer]]), got an integer");
}

TEST(pipeline, duplicate_layer_names_are_an_error) {
  const std::string m = parse_err(kMinimal + "[[model.layer]]\ntype = \"relu\"\nname = \"linear0\"\n");
  EXPECT_EQ(
      m, "p.toml:8:8: model.layer[1].name: duplicate layer name 'linear0' (also model.layer[0] at line 3)");
  // A default name can collide with an explicit one too.
  EXPECT_HAS(
      parse_err(kMinimal +
                "[[model.layer]]\ntype = \"relu\"\n[[model.layer]]\ntype = \"relu\"\nname = \"relu1\"\n"),
      "model.layer[2].name: duplicate layer name 'relu1'");
}

TEST(pipeline, manifests_resolve_against_the_pipeline_folder) {
  Pipeline p = parse_ok(kMinimal + "[plugins]\nmanifests = [\"../vendor/./m.toml\"]\n", "a/b/pipe.toml");
  ASSERT_EQ(p.plugins.manifests.size(), 1u);
  EXPECT_EQ(p.plugins.manifests[0], (fs::absolute("a") / "vendor" / "m.toml").lexically_normal());
  EXPECT_EQ(parse_err(kMinimal + "[plugins]\nmanifests = [\"a\", 3]\n"),
            "p.toml:7:19: plugins.manifests[1]: expected a string, got an integer");
}

TEST(pipeline, check_plugin_keys_reports_unknown_plugin_keys) {
  Pipeline p = parse_ok(kFull, "pipe.toml");
  const std::vector<std::string> declared = {"stream_count", "memory_fraction"};
  EXPECT_TRUE(plinth::config::check_plugin_keys(p.backend.table, "backend", declared,
                                                plinth::config::kBackendCoreKeys, p.source)
                  .ok());
  const std::vector<std::string> other = {"streams"};
  plinth::Status s = plinth::config::check_plugin_keys(p.backend.table, "backend", other,
                                                       plinth::config::kBackendCoreKeys, p.source);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), errc::config);
  EXPECT_HAS(s.message(), "pipe.toml:12:1: backend.stream_count: unknown key");
}

// --- load and resolve -------------------------------------------------------------

void expect_same_pipeline(const Pipeline& a, const Pipeline& b) {
  EXPECT_EQ(a.run.name, b.run.name);
  EXPECT_EQ(a.run.seed, b.run.seed);
  EXPECT_EQ(a.run.out_dir, b.run.out_dir);
  EXPECT_EQ(a.backend.name, b.backend.name);
  EXPECT_EQ(a.backend.device, b.backend.device);
  EXPECT_EQ(a.backend.threads, b.backend.threads);
  EXPECT_EQ(a.backend.allow_fallback, b.backend.allow_fallback);
  EXPECT_TRUE(a.backend.table == b.backend.table);
  auto same_data = [](const plinth::config::DataSection& x, const plinth::config::DataSection& y) {
    EXPECT_EQ(x.source, y.source);
    EXPECT_EQ(x.shuffle, y.shuffle);
    EXPECT_EQ(x.drop_last, y.drop_last);
    EXPECT_EQ(x.workers, y.workers);
    EXPECT_EQ(x.prefetch, y.prefetch);
    EXPECT_EQ(x.input_field, y.input_field);
    EXPECT_EQ(x.target_field, y.target_field);
    EXPECT_TRUE(x.table == y.table);
  };
  same_data(a.train_data, b.train_data);
  ASSERT_EQ(a.eval_data.has_value(), b.eval_data.has_value());
  if (a.eval_data) same_data(*a.eval_data, *b.eval_data);
  ASSERT_EQ(a.model.layers.size(), b.model.layers.size());
  for (std::size_t i = 0; i < a.model.layers.size(); ++i) {
    const auto &x = a.model.layers[i], &y = b.model.layers[i];
    EXPECT_EQ(x.type, y.type);
    EXPECT_EQ(x.name, y.name);
    EXPECT_EQ(x.integer("out"), y.integer("out"));
    EXPECT_EQ(x.boolean("bias"), y.boolean("bias"));
    EXPECT_EQ(x.number("p"), y.number("p"));
    EXPECT_EQ(x.number("eps"), y.number("eps"));
  }
  EXPECT_EQ(a.loss.type, b.loss.type);
  EXPECT_EQ(a.optimizer.name, b.optimizer.name);
  EXPECT_TRUE(a.optimizer.table == b.optimizer.table);
  const auto &s = a.schedule, &t = b.schedule;
  EXPECT_EQ(s.type, t.type);
  EXPECT_EQ(s.warmup_steps, t.warmup_steps);
  EXPECT_EQ(s.min_lr, t.min_lr);
  EXPECT_EQ(s.step_size, t.step_size);
  EXPECT_EQ(s.gamma, t.gamma);
  EXPECT_EQ(s.max_lr, t.max_lr);
  EXPECT_EQ(s.pct_start, t.pct_start);
  EXPECT_EQ(s.patience, t.patience);
  EXPECT_EQ(s.threshold, t.threshold);
  const auto &u = a.train, &v = b.train;
  EXPECT_EQ(u.epochs, v.epochs);
  EXPECT_EQ(u.max_steps, v.max_steps);
  EXPECT_EQ(u.batch_size, v.batch_size);
  EXPECT_EQ(u.eval_every, v.eval_every);
  EXPECT_EQ(u.log_every, v.log_every);
  EXPECT_EQ(u.target_metric, v.target_metric);
  EXPECT_EQ(u.target_value, v.target_value);
  EXPECT_EQ(u.stop_at_target, v.stop_at_target);
  EXPECT_EQ(u.grad_accum, v.grad_accum);
  EXPECT_EQ(u.clip_grad_norm, v.clip_grad_norm);
  EXPECT_EQ(u.precision, v.precision);
  EXPECT_EQ(u.on_nonfinite, v.on_nonfinite);
  EXPECT_EQ(u.max_nonfinite, v.max_nonfinite);
  const auto &c = a.checkpoint, &d = b.checkpoint;
  EXPECT_EQ(c.every_steps, d.every_steps);
  EXPECT_EQ(c.every_minutes, d.every_minutes);
  EXPECT_EQ(c.keep_last, d.keep_last);
  EXPECT_EQ(c.keep_best, d.keep_best);
  EXPECT_EQ(c.best_metric, d.best_metric);
  EXPECT_EQ(c.best_mode, d.best_mode);
  EXPECT_EQ(c.at_end, d.at_end);
  const auto &e = a.early_stop, &f = b.early_stop;
  EXPECT_EQ(e.enabled, f.enabled);
  EXPECT_EQ(e.metric, f.metric);
  EXPECT_EQ(e.mode, f.mode);
  EXPECT_EQ(e.patience, f.patience);
  EXPECT_EQ(e.min_delta, f.min_delta);
  EXPECT_EQ(a.plugins.manifests, b.plugins.manifests);
}

TEST(pipeline, resolved_toml_parses_back_to_an_equal_pipeline) {
  for (const std::string& text : {kFull, kMinimal}) {
    Pipeline a = parse_ok(text, "examples/mnist/pipeline.toml");
    const std::string resolved = plinth::config::resolved_toml(a);
    Pipeline b = parse_ok(resolved, "examples/mnist/pipeline.toml");
    expect_same_pipeline(a, b);
    EXPECT_EQ(plinth::config::resolved_toml(b), resolved);  // a fixed point
  }
}

TEST(pipeline, resolved_toml_writes_every_default) {
  Pipeline a = parse_ok(kMinimal, "runs/x/tiny.toml");
  const std::string r = plinth::config::resolved_toml(a);
  EXPECT_HAS(r, "name = \"tiny\"");
  EXPECT_HAS(r, "out_dir = \"runs\"");
  EXPECT_HAS(r, "batch_size = 32");
  EXPECT_HAS(r, "type = \"constant\"");
  EXPECT_HAS(r, "gamma = 0.1\n");  // shortest exact text, not 0.10000000000000001
  EXPECT_HAS(r, "name = \"linear0\"");
  EXPECT_HAS(r, "shuffle = true");
  // Even a different source name gives the same run name after resolving.
  Pipeline b = parse_ok(r, "elsewhere/other.toml");
  EXPECT_EQ(b.run.name, "tiny");
}

TEST(pipeline, resolved_toml_keeps_awkward_plugin_values) {
  Pipeline a = parse_ok(kMinimal + R"([optimizer]
name = "adamw"
"odd key" = "quote \" and \\ and\ttab"
nested = { a = 1, b = [1.5, 2], c = { d = true } }
when = 2024-01-02T03:04:05Z
tiny = 1e-300
whole = 3.0
)");
  Pipeline b = parse_ok(plinth::config::resolved_toml(a));
  EXPECT_TRUE(a.optimizer.table == b.optimizer.table) << plinth::config::resolved_toml(a);
  EXPECT_TRUE(b.optimizer.table["whole"].is_floating_point());
}

TEST(pipeline, load_pipeline_reads_a_file_and_names_it_in_errors) {
  const fs::path dir = fs::path(PLINTH_BINARY_DIR) / "tests_tmp" / "pipeline_test";
  fs::create_directories(dir);
  const fs::path good = dir / "good.toml";
  std::ofstream(good) << kMinimal;
  auto r = plinth::config::load_pipeline(good);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->run.name, "good");
  const fs::path bad = dir / "bad.toml";
  std::ofstream(bad) << kMinimal << "[train]\nbatch_size = 0\n";
  auto e = plinth::config::load_pipeline(bad);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().message().rfind(bad.string() + ":7:14: train.batch_size:", 0), 0u)
      << e.status().message();
  auto missing = plinth::config::load_pipeline(dir / "nope.toml");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), errc::io);
  EXPECT_HAS(missing.status().message(), "nope.toml");
}

}  // namespace

// A chain of `n` blocks, b0 placing b1 ... placing b<n-1>, each placed
// `fan` times by the one before.
static std::string block_chain(int n, int fan) {
  std::string s = kMinimal + "[[model.layer]]\ntype = \"block\"\nuse = \"b0\"\n";
  for (int i = 0; i < n; ++i) {
    s += "[[model.block]]\nname = \"b" + std::to_string(i) + "\"\nlayers = [";
    for (int k = 0; k < fan; ++k)
      s += std::string(k ? ", " : "") + (i + 1 < n
                                             ? "{ type = \"block\", name = \"x" + std::to_string(k) +
                                                   "\", use = \"b" + std::to_string(i + 1) + "\" }"
                                             : "{ type = \"relu\", name = \"x" + std::to_string(k) + "\" }");
    s += "]\n";
  }
  return s;
}

TEST(pipeline, blocks_nested_past_the_depth_limit_are_an_error_not_a_stack_overflow) {
  const std::string e = parse_err(block_chain(20000, 1));
  EXPECT_HAS(e, ": use: blocks nest more than 64 deep (placing 'b64' inside 'b63')");
  EXPECT_HAS(e, "p.toml:");
}

TEST(pipeline, blocks_placed_many_times_are_checked_once_each) {
  // 2^63 paths through 64 levels: walked path by path this would never end.
  parse_ok(block_chain(64, 2));
  EXPECT_HAS(parse_err(block_chain(65, 2)), "blocks nest more than 64 deep");
}

TEST(pipeline, load_pipeline_refuses_a_folder_a_fifo_and_a_file_over_1_mib) {
  const fs::path dir = fs::temp_directory_path() / ("plinth-pipeline-limits-" + std::to_string(::getpid()));
  fs::create_directories(dir / "folder.toml");
  auto e = plinth::config::load_pipeline(dir / "folder.toml");
  ASSERT_FALSE(e.ok());
  EXPECT_HAS(e.status().message(), "folder.toml: cannot read the pipeline file (a folder)");
  ASSERT_EQ(::mkfifo((dir / "fifo.toml").c_str(), 0600), 0);
  e = plinth::config::load_pipeline(dir / "fifo.toml");  // would block without the check
  ASSERT_FALSE(e.ok());
  EXPECT_HAS(e.status().message(), "fifo.toml: cannot read the pipeline file (not a regular file)");
  {
    std::ofstream f(dir / "big.toml");
    f << kMinimal << "# " << std::string(size_t{1} << 20, 'x') << "\n";
  }
  e = plinth::config::load_pipeline(dir / "big.toml");
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().exit_code(), 2);
  EXPECT_HAS(e.status().message(),
             "big.toml: the pipeline file is larger than 1048576 bytes (1 MiB), the limit");
  fs::remove_all(dir);
}
